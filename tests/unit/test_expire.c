/* test_expire.c — the expiry index and lazy expiry: the per-shard deadline
 * heap (insert, update, remove, pop-due in order, many equal deadlines, a
 * randomized model of SET/EXPIRE/PERSIST/DEL/RENAME/COPY/reap), the
 * bookkeeping beside it (next_due, the deadline sum, SWAPDB and FLUSHDB),
 * INFO's stale/avg_ttl figures, the reaper's batch bound, and lazy expiry
 * through every read command in the table: a reader treats the key as
 * missing and cmd_call deletes it once its locks are released. */
#include <check.h>
#include <stdarg.h>
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
        cmd_init();
        init = true;
    }
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

static void teardown(void)
{
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

static sv K(const char *s) { return sv_of(s); }

static const char *kname(int i)
{
    static char b[8][32];
    static int r;
    char *p = b[r++ & 7];
    snprintf(p, 32, "key:%d", i);
    return p;
}

/* Heap order, slot back-pointers, deadlines matching the entries, the
 * published next_due and the deadline sum, for every shard of d. */
/* (plain checks, one ck_abort on failure: check records every passing
 * ck_assert, too slow for a check after each of thousands of steps) */
#define HOK(cond) do { if (!(cond)) ck_abort_msg("heap: %s (shard %d, slot %u)", #cond, k, i); } while (0)
static void heap_ok(db *d)
{
    for (int k = 0; k < cfg.shards; k++) {
        shard *s = &d->shards[k];
        __int128 sum = 0;
        uint32_t i = 0;
        for (i = 0; i < s->heap_len; i++) {
            uint32_t slot;
            memcpy(&slot, s->heap[i].e->data + 8, sizeof slot);
            HOK(slot == i);
            HOK(s->heap[i].e->flags & ENT_EXPIRE);
            HOK(s->heap[i].when == ent_expire(s->heap[i].e));
            HOK(i == 0 || s->heap[(i - 1) / EXPIRE_HEAP_ARITY].when <= s->heap[i].when);
            sum += s->heap[i].when;
        }
        HOK(sum == s->exp_sum);
        /* 4-ary layout: every group of four siblings is one cache line */
        HOK(s->heap_len <= 1 || (uintptr_t)&s->heap[1] % 64 == 0);
        HOK(s->heap_len <= s->heap_cap);
        int64_t nd = atomic_load(&s->next_due);
        HOK(nd == (s->heap_len ? s->heap[0].when : INT64_MAX));
        HOK(s->heap_len <= s->count);
    }
}

static uint64_t ttl_keys(db *d)
{
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) n += d->shards[i].heap_len;
    return n;
}

static uint64_t all_keys(db *d)
{
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) n += d->shards[i].count;
    return n;
}

/* Pops every key due at `now` one at a time from every shard, checking
 * that each shard yields its deadlines in nondecreasing order. */
static long pop_all_due(db *d, int64_t now)
{
    long total = 0;
    for (int k = 0; k < cfg.shards; k++) {
        shard *s = &d->shards[k];
        int64_t last = INT64_MIN;
        while (s->heap_len && s->heap[0].when <= now) {
            ck_assert_int_ge(s->heap[0].when, last);
            last = s->heap[0].when;
            long n = 0;
            expire_reap_shard(s, now, 1, &n);
            ck_assert_int_eq(n, 1);
            total++;
        }
    }
    return total;
}

/* ---------------------------------------------------------------- the heap */

