/* block.c — blocking pops: lists (BLPOP, BRPOP, BLMPOP, BLMOVE,
 * BRPOPLPUSH) and sorted sets (BZPOPMIN, BZPOPMAX, BZMPOP).
 *
 * A command that finds nothing to pop registers its client here, under the
 * write locks of its keys, and returns; conn.c then calls block_wait(),
 * where the connection thread sleeps in conn_wait() (its wake-up fd and its
 * socket, no lock held, no busy loop) until it is served, times out, is
 * released by CLIENT UNBLOCK, or its peer goes away.
 *
 * Serving keeps Redis's order: every write reaches block_key_written()
 * (through store_written) while the writer still holds the key's shard
 * write lock. If clients wait on that key and it now holds a list or a
 * sorted set, the writer pops for them right there, first come first
 * served among the waiters for that type (a list pop waiting on a key that
 * now holds a sorted set keeps waiting and keeps its place, as in Redis),
 * and hands each its elements (members with their scores); only then does
 * it release the lock, so no other client can take the elements first.
 * A whole-db write (SWAPDB) only marks its databases: their waiters are
 * served when its command has let go of its locks, before its reply
 * (block_serve_pending), each key under its own shard's lock.
 * The popped elements are rendered by the waiter's own thread in its own
 * protocol. The writer logs each pop for the AOF after its own command
 * (LPUSH ..., then LPOP key; ZADD ..., then ZPOPMIN key [count]).
 *
 * BLMOVE and BRPOPLPUSH whose destination lives in another shard than the
 * source, one the writer does not hold already (store_write_held: a
 * RENAME's or a move's second key), can't be served by the writer: it
 * would have to take the destination's shard lock out of the global
 * order. Such a waiter is woken
 * to RETRY: it keeps its place at the head of the key's queue (later
 * waiters are not served past it), takes both locks itself in order and
 * moves the element. The writer waits for that move, and for the moves
 * it sets off in turn, before it replies (block_wait_retries): its next
 * command cannot overtake them, as nothing can in Redis. The trade-off
 * left: between the push and the retry, a client of another connection
 * that does not block (LPOP, LRANGE...) can see or take the element
 * first; if it took it, the waiter simply goes on waiting. A waiter whose
 * destination is in the same shard is served directly.
 *
 * A command that holds its keys' locks notes the keys it writes and
 * serves their waiters when it is done, still under those locks
 * (block_defer_end), so its own keyspace events come first, as in Redis.
 * Inside EXEC the keys are noted for the transaction's end
 * (block_txn_end). The order of keys served after a whole-db write
 * (SWAPDB) is the registry's, and a waiter left to RETRY is served after
 * the keys the writer goes on serving: in those two cases the order of
 * serving (and of its events) can differ from Redis's.
 *
 * Lock order: shard locks, then reg_mu, then a client's outlock (in
 * conn_wake). reg_mu guards every field of the registry and of each
 * bstate, including its state. A bstate's client stays alive while it is
 * registered: the owning thread unregisters under reg_mu before it frees
 * the client. */
#include "kvd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/socket.h>

enum {
    B_WAITING = 1,  /* registered */
    B_RETRY,        /* registered, at the head of a key: take locks and move (BLMOVE) */
    B_SERVED,       /* result holds the reply's elements */
    B_TIMEOUT,      /* timed out or CLIENT UNBLOCK ... TIMEOUT */
    B_ERROR,        /* CLIENT UNBLOCK ... ERROR */
    B_WRONGTYPE,    /* BLMOVE's destination turned out not to be a list */
};

struct bstate;

typedef struct bnode {
    struct bnode *prev, *next;
    struct bkey *k;
    struct bstate *st;
} bnode;

typedef struct bkey {
    struct bkey *next;       /* hash chain */
    uint64_t hash;
    int dbid;
    bnode *head, *tail;      /* waiters, oldest first */
    size_t klen;
    char key[];
} bkey;

typedef struct bstate {
    client *c;
    command *cmd;
    int dbid;
    int kind;                /* BLOCK_* */
    bool left, to_left, rpoplpush; /* sorted sets: left is MIN */
    long count;
    int64_t deadline;
    int nkeys;               /* distinct keys */
    sv *keys;                /* copies (in keymem) */
    sv dst;
    char *keymem;
    bnode *nodes;            /* [nkeys] */
    int state;               /* B_*: under reg_mu */
    bool registered;
    bool was_retry;          /* left the queue while at its head as B_RETRY */
    int nwatch;              /* writers waiting for its B_RETRY to end */
    struct rwait *watch[4];
    int served_key;          /* index into keys */
    buf result;              /* served elements: u32 length + bytes each
                              * (sorted sets: then the score, a double) */
    long nresult;
    struct bstate *aprev, *anext; /* all registered clients */
} bstate;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

