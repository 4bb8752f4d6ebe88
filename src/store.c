/* store.c — databases, shards and their rwlocks, the per-shard hash table
 * of entries, lookups with lazy expiry.
 *
 * LOCK ORDER (the one global order; everything that takes more than one
 * lock follows it):
 *   1. shard locks, in ascending (db id, shard index) order — a command
 *      that touches several shards takes them all up front in that order;
 *   2. then the AOF / snapshot mutexes;
 *   3. then the pub/sub registry lock (t_pubsub.c: keyspace notifications
 *      are published while shard locks are held), then a subscriber's
 *      outlock (conn_push); never a shard lock while holding either;
 *   4. then conn_list_lock / a client's own lock (never held while taking
 *      a shard lock).
 * The WATCH registry (t_multi.c) has no lock of its own: each shard's
 * watched-key table is guarded by that shard's rwlock (changed only under
 * the write lock). EXEC takes the shards of its queued commands and of its
 * watched keys in the order above; a transaction with a whole-db command
 * takes every shard of every db (store_lock_all), after which shard_*lock
 * calls on that thread are no-ops (store_locks_held) so the NOLOCK
 * handlers run unchanged.
 * No socket I/O, no fsync and no unbounded work while a shard lock is held;
 * the reaper releases between bounded batches.
 *
 * Readers (read lock) never modify a shard: an expired key they meet is
 * treated as missing and left for a writer or the reaper to delete. */
#include "kvd.h"

#include <malloc.h>
#include <stdlib.h>

db *server_dbs;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        log_warning("out of memory allocating %zu bytes", n);
        abort();
    }
    return p;
}

void store_init(void)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef __GLIBC__
    /* writers must not starve behind a stream of readers */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    server_dbs = calloc((size_t)cfg.databases, sizeof(db));
    for (int i = 0; i < cfg.databases; i++) {
        server_dbs[i].id = i;
        if (posix_memalign((void **)&server_dbs[i].shards, 64, sizeof(shard) * (size_t)cfg.shards))
            abort();
        memset(server_dbs[i].shards, 0, sizeof(shard) * (size_t)cfg.shards);
        for (int j = 0; j < cfg.shards; j++) {
            shard *s = &server_dbs[i].shards[j];
            pthread_rwlock_init(&s->lock, &attr);
            s->id = (uint32_t)j;
            s->dbid = (uint32_t)i;
            expire_heap_reset(s);
        }
    }
    pthread_rwlockattr_destroy(&attr);
    int bits = 0;
    while ((1 << bits) < cfg.shards) bits++;
    server.shard_bits = bits;
}

void store_free_all(void)
{
    if (!server_dbs) return;
    for (int i = 0; i < cfg.databases; i++) {
        for (int j = 0; j < cfg.shards; j++) {
            shard *s = &server_dbs[i].shards[j];
            store_flush_shard(s);
            pthread_rwlock_destroy(&s->lock);
        }
        free(server_dbs[i].shards);
    }
    free(server_dbs);
    server_dbs = NULL;
}

/* Set on a thread that holds every shard of every db (EXEC of a
 * transaction with whole-db commands): its own shard_*lock calls are then
 * no-ops. */
static _Thread_local bool tl_hold_all;

void shard_rdlock(shard *s)
{
    if (!tl_hold_all) pthread_rwlock_rdlock(&s->lock);
}
/* The shards this thread holds write-locked through shard_wrlock (up to
 * HELD_MAX; more are not listed): store_write_held() lets a writer serve a
 * BLMOVE waiter whose destination's shard it already holds (block.c). */
#define HELD_MAX 16
static _Thread_local shard *tl_wheld[HELD_MAX];
static _Thread_local int tl_nwheld;

void shard_wrlock(shard *s)
{
    if (tl_hold_all) return;
    pthread_rwlock_wrlock(&s->lock);
    if (tl_nwheld < HELD_MAX) tl_wheld[tl_nwheld++] = s;
}

