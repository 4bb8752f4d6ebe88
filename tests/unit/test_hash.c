/* test_hash.c — hashes end to end through the dispatcher (a fake client):
 * replies, the listpack -> hashtable conversion exactly at
 * hash-max-listpack-entries / -value, binary and large fields, and the
 * objtype hooks (deep dup, snapshot save/load round trip, bad input). */
#include "cmdrun.h"

START_TEST(test_commands)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    ck_assert_str_eq(cmdrun(c, "HSET h a 1 b 2"), ":2\r\n");
    ck_assert_str_eq(cmdrun(c, "HGET h a"), "$1\r\n1\r\n");
    ck_assert_str_eq(cmdrun(c, "HMGET h a x"), "*2\r\n$1\r\n1\r\n$-1\r\n");
    ck_assert_str_eq(cmdrun(c, "HGETALL h"), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    ck_assert_str_eq(cmdrun(c, "HINCRBY h a 41"), ":42\r\n");
    ck_assert_str_eq(cmdrun(c, "HINCRBYFLOAT h b inf"), "-ERR value is NaN or Infinity\r\n");
    ck_assert_str_eq(cmdrun(c, "HRANDFIELD h -9223372036854775808"),
                     "-ERR value is out of range, value must between -9223372036854775807 and "
                     "9223372036854775807\r\n");
    ck_assert_str_eq(cmdrun(c, "HDEL h a b"), ":2\r\n");
    ck_assert_str_eq(cmdrun(c, "EXISTS h"), ":0\r\n");
    ck_assert_str_eq(cmdrun(c, "SET s x"), "+OK\r\n");
    ck_assert_str_eq(cmdrun(c, "HGET s a"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    cmdrun_free(c);
}
END_TEST

/* The table encoding overwrites a value of the same size in place and
 * replaces the field's node otherwise: either way the hash keeps one field
 * with the new value, HSET answers 0, and the memory estimate follows. */
START_TEST(test_table_overwrite)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    cfg.hash_max_listpack_entries = 2;
    cmdrun(c, "HSET h a 1 b 2 c 3");
    ck_assert_str_eq(cmdrun(c, "OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    long long m0 = cmdrunf_int(c, "MEMORY USAGE h");
    ck_assert_str_eq(cmdrun(c, "HSET h b x"), ":0\r\n");
    ck_assert_str_eq(cmdrun(c, "HGET h b"), "$1\r\nx\r\n");
    ck_assert_int_eq(cmdrunf_int(c, "MEMORY USAGE h"), m0);
    ck_assert_str_eq(cmdrun(c, "HSET h b longer-value"), ":0\r\n");
    ck_assert_str_eq(cmdrun(c, "HGET h b"), "$12\r\nlonger-value\r\n");
    ck_assert_int_gt(cmdrunf_int(c, "MEMORY USAGE h"), m0);
    ck_assert_str_eq(cmdrun(c, "HSET h b y"), ":0\r\n");
    ck_assert_str_eq(cmdrun(c, "HLEN h"), ":3\r\n");
    /* a table's order is the hash's (seeded per process): ask by name */
    ck_assert_str_eq(cmdrun(c, "HMGET h a b c"), "*3\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n3\r\n");
    ck_assert_str_eq(cmdrun(c, "HINCRBY h a 7"), ":8\r\n");
    ck_assert_str_eq(cmdrun(c, "HINCRBY h a 2"), ":10\r\n");
    cmdrun_free(c);
}
END_TEST

START_TEST(test_conversion_thresholds)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    cfg.hash_max_listpack_entries = 3;
    cfg.hash_max_listpack_value = 5;
    cmdrun(c, "HSET h a 1 b 2 c 3");
    ck_assert_str_eq(cmdrun(c, "OBJECT ENCODING h"), "$8\r\nlistpack\r\n");
    cmdrun(c, "HSET h d 4");
    ck_assert_str_eq(cmdrun(c, "OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    ck_assert_str_eq(cmdrun(c, "HLEN h"), ":4\r\n");
    ck_assert_str_eq(cmdrun(c, "HGET h c"), "$1\r\n3\r\n");
    cmdrun(c, "HSET v f 12345");
    ck_assert_str_eq(cmdrun(c, "OBJECT ENCODING v"), "$8\r\nlistpack\r\n");
    cmdrun(c, "HSET v f 123456");
    ck_assert_str_eq(cmdrun(c, "OBJECT ENCODING v"), "$9\r\nhashtable\r\n");
    cmdrun(c, "HSET w 123456 x");
    ck_assert_str_eq(cmdrun(c, "OBJECT ENCODING w"), "$9\r\nhashtable\r\n");
    cfg.hash_max_listpack_entries = 128;
    cfg.hash_max_listpack_value = 64;
    cmdrun_free(c);
}
END_TEST

START_TEST(test_binary_large)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    char *big = malloc(100000);
    for (int i = 0; i < 100000; i++) big[i] = (char)i;
    sv set[4] = {sv_of("HSET"), sv_of("h"), {"\0\r\n", 3}, {big, 100000}};
    ck_assert_str_eq(cmdrun_argv(c, 4, set), ":1\r\n");
    sv get[3] = {sv_of("HSTRLEN"), sv_of("h"), {"\0\r\n", 3}};
    ck_assert_str_eq(cmdrun_argv(c, 3, get), ":100000\r\n");
    entry *e = store_lookup_read(c->db, sv_of("h"));
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(obj_types[OBJ_HASH]->encoding(ent_ptr(e)), "hashtable");
    free(big);
    cmdrun_free(c);
}
END_TEST

static void roundtrip(client *c, const char *key)
{
    const objtype *t = obj_types[OBJ_HASH];
    entry *e = store_lookup_read(c->db, sv_of(key));
    ck_assert_ptr_nonnull(e);
    buf b1, b2;
    buf_init_static(&b1, NULL, 0);
    buf_init_static(&b2, NULL, 0);
    t->save(&b1, ent_ptr(e));
    const char *err = NULL;
    void *h = t->load(b1.p, b1.len, &err);
    ck_assert_ptr_nonnull(h);
    t->save(&b2, h);
    ck_assert_uint_eq(b1.len, b2.len);
    void *d = t->dup(h);
    ck_assert_str_eq(t->encoding(d), t->encoding(ent_ptr(e)));
    ck_assert_uint_gt(t->mem(d), 0);
    /* truncated input is refused */
    ck_assert_ptr_null(t->load(b1.p, b1.len - 1, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(t->load(b1.p, 2, &err));
    t->free(h);
    t->free(d);
    buf_free(&b1);
    buf_free(&b2);
}

START_TEST(test_objtype_hooks)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    cmdrun(c, "HSET small a 1 b 2");
    roundtrip(c, "small");
    for (int i = 0; i < 300; i++) {
        char line[64];
        snprintf(line, sizeof line, "HSET big f%d v%d", i, i);
        cmdrun(c, line);
    }
    roundtrip(c, "big");
    /* COPY is a deep copy */
    ck_assert_str_eq(cmdrun(c, "COPY big big2"), ":1\r\n");
    cmdrun(c, "HDEL big2 f1");
    ck_assert_str_eq(cmdrun(c, "HLEN big"), ":300\r\n");
    ck_assert_str_eq(cmdrun(c, "HLEN big2"), ":299\r\n");
    cmdrun_free(c);
}
END_TEST

Suite *make_suite_hash(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, cmdrun_flush);
    tcase_add_test(tc, test_commands);
    tcase_add_test(tc, test_conversion_thresholds);
    tcase_add_test(tc, test_table_overwrite);
    tcase_add_test(tc, test_binary_large);
    tcase_add_test(tc, test_objtype_hooks);
    suite_add_tcase(s, tc);
    return s;
}