/* A writer whose command left a cross-shard BLMOVE waiter to RETRY waits,
 * before its reply, for that move to be done (block_wait_retries), as in
 * Redis, where the command returns after every waiter it could serve was
 * served: its next command (RPUSH to another key the waiters behind wait
 * on) must not overtake the move. pending is under reg_mu. */
typedef struct rwait {
    _Atomic int pending; /* read by its thread without reg_mu */
} rwait;
static pthread_cond_t retry_cv = PTHREAD_COND_INITIALIZER;
static _Thread_local rwait *tl_rw; /* allocated at its first use; see block_thread_exit */

/* This thread's counter (reg_mu held). */
static rwait *my_rwait(void)
{
    if (!tl_rw) {
        tl_rw = calloc(1, sizeof *tl_rw);
        if (!tl_rw) abort();
    }
    return tl_rw;
}
static _Thread_local bool tl_can_wait; /* inside a command that will wait */
static bkey **reg_table;
static size_t reg_size, reg_count;
static bstate *reg_all;
static _Atomic long nblocked;   /* registered clients; read without reg_mu as a fast path */
static _Atomic long ntimed;     /* those of them with a timeout (INFO clients_in_timeout_table) */

#define BSTATE(c) ((bstate *)(c)->ext[2])

long info_blocked_clients(void) { return atomic_load_explicit(&nblocked, memory_order_relaxed); }
long info_timed_clients(void) { return atomic_load_explicit(&ntimed, memory_order_relaxed); }

/* ---------------------------------------------------------------- registry (reg_mu held) */

static uint64_t key_hash(int dbid, sv key) { return util_hash(key.p, key.n) ^ ((uint64_t)dbid * 0x9E3779B97F4A7C15ULL); }

static bkey *reg_find(int dbid, sv key)
{
    if (!reg_size) return NULL;
    uint64_t h = key_hash(dbid, key);
    for (bkey *k = reg_table[h & (reg_size - 1)]; k; k = k->next)
        if (k->hash == h && k->dbid == dbid && k->klen == key.n && memcmp(k->key, key.p, key.n) == 0)
            return k;
    return NULL;
}

static void reg_resize(size_t nsize)
{
    bkey **nt = calloc(nsize, sizeof(bkey *));
    if (!nt) abort();
    for (size_t i = 0; i < reg_size; i++) {
        bkey *k = reg_table[i];
        while (k) {
            bkey *next = k->next;
            k->next = nt[k->hash & (nsize - 1)];
            nt[k->hash & (nsize - 1)] = k;
            k = next;
        }
    }
    free(reg_table);
    reg_table = nt;
    reg_size = nsize;
}

static bkey *reg_get(int dbid, sv key)
{
    bkey *k = reg_find(dbid, key);
    if (k) return k;
    if (reg_count >= reg_size) reg_resize(reg_size ? reg_size * 2 : 64);
    k = malloc(sizeof(bkey) + key.n);
    if (!k) abort();
    k->hash = key_hash(dbid, key);
    k->dbid = dbid;
    k->head = k->tail = NULL;
    k->klen = key.n;
    memcpy(k->key, key.p, key.n);
    k->next = reg_table[k->hash & (reg_size - 1)];
    reg_table[k->hash & (reg_size - 1)] = k;
    reg_count++;
    return k;
}

static void reg_drop(bkey *k)
{
    bkey **pp = &reg_table[k->hash & (reg_size - 1)];
    while (*pp != k) pp = &(*pp)->next;
    *pp = k->next;
    reg_count--;
    free(k);
}

/* st's B_RETRY is over (moved, waiting again, or gone): its writers may
 * reply. reg_mu held. */
static void retry_over(bstate *st)
{
    if (!st->nwatch) return;
    for (int i = 0; i < st->nwatch; i++) st->watch[i]->pending--;
    st->nwatch = 0;
    pthread_cond_broadcast(&retry_cv);
}

typedef struct watchers {
    int n;
    rwait *w[4];
} watchers;

static void watch_add(bstate *st, rwait *w)
{
    for (int i = 0; i < st->nwatch; i++)
        if (st->watch[i] == w) return;
    if (st->nwatch == (int)(sizeof st->watch / sizeof st->watch[0])) return;
    st->watch[st->nwatch++] = w;
    w->pending++;
}

/* A move whose waiters (retry_move) wait for the moves it leaves to RETRY
 * in turn: a chain of BLMOVEs is done before the first writer replies. */
static _Thread_local struct watchers *tl_inherit;

