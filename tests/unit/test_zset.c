/* test_zset.c — sorted sets: the skip list against a sorted-array model
 * (insert, unlink, score updates, rank <-> node, score and lex ranges),
 * the packed score codec, encoding conversions at the limits, ZADD's flag
 * rules and NaN refusal, the snapshot round trip, and a randomized model
 * test driving ZADD … ZUNIONSTORE through the dispatcher (cmdrun.h) against
 * a reference. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmdrun.h"
#include "kvd.h"

static void setup(void)
{
    cmdrun_setup_with(4, 2);
    cfg.zset_max_listpack_entries = 128;
    cfg.zset_max_listpack_value = 64;
}

/* Empties the databases after a test: the entries hold their values'
 * pointers unaligned, where LeakSanitizer does not look for them. */
static void teardown(void) { cmdrun_flush(); }

static client *mkclient(int proto)
{
    client *c = cmdrun_client();
    c->proto = proto;
    return c;
}

static const char *encoding(const char *key)
{
    entry *e = store_lookup_read(&server_dbs[0], sv_of(key));
    if (!e) return "none";
    return obj_types[e->type]->encoding(ent_ptr(e));
}

/* ---------------------------------------------------------------- reference */

typedef struct rel {
    char m[16];
    double s;
} rel;

static int rel_cmp(const void *a, const void *b)
{
    const rel *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    return sv_cmp(x->m, strlen(x->m), y->m, strlen(y->m));
}

/* RESP2 reply of members [from, to) of the sorted reference, with scores. */
static void expect_resp(buf *b, const rel *v, int from, int to, bool rev, bool withscores)
{
    int n = to > from ? to - from : 0;
    buf_printf(b, "*%d\r\n", withscores ? 2 * n : n);
    for (int k = 0; k < n; k++) {
        const rel *x = rev ? &v[to - 1 - k] : &v[from + k];
        buf_printf(b, "$%zu\r\n%s\r\n", strlen(x->m), x->m);
        if (withscores) {
            char tmp[64];
            int l = util_d2str(tmp, sizeof tmp, x->s);
            buf_printf(b, "$%d\r\n%s\r\n", l, tmp);
        }
    }
    buf_appendc(b, '\0');
}

/* ---------------------------------------------------------------- skip list */

static void check_list(const zsl *l, rel *ref, int n)
{
    qsort(ref, (size_t)n, sizeof(rel), rel_cmp);
    ck_assert_uint_eq(l->length, (uint64_t)n);
    znode *x = l->header->lv[0].fwd, *prev = NULL;
    for (int i = 0; i < n; i++, prev = x, x = x->lv[0].fwd) {
        ck_assert_ptr_nonnull(x);
        ck_assert(x->score == ref[i].s);
        ck_assert(x->h.len == strlen(ref[i].m) && memcmp(zn_member(x), ref[i].m, x->h.len) == 0);
        ck_assert_ptr_eq(x->back, prev);
        ck_assert_uint_eq(zsl_rank(l, x), (uint64_t)i + 1);
        ck_assert_ptr_eq(zsl_by_rank(l, (uint64_t)i + 1), x);
    }
    ck_assert_ptr_null(x);
    ck_assert_ptr_eq(l->tail, prev);
    ck_assert_ptr_null(zsl_by_rank(l, (uint64_t)n + 1));
    /* every level: ordered, its spans the distances in ranks, and the
     * header's levels above the list's level empty */
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        if (i >= l->level) {
            ck_assert_ptr_null(l->header->lv[i].fwd);
            continue;
        }
        uint64_t r = 0;
        for (znode *y = l->header; y->lv[i].fwd; y = y->lv[i].fwd) {
            ck_assert_int_gt((int)y->lv[i].fwd->level, i);
            r += y->lv[i].span;
            ck_assert_uint_eq(zsl_rank(l, y->lv[i].fwd), r);
        }
    }
}

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

