/* test_set.c — sets: the intset (widths, order, a random model), the
 * member dict (insert/remove/scan coverage across resizes), every
 * encoding conversion of a set value at the configured limits, the
 * snapshot encoding round trip and its refusals, SPOP/SRANDMEMBER counts
 * (negative, INT64_MIN), and a randomized model test driving the SADD …
 * SDIFFSTORE handlers through the dispatcher (cmdrun.h) against a bitmap
 * reference. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmdrun.h"
#include "kvd.h"

/* ---------------------------------------------------------------- a fake client */

static void setup(void)
{
    cmdrun_setup_with(4, 2);
    cfg.set_max_intset_entries = 512;
    cfg.set_max_listpack_entries = 128;
    cfg.set_max_listpack_value = 64;
}

/* Empties the databases after a test: the entries hold their values'
 * pointers unaligned, where LeakSanitizer does not look for them. */
static void teardown(void) { cmdrun_flush(); }

static const char *encoding(const char *key)
{
    entry *e = store_lookup_read(&server_dbs[0], sv_of(key));
    if (!e) return "none";
    return obj_types[e->type]->encoding(ent_ptr(e));
}

/* Members of a RESP2 array reply of bulks, into a bitmap over "m<i>" / "<i>". */
static int parse_members(const char *r, bool *seen, int universe)
{
    ck_assert_msg(r[0] == '*' || r[0] == '~', "%s", r);
    int n = atoi(r + 1);
    const char *p = strchr(r, '\n') + 1;
    for (int i = 0; i < n; i++) {
        ck_assert(p[0] == '$');
        int l = atoi(p + 1);
        p = strchr(p, '\n') + 1;
        char tmp[64];
        memcpy(tmp, p, (size_t)l);
        tmp[l] = '\0';
        int v = tmp[0] == 'm' ? atoi(tmp + 1) : atoi(tmp);
        ck_assert_int_lt(v, universe);
        seen[v] = true;
        p += l + 2;
    }
    return n;
}

/* ---------------------------------------------------------------- intset */

/* The shards' memory estimates equal the sum over their entries: every
 * change of a value's size was accounted. */
static void check_mem_accounting(void)
{
    for (int i = 0; i < cfg.shards; i++) {
        shard *sh = &server_dbs[0].shards[i];
        uint64_t sum = 0;
        for (uint64_t b = 0; b < sh->size; b++)
            for (entry *e = sh->table[b]; e; e = e->next) sum += store_entry_mem(e);
        ck_assert_uint_eq(sh->mem, sum);
    }
}

START_TEST(test_intset_widths)
{
    intset *is = intset_new();
    ck_assert(intset_add(&is, 5));
    ck_assert(!intset_add(&is, 5));
    ck_assert_int_eq(is->width, 2);
    ck_assert(intset_add(&is, 70000));
    ck_assert_int_eq(is->width, 4);
    ck_assert(intset_add(&is, -5000000000LL));
    ck_assert_int_eq(is->width, 8);
    ck_assert(intset_add(&is, INT64_MAX));
    ck_assert(intset_add(&is, INT64_MIN));
    ck_assert_int_eq(is->count, 5);
    int64_t want[] = {INT64_MIN, -5000000000LL, 5, 70000, INT64_MAX};
    for (uint32_t i = 0; i < 5; i++) ck_assert(intset_get(is, i) == want[i]);
    ck_assert(intset_find(is, 70000));
    ck_assert(!intset_find(is, 70001));
    ck_assert(intset_remove(&is, 5));
    ck_assert(!intset_remove(&is, 5));
    ck_assert_int_eq(is->count, 4);
    free(is);
    /* a negative value past the width goes in front */
    is = intset_new();
    intset_add(&is, 1);
    intset_add(&is, -100000);
    ck_assert(intset_get(is, 0) == -100000 && intset_get(is, 1) == 1);
    free(is);
}
END_TEST

