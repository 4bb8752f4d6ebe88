/* test_text.c — the text protocol: the line splitter (quoting, escapes,
 * unbalanced quotes), the parser over partial lines, and the renderer that
 * prints replies as redis-cli does. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "kvd.h"

static char *split_join(const char *line)
{
    buf scratch;
    buf_init_static(&scratch, NULL, 0);
    sv *argv = NULL;
    int cap = 0;
    int n = text_split(line, strlen(line), &scratch, &argv, &cap);
    static char out[512];
    if (n < 0) {
        snprintf(out, sizeof out, "ERR");
    } else {
        size_t o = 0;
        for (int i = 0; i < n; i++) o += (size_t)snprintf(out + o, sizeof out - o, "[%.*s]", (int)argv[i].n, argv[i].p);
        out[o] = '\0';
    }
    free(argv);
    buf_free(&scratch);
    return out;
}

START_TEST(test_split)
{
    ck_assert_str_eq(split_join("SET name \"vimla\""), "[SET][name][vimla]");
    ck_assert_str_eq(split_join("  a   b  "), "[a][b]");
    ck_assert_str_eq(split_join(""), "");
    ck_assert_str_eq(split_join("\"a\\nb\\r\\t\\\"\\\\\""), "[a\nb\r\t\"\\]");
    ck_assert_str_eq(split_join("\"\\x41\\x7a\""), "[Az]");
    ck_assert_str_eq(split_join("'it\\'s' 'a\\nb'"), "[it's][a\\nb]");
    ck_assert_str_eq(split_join("\"\""), "[]");
    ck_assert_str_eq(split_join("a\"b c\"d"), "ERR"); /* closing quote must end the word */
    ck_assert_str_eq(split_join("\"abc"), "ERR");
    ck_assert_str_eq(split_join("'abc"), "ERR");
    ck_assert_str_eq(split_join("a\"b c\""), "[ab c]");
}
END_TEST

/* regression: a NUL byte made the splitter loop forever, emitting empty
 * words until memory ran out (found by the garbage-sender test) */
START_TEST(test_split_nul_byte)
{
    buf scratch;
    buf_init_static(&scratch, NULL, 0);
    sv *argv = NULL;
    int cap = 0;
    const char line[] = "abc \0 def";
    ck_assert_int_eq(text_split(line, sizeof line - 1, &scratch, &argv, &cap), 1);
    ck_assert(argv[0].n == 3 && memcmp(argv[0].p, "abc", 3) == 0);
    ck_assert_int_eq(text_split("\0", 1, &scratch, &argv, &cap), 0);
    free(argv);
    buf_free(&scratch);
}
END_TEST

static client *tclient(void)
{
    client *c = calloc(1, sizeof *c);
    c->proto = PROTO_TEXT;
    return c;
}

static const char *out_of(client *c)
{
    static char s[1024];
    size_t n = c->obuf.len < sizeof s - 1 ? c->obuf.len : sizeof s - 1;
    memcpy(s, c->obuf.p, n);
    s[n] = '\0';
    c->obuf.len = 0;
    return s;
}

START_TEST(test_render_scalars)
{
    client *c = tclient();
    reply_ok(c);
    ck_assert_str_eq(out_of(c), "OK\n");
    reply_bulk_cstr(c, "vimla");
    ck_assert_str_eq(out_of(c), "\"vimla\"\n");
    reply_bulk(c, "a\"b\\\n\x01", 6);
    ck_assert_str_eq(out_of(c), "\"a\\\"b\\\\\\n\\x01\"\n");
    reply_null(c);
    ck_assert_str_eq(out_of(c), "(nil)\n");
    reply_int(c, 42);
    ck_assert_str_eq(out_of(c), "(integer) 42\n");
    reply_error(c, "ERR oops");
    ck_assert_str_eq(out_of(c), "(error) ERR oops\n");
    reply_array(c, 0);
    ck_assert_str_eq(out_of(c), "(empty array)\n");
    buf_free(&c->obuf);
    free(c);
}
END_TEST

START_TEST(test_render_arrays)
{
    client *c = tclient();
    reply_array(c, 2);
    reply_bulk_cstr(c, "a");
    reply_bulk_cstr(c, "b");
    ck_assert_str_eq(out_of(c), "1) \"a\"\n2) \"b\"\n");
    /* nested, as SCAN replies */
    reply_array(c, 2);
    reply_bulk_cstr(c, "0");
    reply_array(c, 2);
    reply_bulk_cstr(c, "k1");
    reply_bulk_cstr(c, "k2");
    ck_assert_str_eq(out_of(c), "1) \"0\"\n2) 1) \"k1\"\n   2) \"k2\"\n");
    /* ten elements widen the index column */
    reply_array(c, 10);
    for (int i = 0; i < 10; i++) reply_int(c, i);
    const char *o = out_of(c);
    ck_assert(strncmp(o, " 1) (integer) 0\n", 16) == 0);
    ck_assert(strstr(o, "10) (integer) 9\n") != NULL);
    /* deferred length, nested empty array */
    long h = reply_defer(c);
    reply_bulk_cstr(c, "x");
    reply_array(c, 0);
    reply_defer_array(c, h, 2);
    ck_assert_str_eq(out_of(c), "1) \"x\"\n2) (empty array)\n");
    /* maps flatten to arrays for text clients */
    reply_map(c, 1);
    reply_bulk_cstr(c, "k");
    reply_int(c, 1);
    ck_assert_str_eq(out_of(c), "1) \"k\"\n2) (integer) 1\n");
    buf_free(&c->obuf);
    free(c);
}
END_TEST

START_TEST(test_text_parse_partial)
{
    client *c = tclient();
    const char *err = NULL;
    size_t pos = 0;
    const char *in = "GET a\r\nSET b \"c d\"\nGET";
    ck_assert_int_eq(text_parse(c, in, strlen(in), &pos, &err), PARSE_OK);
    ck_assert_int_eq(c->argc, 2);
    ck_assert_int_eq(text_parse(c, in, strlen(in), &pos, &err), PARSE_OK);
    ck_assert_int_eq(c->argc, 3);
    ck_assert(c->argv[2].n == 3 && memcmp(c->argv[2].p, "c d", 3) == 0);
    ck_assert_int_eq(text_parse(c, in, strlen(in), &pos, &err), PARSE_MORE);
    const char *bad = "SET \"x\n";
    pos = 0;
    ck_assert_int_eq(text_parse(c, bad, strlen(bad), &pos, &err), PARSE_ERR);
    ck_assert_str_eq(err, "Protocol error: unbalanced quotes in request");
    ck_assert_uint_eq(pos, strlen(bad)); /* the bad line is consumed: the session goes on */
    free(c->argv);
    buf_free(&c->scratch);
    free(c);
}
END_TEST

Suite *make_suite_text(void);
Suite *make_suite_text(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_split_nul_byte);
    tcase_add_test(tc, test_render_scalars);
    tcase_add_test(tc, test_render_arrays);
    tcase_add_test(tc, test_text_parse_partial);
    suite_add_tcase(s, tc);
    return s;
}
