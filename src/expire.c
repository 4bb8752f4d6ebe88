/* expire.c — the per-shard deadline index and the reaper thread.
 *
 * Why a min-heap per shard: the reaper must reclaim a key as soon as its
 * deadline passes, without scanning or sampling keys that are not due
 * (Redis samples random keys with TTLs and can take many seconds to find
 * the last expired ones in a big keyspace). A heap of (deadline, entry)
 * gives the next due key in O(1) and removes it in O(log n); each entry
 * with a TTL records its heap slot, so EXPIRE/PERSIST/DEL update or remove
 * it in O(log n) as well. The heap costs 16 bytes per key with a TTL. A
 * timing wheel would make insertion O(1), but needs a resolution and a
 * horizon and still has to sort within a slot; sampling never knows when
 * it is done. The heap is exact and simple, and its array is a uniform
 * sample space for INFO's estimates.
 *
 * Why 4-ary, cache-line aligned: popping a due key costs one cache miss per
 * level for the children's deadlines and one per level for the slot field
 * of the entry that moves up. With four children per node, laid out so the
 * four siblings (4 x 16 bytes) share one 64-byte line, the depth halves
 * (15.6K keys per shard: 7 levels instead of 14) while a level still costs
 * one line: measured, reaper CPU for 1M expired keys (1M more without a
 * TTL) fell from ~0.80 s to ~0.40 s in the server together with the
 * batched unlink below; single-threaded, 820 -> 265 ns per key.
 *
 * The reaper pops a batch of due entries first, prefetching each, then
 * prefetches their buckets, then the heads of their chains, and only then
 * unlinks them (by address, not by key): the misses of a batch overlap
 * instead of following one another. A popped entry is not looked up in the
 * heap again (store_unlink_popped).
 *
 * Each shard publishes its earliest deadline in an atomic (next_due), so
 * the reaper skips shards with nothing due without taking their locks:
 * an idle keyspace costs it one relaxed load per shard per cycle.
 *
 * The reaper wakes `hz` times a second and walks every shard of every
 * database. Where something is due it takes the shard's write lock, pops at
 * most REAP_BATCH due keys, releases the lock and moves on, so a wave of
 * expirations never holds one shard for longer than one batch (tens of
 * microseconds). While shards still have due keys it goes round again
 * within the cycle, until a time budget of 25% of the cycle period at
 * active-expire-effort 1 (+5% per step, 70% at 10) is spent; a cycle that
 * ends on the budget with keys still due counts in
 * expired_time_cap_reached_count and the next one starts after a 1 ms
 * pause, not a full period: a wave of expirations is worked off at once in
 * budget-sized slices (measured: at a 25% share, 1M keys expiring within a
 * second took ~10 s to reclaim on 2 busy CPUs; in slices, well under 1 s,
 * GET p99 unchanged), while clients are never held up by more than one
 * batch on a shard. A cycle that deleted anything is followed by the next
 * one after 5 ms rather than a full period (as Redis's fast expire
 * cycles), so a wave is reclaimed in small, even steps instead of a burst
 * that takes a CPU for tens of milliseconds every period.
 *
 * On a machine with more runnable threads than CPUs the reaper is often
 * preempted, and nearly all its time is spent holding some shard: preempted
 * there, it leaves that shard's clients waiting until it is scheduled again
 * (measured: single holds of 15-66 ms, GET max 27-37 ms). So after each
 * 0.5 ms of work it yields the CPU between two holds (sched_yield), which
 * is where the scheduler then tends to switch it out (3 runs each on a
 * loaded 2-CPU machine: holds over 1 ms per wave 12-96 against 96-139
 * without, longest hold 2.6-10 ms against 15-28 ms, GET max 10-19 ms
 * against 27-37 ms; the scheduler still decides, so it narrows the spikes
 * rather than ruling them out).
 *
 * Lock order: the reaper holds one shard lock at a time; under it,
 * store_key_expired publishes the "expired" keyspace event (registry lock,
 * after shard locks, as everywhere). */