START_TEST(test_heap_insert_pop_order)
{
    db *d = &server_dbs[0];
    int64_t base = util_mstime() + 1000000;
    ck_assert_int_eq(atomic_load(&d->shards[0].next_due), INT64_MAX);
    for (int i = 0; i < 3000; i++)
        store_set_string(d, K(kname(i)), K("v"), base + (int64_t)(util_rand64() % 100000), false);
    for (int i = 3000; i < 3500; i++) store_set_string(d, K(kname(i)), K("v"), -1, false);
    heap_ok(d);
    ck_assert_uint_eq(ttl_keys(d), 3000);
    /* nothing is due before the earliest deadline */
    long n = 0;
    for (int k = 0; k < cfg.shards; k++) ck_assert(!expire_reap_shard(&d->shards[k], base - 1, 1000, &n));
    ck_assert_int_eq(n, 0);
    /* half-way: exactly the keys with deadline <= t go, in order */
    int64_t t = base + 50000;
    long due = 0;
    for (int i = 0; i < 3000; i++) {
        entry *e = store_find(store_shard_of(d, K(kname(i))), K(kname(i)), store_hash(K(kname(i))));
        if (ent_expire(e) <= t) due++;
    }
    ck_assert_int_eq(pop_all_due(d, t), due);
    heap_ok(d);
    ck_assert_uint_eq(ttl_keys(d), 3000 - (uint64_t)due);
    ck_assert_int_eq(pop_all_due(d, base + 100000), 3000 - due);
    ck_assert_uint_eq(ttl_keys(d), 0);
    ck_assert_uint_eq(all_keys(d), 500); /* keys without TTL untouched */
    for (int k = 0; k < cfg.shards; k++) {
        ck_assert_ptr_null(d->shards[k].heap); /* an emptied heap is freed */
        ck_assert_int_eq(atomic_load(&d->shards[k].next_due), INT64_MAX);
        ck_assert(d->shards[k].exp_sum == 0);
    }
}
END_TEST

START_TEST(test_heap_update_and_remove)
{
    db *d = &server_dbs[0];
    int64_t base = util_mstime() + 1000000;
    for (int i = 0; i < 1000; i++) store_set_string(d, K(kname(i)), K("v"), base + i * 10, false);
    heap_ok(d);
    /* move every third deadline earlier, every third later */
    for (int i = 0; i < 1000; i += 3) {
        sv k = K(kname(i));
        shard *s = store_shard_of(d, k);
        store_set_expire(s, store_lookup_write(d, k), base - 100000 + i);
        k = K(kname(i + 1));
        s = store_shard_of(d, k);
        if (i + 1 < 1000) store_set_expire(s, store_lookup_write(d, k), base + 500000 - i);
    }
    heap_ok(d);
    /* PERSIST a quarter, DEL a quarter, overwrite some with a plain SET
     * (drops the TTL) and some with KEEPTTL (keeps it) */
    for (int i = 0; i < 1000; i += 4) {
        sv k = K(kname(i));
        store_set_expire(store_shard_of(d, k), store_lookup_write(d, k), -1);
        ck_assert(store_delete(d, K(kname(i + 1))));
        store_set_string(d, K(kname(i + 2)), K("new value, longer than before"), -1, false);
        store_set_string(d, K(kname(i + 3)), K("kept"), -1, true);
        heap_ok(d);
    }
    ck_assert_uint_eq(ttl_keys(d), 250);
    ck_assert_uint_eq(all_keys(d), 750);
    for (int i = 0; i < 1000; i += 4) {
        entry *e = store_lookup_read(d, K(kname(i)));
        ck_assert_int_eq(ent_expire(e), -1);
        e = store_lookup_read(d, K(kname(i + 3)));
        ck_assert_int_ge(ent_expire(e), base - 100000);
    }
    /* add a TTL back to persisted keys */
    for (int i = 0; i < 1000; i += 4) {
        sv k = K(kname(i));
        store_set_expire(store_shard_of(d, k), store_lookup_write(d, k), base + 7);
    }
    heap_ok(d);
    ck_assert_uint_eq(ttl_keys(d), 500);
    ck_assert_int_eq(pop_all_due(d, INT64_MAX - 1), 500);
    heap_ok(d);
}
END_TEST

