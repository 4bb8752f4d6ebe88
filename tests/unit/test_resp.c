/* test_resp.c — the RESP request parser: valid multibulk and inline
 * requests fed whole and one byte at a time, and every bad input with
 * Redis's error text. */
#include <check.h>
#include <stdlib.h>

#include "kvd.h"

static client *mkclient(void)
{
    static bool init;
    if (!init) {
        config_defaults();
        init = true;
    }
    client *c = calloc(1, sizeof *c);
    c->ps.bulklen = -1;
    return c;
}

static void freeclient(client *c)
{
    free(c->argv);
    buf_free(&c->scratch);
    free(c);
}

/* Feeds data in chunks of `step` bytes into a growing buffer, parsing after
 * each; collects each request's arguments joined by '|' into out. Returns
 * the parse result that ended the run (PARSE_MORE when all data was used). */
static int feed(const char *data, size_t len, size_t step, buf *out, const char **err)
{
    client *c = mkclient();
    buf q;
    buf_init_static(&q, NULL, 0);
    size_t pos = 0, off = 0;
    int r = PARSE_MORE;
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        buf_append(&q, data + off, n);
        off += n;
        for (;;) {
            r = resp_parse(c, q.p, q.len, &pos, err);
            if (r != PARSE_OK) break;
            for (int i = 0; i < c->argc; i++) {
                if (i) buf_appendc(out, '|');
                buf_append(out, c->argv[i].p, c->argv[i].n);
            }
            buf_appendc(out, ';');
        }
        if (r == PARSE_ERR) break;
        /* keep the unparsed tail at the front, as conn.c does */
        buf_consume(&q, pos);
        pos = 0;
    }
    buf_free(&q);
    freeclient(c);
    return r;
}

static void check_both(const char *data, const char *expect)
{
    size_t len = strlen(data);
    for (size_t step = 1; step <= len; step = step == 1 ? len : len + 1) {
        buf out;
        buf_init_static(&out, NULL, 0);
        const char *err = NULL;
        int r = feed(data, len, step, &out, &err);
        buf_appendc(&out, '\0');
        ck_assert_int_ne(r, PARSE_ERR);
        ck_assert_str_eq(out.p, expect);
        buf_free(&out);
    }
}

START_TEST(test_multibulk)
{
    check_both("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", "SET|k|hello;");
    check_both("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING;GET|k;");
    check_both("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "GET|;");
    /* binary data with CR LF inside a bulk */
    check_both("*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", "ECHO|a\r\nb;");
}
END_TEST

START_TEST(test_inline)
{
    check_both("PING\r\n", "PING;");
    check_both("set a \"b c\"\n", "set|a|b c;");
    check_both("echo \"\\x41\\n\" 'it\\'s'\r\n", "echo|A\n|it's;");
    check_both("\r\n\n", ";;"); /* empty lines: zero arguments */
}
END_TEST

START_TEST(test_empty_multibulk)
{
    /* *0 and *-1 are skipped as empty requests, as Redis does */
    check_both("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", ";;PING;");
}
END_TEST

static void check_err(const char *data, size_t len, const char *expect)
{
    for (size_t step = 1; step <= len; step = step == 1 ? len : len + 1) {
        buf out;
        buf_init_static(&out, NULL, 0);
        const char *err = NULL;
        int r = feed(data, len, step, &out, &err);
        ck_assert_int_eq(r, PARSE_ERR);
        ck_assert_str_eq(err, expect);
        buf_free(&out);
    }
}
#define CHECK_ERR(s, e) check_err(s, sizeof(s) - 1, e)

START_TEST(test_bad_lengths)
{
    CHECK_ERR("*1048577\r\n", "Protocol error: invalid multibulk length");
    CHECK_ERR("*abc\r\n", "Protocol error: invalid multibulk length");
    CHECK_ERR("*99999999999999999999\r\n", "Protocol error: invalid multibulk length");
    CHECK_ERR("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$-2\r\n", "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$-1\r\n", "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$99999999999999999999\r\n", "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\n$x\r\n", "Protocol error: invalid bulk length");
    CHECK_ERR("*1\r\nx\r\n", "Protocol error: expected '$', got 'x'");
    CHECK_ERR("set \"a b\r\n", "Protocol error: unbalanced quotes in request");
    CHECK_ERR("set 'a\r\n", "Protocol error: unbalanced quotes in request");
    CHECK_ERR("set \"a\"b\r\n", "Protocol error: unbalanced quotes in request");
}
END_TEST

START_TEST(test_too_big_lines)
{
    size_t n = KVD_INLINE_MAX + 10;
    char *big = malloc(n);
    memset(big, 'a', n);
    check_err(big, n, "Protocol error: too big inline request");
    big[0] = '*';
    for (size_t i = 1; i < n; i++) big[i] = '1';
    check_err(big, n, "Protocol error: too big mbulk count string");
    /* a NUL before the newline hides it, as in Redis: only the 64 KiB
     * limit ends such a request */
    memset(big, 'a', n);
    memcpy(big, "abc\0def\nPING\r\n", 15);
    check_err(big, n, "Protocol error: too big inline request");
    memset(big, '1', n);
    memcpy(big, "*1\r\n$", 5);
    check_err(big, n, "Protocol error: too big bulk count string");
    free(big);
}
END_TEST

/* A declared length is not allocated ahead of the data: the parser asks
 * for more without ever touching memory past what arrived. */
START_TEST(test_no_allocation_ahead)
{
    client *c = mkclient();
    const char *req = "*2\r\n$3\r\nSET\r\n$536870000\r\nabc";
    size_t pos = 0;
    const char *err = NULL;
    int r = resp_parse(c, req, strlen(req), &pos, &err);
    ck_assert_int_eq(r, PARSE_MORE);
    ck_assert_int_le(c->argv_cap, 16); /* only what arrived */
    freeclient(c);
    c = mkclient();
    const char *many = "*1000000\r\n$1\r\na\r\n";
    pos = 0;
    r = resp_parse(c, many, strlen(many), &pos, &err);
    ck_assert_int_eq(r, PARSE_MORE);
    ck_assert_int_le(c->argv_cap, 16);
    freeclient(c);
}
END_TEST

Suite *make_suite_resp(void);
Suite *make_suite_resp(void)
{
    Suite *s = suite_create("resp");
    TCase *tc = tcase_create("parser");
    tcase_add_test(tc, test_multibulk);
    tcase_add_test(tc, test_inline);
    tcase_add_test(tc, test_empty_multibulk);
    tcase_add_test(tc, test_bad_lengths);
    tcase_add_test(tc, test_too_big_lines);
    tcase_add_test(tc, test_no_allocation_ahead);
    suite_add_tcase(s, tc);
    return s;
}