bool store_write_held(shard *s)
{
    if (tl_hold_all) return true;
    for (int i = 0; i < tl_nwheld; i++)
        if (tl_wheld[i] == s) return true;
    return false;
}
/* Lets go of s's lock (held by this thread). A batch still listed for a
 * lock holder (cmd.c, delegation) has its owner told to take the lock
 * itself; read while the lock is held, so the request cannot be taken
 * and finished meanwhile. */
static void unlock_kick(shard *s)
{
    struct dreq *top = atomic_load_explicit(&s->dq, memory_order_acquire);
    if (top) cmd_deleg_kick(top);
    pthread_rwlock_unlock(&s->lock);
}

void shard_unlock(shard *s)
{
    if (tl_hold_all) return;
    for (int i = tl_nwheld - 1; i >= 0; i--)
        if (tl_wheld[i] == s) {
            tl_wheld[i] = tl_wheld[--tl_nwheld];
            break;
        }
    unlock_kick(s);
}

bool store_locks_held(struct client *c)
{
    UNUSED(c);
    return tl_hold_all;
}

void store_lock_all(void)
{
    kvd_assert(!tl_hold_all);
    for (int i = 0; i < cfg.databases; i++)
        for (int j = 0; j < cfg.shards; j++) pthread_rwlock_wrlock(&server_dbs[i].shards[j].lock);
    tl_hold_all = true;
}

void store_unlock_all(void)
{
    kvd_assert(tl_hold_all);
    tl_hold_all = false;
    for (int i = cfg.databases - 1; i >= 0; i--)
        for (int j = cfg.shards - 1; j >= 0; j--) unlock_kick(&server_dbs[i].shards[j]);
}

/* A key was deleted because its deadline passed (lazily here, or by the
 * reaper): WATCH and keyspace notifications see it as Redis does. The
 * shard's write lock is held; key stays valid for the call. */
void store_key_expired(db *d, sv key)
{
    watch_key_written(NULL, d, key);
    notify_keyspace_event(NOTIFY_EXPIRED, "expired", d, key);
}

/* The hashes cmd.c computed for the running command's key arguments (see
 * store_hash_memo in kvd.h): matched by address and length, valid until
 * store_hash_memo_clear at the end of the call. */
#define MEMO_MAX 4
static _Thread_local struct {
    int n;
    const char *p[MEMO_MAX];
    size_t len[MEMO_MAX];
    uint64_t h[MEMO_MAX];
} memo;

void store_hash_memo(sv key, uint64_t h)
{
    if (memo.n >= MEMO_MAX) return;
    memo.p[memo.n] = key.p;
    memo.len[memo.n] = key.n;
    memo.h[memo.n] = h;
    memo.n++;
}

void store_hash_memo_clear(void) { memo.n = 0; }

uint64_t store_hash(sv key)
{
    for (int i = 0; i < memo.n; i++)
        if (memo.p[i] == key.p && memo.len[i] == key.n) return memo.h[i];
    return util_hash(key.p, key.n);
}

shard *store_shard_of(db *d, sv key) { return &d->shards[store_shard_index(store_hash(key))]; }

bool store_expired(const entry *e, int64_t now)
{
    if (!(e->flags & ENT_EXPIRE)) return false;
    return ent_expire(e) <= now;
}

/* ---------------------------------------------------------------- entries */

static size_t entry_size(int type, bool hasexp, size_t klen, size_t vlen)
{
    if (type != OBJ_STRING) return sizeof(entry) + (hasexp ? ENT_EXPSZ : 0) + ent_keypad(klen) + sizeof(void *);
    return sizeof(entry) + (hasexp ? ENT_EXPSZ : 0) + klen + vlen;
}