START_TEST(test_heap_equal_deadlines)
{
    db *d = &server_dbs[0];
    int64_t when = util_mstime() + 1000000;
    for (int i = 0; i < 5000; i++) store_set_string(d, K(kname(i)), K("v"), when, false);
    heap_ok(d);
    /* updates to the same deadline and removals among equals */
    for (int i = 0; i < 5000; i += 7) {
        sv k = K(kname(i));
        store_set_expire(store_shard_of(d, k), store_lookup_write(d, k), when);
    }
    for (int i = 3; i < 5000; i += 11) store_delete(d, K(kname(i)));
    heap_ok(d);
    uint64_t left = ttl_keys(d);
    ck_assert_int_eq(pop_all_due(d, when - 1), 0);
    /* all due at once: batches drain them exactly */
    long total = 0;
    for (int k = 0; k < cfg.shards; k++) {
        shard *s = &d->shards[k];
        uint32_t have = s->heap_len;
        long calls = 0, n = 0;
        while (expire_reap_shard(s, when, REAP_BATCH, &n)) calls++;
        calls++;
        ck_assert_int_eq(n, have);
        ck_assert_int_eq(calls, have ? (have + REAP_BATCH - 1) / REAP_BATCH : 1);
        total += n;
    }
    ck_assert_uint_eq((uint64_t)total, left);
    ck_assert_uint_eq(all_keys(d), 0);
    heap_ok(d);
}
END_TEST

/* A reference model: for each of NK keys, -2 missing, -1 no TTL, else its
 * deadline. Random operations go to the store and the model alike. */
#define NK 400
START_TEST(test_heap_model_stress)
{
    db *d = &server_dbs[0];
    db *d1 = &server_dbs[1];
    static int64_t model[NK];
    for (int i = 0; i < NK; i++) model[i] = -2;
    int64_t now = util_mstime() + 1000000;
    for (int step = 0; step < 40000; step++) {
        int i = (int)(util_rand64() % NK);
        sv k = K(kname(i));
        int64_t dl = now + (int64_t)(util_rand64() % 2000) - 200; /* some already due */
        switch (util_rand64() % 10) {
        case 0: /* SET with TTL */
        case 1:
            store_set_string(d, k, K("x"), dl, false);
            model[i] = dl;
            break;
        case 2: /* SET without */
            store_set_string(d, k, K("yy"), -1, false);
            model[i] = -1;
            break;
        case 3: /* SET KEEPTTL */
            store_set_string(d, k, K("a longer value to force a reallocation"), -1, true);
            if (model[i] == -2) model[i] = -1;
            break;
        case 4: { /* EXPIRE */
            entry *e = store_find(store_shard_of(d, k), k, store_hash(k));
            if (e) {
                store_set_expire(store_shard_of(d, k), e, dl);
                model[i] = dl;
            }
            break;
        }
        case 5: { /* PERSIST */
            entry *e = store_find(store_shard_of(d, k), k, store_hash(k));
            if (e) {
                store_set_expire(store_shard_of(d, k), e, -1);
                model[i] = -1;
            }
            break;
        }
        case 6: { /* DEL (a raw delete, expired or not) */
            entry *e = store_find(store_shard_of(d, k), k, store_hash(k));
            if (e) store_delete_entry(store_shard_of(d, k), e);
            model[i] = -2;
            break;
        }
        case 7: { /* RENAME i -> j: the deadline moves with the value */
            int j = (int)(util_rand64() % NK);
            sv kj = K(kname(j));
            entry *e = store_find(store_shard_of(d, k), k, store_hash(k));
            if (e && j != i) {
                store_move(d, e, d, kj);
                model[j] = model[i];
                model[i] = -2;
            }
            break;
        }
        case 8: { /* COPY to db 1 and back again */
            entry *e = store_find(store_shard_of(d, k), k, store_hash(k));
            if (e) {
                entry *c = store_copy(e, d1, k);
                ck_assert_int_eq(ent_expire(c), model[i]);
                store_delete_entry(store_shard_of(d1, k), c);
            }
            break;
        }
        case 9: /* time passes; the reaper takes what is due */
            now += 50;
            for (int s = 0; s < cfg.shards; s++) {
                long n = 0;
                expire_reap_shard(&d->shards[s], now, REAP_BATCH, &n);
            }
            for (int x = 0; x < NK; x++) {
                if (model[x] < 0 || model[x] > now) continue;
                /* due: either reaped, or left over past the batch */
                entry *e = store_find(store_shard_of(d, K(kname(x))), K(kname(x)), store_hash(K(kname(x))));
                if (!e) model[x] = -2;
            }
            break;
        }
        if (step % 500 == 0 || step == 39999) {
            heap_ok(d);
            heap_ok(d1);
            uint64_t with = 0, keys = 0;
            for (int x = 0; x < NK; x++) {
                sv kx = K(kname(x));
                entry *e = store_find(store_shard_of(d, kx), kx, store_hash(kx));
                if (model[x] == -2) {
                    ck_assert_ptr_null(e);
                    continue;
                }
                ck_assert_ptr_nonnull(e);
                ck_assert_int_eq(ent_expire(e), model[x]);
                keys++;
                if (model[x] >= 0) with++;
            }
            ck_assert_uint_eq(ttl_keys(d), with);
            ck_assert_uint_eq(all_keys(d), keys);
            ck_assert_uint_eq(all_keys(d1), 0);
        }
    }
}
END_TEST