START_TEST(test_skiplist_model)
{
    zsl l;
    zsl_init(&l);
    mdict d;
    md_init(&d, zn_keyp);
    static rel ref[600];
    int n = 0;
    for (int step = 0; step < 8000; step++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", (int)(util_rand64() % 500));
        double s = (double)(int)(util_rand64() % 40) / 2.0 - 5;
        znode *x = (znode *)md_find(&d, m, strlen(m), md_hash(m, strlen(m)));
        int at = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(ref[i].m, m) == 0) at = i;
        ck_assert_int_eq(at >= 0, x != NULL);
        int op = (int)(util_rand64() % 3);
        if (!x) {
            x = zsl_node_new(s, m, strlen(m));
            zsl_insert(&l, x);
            md_insert(&d, &x->h);
            snprintf(ref[n].m, sizeof ref[n].m, "%s", m);
            ref[n++].s = s;
        } else if (op == 0) {
            md_unlink(&d, &x->h);
            zsl_unlink(&l, x);
            free(x);
            ref[at] = ref[--n];
        } else {
            zsl_update_score(&l, x, s);
            ref[at].s = s;
        }
        if (step % 7 == 0 && l.header->lv[0].fwd) {
            /* the first node (zsl_unlink's no-search case, ZPOPMIN's) */
            znode *h = l.header->lv[0].fwd;
            int hat = -1;
            for (int i = 0; i < n; i++)
                if (h->h.len == strlen(ref[i].m) && memcmp(zn_member(h), ref[i].m, h->h.len) == 0) hat = i;
            ck_assert_int_ge(hat, 0);
            md_unlink(&d, &h->h);
            zsl_unlink(&l, h);
            free(h);
            ref[hat] = ref[--n];
        }
        if (step % 500 == 0 || (step < 2000 && step % 20 == 0)) check_list(&l, ref, n);
    }
    check_list(&l, ref, n);
    /* score ranges against the sorted reference */
    for (int t = 0; t < 500; t++) {
        zrange r;
        r.min = (double)(int)(util_rand64() % 44) / 2.0 - 7;
        r.max = (double)(int)(util_rand64() % 44) / 2.0 - 7;
        r.minex = util_rand64() & 1;
        r.maxex = util_rand64() & 1;
        int first = -1, last = -1;
        for (int i = 0; i < n; i++)
            if (zr_gte_min(ref[i].s, &r) && zr_lte_max(ref[i].s, &r)) {
                if (first < 0) first = i;
                last = i;
            }
        znode *a = zsl_first_in_range(&l, &r), *b = zsl_last_in_range(&l, &r);
        if (first < 0 || zr_empty(&r)) {
            ck_assert_ptr_null(a);
            ck_assert_ptr_null(b);
        } else {
            ck_assert_uint_eq(zsl_rank(&l, a), (uint64_t)first + 1);
            ck_assert_uint_eq(zsl_rank(&l, b), (uint64_t)last + 1);
        }
    }
    md_clear(&d, NULL);
    zsl_free_nodes(&l);
}
END_TEST

START_TEST(test_lex_ranges)
{
    /* all scores equal: lex order */
    zsl l;
    zsl_init(&l);
    const char *ms[] = {"a", "aa", "ab", "b", "ba", "c"};
    for (int i = 0; i < 6; i++) zsl_insert(&l, zsl_node_new(0, ms[i], strlen(ms[i])));
    zlex r = {{"aa", 2}, {"b", 1}, 0, 0, false, true};
    ck_assert(memcmp(zn_member(zsl_first_in_lex(&l, &r)), "aa", 2) == 0);
    ck_assert(memcmp(zn_member(zsl_last_in_lex(&l, &r)), "ab", 2) == 0);
    zlex all = {{NULL, 0}, {NULL, 0}, -1, 1, false, false};
    ck_assert_uint_eq(zsl_rank(&l, zsl_last_in_lex(&l, &all)), 6);
    zlex none = {{NULL, 0}, {NULL, 0}, 1, -1, false, false};
    ck_assert(zl_empty(&none));
    ck_assert_ptr_null(zsl_first_in_lex(&l, &none));
    zlex ex = {{"b", 1}, {"b", 1}, 0, 0, true, false};
    ck_assert(zl_empty(&ex));
    zsl_free_nodes(&l);
}
END_TEST