START_TEST(test_intset_model)
{
    /* random adds/removes over a spread of magnitudes vs a sorted array */
    static int64_t ref[4096];
    int n = 0;
    intset *is = intset_new();
    for (int step = 0; step < 20000; step++) {
        int64_t v;
        switch (util_rand64() % 3) {
        case 0: v = (int64_t)(util_rand64() % 200) - 100; break;
        case 1: v = (int64_t)(util_rand64() % 200000) - 100000; break;
        default: v = (int64_t)util_rand64() % 4000000000000LL; break;
        }
        int pos = 0;
        while (pos < n && ref[pos] < v) pos++;
        bool present = pos < n && ref[pos] == v;
        if (util_rand64() % 3 == 0) {
            ck_assert_int_eq(intset_remove(&is, v), present);
            if (present) {
                memmove(&ref[pos], &ref[pos + 1], sizeof(int64_t) * (size_t)(n - pos - 1));
                n--;
            }
        } else if (n < 4000) {
            ck_assert_int_eq(intset_add(&is, v), !present);
            if (!present) {
                memmove(&ref[pos + 1], &ref[pos], sizeof(int64_t) * (size_t)(n - pos));
                ref[pos] = v;
                n++;
            }
        }
        ck_assert_int_eq(is->count, n);
    }
    for (int i = 0; i < n; i++) ck_assert(intset_get(is, (uint32_t)i) == ref[i]);
    free(is);
}
END_TEST

/* ---------------------------------------------------------------- mdict */

typedef struct tnode_ {
    mnode h;
    char data[16];
} tnode_;
static const char *tkey(const mnode *n) { return ((const tnode_ *)n)->data; }
static void count_cb(void *ctx, mnode *x)
{
    int *seen = ctx;
    seen[atoi(((tnode_ *)x)->data)]++;
}

START_TEST(test_mdict_scan_across_resizes)
{
    mdict d;
    md_init(&d, tkey);
    static tnode_ nodes[3000];
    for (int i = 0; i < 3000; i++) {
        snprintf(nodes[i].data, sizeof nodes[i].data, "%d", i);
        nodes[i].h.len = (uint32_t)strlen(nodes[i].data);
        nodes[i].h.hash = md_hash(nodes[i].data, nodes[i].h.len);
        if (i < 1000) md_insert(&d, &nodes[i].h);
    }
    /* scan while growing to 3000 then shrinking: the first 500 stay put
     * throughout and must each be seen at least once */
    static int seen[3000];
    memset(seen, 0, sizeof seen);
    uint64_t cur = 0;
    int step = 0;
    do {
        cur = md_scan(&d, cur, count_cb, seen);
        step++;
        if (step < 200) {
            for (int k = 0; k < 10; k++) {
                int i = 1000 + (step - 1) * 10 + k;
                if (i < 3000) md_insert(&d, &nodes[i].h);
            }
        } else if (d.count > 600) {
            for (int k = 0; k < 50 && d.count > 600; k++) {
                int i = 500 + (int)(util_rand64() % 2500);
                if (md_find(&d, nodes[i].data, nodes[i].h.len, nodes[i].h.hash)) md_unlink(&d, &nodes[i].h);
            }
        }
    } while (cur && step < 1000000);
    for (int i = 0; i < 500; i++) ck_assert_msg(seen[i] >= 1, "member %d missed", i);
    for (int i = 0; i < 500; i++) ck_assert_ptr_nonnull(md_find(&d, nodes[i].data, nodes[i].h.len, nodes[i].h.hash));
    md_clear(&d, NULL);
    ck_assert_uint_eq(d.count, 0);
}
END_TEST

/* ---------------------------------------------------------------- encodings */