/* One shard, thousands of keys with a handful of distinct deadlines: every
 * heap operation (insert, update up and down, PERSIST, delete, pop-due in
 * batches of random size, shrink and regrow of the array) against a
 * reference model, the heap invariant checked after each step. */
#define NM 3000
START_TEST(test_heap_4ary_model_every_step)
{
    db *d = &server_dbs[0];
    shard *s = &d->shards[2];
    static char names[NM][24];
    static int64_t model[NM]; /* -2 missing, -1 no TTL, else the deadline */
    int nk = 0;
    for (int i = 0; nk < NM; i++) {
        snprintf(names[nk], sizeof names[nk], "m:%d", i);
        if (store_shard_of(d, K(names[nk])) == s) model[nk++] = -2;
    }
    int64_t now = util_mstime() + 1000000;
    long live_ttl = 0;
    for (int step = 0; step < 30000; step++) {
        int i = (int)(util_rand64() % NM);
        sv k = K(names[i]);
        /* 16 distinct deadlines from just due to 750 ms on: many equal */
        int64_t dl = now - 50 + 50 * (int64_t)(util_rand64() % 16);
        unsigned op = (unsigned)(util_rand64() % 20);
        if (step < 6000) op = 0; /* grow first */
        entry *e = store_find(s, k, store_hash(k));
        switch (op) {
        case 0: case 1: case 2: case 3: case 4: /* SET with TTL / EXPIRE */
            if (e && model[i] >= -1 && (op & 1)) store_set_expire(s, e, dl);
            else store_set_string(d, k, K("v"), dl, false);
            live_ttl += model[i] < 0;
            model[i] = dl;
            break;
        case 5: /* PERSIST */
            if (e) {
                store_set_expire(s, e, -1);
                live_ttl -= model[i] >= 0;
                model[i] = -1;
            }
            break;
        case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 14: case 15: case 16: case 17:
            /* DEL; most steps read-only (checked), so the heap stays big */
            if (e && op < 8) {
                store_delete_entry(s, e);
                live_ttl -= model[i] >= 0;
                model[i] = -2;
            } else if ((e != NULL) != (model[i] != -2) || (e && ent_expire(e) != model[i])) {
                ck_abort_msg("key %d: store and model disagree", i);
            }
            break;
        default: { /* the reaper, a batch of random size */
            now += (int64_t)(util_rand64() % 2);
            long budget = 1 + (long)(util_rand64() % (2 * REAP_BATCH)), n = 0;
            long due = 0;
            for (int x = 0; x < NM; x++) due += model[x] >= 0 && model[x] <= now;
            int64_t first = s->heap_len ? s->heap[0].when : INT64_MAX;
            bool more = expire_reap_shard(s, now, budget, &n);
            ck_assert_int_eq(n, due < budget ? due : budget);
            ck_assert(more == (due > budget));
            /* the keys popped are the earliest ones: nothing left is
             * earlier than anything taken */
            int64_t left_min = s->heap_len ? s->heap[0].when : INT64_MAX;
            if (n) ck_assert_int_ge(left_min, first);
            for (int x = 0; x < NM; x++) {
                if (model[x] < 0) continue;
                bool there = store_find(s, K(names[x]), store_hash(K(names[x]))) != NULL;
                if (!there) {
                    if (model[x] > now || model[x] > left_min) ck_abort_msg("reaped a key not due or out of order");
                    model[x] = -2;
                    live_ttl--;
                }
            }
            break;
        }
        }
        heap_ok(d);
        if (s->heap_len != live_ttl) ck_abort_msg("heap has %u keys, model %ld", s->heap_len, live_ttl);
    }
    /* drain: everything due comes out in deadline order */
    long n = 0;
    int64_t last = INT64_MIN;
    while (s->heap_len) {
        ck_assert_int_ge(s->heap[0].when, last);
        last = s->heap[0].when;
        expire_reap_shard(s, INT64_MAX - 1, 1 + (long)(util_rand64() % 5), &n);
        heap_ok(d);
    }
    ck_assert_int_eq(n, live_ttl);
    ck_assert_ptr_null(s->heap);
}
END_TEST