START_TEST(test_score_codec)
{
    double vals[] = {0, 1, -1, 127, -128, 128, 32767, -32768, 40000, 2147483647.0, -2147483648.0,
                     2147483648.0, 0.5, -0.0, 1e300, INFINITY, -INFINITY, 3.0000001};
    uint32_t lens[] = {2, 2, 2, 2, 2, 3, 3, 3, 5, 5, 5, 9, 9, 9, 9, 9, 9, 9};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char b[16];
        ck_assert_uint_eq(pk_score_len(vals[i]), lens[i]);
        ck_assert_uint_eq(pk_score_put(b, vals[i]), lens[i]);
        double back;
        ck_assert_uint_eq(pk_score_get(b, &back), lens[i]);
        ck_assert(back == vals[i] && signbit(back) == signbit(vals[i]));
    }
    char b[8];
    for (uint32_t v = 0; v < 70000; v += 127) {
        uint32_t n = pk_varint_put(b, v), back;
        ck_assert_uint_eq(n, pk_varint_len(v));
        ck_assert_uint_eq(pk_varint_get(b, &back), n);
        ck_assert_uint_eq(back, v);
    }
}
END_TEST

/* ---------------------------------------------------------------- commands */

START_TEST(test_zadd_rules)
{
    setup();
    client *c = mkclient(PROTO_RESP2);
    ck_assert_int_eq(cmdrunf_int(c, "ZADD z 1 a 2 b"), 2);
    ck_assert_str_eq(cmdrunf(c, "ZADD z NX XX 1 a"), "-ERR XX and NX options at the same time are not compatible\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z GT LT 1 a"),
                     "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z INCR 1 a 2 b"), "-ERR INCR option supports a single increment-element pair\r\n");
    /* through the dispatcher, as Redis: too few words fail its arity
     * check; a score without a member after an option reaches ZADD's own */
    ck_assert_str_eq(cmdrunf(c, "ZADD z 1"), "-ERR wrong number of arguments for 'zadd' command\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z NX 1"), "-ERR syntax error\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z nan a"), "-ERR value is not a valid float\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z INCR inf a"), "$3\r\ninf\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z INCR -inf a"), "-ERR resulting score is not a number (NaN)\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZINCRBY z -inf a"), "-ERR resulting score is not a number (NaN)\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZSCORE z a"), "$3\r\ninf\r\n");
    ck_assert_int_eq(cmdrunf_int(c, "ZADD z CH GT 0 b 5 a 6 new"), 1); /* only "new": GT keeps b and a */
    ck_assert_int_eq(cmdrunf_int(c, "ZADD z CH LT 0 b"), 1);
    ck_assert_str_eq(cmdrunf(c, "ZADD z XX INCR 1 nope"), "$-1\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZADD z NX INCR 1 b"), "$-1\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZINCRBY z 1.5 b"), "$3\r\n1.5\r\n");
    ck_assert_int_eq(cmdrunf_int(c, "ZADD none XX 1 a"), 0);
    ck_assert_str_eq(encoding("none"), "none");
    /* RESP3: doubles and nested pairs */
    client *c3 = mkclient(PROTO_RESP3);
    ck_assert_str_eq(cmdrunf(c3, "ZSCORE z b"), ",1.5\r\n");
    ck_assert_str_eq(cmdrunf(c3, "ZRANGE z 0 0 WITHSCORES"), "*1\r\n*2\r\n$1\r\nb\r\n,1.5\r\n");
    ck_assert_str_eq(cmdrunf(c3, "ZPOPMIN z"), "*2\r\n$1\r\nb\r\n,1.5\r\n");
    ck_assert_str_eq(cmdrunf(c3, "ZPOPMIN z 1"), "*1\r\n*2\r\n$3\r\nnew\r\n,6\r\n");
    /* logged for the AOF as the deterministic ZREM z new */
    ck_assert(c3->prop_custom);
    ck_assert_int_eq(c3->prop_count, 1);
    {
        const char *p = c3->prop.p;
        uint32_t argc, l;
        memcpy(&argc, p, 4);
        ck_assert_uint_eq(argc, 3);
        p += 4;
        const char *want[] = {"ZREM", "z", "new"};
        for (int i = 0; i < 3; i++) {
            memcpy(&l, p, 4);
            ck_assert(l == strlen(want[i]) && memcmp(p + 4, want[i], l) == 0);
            p += 4 + l;
        }
    }
    ck_assert_str_eq(cmdrunf(c3, "ZPOPMIN nokey"), "*0\r\n");
    ck_assert(c3->prop_custom && c3->prop_count == 0); /* nothing to log */
    ck_assert_str_eq(cmdrunf(c3, "ZRANK z a WITHSCORE"), "*2\r\n:0\r\n,inf\r\n");
    ck_assert_str_eq(cmdrunf(c3, "ZRANK z nope WITHSCORE"), "_\r\n");
    ck_assert_str_eq(cmdrunf(c, "ZRANK z nope WITHSCORE"), "*-1\r\n");
    cmdrun_free(c3);
    cmdrun_free(c);
}
END_TEST

