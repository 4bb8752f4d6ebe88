/* test_store.c — the sharded store: the per-shard hash table (insert,
 * replace in place, delete, grow and shrink), SCAN coverage across resizes,
 * string resizing, moves between shards and databases, the expiry heap
 * (insert, update, remove, pop-due, equal deadlines), and threads hammering
 * shared shards through the locking discipline (run under TSan by
 * `make check SANITIZE=thread`). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "kvd.h"

static void setup(void)
{
    static bool init;
    if (!init) {
        config_defaults();
        cfg.shards = 4;
        cfg.databases = 2;
        util_hash_seed_random();
        store_init();
        init = true;
    }
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

static sv K(const char *s) { return sv_of(s); }

static uint64_t total_keys(db *d)
{
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) n += d->shards[i].count;
    return n;
}

START_TEST(test_set_get_delete)
{
    db *d = &server_dbs[0];
    store_set_string(d, K("a"), K("1"), -1, false);
    store_set_string(d, K("b"), K("22"), -1, false);
    entry *e = store_lookup_read(d, K("a"));
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->type, OBJ_STRING);
    ck_assert_int_eq(e->vlen, 1);
    ck_assert(memcmp(ent_val(e), "1", 1) == 0);
    /* replace with a longer value: entry reallocated, count unchanged */
    store_set_string(d, K("a"), K("a much longer value than before"), -1, false);
    e = store_lookup_read(d, K("a"));
    ck_assert_int_eq(e->vlen, 31);
    ck_assert_uint_eq(total_keys(d), 2);
    ck_assert(store_delete(d, K("a")));
    ck_assert(!store_delete(d, K("a")));
    ck_assert_ptr_null(store_lookup_read(d, K("a")));
    ck_assert_uint_eq(total_keys(d), 1);
}
END_TEST

START_TEST(test_binary_and_empty_keys)
{
    db *d = &server_dbs[0];
    sv k1 = {"a\0b", 3}, k2 = {"a\0c", 3}, empty = {"", 0};
    store_set_string(d, k1, K("x"), -1, false);
    store_set_string(d, k2, K("y"), -1, false);
    store_set_string(d, empty, empty, -1, false);
    ck_assert(memcmp(ent_val(store_lookup_read(d, k1)), "x", 1) == 0);
    ck_assert(memcmp(ent_val(store_lookup_read(d, k2)), "y", 1) == 0);
    ck_assert_ptr_nonnull(store_lookup_read(d, empty));
    ck_assert_uint_eq(total_keys(d), 3);
}
END_TEST

START_TEST(test_grow_and_shrink)
{
    db *d = &server_dbs[0];
    char k[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        store_set_string(d, K(k), K(k), -1, false);
    }
    ck_assert_uint_eq(total_keys(d), 20000);
    for (int i = 0; i < cfg.shards; i++) ck_assert_uint_ge(d->shards[i].size, d->shards[i].count / 1);
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        entry *e = store_lookup_read(d, K(k));
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(e->vlen, strlen(k));
    }
    for (int i = 0; i < 19990; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        ck_assert(store_delete(d, K(k)));
    }
    ck_assert_uint_eq(total_keys(d), 10);
    for (int i = 0; i < cfg.shards; i++) ck_assert_uint_le(d->shards[i].size, 64); /* shrank */
    for (int i = 19990; i < 20000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        ck_assert_ptr_nonnull(store_lookup_read(d, K(k)));
    }
}
END_TEST

/* The reaper's shrink of a table an expiry wave left sparse: halvings
 * that splice whole chains; every key stays findable, in its bucket. */
START_TEST(test_shrink_sparse_halving)
{
    db *d = &server_dbs[0];
    shard *s = &d->shards[0];
    static char names[3000][24];
    int n = 0;
    for (int i = 0; n < 3000; i++) {
        snprintf(names[n], sizeof names[n], "h:%d", i);
        if (store_shard_of(d, K(names[n])) != s) continue;
        store_set_string(d, K(names[n]), K(names[n]), -1, false);
        n++;
    }
    ck_assert_uint_eq(s->size, 4096);
    for (int i = 0; i < 2000; i++) ck_assert(store_delete(d, K(names[i])));
    ck_assert_uint_eq(s->size, 4096); /* deletes alone wait for 1/8 full */
    store_shrink_sparse(s);
    ck_assert_uint_eq(s->size, 1024); /* two halvings */
    uint64_t chained = 0;
    for (uint64_t b = 0; b < s->size; b++)
        for (entry *e = s->table[b]; e; e = e->next) {
            ck_assert_uint_eq(e->hash & (s->size - 1), b);
            chained++;
        }
    ck_assert_uint_eq(chained, 1000);
    for (int i = 0; i < 3000; i++) {
        entry *e = store_lookup_read(d, K(names[i]));
        if (i < 2000) {
            ck_assert_ptr_null(e);
        } else {
            ck_assert_ptr_nonnull(e);
            ck_assert_int_eq(e->vlen, strlen(names[i]));
        }
    }
}
END_TEST