START_TEST(test_conversions)
{
    setup();
    client *c = cmdrun_client();
    cfg.set_max_intset_entries = 4;
    cfg.set_max_listpack_entries = 6;
    cfg.set_max_listpack_value = 8;
    /* intset -> pack on a non-integer */
    cmdrunf_int(c, "SADD a 1 2 3");
    ck_assert_str_eq(encoding("a"), "intset");
    cmdrunf_int(c, "SADD a x");
    ck_assert_str_eq(encoding("a"), "listpack");
    ck_assert_int_eq(cmdrunf_int(c, "SCARD a"), 4);
    ck_assert_int_eq(cmdrunf_int(c, "SISMEMBER a 2"), 1);
    /* pack -> hashtable past the entry limit */
    cmdrunf_int(c, "SADD a y z");
    ck_assert_str_eq(encoding("a"), "listpack");
    cmdrunf_int(c, "SADD a w");
    ck_assert_str_eq(encoding("a"), "hashtable");
    ck_assert_int_eq(cmdrunf_int(c, "SCARD a"), 7);
    /* pack -> hashtable on a long member */
    cmdrunf_int(c, "SADD b x");
    ck_assert_str_eq(encoding("b"), "listpack");
    cmdrunf_int(c, "SADD b 123456789");
    ck_assert_str_eq(encoding("b"), "hashtable");
    /* intset -> past its limit (5 > 4) while it still fits a pack */
    cmdrunf_int(c, "SADD i 1 2 3 4");
    ck_assert_str_eq(encoding("i"), "intset");
    cmdrunf_int(c, "SADD i 5");
    ck_assert_str_eq(encoding("i"), "listpack");
    cmdrunf_int(c, "SADD i 6 7");
    ck_assert_str_eq(encoding("i"), "hashtable");
    for (int v = 1; v <= 7; v++) ck_assert_int_eq(cmdrunf_int(c, "SISMEMBER i %d", v), 1);
    /* a long first member goes straight to a hash table */
    cmdrunf_int(c, "SADD h abcdefghijk");
    ck_assert_str_eq(encoding("h"), "hashtable");
    /* intset with a non-integer that does not fit a pack */
    cmdrunf_int(c, "SADD j 1");
    cmdrunf_int(c, "SADD j abcdefghijk");
    ck_assert_str_eq(encoding("j"), "hashtable");
    /* a stored result starts again at the bottom */
    cmdrunf_int(c, "SADD k 1 2");
    cmdrunf_int(c, "SADD k2 2 x");
    ck_assert_int_eq(cmdrunf_int(c, "SINTERSTORE dst k k2"), 1);
    ck_assert_str_eq(encoding("dst"), "intset");
    /* emptied sets disappear, in every encoding */
    ck_assert_int_eq(cmdrunf_int(c, "SREM k 1 2"), 2);
    ck_assert_str_eq(encoding("k"), "none");
    ck_assert_int_eq(cmdrunf_int(c, "SREM h abcdefghijk"), 1);
    ck_assert_str_eq(encoding("h"), "none");
    ck_assert_int_eq(cmdrunf_int(c, "SREM b x 123456789"), 2);
    ck_assert_str_eq(encoding("b"), "none");
    /* wrong type */
    store_set_string(c->db, sv_of("str"), sv_of("v"), -1, false);
    ck_assert_str_eq(cmdrunf(c, "SADD str a"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    ck_assert_str_eq(cmdrunf(c, "SINTER a str"), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    cmdrun_free(c);
}
END_TEST

START_TEST(test_pop_and_random_counts)
{
    setup();
    client *c = cmdrun_client();
    cmdrunf_int(c, "SADD s a b c d e");
    const char *r = cmdrunf(c, "SRANDMEMBER s -9223372036854775808");
    ck_assert_str_eq(r, "-ERR value is out of range, value must between -9223372036854775807 and "
                        "9223372036854775807\r\n");
    bool seen[128] = {false};
    r = cmdrunf(c, "SRANDMEMBER s -20");
    ck_assert(strncmp(r, "*20\r\n", 5) == 0);
    r = cmdrunf(c, "SRANDMEMBER s 3");
    ck_assert(strncmp(r, "*3\r\n", 4) == 0);
    /* distinct picks */
    cmdrunf_int(c, "SADD n 1 2 3 4 5 6 7 8 9 10");
    for (int t = 0; t < 50; t++) {
        memset(seen, 0, sizeof seen);
        ck_assert_int_eq(parse_members(cmdrunf(c, "SRANDMEMBER n 7"), seen, 128), 7);
        int k = 0;
        for (int i = 0; i < 128; i++) k += seen[i];
        ck_assert_int_eq(k, 7);
    }
    ck_assert_str_eq(cmdrunf(c, "SPOP s -1"), "-ERR value is out of range, must be positive\r\n");
    ck_assert_str_eq(cmdrunf(c, "SPOP s 0"), "*0\r\n");
    r = cmdrunf(c, "SPOP s 2");
    ck_assert(strncmp(r, "*2\r\n", 4) == 0);
    /* the popped members were propagated as SREM */
    ck_assert_int_eq(c->prop_count, 1);
    ck_assert_int_eq(cmdrunf_int(c, "SCARD s"), 3);
    r = cmdrunf(c, "SPOP s 10");
    ck_assert(strncmp(r, "*3\r\n", 4) == 0);
    ck_assert_str_eq(encoding("s"), "none");
    ck_assert_str_eq(cmdrunf(c, "SPOP s"), "$-1\r\n");
    /* a big hash table set: few picks out of many */
    for (int i = 0; i < 1000; i += 100) {
        char cmdline[4096];
        int o = snprintf(cmdline, sizeof cmdline, "SADD big");
        for (int j = i; j < i + 100; j++) o += snprintf(cmdline + o, sizeof cmdline - (size_t)o, " m%d", j);
        cmdrunf_int(c, "%s", cmdline);
    }
    ck_assert_str_eq(encoding("big"), "hashtable");
    static bool bigseen[1000];
    memset(bigseen, 0, sizeof bigseen);
    ck_assert_int_eq(parse_members(cmdrunf(c, "SPOP big 10"), bigseen, 1000), 10);
    ck_assert_int_eq(cmdrunf_int(c, "SCARD big"), 990);
    for (int i = 0; i < 1000; i++)
        if (bigseen[i]) ck_assert_int_eq(cmdrunf_int(c, "SISMEMBER big m%d", i), 0);
    cmdrun_free(c);
}
END_TEST

START_TEST(test_snapshot_roundtrip)
{
    setup();
    client *c = cmdrun_client();
    cfg.set_max_listpack_entries = 16;
    cmdrunf_int(c, "SADD i 1 -2 300000 -9223372036854775808");
    cmdrunf_int(c, "SADD p a b 7");
    char cmdline[4096];
    int o = snprintf(cmdline, sizeof cmdline, "SADD h");
    for (int j = 0; j < 40; j++) o += snprintf(cmdline + o, sizeof cmdline - (size_t)o, " member-%d", j);
    cmdrunf_int(c, "%s", cmdline);
    const char *keys[] = {"i", "p", "h"};
    const char *encs[] = {"intset", "listpack", "hashtable"};
    const objtype *t = obj_types[OBJ_SET];
    for (int k = 0; k < 3; k++) {
        entry *e = store_lookup_read(c->db, sv_of(keys[k]));
        ck_assert_str_eq(t->encoding(ent_ptr(e)), encs[k]);
        buf b;
        buf_init_static(&b, NULL, 0);
        t->save(&b, ent_ptr(e));
        const char *err = NULL;
        void *v = t->load(b.p, b.len, &err);
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(t->encoding(v), encs[k]);
        ck_assert_uint_eq(set_size(v), set_size(ent_ptr(e)));
        setiter it;
        selem x;
        char tmp[24];
        set_iter_init(&it, v);
        while (set_iter_next(&it, &x)) {
            sv m = selem_sv(&x, tmp);
            ck_assert(set_contains(ent_ptr(e), m.p, m.n));
        }
        /* the dup is deep and equal */
        void *d = t->dup(ent_ptr(e));
        ck_assert_uint_eq(set_size(d), set_size(v));
        t->free(d);
        /* truncated, trailing and duplicate inputs are refused */
        for (size_t cut = 0; cut < b.len; cut += 3) {
            err = NULL;
            ck_assert_ptr_null(t->load(b.p, cut, &err));
            ck_assert_ptr_nonnull(err);
        }
        buf_appendc(&b, 'x');
        err = NULL;
        ck_assert_ptr_null(t->load(b.p, b.len, &err));
        t->free(v);
        buf_free(&b);
    }
    /* count 2 with the same member twice */
    const char dup[] = {0, 2, 0, 0, 0, 1, 0, 0, 0, 'a', 1, 0, 0, 0, 'a'};
    const char *err = NULL;
    ck_assert_ptr_null(t->load(dup, sizeof dup, &err));
    ck_assert_str_eq(err, "duplicate set member");
    cmdrun_free(c);
}
END_TEST

/* ---------------------------------------------------------------- randomized model */

#define U 160 /* members "0".."79" (integers) and "m80".."m159" */

static void member(int i, char *out) { snprintf(out, 16, i < U / 2 ? "%d" : "m%d", i); }

static void check_key(client *c, const char *key, const bool *ref)
{
    bool seen[U] = {false};
    int n = parse_members(cmdrunf(c, "SMEMBERS %s", key), seen, U);
    int want = 0;
    for (int i = 0; i < U; i++) {
        want += ref[i];
        ck_assert_msg(seen[i] == ref[i], "key %s member %d: got %d want %d", key, i, seen[i], ref[i]);
    }
    ck_assert_int_eq(n, want);
    ck_assert_int_eq(cmdrunf_int(c, "SCARD %s", key), want);
    ck_assert_str_eq(encoding(key), want ? encoding(key) : "none");
}

START_TEST(test_model)
{
    setup();
    client *c = cmdrun_client();
    /* small limits so that every conversion happens many times */
    cfg.set_max_intset_entries = 20;
    cfg.set_max_listpack_entries = 30;
    cfg.set_max_listpack_value = 3;
    static bool ref[4][U];
    memset(ref, 0, sizeof ref);
    const char *keys[4] = {"k0", "k1", "k2", "k3"};
    char m[16], m2[16];
    int conversions = 0;
    for (int step = 0; step < 6000; step++) {
        int k = (int)(util_rand64() % 4), k2 = (int)(util_rand64() % 4), k3 = (int)(util_rand64() % 4);
        int i = (int)(util_rand64() % U);
        member(i, m);
        const char *before = encoding(keys[k]);
        switch (util_rand64() % 10) {
        case 0:
        case 1:
        case 2: {
            int j = (int)(util_rand64() % U);
            member(j, m2);
            int want = !ref[k][i] + (j != i && !ref[k][j]);
            ck_assert_int_eq(cmdrunf_int(c, "SADD %s %s %s", keys[k], m, m2), want);
            ref[k][i] = ref[k][j] = true;
            break;
        }
        case 3:
            ck_assert_int_eq(cmdrunf_int(c, "SREM %s %s", keys[k], m), ref[k][i]);
            ref[k][i] = false;
            break;
        case 4:
            ck_assert_int_eq(cmdrunf_int(c, "SISMEMBER %s %s", keys[k], m), ref[k][i]);
            break;
        case 5: {
            int want = ref[k][i];
            ck_assert_int_eq(cmdrunf_int(c, "SMOVE %s %s %s", keys[k], keys[k2], m), want);
            if (want && k != k2) {
                ref[k][i] = false;
                ref[k2][i] = true;
            }
            break;
        }
        case 6: {
            bool out[U];
            for (int x = 0; x < U; x++) out[x] = ref[k2][x] && ref[k3][x];
            int n = 0;
            for (int x = 0; x < U; x++) n += out[x];
            ck_assert_int_eq(cmdrunf_int(c, "SINTERSTORE %s %s %s", keys[k], keys[k2], keys[k3]), n);
            memcpy(ref[k], out, sizeof out);
            break;
        }
        case 7: {
            bool out[U];
            for (int x = 0; x < U; x++) out[x] = ref[k2][x] || ref[k3][x];
            int n = 0;
            for (int x = 0; x < U; x++) n += out[x];
            ck_assert_int_eq(cmdrunf_int(c, "SUNIONSTORE %s %s %s", keys[k], keys[k2], keys[k3]), n);
            memcpy(ref[k], out, sizeof out);
            break;
        }
        case 8: {
            bool out[U];
            for (int x = 0; x < U; x++) out[x] = ref[k2][x] && !ref[k3][x];
            int n = 0;
            for (int x = 0; x < U; x++) n += out[x];
            ck_assert_int_eq(cmdrunf_int(c, "SDIFFSTORE %s %s %s", keys[k], keys[k2], keys[k3]), n);
            memcpy(ref[k], out, sizeof out);
            break;
        }
        default: {
            /* SPOP with a count: what comes back was there and is gone */
            int cnt = 1 + (int)(util_rand64() % 5);
            bool seen[U] = {false};
            int have = 0;
            for (int x = 0; x < U; x++) have += ref[k][x];
            int n = parse_members(cmdrunf(c, "SPOP %s %d", keys[k], cnt), seen, U);
            ck_assert_int_eq(n, cnt < have ? cnt : have);
            for (int x = 0; x < U; x++)
                if (seen[x]) {
                    ck_assert(ref[k][x]);
                    ref[k][x] = false;
                }
            break;
        }
        }
        if (strcmp(before, encoding(keys[k])) != 0) conversions++;
        if (step % 50 == 0)
            for (int x = 0; x < 4; x++) check_key(c, keys[x], ref[x]);
    }
    for (int x = 0; x < 4; x++) check_key(c, keys[x], ref[x]);
    ck_assert_int_gt(conversions, 50);
    check_mem_accounting();
    /* SINTER / SUNION / SDIFF / SINTERCARD replies against the reference */
    for (int t = 0; t < 200; t++) {
        int a = (int)(util_rand64() % 4), b = (int)(util_rand64() % 4);
        bool seen[U] = {false};
        int n = parse_members(cmdrunf(c, "SINTER %s %s", keys[a], keys[b]), seen, U);
        int want = 0;
        for (int x = 0; x < U; x++) {
            ck_assert(seen[x] == (ref[a][x] && ref[b][x]));
            want += seen[x];
        }
        ck_assert_int_eq(n, want);
        ck_assert_int_eq(cmdrunf_int(c, "SINTERCARD 2 %s %s", keys[a], keys[b]), want);
        if (want > 1) ck_assert_int_eq(cmdrunf_int(c, "SINTERCARD 2 %s %s LIMIT 1", keys[a], keys[b]), 1);
        memset(seen, 0, sizeof seen);
        parse_members(cmdrunf(c, "SUNION %s %s", keys[a], keys[b]), seen, U);
        for (int x = 0; x < U; x++) ck_assert(seen[x] == (ref[a][x] || ref[b][x]));
        memset(seen, 0, sizeof seen);
        parse_members(cmdrunf(c, "SDIFF %s %s", keys[a], keys[b]), seen, U);
        for (int x = 0; x < U; x++) ck_assert(seen[x] == (ref[a][x] && !ref[b][x]));
    }
    cmdrun_free(c);
}
END_TEST

Suite *make_suite_set(void);
Suite *make_suite_set(void)
{
    Suite *s = suite_create("set");
    TCase *tc = tcase_create("structures");
    tcase_add_test(tc, test_intset_widths);
    tcase_add_test(tc, test_intset_model);
    tcase_add_test(tc, test_mdict_scan_across_resizes);
    suite_add_tcase(s, tc);
    tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_conversions);
    tcase_add_test(tc, test_pop_and_random_counts);
    tcase_add_test(tc, test_snapshot_roundtrip);
    tcase_add_test(tc, test_model);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