size_t store_entry_mem(entry *e)
{
    size_t n = entry_size(e->type, e->flags & ENT_EXPIRE, e->klen, e->vlen);
    if (e->type != OBJ_STRING && obj_types[e->type] && obj_types[e->type]->mem)
        n += obj_types[e->type]->mem(ent_ptr(e));
    return n;
}

static entry *entry_new(int type, uint32_t hash, sv key, int64_t expire, size_t vlen)
{
    bool hasexp = expire >= 0;
    entry *e = xmalloc(entry_size(type, hasexp, key.n, vlen));
    e->next = NULL;
    e->hash = hash;
    e->type = (uint8_t)type;
    e->flags = hasexp ? ENT_EXPIRE : 0;
    e->lru = 0;
    e->klen = (uint32_t)key.n;
    e->vlen = type == OBJ_STRING ? (uint32_t)vlen : 0;
    if (hasexp) {
        memcpy(e->data, &expire, sizeof expire);
        uint32_t idx = UINT32_MAX;
        memcpy(e->data + 8, &idx, sizeof idx);
    }
    memcpy(ent_key(e), key.p, key.n);
    return e;
}

void store_entry_free(entry *e)
{
    if (e->type != OBJ_STRING) {
        const objtype *t = obj_types[e->type];
        if (t && t->free) t->free(ent_ptr(e));
    }
    free(e);
}

/* ---------------------------------------------------------------- table */

/* Halving: bucket i of the new table takes old buckets i and i + half
 * whole, without reading a single hash; only where both are non-empty is
 * the first chain walked to its tail. After an expiry wave (a table under
 * half full) that touches a fraction of the entries, against every one
 * for a rehash: the write lock is held throughout (measured, the reaper's
 * shrinks after a wave of 1M keys, 32K-bucket shards left with 15.6K keys
 * each: longest hold ~2.5 ms rehashing, ~0.7-1.1 ms halving). */
static bool table_halve(shard *s)
{
    uint64_t half = s->size / 2;
    entry **nt = malloc(half * sizeof(entry *));
    if (!nt) return false;
    entry **lo = s->table, **hi = s->table + half;
    enum { AHEAD = 8 };
    for (uint64_t i = 0; i < half; i++) {
        if (i + AHEAD < half && lo[i + AHEAD] && hi[i + AHEAD]) __builtin_prefetch(lo[i + AHEAD]);
        entry *a = lo[i], *b = hi[i];
        if (!a || !b) {
            nt[i] = a ? a : b;
            continue;
        }
        entry *t = a;
        while (t->next) t = t->next;
        t->next = b;
        nt[i] = a;
    }
    free(s->table);
    s->table = nt;
    s->size = half;
    return true;
}

static void table_resize(shard *s, uint64_t nsize)
{
    while (nsize < s->size && table_halve(s)) {
    }
    if (nsize == s->size) return;
    entry **nt = calloc(nsize, sizeof(entry *));
    if (!nt) return; /* keep the old table: longer chains, still correct */
    /* every entry is a cache miss: fetch the chain heads a few buckets
     * ahead (the table itself is read in order) so that the misses overlap;
     * this runs under the write lock */
    enum { AHEAD = 8 };
    for (uint64_t i = 0; i < s->size && i < AHEAD; i++)
        if (s->table[i]) __builtin_prefetch(s->table[i], 1);
    for (uint64_t i = 0; i < s->size; i++) {
        if (i + AHEAD < s->size && s->table[i + AHEAD]) __builtin_prefetch(s->table[i + AHEAD], 1);
        entry *e = s->table[i];
        while (e) {
            entry *next = e->next;
            uint64_t b = e->hash & (nsize - 1);
            e->next = nt[b];
            nt[b] = e;
            e = next;
        }
    }
    free(s->table);
    s->table = nt;
    s->size = nsize;
}

static void table_maybe_grow(shard *s)
{
    if (s->snap && s->size) return; /* buckets stay put while a snapshot slices it */
    if (!s->size) table_resize(s, 4);
    else if (s->count > s->size && s->size < (1ULL << 32)) table_resize(s, s->size * 2);
}