/* The writer of the moment (and those waiting for the move being made
 * here) will wait for st's move. reg_mu held. */
static void retry_watch(bstate *st)
{
    if (tl_can_wait) watch_add(st, my_rwait());
    if (tl_inherit)
        for (int i = 0; i < tl_inherit->n; i++) watch_add(st, tl_inherit->w[i]);
}

/* The move itself (retry_move) ends the B_RETRY only once it is done,
 * with its serving of the keys it wrote: its writers' next commands must
 * not overtake that either. Takes st's watchers over (reg_mu held)... */
static void retry_take(bstate *st, watchers *ws)
{
    ws->n = st->nwatch;
    memcpy(ws->w, st->watch, sizeof(rwait *) * (size_t)st->nwatch);
    st->nwatch = 0;
}

/* ...and lets them go, with no lock held. */
static void retry_release(watchers *ws)
{
    if (!ws->n) return;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < ws->n; i++) ws->w[i]->pending--;
    pthread_cond_broadcast(&retry_cv);
    pthread_mutex_unlock(&reg_mu);
}

static void unregister(bstate *st)
{
    if (!st->registered) return;
    if (st->state == B_RETRY) retry_over(st);
    for (int i = 0; i < st->nkeys; i++) {
        bnode *n = &st->nodes[i];
        bkey *k = n->k;
        if (k->head == n && st->state == B_RETRY) st->was_retry = true;
        if (n->prev) n->prev->next = n->next;
        else k->head = n->next;
        if (n->next) n->next->prev = n->prev;
        else k->tail = n->prev;
        if (!k->head) reg_drop(k);
    }
    if (st->aprev) st->aprev->anext = st->anext;
    else reg_all = st->anext;
    if (st->anext) st->anext->aprev = st->aprev;
    st->registered = false;
    atomic_fetch_sub_explicit(&nblocked, 1, memory_order_relaxed);
    if (st->deadline >= 0) atomic_fetch_sub_explicit(&ntimed, 1, memory_order_relaxed);
}

/* ---------------------------------------------------------------- blocking */

bool block_parse_timeout(client *c, sv arg, int64_t *deadline)
{
    long double v;
    if (!util_str2ld(arg.p, arg.n, &v)) {
        reply_error(c, "ERR timeout is not a float or out of range");
        return false;
    }
    v *= 1000.0L;
    /* Redis 7.0 converts with a plain cast: what does not fit turns
     * negative, so huge and infinite timeouts are "negative" there too */
    if (!(v < 9223372036854775807.0L) || v <= -1.0L) {
        reply_error(c, "ERR timeout is negative");
        return false;
    }
    long long ms = (long long)ceill(v);
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return false;
    }
    if (ms == 0) {
        *deadline = -1;
        return true;
    }
    int64_t now = util_mstime();
    *deadline = ms > INT64_MAX - now ? INT64_MAX : now + ms;
    return true;
}

static bstate *bstate_new(client *c, const block_req *r)
{
    bstate *st = calloc(1, sizeof *st);
    if (!st) abort();
    size_t mem = r->dst.n;
    for (int i = 0; i < r->nkeys; i++) mem += r->keys[i].n;
    st->keymem = malloc(mem ? mem : 1);
    size_t nk = r->nkeys > 0 ? (size_t)r->nkeys : 1;
    st->keys = calloc(nk, sizeof(sv));
    st->nodes = calloc(nk, sizeof(bnode));
    if (!st->keymem || !st->keys || !st->nodes) abort();
    char *w = st->keymem;
    for (int i = 0; i < r->nkeys; i++) {
        sv k = r->keys[i];
        bool dup = false;
        for (int j = 0; j < st->nkeys && !dup; j++)
            dup = st->keys[j].n == k.n && memcmp(st->keys[j].p, k.p, k.n) == 0;
        if (dup) continue;  /* BLPOP k k 0 waits once on k */
        memcpy(w, k.p, k.n);
        st->keys[st->nkeys].p = w;
        st->keys[st->nkeys].n = k.n;
        st->nkeys++;
        w += k.n;
    }
    if (r->dst.n) memcpy(w, r->dst.p, r->dst.n);
    st->dst.p = w;
    st->dst.n = r->dst.n;
    st->c = c;
    st->cmd = c->cmd;
    st->dbid = c->db->id;
    st->kind = r->kind;
    st->left = r->left;
    st->to_left = r->to_left;
    st->rpoplpush = r->rpoplpush;
    st->count = r->count;
    st->deadline = r->deadline;
    buf_init_static(&st->result, NULL, 0);
    return st;
}

static void bstate_free(bstate *st)
{
    buf_free(&st->result);
    free(st->keymem);
    free(st->keys);
    free(st->nodes);
    free(st);
}