START_TEST(test_conversions)
{
    setup();
    client *c = mkclient(PROTO_RESP2);
    cfg.zset_max_listpack_entries = 3;
    cfg.zset_max_listpack_value = 4;
    cmdrunf_int(c, "ZADD z 1 a 2 b 3 c");
    ck_assert_str_eq(encoding("z"), "listpack");
    cmdrunf_int(c, "ZADD z 4 d");
    ck_assert_str_eq(encoding("z"), "skiplist");
    ck_assert_str_eq(cmdrunf(c, "ZRANGE z 0 -1"), "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    cmdrunf_int(c, "ZADD y 1 a");
    cmdrunf_int(c, "ZADD y 1 abcde");
    ck_assert_str_eq(encoding("y"), "skiplist");
    cmdrunf_int(c, "ZADD x 1 abcdef");
    ck_assert_str_eq(encoding("x"), "skiplist");
    /* results built by commands take the smallest encoding that fits */
    ck_assert_int_eq(cmdrunf_int(c, "ZRANGESTORE d z 0 1"), 2);
    ck_assert_str_eq(encoding("d"), "listpack");
    ck_assert_int_eq(cmdrunf_int(c, "ZUNIONSTORE u 1 z"), 4);
    ck_assert_str_eq(encoding("u"), "skiplist");
    ck_assert_int_eq(cmdrunf_int(c, "ZINTERSTORE i 2 z y"), 1);
    ck_assert_str_eq(encoding("i"), "listpack");
    /* emptied sorted sets disappear in both encodings */
    ck_assert_int_eq(cmdrunf_int(c, "ZREMRANGEBYRANK z 0 -1"), 4);
    ck_assert_str_eq(encoding("z"), "none");
    ck_assert_int_eq(cmdrunf_int(c, "ZREM d a b"), 2);
    ck_assert_str_eq(encoding("d"), "none");
    /* a packed zero loses its sign, as Redis's listpack */
    cfg.zset_max_listpack_entries = 128;
    cmdrunf_int(c, "ZADD p -0.0 a");
    ck_assert_str_eq(cmdrunf(c, "ZSCORE p a"), "$1\r\n0\r\n");
    /* a snapshot keeps a skip list a skip list, however small (its zeros
     * keep their sign, and ZADD -0 after the restart does as before it) */
    cfg.zset_max_listpack_entries = 0;
    cmdrunf_int(c, "ZADD q -0.0 a 1 b");
    ck_assert_str_eq(cmdrunf(c, "ZSCORE q a"), "$2\r\n-0\r\n");
    cfg.zset_max_listpack_entries = 128;
    const objtype *t = obj_types[OBJ_ZSET];
    buf b;
    buf_init_static(&b, NULL, 0);
    t->save(&b, ent_ptr(store_lookup_read(c->db, sv_of("q"))));
    ck_assert_int_eq(b.p[0], 1); /* format: skip list */
    const char *err = NULL;
    void *v = t->load(b.p, b.len, &err);
    ck_assert_str_eq(t->encoding(v), "skiplist");
    ck_assert_int_eq(cmdrunf_int(c, "DEL q"), 1);
    store_add_ptr(c->db, sv_of("q"), OBJ_ZSET, v, -1);
    ck_assert_str_eq(cmdrunf(c, "ZSCORE q a"), "$2\r\n-0\r\n");
    cmdrunf_int(c, "ZADD q -0.0 c");
    ck_assert_str_eq(cmdrunf(c, "ZSCORE q c"), "$2\r\n-0\r\n");
    /* format 0 (a packed set, or any of snapshot version 4) takes the
     * smallest encoding that fits */
    b.p[0] = 0;
    v = t->load(b.p, b.len, &err);
    ck_assert_str_eq(t->encoding(v), "listpack");
    t->free(v);
    b.p[0] = 2;
    err = NULL;
    ck_assert_ptr_null(t->load(b.p, b.len, &err));
    ck_assert_str_eq(err, "bad sorted set header");
    buf_free(&b);
    cmdrun_free(c);
}
END_TEST

START_TEST(test_snapshot_roundtrip)
{
    setup();
    client *c = mkclient(PROTO_RESP2);
    cmdrunf_int(c, "ZADD p 1 a 2.5 b -inf c inf d");
    char cmdline[8192];
    int o = snprintf(cmdline, sizeof cmdline, "ZADD s");
    for (int j = 0; j < 300; j++) o += snprintf(cmdline + o, sizeof cmdline - (size_t)o, " %d.25 m%d", j % 17, j);
    cmdrunf_int(c, "%s", cmdline);
    const objtype *t = obj_types[OBJ_ZSET];
    const char *keys[] = {"p", "s"};
    const char *encs[] = {"listpack", "skiplist"};
    for (int k = 0; k < 2; k++) {
        entry *e = store_lookup_read(c->db, sv_of(keys[k]));
        ck_assert_str_eq(t->encoding(ent_ptr(e)), encs[k]);
        buf b, b2;
        buf_init_static(&b, NULL, 0);
        buf_init_static(&b2, NULL, 0);
        t->save(&b, ent_ptr(e));
        const char *err = NULL;
        void *v = t->load(b.p, b.len, &err);
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(t->encoding(v), encs[k]);
        t->save(&b2, v);
        ck_assert_uint_eq(b.len, b2.len);
        ck_assert(memcmp(b.p, b2.p, b.len) == 0);
        void *d = t->dup(v);
        buf_free(&b2);
        buf_init_static(&b2, NULL, 0);
        t->save(&b2, d);
        ck_assert(b.len == b2.len && memcmp(b.p, b2.p, b.len) == 0);
        t->free(d);
        for (size_t cut = 0; cut < b.len; cut += 7) {
            err = NULL;
            ck_assert_ptr_null(t->load(b.p, cut, &err));
            ck_assert_ptr_nonnull(err);
        }
        t->free(v);
        buf_free(&b);
        buf_free(&b2);
    }
    cmdrun_free(c);
}
END_TEST

#define U 150 /* "m0".."m149": with value limit 3, m100.. force a skip list */

static void check_key(client *c, const char *key, rel *ref, int n)
{
    qsort(ref, (size_t)n, sizeof(rel), rel_cmp);
    buf want;
    buf_init_static(&want, NULL, 0);
    expect_resp(&want, ref, 0, n, false, true);
    ck_assert_str_eq(cmdrunf(c, "ZRANGE %s 0 -1 WITHSCORES", key), want.p);
    buf_free(&want);
    ck_assert_int_eq(cmdrunf_int(c, "ZCARD %s", key), n);
    if (!n) ck_assert_str_eq(encoding(key), "none");
}

static int find(const rel *v, int n, const char *m)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v[i].m, m) == 0) return i;
    return -1;
}