void store_reserve(shard *s, uint64_t n)
{
    uint64_t want = 4;
    while (want < n && want < (1ULL << 32)) want *= 2;
    if (want > s->size) table_resize(s, want);
}

static void table_maybe_shrink(shard *s)
{
    if (s->snap) return; /* buckets stay put while a snapshot slices it */
    if (s->count == 0) {
        free(s->table);
        s->table = NULL;
        s->size = 0;
        return;
    }
    if (s->size > 4 && s->count < s->size / 8) {
        uint64_t n = s->size;
        while (n > 4 && s->count < n / 4) n /= 2;
        table_resize(s, n);
    }
}

/* Called by the reaper when expiry has just drained a shard's due keys
 * (write lock held): a table left under half full shrinks to the smallest
 * power of two that holds its keys, so the memory of an expired wave comes
 * back without anyone touching the keys. Deletes alone wait for 1/8 full
 * (table_maybe_shrink) so that inserts and deletes at a boundary cannot
 * resize back and forth; here the reaper's pace bounds it (at most once
 * per shard per reaper pass, each shrink at least halving). */
void store_shrink_sparse(shard *s)
{
    if (s->snap) return; /* buckets stay put while a snapshot slices it */
    if (s->size <= 4 || s->count >= s->size / 2) return;
    uint64_t n = 4;
    while (n < s->count) n *= 2;
    table_resize(s, n);
}

/* Returns the link that points at key's entry (or at the NULL ending its
 * bucket when missing). Caller holds the shard lock. */
static entry **find_link(shard *s, sv key, uint32_t hh)
{
    entry **pp = &s->table[hh & (s->size - 1)];
    for (; *pp; pp = &(*pp)->next) {
        entry *e = *pp;
        if (e->hash == hh && e->klen == key.n && memcmp(ent_key(e), key.p, key.n) == 0) return pp;
    }
    return pp;
}

entry *store_find(shard *s, sv key, uint64_t h)
{
    if (!s->size) return NULL;
    return *find_link(s, key, (uint32_t)(h >> 32));
}

/* Keys found expired by readers, deleted once the command's locks are
 * released (store_expire_pending): readers never modify a shard. */
#define PENDING_MAX 16
static _Thread_local struct {
    int n;
    db *d[PENDING_MAX];
    char *k[PENDING_MAX];
    size_t kl[PENDING_MAX];
} pending;

entry *store_lookup_read(db *d, sv key)
{
    uint64_t h = store_hash(key);
    shard *s = &d->shards[store_shard_index(h)];
    entry *e = store_find(s, key, h);
    if (e && (e->flags & ENT_EXPIRE) && ent_expire(e) <= util_cmd_now()) {
        if (pending.n < PENDING_MAX) {
            pending.d[pending.n] = d;
            pending.k[pending.n] = kvd_strndup(key.p, key.n);
            pending.kl[pending.n] = key.n;
            pending.n++;
        }
        return NULL;
    }
    return e;
}

/* A command's read of key, as Redis's lookupKeyRead: counts a keyspace
 * hit or miss and, on a miss, publishes the "keymiss" event (notify: no
 * event, as OBJECT). */
entry *store_lookup_counted(struct client *c, sv key, bool notify)
{
    entry *e = store_lookup_read(c->db, key);
    store_count_lookup(c, key, e != NULL, notify);
    return e;
}

void store_count_lookup(struct client *c, sv key, bool hit, bool notify)
{
    stat_keyspace(hit);
    if (!hit && notify) notify_keyspace_event(NOTIFY_KEY_MISS, "keymiss", c->db, key);
}

bool store_expire_has_pending(void) { return pending.n > 0; }