void block_client(client *c, const block_req *r)
{
    if (conn_wake_init(c) != 0) {
        /* no wake-up fd: answer as a timeout rather than wait blind */
        if (r->kind == BLOCK_MOVE) reply_null(c);
        else reply_null_array(c);
        return;
    }
    bstate *st = bstate_new(c, r);
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < st->nkeys; i++) {
        bkey *k = reg_get(st->dbid, st->keys[i]);
        bnode *n = &st->nodes[i];
        n->k = k;
        n->st = st;
        n->next = NULL;
        n->prev = k->tail;
        if (k->tail) k->tail->next = n;
        else k->head = n;
        k->tail = n;
    }
    st->state = B_WAITING;
    st->registered = true;
    st->aprev = NULL;
    st->anext = reg_all;
    if (reg_all) reg_all->aprev = st;
    reg_all = st;
    atomic_fetch_add_explicit(&nblocked, 1, memory_order_relaxed);
    if (st->deadline >= 0) atomic_fetch_add_explicit(&ntimed, 1, memory_order_relaxed);
    pthread_mutex_unlock(&reg_mu);
    c->ext[2] = st;
    cmd_propagate_none(c);  /* nothing happened yet; the pop is logged when served */
    atomic_fetch_or(&c->flags, CLIENT_BLOCKED);
}

/* ---------------------------------------------------------------- serving */

static void result_cb(void *ctx, sv v)
{
    bstate *st = ctx;
    uint32_t l = (uint32_t)v.n;
    buf_append(&st->result, &l, sizeof l);
    buf_append(&st->result, v.p, v.n);
    st->nresult++;
}

static void zresult_cb(void *ctx, sv m, double score)
{
    bstate *st = ctx;
    result_cb(st, m);
    buf_append(&st->result, &score, sizeof score);
}

static bool is_zset_kind(int kind) { return kind == BLOCK_ZPOP || kind == BLOCK_ZMPOP; }

/* The writer's AOF records: its own command first (as received, unless
 * it already chose what to log), then what it did for the waiters. */
static void prop_writer(client *w)
{
    if (w && !w->prop_custom) cmd_propagate(w, w->argc, w->argv);
}

/* LPOP/RPOP key [count], or for sorted sets ZPOPMIN/ZPOPMAX key [count] */
static void prop_pop(client *w, bool zset, sv key, bool left, long count)
{
    if (!w) return;
    prop_writer(w);
    char tmp[32];
    int n = util_ll2str(tmp, sizeof tmp, count);
    const char *name = zset ? (left ? "ZPOPMIN" : "ZPOPMAX") : (left ? "LPOP" : "RPOP");
    sv args[3] = {sv_of(name), key, {tmp, (size_t)n}};
    cmd_propagate(w, count >= 0 ? 3 : 2, args);
}

static void prop_move(client *w, bstate *st, sv src)
{
    if (!w) return;
    prop_writer(w);
    if (st->rpoplpush) {
        sv args[3] = {sv_of("RPOPLPUSH"), src, st->dst};
        cmd_propagate(w, 3, args);
    } else {
        sv args[5] = {sv_of("LMOVE"), src, st->dst, sv_of(st->left ? "LEFT" : "RIGHT"),
                      sv_of(st->to_left ? "LEFT" : "RIGHT")};
        cmd_propagate(w, 5, args);
    }
}

static int key_index(bstate *st, bkey *k)
{
    for (int i = 0; i < st->nkeys; i++)
        if (st->nodes[i].k == k) return i;
    return 0;
}

static void finish(bstate *st, int state)
{
    unregister(st);
    st->state = state;
    conn_wake(st->c);
}

/* Serves the waiters of (d, key) while it holds a list or a sorted set:
 * the oldest waiter for that type first. reg_mu held, and the key's shard
 * write-locked by the caller. */
