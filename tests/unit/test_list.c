/* test_list.c — lists end to end through the dispatcher (a fake client):
 * both encodings and the conversion each way (count and size limits of
 * list-max-listpack-size), large and binary elements, LMOVE onto itself,
 * and the objtype hooks (dup, snapshot save/load round trip). */
#include "cmdrun.h"

static const char *enc(client *c, const char *key)
{
    entry *e = store_lookup_read(c->db, sv_of(key));
    ck_assert_ptr_nonnull(e);
    return obj_types[OBJ_LIST]->encoding(ent_ptr(e));
}

START_TEST(test_commands)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    ck_assert_str_eq(cmdrun(c, "RPUSH l a b c"), ":3\r\n");
    ck_assert_str_eq(cmdrun(c, "LPUSH l z"), ":4\r\n");
    ck_assert_str_eq(cmdrun(c, "LRANGE l 0 -1"), "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    ck_assert_str_eq(cmdrun(c, "RPOP l 2"), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    ck_assert_str_eq(cmdrun(c, "LMOVE l l LEFT RIGHT"), "$1\r\nz\r\n");
    ck_assert_str_eq(cmdrun(c, "LRANGE l 0 -1"), "*2\r\n$1\r\na\r\n$1\r\nz\r\n");
    ck_assert_str_eq(cmdrun(c, "LPOP l 5"), "*2\r\n$1\r\na\r\n$1\r\nz\r\n");
    ck_assert_str_eq(cmdrun(c, "EXISTS l"), ":0\r\n");
    ck_assert_str_eq(cmdrun(c, "LPOP l"), "$-1\r\n");
    ck_assert_str_eq(cmdrun(c, "LPOP l 1"), "*-1\r\n");
    cmdrun_free(c);
}
END_TEST

START_TEST(test_conversion_both_ways)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    cfg.list_max_listpack_size = 4;
    cmdrun(c, "RPUSH l 1 2 3 4");
    ck_assert_str_eq(enc(c, "l"), "listpack");
    cmdrun(c, "RPUSH l 5");
    ck_assert_str_eq(enc(c, "l"), "quicklist");
    cmdrun(c, "LPOP l 2");
    ck_assert_str_eq(enc(c, "l"), "quicklist");
    cmdrun(c, "LPOP l");
    ck_assert_str_eq(enc(c, "l"), "listpack");
    ck_assert_str_eq(cmdrun(c, "LRANGE l 0 -1"), "*2\r\n$1\r\n4\r\n$1\r\n5\r\n");
    /* size limit: -1 = 4 KiB */
    cfg.list_max_listpack_size = -1;
    char *big = malloc(5000);
    memset(big, 'x', 5000);
    sv push[3] = {sv_of("RPUSH"), sv_of("s"), {big, 3000}};
    cmdrun_argv(c, 3, push);
    ck_assert_str_eq(enc(c, "s"), "listpack");
    cmdrun_argv(c, 3, push);
    ck_assert_str_eq(enc(c, "s"), "quicklist");
    sv lset[4] = {sv_of("LSET"), sv_of("s"), sv_of("0"), {"\0\1", 2}};
    ck_assert_str_eq(cmdrun_argv(c, 4, lset), "+OK\r\n");
    ck_assert(memcmp(cmdrun(c, "LINDEX s 0"), "$2\r\n\0\1\r\n", 8) == 0);
    ck_assert(memcmp(cmdrun(c, "LPOP s"), "$2\r\n\0\1\r\n", 8) == 0);
    ck_assert_str_eq(enc(c, "s"), "quicklist"); /* 3000 B left: more than half of 4 KiB */
    sv lset2[4] = {sv_of("LSET"), sv_of("s"), sv_of("0"), sv_of("small")};
    cmdrun_argv(c, 4, lset2);
    cmdrun(c, "RPUSH s x");
    cmdrun(c, "RPOP s");
    ck_assert_str_eq(enc(c, "s"), "listpack");   /* shrunk below half: back */
    cfg.list_max_listpack_size = -2;
    free(big);
    cmdrun_free(c);
}
END_TEST

static void roundtrip(client *c, const char *key)
{
    const objtype *t = obj_types[OBJ_LIST];
    entry *e = store_lookup_read(c->db, sv_of(key));
    ck_assert_ptr_nonnull(e);
    buf b1, b2;
    buf_init_static(&b1, NULL, 0);
    buf_init_static(&b2, NULL, 0);
    t->save(&b1, ent_ptr(e));
    const char *err = NULL;
    void *l = t->load(b1.p, b1.len, &err);
    ck_assert_ptr_nonnull(l);
    t->save(&b2, l);
    ck_assert_uint_eq(b1.len, b2.len);
    ck_assert(memcmp(b1.p, b2.p, b1.len) == 0);
    void *d = t->dup(l);
    ck_assert_str_eq(t->encoding(d), t->encoding(ent_ptr(e)));
    ck_assert_ptr_null(t->load(b1.p, b1.len + 0 - 1, &err));
    t->free(l);
    t->free(d);
    buf_free(&b1);
    buf_free(&b2);
}

START_TEST(test_objtype_hooks)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    cmdrun(c, "RPUSH small a b c");
    roundtrip(c, "small");
    for (int i = 0; i < 50; i++) cmdrun(c, "RPUSH big aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b c d e f g h i j k l m n o p q r s t u v w x y z");
    ck_assert_str_eq(enc(c, "big"), "quicklist");
    roundtrip(c, "big");
    cmdrun_free(c);
}
END_TEST

Suite *make_suite_list(void)
{
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, cmdrun_flush);
    tcase_add_test(tc, test_commands);
    tcase_add_test(tc, test_conversion_both_ways);
    tcase_add_test(tc, test_objtype_hooks);
    suite_add_tcase(s, tc);
    return s;
}