void store_expire_pending(void)
{
    for (int i = 0; i < pending.n; i++) {
        sv key = {pending.k[i], pending.kl[i]};
        shard *s = store_shard_of(pending.d[i], key);
        shard_wrlock(s);
        store_lookup_write(pending.d[i], key); /* deletes it if still expired */
        shard_unlock(s);
        free(pending.k[i]);
    }
    pending.n = 0;
}

entry *store_lookup_write(db *d, sv key)
{
    uint64_t h = store_hash(key);
    shard *s = &d->shards[store_shard_index(h)];
    entry *e = store_find(s, key, h);
    if (e && (e->flags & ENT_EXPIRE) && ent_expire(e) <= util_cmd_now()) {
        store_delete_entry(s, e);
        atomic_fetch_add_explicit(&server.stat_expired, 1, memory_order_relaxed);
        store_key_expired(d, key);
        return NULL;
    }
    return e;
}

/* Swaps `old` (in the table at *pp) for `nw`, fixing the expiry heap. */
static void replace_linked(shard *s, entry **pp, entry *old, entry *nw)
{
    nw->next = old->next;
    *pp = nw;
    bool oe = old->flags & ENT_EXPIRE, ne = nw->flags & ENT_EXPIRE;
    if (oe && ne) {
        memcpy(nw->data + 8, old->data + 8, 4); /* heap slot index */
        expire_heap_moved(s, nw);
        expire_heap_update(s, nw);
    } else if (oe) {
        expire_heap_remove(s, old);
    } else if (ne) {
        expire_heap_add(s, nw);
    }
}

entry *store_set_string(db *d, sv key, sv val, int64_t expire, bool keepttl)
{
    uint64_t h = store_hash(key);
    uint32_t hh = (uint32_t)(h >> 32);
    shard *s = &d->shards[store_shard_index(h)];
    table_maybe_grow(s);
    entry **pp = find_link(s, key, hh);
    entry *old = *pp;
    if (old && keepttl) expire = ent_expire(old);
    if (old && old->type == OBJ_STRING && ((old->flags & ENT_EXPIRE) != 0) == (expire >= 0)) {
        /* same layout: overwrite in place when the allocation is big enough */
        size_t need = entry_size(OBJ_STRING, expire >= 0, key.n, val.n);
        if (val.n == old->vlen || malloc_usable_size(old) >= need) {
            s->mem += val.n;
            s->mem -= old->vlen;
            old->vlen = (uint32_t)val.n;
            memcpy(ent_val(old), val.p, val.n);
            if (expire >= 0 && ent_expire(old) != expire) {
                memcpy(old->data, &expire, sizeof expire);
                expire_heap_update(s, old);
            }
            return old;
        }
    }
    entry *e = entry_new(OBJ_STRING, hh, key, expire, val.n);
    memcpy(ent_val(e), val.p, val.n);
    s->mem += entry_size(OBJ_STRING, expire >= 0, key.n, val.n);
    if (old) {
        s->mem -= store_entry_mem(old);
        replace_linked(s, pp, old, e);
        store_entry_free(old);
    } else {
        e->next = NULL;
        *pp = e;
        s->count++;
        if (expire >= 0) expire_heap_add(s, e);
        notify_keyspace_event(NOTIFY_NEW, "new", d, key);
    }
    return e;
}

entry *store_resize_string(db *d, entry *e, size_t newlen)
{
    if (malloc_usable_size(e) >= entry_size(OBJ_STRING, e->flags & ENT_EXPIRE, e->klen, newlen)) {
        e->vlen = (uint32_t)newlen;
        return e;
    }
    sv key = ent_keysv(e);
    uint64_t h = store_hash(key);
    shard *s = &d->shards[store_shard_index(h)];
    entry **pp = find_link(s, key, e->hash);
    kvd_assert(*pp == e);
    size_t need = entry_size(OBJ_STRING, e->flags & ENT_EXPIRE, e->klen, newlen);
    /* grow geometrically so repeated APPENDs stay linear */
    size_t cap = need;
    if (newlen > e->vlen && newlen < (1u << 20)) cap = need + newlen;
    else if (newlen > e->vlen) cap = need + (1u << 20);
    entry *ne = realloc(e, cap);
    if (!ne) abort();
    s->mem += newlen;
    s->mem -= ne->vlen;
    ne->vlen = (uint32_t)newlen;
    *pp = ne;
    if (ne->flags & ENT_EXPIRE) expire_heap_moved(s, ne);
    return ne;
}