static void count_cb(void *ctx, entry *e)
{
    int *seen = ctx;
    long long v;
    ck_assert(util_str2ll(ent_val(e), e->vlen, &v));
    seen[v]++;
}

/* A full SCAN pass returns every key present throughout at least once,
 * even when the table grows or shrinks between calls. */
START_TEST(test_scan_across_resize)
{
    db *d = &server_dbs[0];
    shard *s = &d->shards[0];
    enum { N = 3000 };
    static int seen[N + 20000];
    memset(seen, 0, sizeof seen);
    char k[32], v[32];
    int stable = 0;
    /* only keys that land in shard 0 */
    int added = 0;
    for (int i = 0; added < N; i++) {
        snprintf(k, sizeof k, "s:%d", i);
        if (store_shard_of(d, K(k)) != s) continue;
        snprintf(v, sizeof v, "%d", added);
        store_set_string(d, K(k), K(v), -1, false);
        added++;
    }
    stable = added;
    uint64_t cur = 0;
    int step = 0, extra = 0;
    do {
        cur = store_scan_shard(s, cur, 7, count_cb, seen);
        /* grow the table mid-scan, then shrink it back */
        if (step == 20)
            for (int i = 0; extra < 15000; i++) {
                snprintf(k, sizeof k, "x:%d", i);
                if (store_shard_of(d, K(k)) != s) continue;
                snprintf(v, sizeof v, "%d", N + extra);
                store_set_string(d, K(k), K(v), -1, false);
                extra++;
            }
        if (step == 60)
            for (int i = 0, gone = 0; gone < extra; i++) {
                snprintf(k, sizeof k, "x:%d", i);
                if (store_shard_of(d, K(k)) != s) continue;
                store_delete(d, K(k));
                gone++;
            }
        step++;
    } while (cur != 0 && step < 1000000);
    for (int i = 0; i < stable; i++) ck_assert_msg(seen[i] >= 1, "key %d missed by scan", i);
}
END_TEST

START_TEST(test_resize_string_and_move)
{
    db *d = &server_dbs[0], *d1 = &server_dbs[1];
    entry *e = store_set_string(d, K("s"), K("abc"), util_mstime() + 100000, false);
    for (int i = 0; i < 1000; i++) {
        size_t old = e->vlen;
        e = store_resize_string(d, e, old + 3);
        memcpy(ent_val(e) + old, "xyz", 3);
    }
    e = store_lookup_read(d, K("s"));
    ck_assert_int_eq(e->vlen, 3003);
    ck_assert(memcmp(ent_val(e) + 3000, "xyz", 3) == 0);
    ck_assert_int_gt(ent_expire(e), util_mstime());
    /* move to another db keeps the value and the deadline */
    int64_t when = ent_expire(e);
    entry *m = store_move(d, e, d1, K("t"));
    ck_assert_ptr_null(store_lookup_read(d, K("s")));
    ck_assert_ptr_eq(store_lookup_read(d1, K("t")), m);
    ck_assert_int_eq(ent_expire(m), when);
    ck_assert_uint_eq(total_keys(d), 0);
    ck_assert_uint_eq(d1->shards[store_shard_index(store_hash(K("t")))].heap_len, 1);
}
END_TEST

static void heap_ok(shard *s)
{
    for (uint32_t i = 0; i < s->heap_len; i++) {
        uint32_t slot;
        memcpy(&slot, s->heap[i].e->data + 8, sizeof slot);
        ck_assert_uint_eq(slot, i);
        ck_assert_int_eq(s->heap[i].when, ent_expire(s->heap[i].e));
        if (i) ck_assert_int_le(s->heap[(i - 1) / EXPIRE_HEAP_ARITY].when, s->heap[i].when);
    }
}