static void serve_key(client *w, db *d, sv key)
{
    for (;;) {
        bkey *k = reg_find(d->id, key);
        if (!k) return;
        entry *e = store_lookup_write(d, key);
        if (!e) return;
        bool zset = e->type == OBJ_ZSET;
        if (zset ? zset_len(e) == 0 : e->type != OBJ_LIST || list_len(e) == 0) return;
        bnode *node = k->head;
        while (node && is_zset_kind(node->st->kind) != zset) node = node->next;
        if (!node) return;
        bstate *st = node->st;
        if (st->state == B_RETRY) { /* it keeps its turn */
            retry_watch(st);
            return;
        }
        st->served_key = key_index(st, k);
        sv skey = st->keys[st->served_key];
        if (st->kind == BLOCK_MOVE) {
            shard *ds = store_shard_of(d, st->dst);
            if (ds != store_shard_of(d, key) && !store_write_held(ds)) {
                st->state = B_RETRY;
                retry_watch(st);
                conn_wake(st->c);
                return;
            }
            entry *de = store_lookup_write(d, st->dst);
            if (de && de->type != OBJ_LIST) {
                finish(st, B_WRONGTYPE);
                continue;
            }
            prop_move(w, st, skey);
            size_t n;
            char *v = list_move(w, d, e, skey, st->dst, st->left, st->to_left, &n);
            sv vs = {v, n};
            result_cb(st, vs);
            free(v);
            finish(st, B_SERVED);
            continue;
        }
        if (zset) {
            uint64_t len = zset_len(e);
            uint64_t take = st->kind == BLOCK_ZMPOP && (uint64_t)st->count < len ? (uint64_t)st->count : len;
            if (st->kind == BLOCK_ZPOP) take = 1;
            prop_pop(w, true, skey, st->left, st->kind == BLOCK_ZMPOP ? (long)take : -1);
            zset_pop_n(d, e, !st->left, take, zresult_cb, st);
            notify_write(NOTIFY_ZSET, st->left ? "zpopmin" : "zpopmax", d, skey);
            /* a write of its key: the AOF then logs the pops in w's prop
             * even when w wrote nothing else (kick, block_serve_pending) */
            persist_key_written(w, d, skey);
            finish(st, B_SERVED);
            continue;
        }
        long len = list_len(e);
        long take = st->kind == BLOCK_MPOP ? (st->count < len ? st->count : len) : 1;
        prop_pop(w, false, skey, st->left, st->kind == BLOCK_MPOP ? take : -1);
        list_pop(d, e, st->left, take, result_cb, st);
        notify_write(NOTIFY_LIST, st->left ? "lpop" : "rpop", d, skey);
        persist_key_written(w, d, skey);
        finish(st, B_SERVED);
    }
}

/* Writes that happen while serving (BLMOVE pushing to its destination)
 * come back here through store_written: they are queued and handled once
 * the current key is done, as Redis's ready-keys list. */
typedef struct ready {
    db *d;
    char *key;
    size_t n;
} ready;

static __thread int serving;
static __thread int tl_defer; /* in a command (or EXEC): keys written are noted, served at its end */
static __thread ready *rq;
static __thread size_t rq_len, rq_cap;

static void handle(client *w, db *d, sv key)
{
    pthread_mutex_lock(&reg_mu);
    serve_key(w, d, key);
    pthread_mutex_unlock(&reg_mu);
}

/* Serves the keys noted (while serving, or deferred), in the order they
 * were first written; with cmd, each key's pops are logged as a unit of
 * their own (else they join c's record, logged by the caller). */
static void serve_noted(client *c, command *cmd)
{
    serving = 1;
    while (rq_len) {
        ready r = rq[0];
        memmove(rq, rq + 1, (rq_len - 1) * sizeof *rq);
        rq_len--;
        sv ks = {r.key, r.n};
        if (cmd) {
            c->prop.len = 0;
            c->prop_count = 0;
            c->prop_custom = true;
        }
        handle(c, r.d, ks);
        if (cmd && c->prop_count) {
            uint32_t idx = store_shard_of(r.d, ks)->id;
            aof_feed(c, cmd, &idx, 1);
        }
        free(r.key);
    }
    free(rq);
    rq = NULL;
    rq_cap = 0;
    serving = 0;
}

/* Databases a whole-db write (SWAPDB, FLUSHDB...) changed on this thread
 * while clients were blocked, one bit each: their waiters are served once
 * its command has let go of its locks (block_serve_pending), each key
 * under its own shard's lock; the writer holds one shard's at most. */
static __thread uint64_t *whole_bits;

void block_key_written(client *c, db *d, sv key)
{
    if (atomic_load_explicit(&nblocked, memory_order_relaxed) == 0) return;
    if (!key.p) {
        if (!whole_bits) {
            whole_bits = calloc(((size_t)cfg.databases + 63) / 64, sizeof(uint64_t));
            if (!whole_bits) abort();
        }
        whole_bits[d->id / 64] |= 1ull << (d->id % 64);
        return;
    }
    if (serving || tl_defer) {
        if (tl_defer) /* a key signalled twice is served once, at its first place (as Redis's ready keys) */
            for (size_t i = 0; i < rq_len; i++)
                if (rq[i].d == d && rq[i].n == key.n && memcmp(rq[i].key, key.p, key.n) == 0) return;
        if (rq_len == rq_cap) {
            rq_cap = rq_cap ? rq_cap * 2 : 8;
            rq = realloc(rq, rq_cap * sizeof *rq);
            if (!rq) abort();
        }
        rq[rq_len].d = d;
        rq[rq_len].key = kvd_strndup(key.p, key.n);
        rq[rq_len].n = key.n;
        rq_len++;
        return;
    }
    serving = 1;
    handle(c, d, key);
    serve_noted(c, NULL); /* the keys its serving wrote */
}