START_TEST(test_swap_and_flush_bookkeeping)
{
    db *a = &server_dbs[0], *b = &server_dbs[1];
    int64_t base = util_mstime() + 1000000;
    for (int i = 0; i < 200; i++) store_set_string(a, K(kname(i)), K("v"), base + i, false);
    for (int i = 0; i < 50; i++) store_set_string(b, K(kname(i)), K("w"), base - 5000 + i, false);
    for (int k = 0; k < cfg.shards; k++) store_swap_shards(&a->shards[k], &b->shards[k]);
    heap_ok(a);
    heap_ok(b);
    ck_assert_uint_eq(ttl_keys(a), 50);
    ck_assert_uint_eq(ttl_keys(b), 200);
    /* the reaper's peek follows the swap: a's shards are due first now */
    long n = 0;
    for (int k = 0; k < cfg.shards; k++) {
        shard *s = &a->shards[k];
        if (atomic_load(&s->next_due) <= base - 1) expire_reap_shard(s, base - 1, 1000, &n);
    }
    ck_assert_int_eq(n, 50);
    for (int k = 0; k < cfg.shards; k++) store_flush_shard(&b->shards[k]);
    heap_ok(b);
    ck_assert_uint_eq(ttl_keys(b), 0);
}
END_TEST

/* ---------------------------------------------------------------- INFO figures */

START_TEST(test_shard_stats)
{
    db *d = &server_dbs[0];
    int64_t now = util_mstime();
    /* 20 keys due, 10 live with TTLs 1000..10000, 5 without */
    for (int i = 0; i < 20; i++) store_set_string(d, K(kname(i)), K("v"), now - 1 - i, false);
    for (int i = 0; i < 10; i++) store_set_string(d, K(kname(100 + i)), K("v"), now + 1000 * (i + 1), false);
    for (int i = 0; i < 5; i++) store_set_string(d, K(kname(200 + i)), K("v"), -1, false);
    expstats st = {0};
    for (int k = 0; k < cfg.shards; k++) expire_shard_stats(&d->shards[k], now, &st);
    ck_assert_uint_eq(st.ttl_keys, 30);
    ck_assert(st.stale == 20.0);
    ck_assert(st.live == 10.0);
    ck_assert(st.live_ttl_sum / st.live == 5500.0); /* exact */
    /* a big backlog in one shard: estimated, within sampling error */
    teardown();
    int made = 0;
    for (int i = 0; made < 4000; i++) {
        sv k = K(kname(i));
        if (store_shard_index(store_hash(k)) != 0) continue;
        store_set_string(d, k, K("v"), made < 3000 ? now - 10 : now + 60000, false);
        made++;
    }
    memset(&st, 0, sizeof st);
    expire_shard_stats(&d->shards[0], now, &st);
    ck_assert_uint_eq(st.ttl_keys, 4000);
    ck_assert(st.stale >= 256 && st.stale <= 4000);
    ck_assert(st.stale + st.live == 4000.0);
    if (st.live >= 1) ck_assert(st.live_ttl_sum / st.live == 60000.0);
}
END_TEST