START_TEST(test_expire_heap)
{
    db *d = &server_dbs[0];
    shard *s = &d->shards[0];
    char k[32];
    int64_t base = util_mstime() + 1000000;
    sv keys[500];
    static char kb[500][32];
    int n = 0;
    for (int i = 0; n < 500; i++) {
        snprintf(k, sizeof k, "e:%d", i);
        if (store_shard_of(d, K(k)) != s) continue;
        memcpy(kb[n], k, sizeof k);
        keys[n] = K(kb[n]);
        /* many equal deadlines: 10 distinct values */
        store_set_string(d, keys[n], K("v"), base + (n % 10) * 1000, false);
        n++;
    }
    ck_assert_uint_eq(s->heap_len, 500);
    heap_ok(s);
    /* update deadlines: half earlier, some removed (PERSIST), some deleted */
    for (int i = 0; i < 500; i += 2) {
        entry *e = store_lookup_write(d, keys[i]);
        store_set_expire(s, e, base - 500000 + i);
    }
    heap_ok(s);
    for (int i = 1; i < 500; i += 4) store_set_expire(s, store_lookup_write(d, keys[i]), -1);
    heap_ok(s);
    for (int i = 3; i < 500; i += 4) store_delete(d, keys[i]);
    heap_ok(s);
    ck_assert_uint_eq(s->heap_len, 250);
    /* pop everything due before base: exactly the 250 updated keys, in order */
    long reaped = 0;
    int64_t last = INT64_MIN;
    while (s->heap_len && s->heap[0].when < base) {
        ck_assert_int_ge(s->heap[0].when, last);
        last = s->heap[0].when;
        expire_reap_shard(s, base - 1, 1, &reaped);
        heap_ok(s);
    }
    ck_assert_int_eq(reaped, 250);
    ck_assert_uint_eq(s->heap_len, 0);
    /* the persisted keys are still there, without deadlines */
    for (int i = 1; i < 500; i += 4) {
        entry *e = store_lookup_read(d, keys[i]);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(ent_expire(e), -1);
    }
}
END_TEST

START_TEST(test_lazy_expiry)
{
    db *d = &server_dbs[0];
    store_set_string(d, K("gone"), K("v"), util_mstime() + 50, false);
    ck_assert_ptr_nonnull(store_lookup_read(d, K("gone")));
    util_clock_jump(100);
    /* readers see it missing but leave it in place; writers delete it */
    ck_assert_ptr_null(store_lookup_read(d, K("gone")));
    ck_assert_uint_eq(total_keys(d), 1);
    ck_assert_ptr_null(store_lookup_write(d, K("gone")));
    ck_assert_uint_eq(total_keys(d), 0);
    util_clock_jump(-100);
}
END_TEST

/* ---------------------------------------------------------------- threads */

enum { THREADS = 4, OPS = 20000 };

static void *hammer(void *arg)
{
    long id = (long)arg;
    db *d = &server_dbs[0];
    char k[32], v[32];
    for (int i = 0; i < OPS; i++) {
        snprintf(k, sizeof k, "h:%d", (int)(util_rand64() % 512));
        shard *s = store_shard_of(d, K(k));
        if (i % 3 == 0) {
            shard_rdlock(s);
            entry *e = store_lookup_read(d, K(k));
            if (e) ck_assert_int_gt(e->vlen, 0);
            shard_unlock(s);
            store_expire_pending(); /* as cmd.c does after every command */
        } else if (i % 7 == 0) {
            shard_wrlock(s);
            store_delete(d, K(k));
            shard_unlock(s);
        } else {
            snprintf(v, sizeof v, "%ld-%d", id, i);
            shard_wrlock(s);
            store_set_string(d, K(k), K(v), (i % 5 == 0) ? util_mstime() + 10 : -1, false);
            shard_unlock(s);
        }
    }
    return NULL;
}

START_TEST(test_threads_hammer)
{
    pthread_t t[THREADS];
    ck_assert_int_eq(expire_reaper_start(), 0); /* the reaper joins in */
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    expire_reaper_stop();
    /* every surviving entry is consistent */
    db *d = &server_dbs[0];
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) {
        shard *s = &d->shards[i];
        shard_rdlock(s);
        for (uint64_t b = 0; b < s->size; b++)
            for (entry *e = s->table[b]; e; e = e->next) n++;
        ck_assert_uint_eq(n >= s->count ? 1 : 0, 1);
        heap_ok(s);
        shard_unlock(s);
    }
    ck_assert_uint_eq(n, total_keys(d));
    ck_assert_uint_le(n, 512);
}
END_TEST

Suite *make_suite_store(void);
Suite *make_suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_set_get_delete);
    tcase_add_test(tc, test_binary_and_empty_keys);
    tcase_add_test(tc, test_grow_and_shrink);
    tcase_add_test(tc, test_shrink_sparse_halving);
    tcase_add_test(tc, test_scan_across_resize);
    tcase_add_test(tc, test_resize_string_and_move);
    tcase_add_test(tc, test_expire_heap);
    tcase_add_test(tc, test_lazy_expiry);
    tcase_add_test(tc, test_threads_hammer);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