/* ---------------------------------------------------------------- waiting */

static void idx_of(db *d, sv a, sv b, uint32_t *idx, int *n)
{
    uint32_t x = store_shard_of(d, a)->id, y = store_shard_of(d, b)->id;
    if (x == y) {
        idx[0] = x;
        *n = 1;
    } else {
        idx[0] = x < y ? x : y;
        idx[1] = x < y ? y : x;
        *n = 2;
    }
}

/* Serves the clients waiting on key (no lock held), logging the pops for
 * the AOF under c, as one unit for cmd. */
static void serve_now(client *c, command *cmd, db *d, sv key)
{
    shard *s = store_shard_of(d, key);
    shard_wrlock(s);
    c->prop.len = 0;
    c->prop_count = 0;
    c->prop_custom = true;
    block_key_written(c, d, key);
    if (c->prop_count) {
        uint32_t idx = s->id;
        aof_feed(c, cmd, &idx, 1);
    }
    shard_unlock(s);
}

/* A waiter that left the head of a queue while it held it as B_RETRY may
 * have kept elements from the waiters behind it: serve them now. */
static void kick(client *c, bstate *st) { serve_now(c, st->cmd, &server_dbs[st->dbid], st->keys[0]); }

void block_serve_pending(client *c)
{
    uint64_t *bits = whole_bits;
    if (!bits) return;
    whole_bits = NULL;
    /* the keys waited on in those databases (copies: served one by one,
     * without reg_mu) */
    buf keys;
    buf_init_static(&keys, NULL, 0);
    size_t n = 0;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < reg_size; i++)
        for (bkey *k = reg_table[i]; k; k = k->next)
            if (bits[k->dbid / 64] & (1ull << (k->dbid % 64))) {
                uint32_t hdr[2] = {(uint32_t)k->dbid, (uint32_t)k->klen};
                buf_append(&keys, hdr, sizeof hdr);
                buf_append(&keys, k->key, k->klen);
                n++;
            }
    pthread_mutex_unlock(&reg_mu);
    free(bits);
    command *cmd = c->cmd; /* (called from cmd_call, its command still set) */
    for (size_t off = 0; n--;) {
        uint32_t hdr[2];
        memcpy(hdr, keys.p + off, sizeof hdr);
        sv key = {keys.p + off + sizeof hdr, hdr[1]};
        serve_now(c, cmd, &server_dbs[hdr[0]], key);
        off += sizeof hdr + hdr[1];
    }
    buf_free(&keys);
}

/* BLMOVE across shards: take both locks in order and move, if the source
 * still holds a list. Returns true when st reached a final state. */
static bool retry_move(client *c, bstate *st)
{
    db *d = &server_dbs[st->dbid];
    sv src = st->keys[0];
    shard *sa, *sb;
    store_lock2(d, src, d, st->dst, &sa, &sb);
    pthread_mutex_lock(&reg_mu);
    if (st->state != B_RETRY) {
        pthread_mutex_unlock(&reg_mu);
        store_unlock2(sa, sb);
        return st->state != B_WAITING;
    }
    entry *e = store_lookup_write(d, src);
    if (!e || e->type != OBJ_LIST || list_len(e) == 0) {
        retry_over(st);
        st->state = B_WAITING;  /* someone else took it: wait on */
        pthread_mutex_unlock(&reg_mu);
        store_unlock2(sa, sb);
        return false;
    }
    watchers ws;
    retry_take(st, &ws);
    entry *de = store_lookup_write(d, st->dst);
    if (de && de->type != OBJ_LIST) {
        unregister(st);
        st->was_retry = false;
        st->state = B_WRONGTYPE;
        pthread_mutex_unlock(&reg_mu);
        /* the element stays: others may take it */
        c->prop.len = 0;
        c->prop_count = 0;
        c->prop_custom = true;
        block_key_written(c, d, src);
        uint32_t idx[2];
        int n;
        idx_of(d, src, st->dst, idx, &n);
        if (c->prop_count) aof_feed(c, st->cmd, idx, n);
        store_unlock2(sa, sb);
        retry_release(&ws);
        return true;
    }
    st->was_retry = false;
    unregister(st);
    st->was_retry = false;
    st->state = B_SERVED;
    st->served_key = 0;
    pthread_mutex_unlock(&reg_mu);
    c->prop.len = 0;
    c->prop_count = 0;
    c->prop_custom = false;
    prop_move(c, st, src);
    size_t n;
    tl_inherit = &ws; /* (list_move serves the waiters of both keys) */
    char *v = list_move(c, d, e, src, st->dst, st->left, st->to_left, &n);
    tl_inherit = NULL;
    sv vs = {v, n};
    result_cb(st, vs);
    free(v);
    uint32_t idx[2];
    int ni;
    idx_of(d, src, st->dst, idx, &ni);
    aof_feed(c, st->cmd, idx, ni);
    store_unlock2(sa, sb);
    retry_release(&ws);
    return true;
}