entry *store_add_ptr(db *d, sv key, int type, void *v, int64_t expire)
{
    uint64_t h = store_hash(key);
    uint32_t hh = (uint32_t)(h >> 32);
    shard *s = &d->shards[store_shard_index(h)];
    table_maybe_grow(s);
    entry **pp = find_link(s, key, hh);
    entry *old = *pp;
    entry *e = entry_new(type, hh, key, expire, 0);
    ent_setptr(e, v);
    s->mem += store_entry_mem(e);
    if (old) {
        s->mem -= store_entry_mem(old);
        replace_linked(s, pp, old, e);
        store_entry_free(old);
    } else {
        *pp = e;
        s->count++;
        if (expire >= 0) expire_heap_add(s, e);
        notify_keyspace_event(NOTIFY_NEW, "new", d, key);
    }
    return e;
}

void store_value_mem_changed(shard *s, entry *e, ssize_t delta)
{
    UNUSED(e);
    s->mem = (uint64_t)((int64_t)s->mem + delta);
}

void store_delete_entry(shard *s, entry *e)
{
    entry **pp = find_link(s, ent_keysv(e), e->hash);
    kvd_assert(*pp == e);
    *pp = e->next;
    s->count--;
    if (e->flags & ENT_EXPIRE) expire_heap_remove(s, e);
    size_t m = store_entry_mem(e);
    s->mem = s->mem > m ? s->mem - m : 0;
    store_entry_free(e);
    table_maybe_shrink(s);
}

void store_unlink_popped(shard *s, entry *e)
{
    entry **pp = &s->table[e->hash & (s->size - 1)];
    while (*pp != e) {
        kvd_assert(*pp);
        pp = &(*pp)->next;
    }
    *pp = e->next;
    s->count--;
    size_t m = store_entry_mem(e);
    s->mem = s->mem > m ? s->mem - m : 0;
    table_maybe_shrink(s);
}

bool store_delete(db *d, sv key)
{
    uint64_t h = store_hash(key);
    shard *s = &d->shards[store_shard_index(h)];
    entry *e = store_find(s, key, h);
    if (!e) return false;
    bool live = !store_expired(e, util_cmd_now());
    store_delete_entry(s, e);
    if (!live) {
        atomic_fetch_add_explicit(&server.stat_expired, 1, memory_order_relaxed);
        store_key_expired(d, key);
    }
    return live;
}

bool store_delete_written(struct client *c, db *d, sv key)
{
    if (!store_delete(d, key)) return false;
    store_written(c, d, key);
    notify_keyspace_event(NOTIFY_GENERIC, "del", d, key);
    return true;
}

/* Sets (when >= 0) or removes (-1) the deadline of e. The entry may move;
 * the returned pointer is the live one. */
entry *store_set_expire(shard *s, entry *e, int64_t when)
{
    bool has = e->flags & ENT_EXPIRE;
    if (has && when >= 0) {
        memcpy(e->data, &when, sizeof when);
        expire_heap_update(s, e);
        return e;
    }
    if (!has && when < 0) return e;
    entry **pp = find_link(s, ent_keysv(e), e->hash);
    kvd_assert(*pp == e);
    entry *ne = entry_new(e->type, e->hash, ent_keysv(e), when, e->vlen);
    if (e->type == OBJ_STRING) memcpy(ent_val(ne), ent_val(e), e->vlen);
    else ent_setptr(ne, ent_ptr(e));
    ne->lru = e->lru;
    s->mem += (size_t)(when >= 0 ? ENT_EXPSZ : 0);
    if (when < 0) s->mem -= ENT_EXPSZ;
    replace_linked(s, pp, e, ne);
    free(e); /* the value now belongs to ne */
    return ne;
}