/* ---------------------------------------------------------------- the reaper's bound */

START_TEST(test_reap_batch_bound)
{
    db *d = &server_dbs[0];
    int64_t now = util_mstime();
    int made = 0;
    for (int i = 0; made < 1000; i++) {
        sv k = K(kname(i));
        if (store_shard_index(store_hash(k)) != 1) continue;
        store_set_string(d, k, K("v"), now - 1 - (made % 13), false);
        made++;
    }
    shard *s = &d->shards[1];
    uint64_t before = s->count;
    long n = 0;
    ck_assert(expire_reap_shard(s, now, REAP_BATCH, &n)); /* more remain */
    ck_assert_int_eq(n, REAP_BATCH);
    ck_assert_uint_eq(s->count, before - REAP_BATCH);
    heap_ok(d);
    int calls = 1;
    while (expire_reap_shard(s, now, REAP_BATCH, &n)) calls++;
    calls++;
    ck_assert_int_eq(n, 1000);
    ck_assert_int_eq(calls, (1000 + REAP_BATCH - 1) / REAP_BATCH);
    ck_assert_uint_eq(s->count, before - 1000);
    ck_assert_int_eq(atomic_load(&s->next_due), INT64_MAX);
}
END_TEST

/* ---------------------------------------------------------------- lazy expiry through the handlers */

static client *mkclient(void)
{
    client *c = calloc(1, sizeof *c);
    c->db = &server_dbs[0];
    c->proto = PROTO_RESP2;
    c->authenticated = true;
    buf_init_static(&c->obuf, NULL, 0);
    buf_init_static(&c->prop, NULL, 0);
    return c;
}

static void freeclient(client *c)
{
    buf_free(&c->obuf);
    buf_free(&c->prop);
    free(c);
}

/* Runs a space-separated command through cmd_call (locks, handler,
 * store_expire_pending); returns its raw RESP2 reply (malloc'd). */
static char *run(client *c, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sv argv[64];
    int argc = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t && argc < 64; t = strtok_r(NULL, " ", &save))
        argv[argc++] = sv_of(t);
    c->argv = argv;
    c->argc = argc;
    c->obuf.len = 0;
    command *cmd = cmd_lookup(argv[0].p, argv[0].n);
    ck_assert_msg(cmd != NULL, "no command %s", argv[0].p);
    cmd_call(c, cmd);
    return kvd_strndup(c->obuf.p ? c->obuf.p : "", c->obuf.len);
}

/* Every read command that handlers reach a key through, with arguments
 * that name the key "k" (as every key argument), and the type of value it
 * needs. A read command with keys that is missing here fails the test for
 * the types that exist on this branch; add new ones as their types land. */