#include "kvd.h"

#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* After a wave: once the reaper has deleted this many keys and finds
 * nothing more due, it asks the allocator to return the freed pages to the
 * system now (jemalloc would otherwise keep them for its decay time, ~10 s),
 * outside any lock, on its first idle cycle after the wave. It takes
 * 3-15 ms of the reaper's time after a wave of 1M keys; GET max with and
 * without it could not be told apart (4 runs each on a loaded machine). */
#define PURGE_AFTER 65536

static void release_freed_memory(void)
{
#ifdef HAVE_JEMALLOC
    char name[64];
    snprintf(name, sizeof name, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    mallctl(name, NULL, NULL, NULL, 0);
#else
    malloc_trim(0);
#endif
}

static uint32_t slot_of(const entry *e)
{
    uint32_t i;
    memcpy(&i, e->data + 8, sizeof i);
    return i;
}

static void set_slot(entry *e, uint32_t i) { memcpy(e->data + 8, &i, sizeof i); }

/* 4-ary layout: the children of slot i are 4i+1..4i+4, its parent
 * (i-1)/4. The array starts HEAP_OFF bytes into a 64-byte aligned block,
 * so slot 1, and with it every group of four siblings (4 x 16 bytes),
 * fills exactly one cache line. */
#define HEAP_OFF (3 * sizeof(expslot))

static expslot *heap_alloc(uint32_t cap)
{
    void *p;
    if (posix_memalign(&p, 64, HEAP_OFF + (size_t)cap * sizeof(expslot))) abort();
    return (expslot *)((char *)p + HEAP_OFF);
}

static void heap_setcap(shard *s, uint32_t ncap)
{
    expslot *nh = heap_alloc(ncap);
    if (s->heap_len) memcpy(nh, s->heap, (size_t)s->heap_len * sizeof(expslot));
    if (s->heap) free((char *)s->heap - HEAP_OFF);
    s->heap = nh;
    s->heap_cap = ncap;
}

void expire_heap_free(shard *s)
{
    if (s->heap) free((char *)s->heap - HEAP_OFF);
    s->heap = NULL;
    s->heap_len = s->heap_cap = 0;
    expire_heap_reset(s);
}

static void heap_place(shard *s, uint32_t i, expslot v)
{
    s->heap[i] = v;
    set_slot(v.e, i);
    if (i == 0) atomic_store_explicit(&s->next_due, v.when, memory_order_relaxed);
}

void expire_heap_reset(shard *s)
{
    if (!s->heap_len) s->exp_sum = 0;
    atomic_store_explicit(&s->next_due, s->heap_len ? s->heap[0].when : INT64_MAX, memory_order_relaxed);
}

/* Places v at slot i or above it, moving the parents it beats down. */
static void sift_up_value(shard *s, uint32_t i, expslot v)
{
    expslot *h = s->heap;
    while (i > 0) {
        uint32_t p = (i - 1) / EXPIRE_HEAP_ARITY;
        if (h[p].when <= v.when) break;
        heap_place(s, i, h[p]);
        i = p;
    }
    heap_place(s, i, v);
}

static void sift_up(shard *s, uint32_t i) { sift_up_value(s, i, s->heap[i]); }

/* The smallest child of i (all four in one cache line), or n if i is a
 * leaf. */
static inline uint64_t min_child(const expslot *h, uint64_t i, uint64_t n)
{
    uint64_t c = EXPIRE_HEAP_ARITY * i + 1;
    if (c >= n) return n;
    uint64_t end = c + EXPIRE_HEAP_ARITY < n ? c + EXPIRE_HEAP_ARITY : n;
    uint64_t m = c;
    int64_t best = h[c].when;
    for (uint64_t k = c + 1; k < end; k++)
        if (h[k].when < best) {
            best = h[k].when;
            m = k;
        }
    return m;
}

static void sift_down(shard *s, uint32_t i)
{
    expslot *h = s->heap;
    expslot v = h[i];
    uint64_t n = s->heap_len;
    for (;;) {
        uint64_t m = min_child(h, i, n);
        if (m == n || h[m].when >= v.when) break;
        heap_place(s, i, h[m]);
        i = (uint32_t)m;
    }
    heap_place(s, i, v);
}

static void heap_maybe_shrink(shard *s)
{
    if (s->heap_len == 0) expire_heap_free(s);
    else if (s->heap_cap > 64 && s->heap_len < s->heap_cap / 4) heap_setcap(s, s->heap_cap / 2);
}

void expire_heap_add(shard *s, entry *e)
{
    if (s->heap_len == s->heap_cap) heap_setcap(s, s->heap_cap ? s->heap_cap * 2 : 8);
    uint32_t i = s->heap_len++;
    expslot v = {ent_expire(e), e};
    s->exp_sum += v.when;
    heap_place(s, i, v);
    sift_up(s, i);
}

void expire_heap_update(shard *s, entry *e)
{
    uint32_t i = slot_of(e);
    kvd_assert(i < s->heap_len && s->heap[i].e == e);
    s->exp_sum -= s->heap[i].when;
    s->heap[i].when = ent_expire(e);
    s->exp_sum += s->heap[i].when;
    sift_up(s, i);
    sift_down(s, slot_of(e));
}

void expire_heap_moved(shard *s, entry *e)
{
    uint32_t i = slot_of(e);
    kvd_assert(i < s->heap_len);
    s->heap[i].e = e;
}

void expire_heap_remove(shard *s, entry *e)
{
    uint32_t i = slot_of(e);
    kvd_assert(i < s->heap_len && s->heap[i].e == e);
    s->exp_sum -= s->heap[i].when;
    uint32_t last = --s->heap_len;
    if (i != last) {
        /* the last slot fills the hole and moves up or down from there */
        expslot moved = s->heap[last];
        heap_place(s, i, moved);
        sift_up(s, i);
        sift_down(s, slot_of(moved.e));
    }
    heap_maybe_shrink(s);
}

/* Removes the root and returns its entry (whose slot field is left
 * stale). Bottom-up (Floyd): the last slot, which replaces the root, nearly
 * always belongs near the bottom again, so the hole is first taken down to
 * a leaf without comparing against it (measured: ~4% less per pop than a
 * plain sift-down, 265 vs 276 ns per reaped key, medians of 6). */
static entry *heap_pop(shard *s)
{
    expslot *h = s->heap;
    entry *top = h[0].e;
    s->exp_sum -= h[0].when;
    uint32_t n = --s->heap_len;
    if (n) {
        /* Floyd: the hole goes down to a leaf along the smaller children,
         * then the last slot fills it and moves up from there */
        expslot v = h[n];
        uint32_t i = 0;
        for (;;) {
            uint64_t m = min_child(h, i, n);
            if (m == n) break;
            heap_place(s, i, h[m]);
            i = (uint32_t)m;
        }
        sift_up_value(s, i, v);
    }
    heap_maybe_shrink(s);
    return top;
}

bool expire_reap_shard(shard *s, int64_t now, long budget, long *reaped)
{
    db *d = &server_dbs[s->dbid];
    entry *batch[REAP_BATCH];
    while (budget > 0 && s->heap_len && s->heap[0].when <= now) {
        /* pop a batch first, then unlink it: the entries' and their
         * buckets' cache misses overlap instead of following each other */
        int n = 0;
        while (n < REAP_BATCH && n < budget && s->heap_len && s->heap[0].when <= now) {
            entry *e = heap_pop(s);
            __builtin_prefetch(e, 1);
            batch[n++] = e;
        }
        for (int k = 0; k < n; k++) store_prefetch_bucket(s, batch[k]);
        for (int k = 0; k < n; k++) store_prefetch_chain(s, batch[k]);
        for (int k = 0; k < n; k++) {
            entry *e = batch[k];
            store_unlink_popped(s, e);
            /* the key lives in the entry until it is freed: the WATCH and
             * notification hooks see it first */
            store_key_expired(d, ent_keysv(e));
            store_entry_free(e);
        }
        budget -= n;
        *reaped += n;
    }
    return s->heap_len && s->heap[0].when <= now;
}

/* ---------------------------------------------------------------- INFO */

#define STATS_WALK 256   /* due heap nodes counted exactly per shard */
#define STATS_SAMPLES 64 /* random slots examined beyond that */

void expire_shard_stats(shard *s, int64_t now, expstats *st)
{
    uint32_t n = s->heap_len;
    if (!n) return;
    st->ttl_keys += n;
    /* The due entries form a subtree at the root (heap order): walk it. */
    uint32_t stack[(EXPIRE_HEAP_ARITY - 1) * STATS_WALK + 1]; /* each visit nets <= 3 */
    int sp = 0;
    uint32_t seen = 0;
    __int128 due_sum = 0;
    bool truncated = false;
    if (s->heap[0].when <= now) stack[sp++] = 0;
    while (sp > 0) {
        uint32_t i = stack[--sp];
        if (seen == STATS_WALK) {
            truncated = true;
            break;
        }
        seen++;
        due_sum += s->heap[i].when;
        uint64_t c0 = (uint64_t)EXPIRE_HEAP_ARITY * i + 1;
        for (uint64_t ch = c0; ch < c0 + EXPIRE_HEAP_ARITY && ch < n; ch++)
            if (s->heap[ch].when <= now) stack[sp++] = (uint32_t)ch;
    }
    if (!truncated) {
        st->stale += seen;
        uint32_t live = n - seen;
        st->live += live;
        st->live_ttl_sum += (double)(s->exp_sum - due_sum - (__int128)now * live);
        return;
    }
    /* A big backlog: estimate from uniformly random heap slots. */
    uint32_t due = 0, live = 0;
    double ttl = 0;
    for (int k = 0; k < STATS_SAMPLES; k++) {
        int64_t w = s->heap[util_rand64() % n].when;
        if (w <= now) {
            due++;
        } else {
            live++;
            ttl += (double)(w - now);
        }
    }
    double est_due = (double)n * due / STATS_SAMPLES;
    if (est_due < seen) est_due = seen;
    st->stale += est_due;
    st->live += (double)n - est_due;
    if (live) st->live_ttl_sum += ((double)n - est_due) * (ttl / live);
}

/* ---------------------------------------------------------------- reaper */

static pthread_t reaper_tid;
static pthread_mutex_t reaper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaper_cv = PTHREAD_COND_INITIALIZER;
static bool reaper_stop_flag, reaper_running, reaper_kick;
#define BACKLOG_PAUSE_US 1000 /* between budget slices while keys remain due */
#define WAVE_PERIOD_US 5000   /* between cycles while keys keep coming due */
#define YIELD_EVERY_US 500    /* of running between lock holds */
static _Atomic bool reaper_paused; /* DEBUG SET-ACTIVE-EXPIRE 0 */

void expire_set_active(bool on)
{
    atomic_store(&reaper_paused, !on);
    expire_reaper_wake();
}

/* One pass over every shard with something due (lock-free peek at
 * next_due), a batch per lock hold, until the monotonic deadline. Returns
 * whether due keys remain; *capped when the deadline cut it short. */
static bool reap_pass(int64_t now, int64_t deadline_us, long *total, bool *capped)
{
    bool more = false;
    static int64_t ran_from; /* the reaper thread's own */
    if (!ran_from) ran_from = util_monotonic_us();
    for (int d = 0; d < cfg.databases; d++) {
        for (int i = 0; i < cfg.shards; i++) {
            shard *s = &server_dbs[d].shards[i];
            if (atomic_load_explicit(&s->next_due, memory_order_relaxed) > now) continue;
            long n = 0;
            shard_wrlock(s);
            if (expire_reap_shard(s, now, REAP_BATCH, &n)) more = true;
            else if (n) store_shrink_sparse(s); /* drained: give the table back */
            shard_unlock(s);
            *total += n;
            if (n && util_monotonic_us() - ran_from >= YIELD_EVERY_US) {
                /* give the CPU up here, between holds, rather than be
                 * preempted holding a shard that clients then wait on */
                sched_yield();
                ran_from = util_monotonic_us();
            }
            if (n && util_monotonic_us() >= deadline_us) {
                *capped = true;
                return true;
            }
        }
    }
    return more;
}

static void *reaper_main(void *arg)
{
    UNUSED(arg);
    long since_purge = 0;
    pthread_mutex_lock(&reaper_mu);
    while (!reaper_stop_flag) {
        reaper_kick = false;
        int hz = cfg_hz_in_use();
        long period_us = 1000000L / hz;
        int effort = CFG(active_expire_effort) < 1 ? 1 : CFG(active_expire_effort);
        /* share of each period the reaper may spend: 25% at effort 1, up to 70% */
        long budget_us = period_us * (25 + (effort - 1) * 5) / 100;
        pthread_mutex_unlock(&reaper_mu);

        int64_t start = util_monotonic_us();
        long total = 0;
        bool capped = false;
        while (!atomic_load(&reaper_paused) && !capped && reap_pass(util_mstime(), start + budget_us, &total, &capped)) {
        }
        if (total) atomic_fetch_add_explicit(&server.stat_expired, (uint64_t)total, memory_order_relaxed);
        since_purge += total;
        if (total == 0 && since_purge >= PURGE_AFTER) { /* the wave is over */
            release_freed_memory();
            since_purge = 0;
        }
        if (capped) atomic_fetch_add_explicit(&server.stat_expire_cap_reached, 1, memory_order_relaxed);

        /* behind: the next slice after a short pause (the scheduler gives
         * the clients the CPU meanwhile; no lock is held across it), so a
         * backlog is worked off at once rather than at the budget's share */
        long spent = (long)(util_monotonic_us() - start);
        long wait_us = capped ? BACKLOG_PAUSE_US : period_us - spent;
        if (total && !capped && wait_us > WAVE_PERIOD_US) wait_us = WAVE_PERIOD_US;
        if (wait_us < 1000) wait_us = 1000;
        pthread_mutex_lock(&reaper_mu);
        if (reaper_stop_flag || reaper_kick) continue;
        struct timespec ts = util_deadline(wait_us);
        pthread_cond_timedwait(&reaper_cv, &reaper_mu, &ts);
    }
    pthread_mutex_unlock(&reaper_mu);
    return NULL;
}

int expire_reaper_start(void)
{
    reaper_stop_flag = false;
    if (pthread_create(&reaper_tid, NULL, reaper_main, NULL) != 0) return -1;
#ifdef __GLIBC__
    pthread_setname_np(reaper_tid, "kvd-reaper"); /* for top -H, perf, the bench */
#endif
    reaper_running = true;
    return 0;
}

void expire_reaper_wake(void)
{
    pthread_mutex_lock(&reaper_mu);
    reaper_kick = true;
    pthread_cond_signal(&reaper_cv);
    pthread_mutex_unlock(&reaper_mu);
}

void expire_reaper_stop(void)
{
    if (!reaper_running) return;
    pthread_mutex_lock(&reaper_mu);
    reaper_stop_flag = true;
    pthread_cond_signal(&reaper_cv);
    pthread_mutex_unlock(&reaper_mu);
    pthread_join(reaper_tid, NULL);
    reaper_running = false;
}