static double rnd_score(void)
{
    int k = (int)(util_rand64() % 30) - 10;
    return util_rand64() % 3 ? (double)k : k / 4.0 + (k < 0 ? -0.125 : 0.125);
}

START_TEST(test_model)
{
    setup();
    client *c = mkclient(PROTO_RESP2);
    cfg.zset_max_listpack_entries = 24;
    cfg.zset_max_listpack_value = 3;
    static rel ref[3][U];
    int n[3] = {0, 0, 0};
    const char *keys[3] = {"z0", "z1", "z2"};
    int conversions = 0;
    for (int step = 0; step < 5000; step++) {
        int k = (int)(util_rand64() % 3);
        char m[16];
        snprintf(m, sizeof m, "m%d", (int)(util_rand64() % (step % 1000 < 500 ? 60 : U)));
        int at = find(ref[k], n[k], m);
        double s = rnd_score();
        char sc[64];
        util_d2str(sc, sizeof sc, s);
        const char *before = encoding(keys[k]);
        switch (util_rand64() % 9) {
        case 0:
        case 1:
        case 2: {
            /* ZADD with random flags */
            const char *fl[] = {"", "NX", "XX", "GT", "LT", "XX GT", "CH", "CH LT"};
            int f = (int)(util_rand64() % 8);
            bool nx = strstr(fl[f], "NX"), xx = strstr(fl[f], "XX"), gt = strstr(fl[f], "GT"),
                 lt = strstr(fl[f], "LT"), ch = strstr(fl[f], "CH");
            int added = 0, changed = 0;
            if (at < 0 && !xx) {
                snprintf(ref[k][n[k]].m, 16, "%s", m);
                ref[k][n[k]++].s = s;
                added = 1;
            } else if (at >= 0 && !nx) {
                double cur = ref[k][at].s;
                if (!((gt && s <= cur) || (lt && s >= cur)) && s != cur) {
                    ref[k][at].s = s;
                    changed = 1;
                }
            }
            ck_assert_int_eq(cmdrunf_int(c, "ZADD %s %s %s %s", keys[k], fl[f], sc, m), added + (ch ? changed : 0));
            break;
        }
        case 3: {
            char want[64];
            if (at < 0) {
                snprintf(ref[k][n[k]].m, 16, "%s", m);
                ref[k][n[k]++].s = s;
                util_d2str(want, sizeof want, s);
            } else {
                ref[k][at].s += s;
                util_d2str(want, sizeof want, ref[k][at].s);
            }
            char exp[128];
            snprintf(exp, sizeof exp, "$%zu\r\n%s\r\n", strlen(want), want);
            ck_assert_str_eq(cmdrunf(c, "ZINCRBY %s %s %s", keys[k], sc, m), exp);
            break;
        }
        case 4:
            ck_assert_int_eq(cmdrunf_int(c, "ZREM %s %s", keys[k], m), at >= 0);
            if (at >= 0) ref[k][at] = ref[k][--n[k]];
            break;
        case 5: {
            /* ZRANK / ZREVRANK / ZCOUNT / ZRANGEBYSCORE LIMIT vs the reference */
            qsort(ref[k], (size_t)n[k], sizeof(rel), rel_cmp);
            at = find(ref[k], n[k], m);
            if (at < 0) {
                ck_assert_str_eq(cmdrunf(c, "ZRANK %s %s", keys[k], m), "$-1\r\n");
            } else {
                ck_assert_int_eq(cmdrunf_int(c, "ZRANK %s %s", keys[k], m), at);
                ck_assert_int_eq(cmdrunf_int(c, "ZREVRANK %s %s", keys[k], m), n[k] - 1 - at);
            }
            double lo = rnd_score(), hi = rnd_score();
            char slo[64], shi[64];
            util_d2str(slo, sizeof slo, lo);
            util_d2str(shi, sizeof shi, hi);
            int first = -1, cnt = 0;
            for (int i = 0; i < n[k]; i++)
                if (ref[k][i].s > lo && ref[k][i].s <= hi) {
                    if (first < 0) first = i;
                    cnt++;
                }
            ck_assert_int_eq(cmdrunf_int(c, "ZCOUNT %s (%s %s", keys[k], slo, shi), cnt);
            int off = (int)(util_rand64() % 3), lim = (int)(util_rand64() % 4);
            buf want;
            buf_init_static(&want, NULL, 0);
            int from = first < 0 ? 0 : first + off, to = from + lim;
            if (first < 0 || from > first + cnt) from = to = 0;
            if (to > first + cnt) to = first + cnt;
            expect_resp(&want, ref[k], from, to, false, true);
            ck_assert_str_eq(cmdrunf(c, "ZRANGEBYSCORE %s (%s %s WITHSCORES LIMIT %d %d", keys[k], slo, shi, off, lim),
                             want.p);
            /* the same range reversed */
            buf_free(&want);
            buf_init_static(&want, NULL, 0);
            int rfrom = first < 0 ? 0 : first, rto = first < 0 ? 0 : first + cnt - off;
            if (rto < rfrom) rto = rfrom;
            if (rto - rfrom > lim) rfrom = rto - lim;
            expect_resp(&want, ref[k], rfrom, rto, true, false);
            ck_assert_str_eq(cmdrunf(c, "ZRANGE %s %s (%s BYSCORE REV LIMIT %d %d", keys[k], shi, slo, off, lim), want.p);
            buf_free(&want);
            break;
        }
        case 6: {
            /* pop from either end */
            qsort(ref[k], (size_t)n[k], sizeof(rel), rel_cmp);
            int cnt = 1 + (int)(util_rand64() % 3), got = cnt < n[k] ? cnt : n[k];
            bool max = util_rand64() & 1;
            buf want;
            buf_init_static(&want, NULL, 0);
            if (max) expect_resp(&want, ref[k], n[k] - got, n[k], true, true);
            else expect_resp(&want, ref[k], 0, got, false, true);
            ck_assert_str_eq(cmdrunf(c, "%s %s %d", max ? "ZPOPMAX" : "ZPOPMIN", keys[k], cnt), want.p);
            buf_free(&want);
            if (max) n[k] -= got;
            else {
                memmove(ref[k], ref[k] + got, sizeof(rel) * (size_t)(n[k] - got));
                n[k] -= got;
            }
            break;
        }
        case 7: {
            /* ZREMRANGEBYSCORE */
            double lo = rnd_score(), hi = rnd_score();
            char slo[64], shi[64];
            util_d2str(slo, sizeof slo, lo);
            util_d2str(shi, sizeof shi, hi);
            int w = 0, cnt = 0;
            for (int i = 0; i < n[k]; i++) {
                if (ref[k][i].s >= lo && ref[k][i].s < hi) cnt++;
                else ref[k][w++] = ref[k][i];
            }
            ck_assert_int_eq(cmdrunf_int(c, "ZREMRANGEBYSCORE %s %s (%s", keys[k], slo, shi), cnt);
            n[k] = w;
            break;
        }
        default: {
            /* ZUNIONSTORE / ZINTERSTORE with weights and an aggregate */
            int a = (int)(util_rand64() % 3), b = (int)(util_rand64() % 3);
            bool inter = util_rand64() & 1;
            const char *aggs[] = {"SUM", "MIN", "MAX"};
            int ag = (int)(util_rand64() % 3);
            static rel out[2 * U];
            int no = 0;
            for (int i = 0; i < n[a]; i++) {
                int j = find(ref[b], n[b], ref[a][i].m);
                if (inter && j < 0) continue;
                double x = ref[a][i].s * 2, v = x;
                if (j >= 0) {
                    double y = ref[b][j].s;
                    v = ag == 0 ? x + y : ag == 1 ? (x < y ? x : y) : (x > y ? x : y);
                }
                out[no] = ref[a][i];
                out[no++].s = v;
            }
            if (!inter)
                for (int j = 0; j < n[b]; j++)
                    if (find(ref[a], n[a], ref[b][j].m) < 0) out[no++] = ref[b][j];
            if (a == b) {
                /* same key twice: every member meets itself */
                no = 0;
                for (int i = 0; i < n[a]; i++) {
                    double x = ref[a][i].s * 2, y = ref[a][i].s;
                    out[no] = ref[a][i];
                    out[no++].s = ag == 0 ? x + y : ag == 1 ? (x < y ? x : y) : (x > y ? x : y);
                }
            }
            ck_assert_int_eq(cmdrunf_int(c, "%s %s 2 %s %s WEIGHTS 2 1 AGGREGATE %s", inter ? "ZINTERSTORE" : "ZUNIONSTORE",
                                     keys[k], keys[a], keys[b], aggs[ag]),
                             no);
            memcpy(ref[k], out, sizeof(rel) * (size_t)no);
            n[k] = no;
            break;
        }
        }
        if (strcmp(before, encoding(keys[k])) != 0) conversions++;
        if (step % 25 == 0)
            for (int x = 0; x < 3; x++) check_key(c, keys[x], ref[x], n[x]);
    }
    for (int x = 0; x < 3; x++) check_key(c, keys[x], ref[x], n[x]);
    ck_assert_int_gt(conversions, 20);
    check_mem_accounting();
    cmdrun_free(c);
}
END_TEST

Suite *make_suite_zset(void);
Suite *make_suite_zset(void)
{
    Suite *s = suite_create("zset");
    TCase *tc = tcase_create("structures");
    tcase_add_test(tc, test_skiplist_model);
    tcase_add_test(tc, test_lex_ranges);
    tcase_add_test(tc, test_score_codec);
    suite_add_tcase(s, tc);
    tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_zadd_rules);
    tcase_add_test(tc, test_conversions);
    tcase_add_test(tc, test_snapshot_roundtrip);
    tcase_add_test(tc, test_model);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