static const struct readcase {
    const char *name;
    const char *make; /* command creating k */
    const char *args; /* after the command name */
} readcases[] = {
    {"get", "set k v", "k"},
    {"mget", "set k v", "k k"},
    {"strlen", "set k v", "k"},
    {"getrange", "set k value", "k 0 -1"},
    {"substr", "set k value", "k 0 -1"},
    {"lcs", "set k value", "k k"},
    {"exists", "set k v", "k"},
    {"type", "set k v", "k"},
    {"touch", "set k v", "k"},
    {"object", "set k v", "encoding k"},
    {"ttl", "set k v", "k"},
    {"pttl", "set k v", "k"},
    {"expiretime", "set k v", "k"},
    {"pexpiretime", "set k v", "k"},
    {"smembers", "sadd k a b", "k"},
    {"sismember", "sadd k a b", "k a"},
    {"smismember", "sadd k a b", "k a b"},
    {"scard", "sadd k a b", "k"},
    {"srandmember", "sadd k a b", "k 2"},
    {"sinter", "sadd k a b", "k k"},
    {"sintercard", "sadd k a b", "1 k"},
    {"sunion", "sadd k a b", "k"},
    {"sdiff", "sadd k a b", "k"},
    {"sscan", "sadd k a b", "k 0"},
    {"zcard", "zadd k 1 a 2 b", "k"},
    {"zcount", "zadd k 1 a 2 b", "k -inf +inf"},
    {"zlexcount", "zadd k 1 a 2 b", "k - +"},
    {"zscore", "zadd k 1 a 2 b", "k a"},
    {"zmscore", "zadd k 1 a 2 b", "k a b"},
    {"zrank", "zadd k 1 a 2 b", "k a"},
    {"zrevrank", "zadd k 1 a 2 b", "k a"},
    {"zrange", "zadd k 1 a 2 b", "k 0 -1"},
    {"zrevrange", "zadd k 1 a 2 b", "k 0 -1"},
    {"zrangebyscore", "zadd k 1 a 2 b", "k -inf +inf"},
    {"zrevrangebyscore", "zadd k 1 a 2 b", "k +inf -inf"},
    {"zrangebylex", "zadd k 1 a 2 b", "k - +"},
    {"zrevrangebylex", "zadd k 1 a 2 b", "k + -"},
    {"zrandmember", "zadd k 1 a 2 b", "k 2"},
    {"zunion", "zadd k 1 a 2 b", "1 k"},
    {"zinter", "zadd k 1 a 2 b", "1 k"},
    {"zintercard", "zadd k 1 a 2 b", "1 k"},
    {"zdiff", "zadd k 1 a 2 b", "1 k"},
    {"zscan", "zadd k 1 a 2 b", "k 0"},
    {"hget", "hset k f v g w", "k f"},
    {"hmget", "hset k f v g w", "k f g"},
    {"hlen", "hset k f v g w", "k"},
    {"hstrlen", "hset k f v g w", "k f"},
    {"hexists", "hset k f v g w", "k f"},
    {"hkeys", "hset k f v g w", "k"},
    {"hvals", "hset k f v g w", "k"},
    {"hgetall", "hset k f v g w", "k"},
    {"hrandfield", "hset k f v g w", "k 2"},
    {"hscan", "hset k f v g w", "k 0"},
    {"llen", "rpush k a b", "k"},
    {"lindex", "rpush k a b", "k 0"},
    {"lrange", "rpush k a b", "k 0 -1"},
    {"lpos", "rpush k a b", "k a"},
    {NULL, NULL, NULL},
};

/* Groups whose read commands must all be covered above. */
static const char *covered_groups[] = {"string", "generic", "set", "sorted_set", "hash", "list", NULL};

static void check_covered(command *cmd, void *ctx)
{
    int *missing = ctx;
    if (!(cmd->flags & CMD_READONLY)) return;
    if (cmd->firstkey == 0 && !cmd->getkeys && strcmp(cmd->name, "object")) return;
    for (const struct readcase *r = readcases; r->name; r++)
        if (!strcmp(r->name, cmd->name)) return;
    bool must = false;
    for (const char **g = covered_groups; *g; g++)
        if (cmd->group && !strcmp(cmd->group, *g)) must = true;
    fprintf(stderr, "test_expire: read command '%s' (%s) has no lazy-expiry case%s\n", cmd->name,
            cmd->group ? cmd->group : "?", must ? "" : " (its type is new: add one)");
    if (must) (*missing)++;
}

START_TEST(test_lazy_expiry_every_read_command)
{
    int missing = 0;
    cmd_foreach(check_covered, &missing);
    ck_assert_int_eq(missing, 0);

    client *c = mkclient();
    for (const struct readcase *r = readcases; r->name; r++) {
        teardown();
        /* the reply for a key that never existed */
        char *miss = run(c, "%s %s", r->name, r->args);
        free(run(c, "%s", r->make));
        free(run(c, "pexpire k 1000"));
        shard *s = store_shard_of(c->db, K("k"));
        ck_assert_uint_eq(s->count, 1);
        util_clock_jump(1001);
        uint64_t exp0 = atomic_load(&server.stat_expired);
        char *got = run(c, "%s %s", r->name, r->args);
        ck_assert_msg(!strcmp(got, miss), "%s on an expired key: %s, on a missing key: %s", r->name, got, miss);
        /* the reader left it; cmd_call deleted it after unlocking */
        ck_assert_msg(s->count == 0, "%s: expired key not deleted", r->name);
        ck_assert_ptr_null(store_find(s, K("k"), store_hash(K("k"))));
        ck_assert_uint_eq(s->heap_len, 0);
        ck_assert_uint_eq(atomic_load(&server.stat_expired), exp0 + 1);
        free(miss);
        free(got);
    }
    freeclient(c);
}
END_TEST