void store_flush_shard(shard *s)
{
    if (s->snap) snapshot_shard_replaced(s);
    for (uint64_t i = 0; i < s->size; i++) {
        entry *e = s->table[i];
        while (e) {
            entry *next = e->next;
            store_entry_free(e);
            e = next;
        }
    }
    free(s->table);
    s->table = NULL;
    s->size = s->count = s->mem = 0;
    expire_heap_free(s);
}

uint64_t store_db_keys(db *d)
{
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) {
        shard *s = &d->shards[i];
        shard_rdlock(s);
        n += s->count;
        shard_unlock(s);
    }
    return n;
}

uint64_t store_db_expires(db *d)
{
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) {
        shard *s = &d->shards[i];
        shard_rdlock(s);
        n += s->heap_len;
        shard_unlock(s);
    }
    return n;
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

/* Visits up to `count` buckets from `cursor` in reverse-binary order, so a
 * full pass returns every key present throughout even if the table grows or
 * shrinks between calls. Returns the next cursor, 0 when the pass is done. */
uint64_t store_scan_shard(shard *s, uint64_t cursor, long count,
                          void (*fn)(void *ctx, entry *e), void *ctx)
{
    if (!s->size) return 0;
    uint64_t m = s->size - 1;
    if (count < 1) count = 1;
    do {
        for (entry *e = s->table[cursor & m]; e; e = e->next) fn(ctx, e);
        cursor |= ~m;
        cursor = rev64(cursor);
        cursor++;
        cursor = rev64(cursor);
    } while (cursor && --count > 0);
    return cursor;
}

entry *store_random_entry(shard *s)
{
    if (!s->count) return NULL;
    entry *e = NULL;
    for (int tries = 0; !e; tries++) {
        if (tries > 64) {
            for (uint64_t i = 0; i < s->size && !e; i++) e = s->table[i];
            break;
        }
        e = s->table[util_rand64() & (s->size - 1)];
    }
    uint64_t len = 0;
    for (entry *x = e; x; x = x->next) len++;
    uint64_t k = util_rand64() % len;
    while (k--) e = e->next;
    return e;
}

void store_swap_shards(shard *a, shard *b)
{
    if (a->snap) snapshot_shard_replaced(a);
    if (b->snap) snapshot_shard_replaced(b);
#define SWAPF(f) do { __typeof__(a->f) t_ = a->f; a->f = b->f; b->f = t_; } while (0)
    SWAPF(table);
    SWAPF(size);
    SWAPF(count);
    SWAPF(mem);
    SWAPF(heap);
    SWAPF(heap_len);
    SWAPF(heap_cap);
    SWAPF(exp_sum);
#undef SWAPF
    expire_heap_reset(a);
    expire_heap_reset(b);
}

/* ---------------------------------------------------------------- moves */

/* Hooks of later subsystems; each file that needs one defines it. */
__attribute__((weak)) void watch_key_written(struct client *c, db *d, sv key)
{
    UNUSED(c);
    UNUSED(d);
    UNUSED(key);
}
__attribute__((weak)) void block_key_written(struct client *c, db *d, sv key)
{
    UNUSED(c);
    UNUSED(d);
    UNUSED(key);
}
__attribute__((weak)) void block_serve_pending(struct client *c) { UNUSED(c); }

__attribute__((weak)) void persist_key_written(struct client *c, db *d, sv key)
{
    UNUSED(c);
    UNUSED(d);
    UNUSED(key);
}
__attribute__((weak)) void persist_unlocking(void) {}