static void render(client *c, bstate *st)
{
    command *saved = c->cmd;
    c->cmd = st->cmd;
    switch (st->state) {
    case B_SERVED: {
        const char *p = st->result.p;
        uint32_t l;
        if (is_zset_kind(st->kind)) {
            /* BZPOPMIN: [key, member, score]; BZMPOP: [key, [[m, s]...]] */
            bool mpop = st->kind == BLOCK_ZMPOP;
            reply_array(c, mpop ? 2 : 1 + 2 * st->nresult);
            reply_bulk_sv(c, st->keys[st->served_key]);
            if (mpop) reply_array(c, st->nresult);
            for (long i = 0; i < st->nresult; i++) {
                double score;
                memcpy(&l, p, sizeof l);
                memcpy(&score, p + sizeof l + l, sizeof score);
                if (mpop) reply_array(c, 2);
                reply_bulk(c, p + sizeof l, l);
                reply_double(c, score);
                p += sizeof l + l + sizeof score;
            }
            break;
        }
        if (st->kind != BLOCK_MOVE) {
            reply_array(c, 2);
            reply_bulk_sv(c, st->keys[st->served_key]);
            if (st->kind == BLOCK_MPOP) reply_array(c, st->nresult);
        }
        for (long i = 0; i < st->nresult; i++) {
            memcpy(&l, p, sizeof l);
            reply_bulk(c, p + sizeof l, l);
            p += sizeof l + l;
        }
        break;
    }
    case B_ERROR: reply_error(c, "UNBLOCKED client unblocked via CLIENT UNBLOCK"); break;
    case B_WRONGTYPE: reply_err_wrongtype(c); break;
    default:
        reply_null_array(c);  /* a timeout: *-1 for BLMOVE too, as Redis 7.0 */
    }
    c->cmd = saved;
}

/* Reads what a blocked client's peer sends meanwhile into its query
 * buffer (it is parsed once the command ends); false on end of file. */