/* Writers meet an expired key as a missing one: it is deleted first and
 * the command acts as on a new key (no old value, no old TTL). */
START_TEST(test_lazy_expiry_writers)
{
    client *c = mkclient();
    static const struct {
        const char *make, *cmd, *expect;
    } w[] = {
        {"set k 41", "incr k", ":1\r\n"},
        {"set k 41", "incrbyfloat k 1.5", "$3\r\n1.5\r\n"},
        {"set k abc", "append k x", ":1\r\n"},
        {"set k abc", "setrange k 1 x", ":2\r\n"},
        {"set k abc", "setnx k new", ":1\r\n"},
        {"set k abc", "set k new xx", "$-1\r\n"},
        {"set k abc", "set k new get", "$-1\r\n"},
        {"set k abc", "getset k new", "$-1\r\n"},
        {"set k abc", "getdel k", "$-1\r\n"},
        {"set k abc", "getex k persist", "$-1\r\n"},
        {"set k abc", "expire k 100", ":0\r\n"},
        {"set k abc", "persist k", ":0\r\n"},
        {"set k abc", "del k", ":0\r\n"},
        {"set k abc", "rename k j", "-ERR no such key\r\n"},
        {"set k abc", "renamenx k j", "-ERR no such key\r\n"},
        {"set k abc", "copy k j", ":0\r\n"},
        {"set k abc", "move k 1", ":0\r\n"},
        {"sadd k a", "sadd k b", ":1\r\n"},
        {"sadd k a", "srem k a", ":0\r\n"},
        {"sadd k a", "spop k", "$-1\r\n"},
        {"zadd k 1 a", "zincrby k 2 a", "$1\r\n2\r\n"},
        {"zadd k 1 a", "zpopmin k", "*0\r\n"},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        teardown();
        free(run(c, "%s", w[i].make));
        free(run(c, "pexpire k 10"));
        util_clock_jump(11);
        uint64_t exp0 = atomic_load(&server.stat_expired);
        char *got = run(c, "%s", w[i].cmd);
        ck_assert_msg(!strcmp(got, w[i].expect), "%s: got %s", w[i].cmd, got);
        ck_assert_uint_eq(atomic_load(&server.stat_expired), exp0 + 1);
        free(got);
        /* whatever the writer left has no TTL */
        got = run(c, "pttl k");
        ck_assert_msg(!strcmp(got, ":-1\r\n") || !strcmp(got, ":-2\r\n"), "%s: pttl %s", w[i].cmd, got);
        free(got);
        heap_ok(c->db);
    }
    freeclient(c);
}
END_TEST

Suite *make_suite_expire(void);
Suite *make_suite_expire(void)
{
    Suite *s = suite_create("expire");
    TCase *tc = tcase_create("expire");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_heap_insert_pop_order);
    tcase_add_test(tc, test_heap_update_and_remove);
    tcase_add_test(tc, test_heap_equal_deadlines);
    tcase_add_test(tc, test_heap_model_stress);
    tcase_add_test(tc, test_heap_4ary_model_every_step);
    tcase_add_test(tc, test_swap_and_flush_bookkeeping);
    tcase_add_test(tc, test_shard_stats);
    tcase_add_test(tc, test_reap_batch_bound);
    tcase_add_test(tc, test_lazy_expiry_every_read_command);
    tcase_add_test(tc, test_lazy_expiry_writers);
    suite_add_tcase(s, tc);
    return s;
}