void store_written(struct client *c, db *d, sv key)
{
    stat_add_dirty(1);
    if (atomic_load_explicit(&snap_slicing, memory_order_relaxed) && key.p) {
        shard *s = store_shard_of(d, key); /* write-locked by the caller */
        if (s->snap) snapshot_key_written(s, key);
    }
    persist_key_written(c, d, key); /* persist.c: what the AOF logs */
    watch_key_written(c, d, key);  /* t_multi.c: WATCH (key.p NULL: whole db) */
    block_key_written(c, d, key);  /* block.c: wake clients blocked on key */
}

/* Unlinks e from s and frees the entry but not its value. */
static void unlink_entry(shard *s, entry *e)
{
    entry **pp = find_link(s, ent_keysv(e), e->hash);
    kvd_assert(*pp == e);
    *pp = e->next;
    s->count--;
    if (e->flags & ENT_EXPIRE) expire_heap_remove(s, e);
    size_t m = store_entry_mem(e);
    s->mem = s->mem > m ? s->mem - m : 0;
    free(e);
    table_maybe_shrink(s);
}

/* Deletes newkey in dd (not e) before it is added again: as Redis's
 * dbDelete + dbAdd, the add is a "new" keyspace event. */
static void drop_target(db *dd, sv newkey, const entry *e)
{
    uint64_t h = store_hash(newkey);
    shard *s = &dd->shards[store_shard_index(h)];
    entry *old = store_find(s, newkey, h);
    if (old && old != e) store_delete_entry(s, old);
}

entry *store_move(db *sd, entry *e, db *dd, sv newkey)
{
    int64_t exp = ent_expire(e);
    shard *ss = store_shard_of(sd, ent_keysv(e));
    drop_target(dd, newkey, e);
    entry *ne;
    if (e->type == OBJ_STRING) {
        ne = store_set_string(dd, newkey, ent_strsv(e), exp, false);
        store_delete_entry(ss, e);
    } else {
        ne = store_add_ptr(dd, newkey, e->type, ent_ptr(e), exp);
        unlink_entry(ss, e);
    }
    return ne;
}

entry *store_copy(entry *e, db *dd, sv newkey)
{
    int64_t exp = ent_expire(e);
    drop_target(dd, newkey, e);
    if (e->type == OBJ_STRING) return store_set_string(dd, newkey, ent_strsv(e), exp, false);
    void *v = obj_types[e->type]->dup(ent_ptr(e));
    return store_add_ptr(dd, newkey, e->type, v, exp);
}

void store_lock2(db *a, sv ka, db *b, sv kb, shard **sa, shard **sb)
{
    shard *x = store_shard_of(a, ka), *y = store_shard_of(b, kb);
    *sa = x;
    *sb = y;
    if (x == y) {
        shard_wrlock(x);
        return;
    }
    bool xfirst = a->id < b->id || (a->id == b->id && x->id < y->id);
    shard_wrlock(xfirst ? x : y);
    shard_wrlock(xfirst ? y : x);
}

void store_unlock2(shard *sa, shard *sb)
{
    persist_unlocking(); /* a NOLOCK command's AOF unit, shards still locked */
    shard_unlock(sa);
    if (sb != sa) shard_unlock(sb);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

void store_lock_dbs(int *dbids, int n)
{
    qsort(dbids, (size_t)n, sizeof(int), cmp_int);
    for (int i = 0; i < n; i++) {
        if (i && dbids[i] == dbids[i - 1]) continue;
        for (int j = 0; j < cfg.shards; j++) shard_wrlock(&server_dbs[dbids[i]].shards[j]);
    }
}

void store_unlock_dbs(int *dbids, int n)
{
    persist_unlocking();
    for (int i = n - 1; i >= 0; i--) {
        if (i && dbids[i] == dbids[i - 1]) continue;
        for (int j = cfg.shards - 1; j >= 0; j--) shard_unlock(&server_dbs[dbids[i]].shards[j]);
    }
}
