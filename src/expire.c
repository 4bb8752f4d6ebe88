/* expire.c — the per-shard deadline index and the reaper thread.
 *
 * Why a min-heap per shard: the reaper must reclaim a key as soon as its
 * deadline passes, without scanning or sampling keys that are not due
 * (Redis samples random keys with TTLs and can take many seconds to find
 * the last expired ones in a big keyspace). A binary heap of (deadline,
 * entry) gives the next due key in O(1) and removes it in O(log n); each
 * entry with a TTL records its heap slot, so EXPIRE/PERSIST/DEL update or
 * remove it in O(log n) as well. The heap costs 16 bytes per key with a TTL.
 *
 * The reaper wakes `hz` times a second and walks every shard of every
 * database: it takes the shard's write lock, pops at most a bounded batch of
 * due keys, releases the lock and moves on, so a wave of expirations never
 * holds one shard for long. If a shard still had due keys it goes round
 * again at once, within a per-cycle time budget set by active-expire-effort. */
#include "kvd.h"

#include <stdlib.h>
#include <time.h>

static uint32_t slot_of(const entry *e)
{
    uint32_t i;
    memcpy(&i, e->data + 8, sizeof i);
    return i;
}

static void set_slot(entry *e, uint32_t i) { memcpy(e->data + 8, &i, sizeof i); }

static void heap_place(shard *s, uint32_t i, expslot v)
{
    s->heap[i] = v;
    set_slot(v.e, i);
}

static void sift_up(shard *s, uint32_t i)
{
    expslot v = s->heap[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (s->heap[p].when <= v.when) break;
        heap_place(s, i, s->heap[p]);
        i = p;
    }
    heap_place(s, i, v);
}

static void sift_down(shard *s, uint32_t i)
{
    expslot v = s->heap[i];
    uint32_t n = s->heap_len;
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t best = v.when;
        if (l < n && s->heap[l].when < best) { m = l; best = s->heap[l].when; }
        if (r < n && s->heap[r].when < best) m = r;
        if (m == i) break;
        heap_place(s, i, s->heap[m]);
        i = m;
    }
    heap_place(s, i, v);
}

void expire_heap_add(shard *s, entry *e)
{
    if (s->heap_len == s->heap_cap) {
        uint32_t ncap = s->heap_cap ? s->heap_cap * 2 : 8;
        expslot *nh = realloc(s->heap, ncap * sizeof(expslot));
        if (!nh) abort();
        s->heap = nh;
        s->heap_cap = ncap;
    }
    uint32_t i = s->heap_len++;
    expslot v = {ent_expire(e), e};
    heap_place(s, i, v);
    sift_up(s, i);
}

void expire_heap_update(shard *s, entry *e)
{
    uint32_t i = slot_of(e);
    kvd_assert(i < s->heap_len && s->heap[i].e == e);
    s->heap[i].when = ent_expire(e);
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
    uint32_t last = --s->heap_len;
    if (i != last) {
        heap_place(s, i, s->heap[last]);
        sift_up(s, i);
        sift_down(s, slot_of(s->heap[i].e) == i ? i : slot_of(s->heap[i].e));
    }
    if (s->heap_len == 0) {
        free(s->heap);
        s->heap = NULL;
        s->heap_cap = 0;
    } else if (s->heap_cap > 64 && s->heap_len < s->heap_cap / 4) {
        uint32_t ncap = s->heap_cap / 2;
        expslot *nh = realloc(s->heap, ncap * sizeof(expslot));
        if (nh) {
            s->heap = nh;
            s->heap_cap = ncap;
        }
    }
}

/* Deletes up to `budget` due keys of s (write lock held by the caller).
 * Adds the number deleted to *reaped. */
void expire_reap_shard(shard *s, int64_t now, long budget, long *reaped)
{
    while (budget-- > 0 && s->heap_len && s->heap[0].when <= now) {
        /* the key outlives its entry for the WATCH / notification hooks */
        entry *e = s->heap[0].e;
        char kmem[256];
        char *kp = e->klen <= sizeof kmem ? kmem : malloc(e->klen);
        if (!kp) abort();
        sv key = {kp, e->klen};
        memcpy(kp, ent_key(e), e->klen);
        store_delete_entry(s, e);
        store_key_expired(&server_dbs[s->dbid], key);
        if (kp != kmem) free(kp);
        (*reaped)++;
    }
}

/* ---------------------------------------------------------------- reaper */

static pthread_t reaper_tid;
static pthread_mutex_t reaper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reaper_cv = PTHREAD_COND_INITIALIZER;
static bool reaper_stop_flag, reaper_running;

#define REAP_BATCH 64 /* keys per lock hold */

static void *reaper_main(void *arg)
{
    UNUSED(arg);
    pthread_mutex_lock(&reaper_mu);
    while (!reaper_stop_flag) {
        int hz = CFG(hz) < 1 ? 1 : CFG(hz);
        long period_us = 1000000L / hz;
        int effort = CFG(active_expire_effort) < 1 ? 1 : CFG(active_expire_effort);
        /* share of each period the reaper may spend: 25% at effort 1, up to 70% */
        long budget_us = period_us * (25 + (effort - 1) * 5) / 100;
        pthread_mutex_unlock(&reaper_mu);

        int64_t start = util_monotonic_us();
        long total = 0;
        bool more = true, capped = false;
        while (more && !capped) {
            more = false;
            int64_t now = util_mstime();
            for (int d = 0; d < cfg.databases && !capped; d++) {
                for (int i = 0; i < cfg.shards; i++) {
                    shard *s = &server_dbs[d].shards[i];
                    long n = 0;
                    shard_wrlock(s);
                    expire_reap_shard(s, now, REAP_BATCH, &n);
                    if (s->heap_len && s->heap[0].when <= now) more = true;
                    shard_unlock(s);
                    total += n;
                    if (util_monotonic_us() - start > budget_us) {
                        capped = more = true;
                        break;
                    }
                }
            }
        }
        if (total) atomic_fetch_add_explicit(&server.stat_expired, (uint64_t)total, memory_order_relaxed);
        if (capped) atomic_fetch_add_explicit(&server.stat_expire_cap_reached, 1, memory_order_relaxed);

        pthread_mutex_lock(&reaper_mu);
        if (reaper_stop_flag) break;
        if (capped) continue; /* behind: go again without sleeping */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = ts.tv_nsec + (long long)period_us * 1000;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&reaper_cv, &reaper_mu, &ts);
    }
    pthread_mutex_unlock(&reaper_mu);
    return NULL;
}

int expire_reaper_start(void)
{
    reaper_stop_flag = false;
    if (pthread_create(&reaper_tid, NULL, reaper_main, NULL) != 0) return -1;
    reaper_running = true;
    return 0;
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