static bool read_ahead(client *c, bool *watch)
{
    if ((long long)c->qbuf.len >= CFG(client_query_buffer_limit)) {
        *watch = false;
        return true;
    }
    buf_reserve(&c->qbuf, 4096);
    ssize_t n = recv(c->fd, c->qbuf.p + c->qbuf.len, c->qbuf.cap - c->qbuf.len, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->qbuf.len += (size_t)n;
    atomic_fetch_add_explicit(&server.stat_net_in, (uint64_t)n, memory_order_relaxed);
    return true;
}

bool block_wait(client *c)
{
    bstate *st = BSTATE(c);
    if (!st) {
        atomic_fetch_and(&c->flags, ~CLIENT_BLOCKED);
        return true;
    }
    bool watch = true, alive = true;
    for (;;) {
        pthread_mutex_lock(&reg_mu);
        int state = st->state;
        pthread_mutex_unlock(&reg_mu);
        if (state == B_RETRY) {
            util_cmd_ms = -1; /* a command of its own (util.h): one clock reading */
            bool done = retry_move(c, st);
            util_cmd_ms = 0;
            if (done) break;
            continue;
        }
        if (state != B_WAITING) break;
        int r = conn_wait(c, st->deadline, watch);
        if (r == CONN_READABLE) {
            if (read_ahead(c, &watch)) continue;
            r = CONN_CLOSED;
        }
        if (r == CONN_TIMEOUT || r == CONN_CLOSED) {
            pthread_mutex_lock(&reg_mu);
            if (st->state == B_WAITING || st->state == B_RETRY) {
                unregister(st);
                st->state = B_TIMEOUT;
            }
            pthread_mutex_unlock(&reg_mu);
            if (r == CONN_CLOSED) alive = false;
        }
    }
    pthread_mutex_lock(&reg_mu);
    bool kick_needed = st->was_retry;
    st->was_retry = false;
    pthread_mutex_unlock(&reg_mu);
    if (kick_needed) kick(c, st);
    if (alive) render(c, st);
    c->ext[2] = NULL;
    bstate_free(st);
    atomic_fetch_and(&c->flags, ~CLIENT_BLOCKED);
    return alive;
}

void block_reset_client(client *c)
{
    bstate *st = BSTATE(c);
    if (!st) return;
    pthread_mutex_lock(&reg_mu);
    unregister(st);
    pthread_mutex_unlock(&reg_mu);
    c->ext[2] = NULL;
    bstate_free(st);
    atomic_fetch_and(&c->flags, ~CLIENT_BLOCKED);
}

int block_unblock(uint64_t id, bool error)
{
    int n = 0;
    pthread_mutex_lock(&reg_mu);
    for (bstate *st = reg_all; st; st = st->anext)
        if (st->c->id == id) {
            if (st->state == B_WAITING || st->state == B_RETRY) {
                finish(st, error ? B_ERROR : B_TIMEOUT);
                n = 1;
            }
            break;
        }
    pthread_mutex_unlock(&reg_mu);
    return n;
}

/* Around a command's run: can says whether it will wait for the moves it
 * leaves to RETRY (not a batch run for another thread under its shard's
 * lock). Returns what to hand back to block_call_end. */
bool block_call_begin(bool can)
{
    bool was = tl_can_wait;
    tl_can_wait = can;
    return was;
}

/* True when moves left to RETRY are not done yet: wait for them
 * (block_wait_retries) with no lock held, before the reply. */
bool block_call_end(bool was)
{
    tl_can_wait = was;
    return tl_rw && atomic_load_explicit(&tl_rw->pending, memory_order_relaxed) > 0;
}

/* Unlists this thread's counter from the registered waiters that would
 * decrement it when their moves end (reg_mu held). */
static void unwatch_all(rwait *w)
{
    for (bstate *st = reg_all; st; st = st->anext)
        for (int i = 0; i < st->nwatch; i++)
            if (st->watch[i] == w) {
                st->watch[i] = st->watch[--st->nwatch];
                w->pending--;
                break;
            }
}

/* Waits (no lock held) until the moves block_call_end reported are done;
 * bounded, as a safety net: after 2 s the reply goes out anyway. */
void block_wait_retries(void)
{
    if (!tl_rw) return;
    struct timespec ts = util_deadline(2000000);
    pthread_mutex_lock(&reg_mu);
    while (tl_rw->pending > 0)
        if (pthread_cond_timedwait(&retry_cv, &reg_mu, &ts) == ETIMEDOUT) {
            unwatch_all(tl_rw); /* give up on them (a move under way still counts down) */
            break;
        }
    pthread_mutex_unlock(&reg_mu);
}

/* A connection thread about to exit. Moves may still hold its counter's
 * address: a move under way took it over (retry_take) and counts it down
 * when done, possibly after block_wait_retries gave up. The counter lives
 * on the heap for that: the thread unlists it, waits a while for the
 * moves under way, and frees it only at zero; otherwise it is left
 * allocated (a few bytes, logged) for the moves to count down. */
void block_thread_exit(void)
{
    rwait *w = tl_rw;
    if (!w) return;
    tl_rw = NULL;
    struct timespec ts = util_deadline(30000000);
    pthread_mutex_lock(&reg_mu);
    unwatch_all(w);
    while (w->pending > 0)
        if (pthread_cond_timedwait(&retry_cv, &reg_mu, &ts) == ETIMEDOUT) break;
    int left = w->pending;
    pthread_mutex_unlock(&reg_mu);
    if (left > 0) log_warning("a connection thread exits with %d cross-shard moves still under way", left);
    else free(w);
}

/* A command that holds its keys' locks for its whole run (cmd.c): the
 * clients blocked on the keys it writes are served when it is done, still
 * under those locks, as Redis serves them after the command (its own
 * keyspace events first: RENAME's rename_to before the waiter's lpop). */
void block_defer_begin(void) { tl_defer++; }

void block_defer_end(client *c)
{
    if (--tl_defer > 0 || !rq_len) return;
    serve_noted(c, NULL);
}

/* EXEC: clients blocked on the keys its commands write are served after
 * its last command, as in Redis (a transaction is atomic: no other
 * client's pop happens in its middle, and its replies, LPUSH's length...,
 * are what they would be without waiters), in the order the keys were
 * first written, while EXEC still holds their shards' locks; the pops are
 * logged in the transaction's AOF unit. */
int block_txn_begin(void)
{
    int was = tl_defer;
    tl_defer = 1;
    return was;
}

void block_txn_end(client *c, command *cmd, int was)
{
    tl_defer = 0;
    if (rq_len) serve_noted(c, cmd);
    tl_defer = was;
}
