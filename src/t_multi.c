/* t_multi.c — transactions: MULTI queues commands, EXEC runs them with
 * every shard they (and the WATCHed keys) touch locked at once, so no other
 * client, the snapshot or the AOF ever sees half of one. WATCH is tracked
 * per key, as Redis does: a write to another key of the same shard does
 * not abort the transaction.
 *
 * The WATCH registry: one table per (db, shard) mapping a key to the list
 * of transactions watching it. A table is guarded by its shard's rwlock and
 * changed only under the write lock: by WATCH/UNWATCH (which take it), by
 * EXEC (which holds it) and read by writers in watch_key_written (which
 * hold it). A watcher's dirty flag is atomic because the client reads it
 * while another thread may set it. */
#include "kvd.h"

#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- state */

typedef struct mstate mstate;

typedef struct watcher {
    struct watcher *next;   /* next watcher of the same key */
    mstate *ms;
    bool expired;           /* the key was logically expired at WATCH time */
} watcher;

typedef struct wkey {
    struct wkey *next;
    uint64_t h;
    watcher *ws;
    uint32_t klen;
    char key[];
} wkey;

typedef struct wshard {
    wkey **tab;
    uint32_t size, count;
} wshard;

typedef struct wref {      /* one WATCHed key of a client */
    int dbid;
    uint32_t sidx;
    wkey *k;
    watcher *w;
} wref;

typedef struct mcmd {      /* one queued command */
    command *cmd;
    int argc;
    sv *argv;              /* into ms->args, set by queue_resolve */
    size_t first;          /* its first argument's index in ms->args / ms->aoff */
} mcmd;

/* The queue keeps its memory from one transaction to the next (up to
 * QUEUE_KEEP bytes of arguments): the arguments' bytes go to one arena,
 * their offsets to aoff; at EXEC (nothing is queued any more) args gets
 * the pointers. */
#define QUEUE_KEEP (64 * 1024)

struct mstate {
    bool in_multi;
    bool errored;          /* a command was rejected while queuing: EXECABORT */
    bool in_exec;
    _Atomic bool dirty;    /* a watched key changed */
    mcmd *q;
    int nq, qcap;
    buf arena;             /* the queued arguments' bytes */
    sv *args;              /* every queued argument */
    size_t *aoff;          /* its offset in arena */
    size_t nargs, argscap;
    wref *w;
    int nw, wcap;
};

static wshard *wtab;                 /* [databases * shards] */
static pthread_once_t wtab_once = PTHREAD_ONCE_INIT;
static _Atomic long nwatched;        /* watcher entries in all tables */

static void wtab_init(void)
{
    wtab = calloc((size_t)cfg.databases * (size_t)cfg.shards, sizeof(wshard));
    if (!wtab) abort();
}

static wshard *wshard_of(int dbid, uint32_t sidx) { return &wtab[(size_t)dbid * (size_t)cfg.shards + sidx]; }

static mstate *ms_get(client *c)
{
    mstate *ms = c->ext[0];
    if (!ms) {
        ms = calloc(1, sizeof *ms);
        if (!ms) abort();
        c->ext[0] = ms;
    }
    return ms;
}

bool multi_in_exec(client *c)
{
    mstate *ms = c->ext[0];
    return ms && ms->in_exec;
}

bool multi_active(client *c)
{
    mstate *ms = c->ext[0];
    return ms && ms->in_multi;
}


/* ---------------------------------------------------------------- registry */

static wkey *wkey_find(wshard *ws, sv key, uint64_t h)
{
    if (!ws->size) return NULL;
    for (wkey *k = ws->tab[h & (ws->size - 1)]; k; k = k->next)
        if (k->h == h && k->klen == key.n && memcmp(k->key, key.p, key.n) == 0) return k;
    return NULL;
}

static void wshard_resize(wshard *ws, uint32_t nsize)
{
    wkey **nt = calloc(nsize, sizeof(wkey *));
    if (!nt) abort();
    for (uint32_t i = 0; i < ws->size; i++) {
        for (wkey *k = ws->tab[i], *next; k; k = next) {
            next = k->next;
            k->next = nt[k->h & (nsize - 1)];
            nt[k->h & (nsize - 1)] = k;
        }
    }
    free(ws->tab);
    ws->tab = nt;
    ws->size = nsize;
}

/* Adds a watcher of key for ms (shard write lock held). */
static void watch_add(mstate *ms, int dbid, uint32_t sidx, sv key, uint64_t h, bool expired)
{
    wshard *ws = wshard_of(dbid, sidx);
    wkey *k = wkey_find(ws, key, h);
    if (!k) {
        if (ws->count >= ws->size) wshard_resize(ws, ws->size ? ws->size * 2 : 4);
        k = malloc(sizeof *k + key.n);
        if (!k) abort();
        k->h = h;
        k->klen = (uint32_t)key.n;
        memcpy(k->key, key.p, key.n);
        k->ws = NULL;
        k->next = ws->tab[h & (ws->size - 1)];
        ws->tab[h & (ws->size - 1)] = k;
        ws->count++;
    }
    watcher *w = malloc(sizeof *w);
    if (!w) abort();
    w->ms = ms;
    w->expired = expired;
    w->next = k->ws;
    k->ws = w;
    if (ms->nw == ms->wcap) {
        ms->wcap = ms->wcap ? ms->wcap * 2 : 4;
        ms->w = realloc(ms->w, sizeof(wref) * (size_t)ms->wcap);
        if (!ms->w) abort();
    }
    ms->w[ms->nw++] = (wref){dbid, sidx, k, w};
    atomic_fetch_add_explicit(&nwatched, 1, memory_order_release);
}

/* Removes one watcher (its shard's write lock held). */
static void watch_remove(wref *r)
{
    wshard *ws = wshard_of(r->dbid, r->sidx);
    wkey *k = r->k;
    for (watcher **pp = &k->ws; *pp; pp = &(*pp)->next)
        if (*pp == r->w) {
            *pp = r->w->next;
            break;
        }
    free(r->w);
    atomic_fetch_sub_explicit(&nwatched, 1, memory_order_relaxed);
    if (k->ws) return;
    for (wkey **pp = &ws->tab[k->h & (ws->size - 1)]; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    free(k);
    if (--ws->count == 0) {
        free(ws->tab);
        ws->tab = NULL;
        ws->size = 0;
    }
}

/* UNWATCH: take each key's shard lock unless the caller holds them all
 * (locked: EXEC holds every watched shard). */
static void unwatch_all(client *c, mstate *ms, bool locked)
{
    for (int i = 0; i < ms->nw; i++) {
        wref *r = &ms->w[i];
        shard *s = &server_dbs[r->dbid].shards[r->sidx];
        if (!locked) shard_wrlock(s);
        watch_remove(r);
        if (!locked) shard_unlock(s);
    }
    UNUSED(c);
    ms->nw = 0;
    if (ms->wcap > 16) {
        free(ms->w);
        ms->w = NULL;
        ms->wcap = 0;
    }
    atomic_store_explicit(&ms->dirty, false, memory_order_relaxed);
}

/* A watcher whose key was already expired at WATCH time is not touched by
 * that key's deletion (no logical change), as in Redis 7. */
static void touch_key(wkey *k, bool exists_now)
{
    for (watcher *w = k->ws; w; w = w->next) {
        if (w->expired && !exists_now) {
            w->expired = false;
            continue;
        }
        atomic_store_explicit(&w->ms->dirty, true, memory_order_relaxed);
    }
}

/* store_written's hook: with the shard write lock held. key.p == NULL:
 * the whole db d is being flushed or swapped (every shard of d locked):
 * watchers of keys that exist in d are touched. */
void watch_key_written(client *c, db *d, sv key)
{
    UNUSED(c);
    if (atomic_load_explicit(&nwatched, memory_order_acquire) == 0) return;
    if (key.p == NULL) {
        for (int i = 0; i < cfg.shards; i++) {
            wshard *ws = wshard_of(d->id, (uint32_t)i);
            for (uint32_t b = 0; b < ws->size; b++)
                for (wkey *k = ws->tab[b]; k; k = k->next) {
                    sv kk = {k->key, k->klen};
                    if (store_find(&d->shards[i], kk, store_hash(kk))) touch_key(k, false);
                }
        }
        return;
    }
    uint64_t h = store_hash(key);
    uint32_t sidx = store_shard_index(h);
    wkey *k = wkey_find(wshard_of(d->id, sidx), key, h);
    if (k) touch_key(k, store_find(&d->shards[sidx], key, h) != NULL);
}

/* ---------------------------------------------------------------- queue */

/* Empties the queue; its memory is kept for the next transaction unless
 * it grew large (or all is set: the client goes away). */
static void queue_clear(mstate *ms, bool all)
{
    ms->nq = 0;
    ms->nargs = 0;
    ms->arena.len = 0;
    if (all || ms->arena.cap > QUEUE_KEEP || ms->qcap > 1024 || ms->argscap > 4096) {
        buf_free(&ms->arena);
        free(ms->q);
        free(ms->args);
        free(ms->aoff);
        ms->q = NULL;
        ms->args = NULL;
        ms->aoff = NULL;
        ms->qcap = 0;
        ms->argscap = 0;
    }
}

static void queue_free(mstate *ms) { queue_clear(ms, false); }

/* Points every queued command's argv at its bytes (the arena no longer
 * moves). */
static void queue_resolve(mstate *ms)
{
    for (size_t i = 0; i < ms->nargs; i++) ms->args[i].p = ms->arena.p + ms->aoff[i];
    for (int i = 0; i < ms->nq; i++) ms->q[i].argv = ms->args + ms->q[i].first;
}

static void multi_discard(client *c, mstate *ms, bool locked)
{
    queue_free(ms);
    ms->in_multi = false;
    atomic_store_explicit(&c->info_multi, 0, memory_order_relaxed);
    ms->errored = false;
    unwatch_all(c, ms, locked);
}

/* Copies c's request: argv points into the read buffer. */
static void queue_command(mstate *ms, client *c, command *cmd)
{
    if (ms->nq == ms->qcap) {
        ms->qcap = ms->qcap ? ms->qcap * 2 : 8;
        ms->q = realloc(ms->q, sizeof(mcmd) * (size_t)ms->qcap);
        if (!ms->q) abort();
    }
    size_t argc = (size_t)c->argc;
    if (ms->nargs + argc > ms->argscap) {
        size_t ncap = ms->argscap ? ms->argscap * 2 : 32;
        while (ncap < ms->nargs + argc) ncap *= 2;
        ms->args = realloc(ms->args, sizeof(sv) * ncap);
        ms->aoff = realloc(ms->aoff, sizeof(size_t) * ncap);
        if (!ms->args || !ms->aoff) abort();
        ms->argscap = ncap;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < argc; i++) bytes += c->argv[i].n;
    buf_reserve(&ms->arena, bytes);
    for (size_t i = 0; i < argc; i++) {
        ms->aoff[ms->nargs + i] = ms->arena.len;
        ms->args[ms->nargs + i] = (sv){NULL, c->argv[i].n};
        buf_append(&ms->arena, c->argv[i].p, c->argv[i].n);
    }
    ms->q[ms->nq++] = (mcmd){cmd, c->argc, NULL, ms->nargs};
    ms->nargs += argc;
}

static bool is_cmd(command *cmd, const char *name) { return strcmp(cmd->name, name) == 0; }

/* cmd.c calls this for every command that passed the edge checks (and with
 * cmd == NULL for one rejected there). Inside MULTI the command is queued
 * and answered +QUEUED; EXEC, DISCARD, MULTI, WATCH, QUIT and RESET run
 * at once. */
bool multi_queue_hook(client *c, command *cmd)
{
    mstate *ms = c->ext[0];
    if (!ms || !ms->in_multi) return false;
    if (!cmd) {
        ms->errored = true;
        return true;
    }
    switch (cmd->name[0]) { /* most queued commands compare no name */
    case 'e': case 'd': case 'm': case 'w': case 'q': case 'r':
        if (is_cmd(cmd, "exec") || is_cmd(cmd, "discard") || is_cmd(cmd, "multi") || is_cmd(cmd, "watch") ||
            is_cmd(cmd, "quit") || is_cmd(cmd, "reset"))
            return false;
        break;
    default: break;
    }
    if (cmd->flags & CMD_NOMULTI) {
        ms->errored = true;
        c->cmd = cmd;
        reply_error(c, "ERR Command not allowed inside a transaction");
        c->cmd = NULL;
        return true;
    }
    queue_command(ms, c, cmd);
    atomic_store_explicit(&c->info_multi, ms->nq + 1, memory_order_relaxed);
    reply_status(c, "QUEUED");
    return true;
}

void multi_reset_client(client *c)
{
    mstate *ms = c->ext[0];
    if (!ms) return;
    multi_discard(c, ms, false);
    queue_clear(ms, true);
    free(ms->w);
    free(ms);
    c->ext[0] = NULL;
}

/* ---------------------------------------------------------------- commands */

static void multi_command(client *c)
{
    mstate *ms = ms_get(c);
    if (ms->in_multi) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    ms->in_multi = true;
    ms->errored = false;
    atomic_store_explicit(&c->info_multi, 1, memory_order_relaxed);
    reply_ok(c);
}

static void discard_command(client *c)
{
    mstate *ms = c->ext[0];
    if (!ms || !ms->in_multi) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_discard(c, ms, false);
    reply_ok(c);
}

static void watch_command(client *c)
{
    mstate *ms = ms_get(c);
    if (ms->in_multi) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    pthread_once(&wtab_once, wtab_init);
    int64_t now = util_mstime();
    for (int j = 1; j < c->argc; j++) {
        sv key = c->argv[j];
        uint64_t h = store_hash(key);
        uint32_t sidx = store_shard_index(h);
        bool dup = false;
        for (int i = 0; i < ms->nw && !dup; i++) {
            wkey *k = ms->w[i].k;
            dup = ms->w[i].dbid == c->db->id && k->klen == key.n && memcmp(k->key, key.p, key.n) == 0;
        }
        if (dup) continue;
        shard *s = &c->db->shards[sidx];
        shard_wrlock(s);
        entry *e = store_find(s, key, h);
        watch_add(ms, c->db->id, sidx, key, h, e && store_expired(e, now));
        shard_unlock(s);
    }
    reply_ok(c);
}

static void unwatch_command(client *c)
{
    mstate *ms = c->ext[0];
    /* inside EXEC the keys were unwatched before the commands ran */
    if (ms && !ms->in_exec) unwatch_all(c, ms, false);
    reply_ok(c);
}

/* ---------------------------------------------------------------- EXEC */

typedef struct lockreq {
    uint32_t dbid, sidx;
    bool write;
} lockreq;

static int cmp_lockreq(const void *a, const void *b)
{
    const lockreq *x = a, *y = b;
    if (x->dbid != y->dbid) return x->dbid < y->dbid ? -1 : 1;
    return x->sidx < y->sidx ? -1 : x->sidx > y->sidx;
}

/* NOLOCK commands that take no shard lock: safe under partial locking. */
static bool nolock_is_lockfree(command *cmd)
{
    static const char *const ok[] = {"select", "ping", "echo", "time", "client", "config", "command",
                                     "hello", "auth", "quit", "reset", "publish", "spublish", "pubsub",
                                     "subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                                     "ssubscribe", "sunsubscribe", "unwatch", "lastsave", NULL};
    for (int i = 0; ok[i]; i++)
        if (is_cmd(cmd, ok[i])) return true;
    return false;
}

/* Key hashes computed for the lock set, kept for the queued commands'
 * own lookups (store_hash_memo): by argument index in ms->args, for the
 * first EXEC_HASHES arguments of the transaction. */
#define EXEC_HASHES 64

typedef struct lockset {
    lockreq *r;            /* inl, or the heap past LOCKSET_INL */
    int n, cap;
    bool all;
    lockreq inl[16];
    uint64_t hashed;       /* bit i: hv[i] holds the hash of ms->args[i] */
    uint64_t hv[EXEC_HASHES];
} lockset;
#define LOCKSET_INIT(ls) ((ls).r = (ls).inl, (ls).n = 0, (ls).cap = 16, (ls).all = false, (ls).hashed = 0)
#define LOCKSET_FREE(ls) ((ls).r != (ls).inl ? free((ls).r) : (void)0)

static void lockset_add(lockset *ls, int dbid, uint32_t sidx, bool write)
{
    if (ls->n == ls->cap) {
        ls->cap *= 2;
        lockreq *nr = malloc(sizeof(lockreq) * (size_t)ls->cap);
        if (!nr) abort();
        memcpy(nr, ls->r, sizeof(lockreq) * (size_t)ls->n);
        if (ls->r != ls->inl) free(ls->r);
        ls->r = nr;
    }
    ls->r[ls->n++] = (lockreq){(uint32_t)dbid, sidx, write};
}

static void lockset_sort(lockset *ls)
{
    if (ls->n > 16) {
        qsort(ls->r, (size_t)ls->n, sizeof(lockreq), cmp_lockreq);
        return;
    }
    for (int i = 1; i < ls->n; i++) { /* insertion sort: a few shards */
        lockreq x = ls->r[i];
        int j = i;
        for (; j > 0 && cmp_lockreq(&ls->r[j - 1], &x) > 0; j--) ls->r[j] = ls->r[j - 1];
        ls->r[j] = x;
    }
}

/* The shards the queued commands and the watched keys need, sorted and
 * merged (write wins), or ls->all for whole-db commands. SELECT inside the
 * transaction changes the db of the commands after it, as at run time. */
static void exec_lockset(client *c, mstate *ms, lockset *ls)
{
    int dbid = c->db->id;
    int kbuf[64];
    sv *saved_argv = c->argv;
    int saved_argc = c->argc;
    for (int i = 0; i < ms->nq && !ls->all; i++) {
        mcmd *m = &ms->q[i];
        if (m->cmd->flags & CMD_NOLOCK) {
            if (is_cmd(m->cmd, "select")) {
                long long v;
                if (util_str2ll(m->argv[1].p, m->argv[1].n, &v) && v >= 0 && v < cfg.databases) dbid = (int)v;
                continue;
            }
            if (!nolock_is_lockfree(m->cmd)) ls->all = true;
            continue;
        }
        c->argv = m->argv;
        c->argc = m->argc;
        int maxk = m->argc > 64 ? m->argc : 64;
        int *keys = m->argc > 64 ? malloc(sizeof(int) * (size_t)maxk) : kbuf;
        if (!keys) abort();
        int nk = cmd_getkeys(c, m->cmd, keys, maxk);
        bool write = (m->cmd->flags & CMD_WRITE) != 0;
        for (int k = 0; k < nk; k++) {
            uint64_t h = store_hash(m->argv[keys[k]]);
            size_t at = m->first + (size_t)keys[k];
            if (at < EXEC_HASHES) {
                ls->hv[at] = h;
                ls->hashed |= 1ULL << at;
            }
            lockset_add(ls, dbid, store_shard_index(h), write);
        }
        if (keys != kbuf) free(keys);
    }
    c->argv = saved_argv;
    c->argc = saved_argc;
    if (ls->all) return;
    /* watched keys: write, because EXEC unwatches them under these locks */
    for (int i = 0; i < ms->nw; i++) lockset_add(ls, ms->w[i].dbid, ms->w[i].sidx, true);
    lockset_sort(ls);
    int u = 0;
    for (int i = 0; i < ls->n; i++) {
        if (u && ls->r[u - 1].dbid == ls->r[i].dbid && ls->r[u - 1].sidx == ls->r[i].sidx) {
            ls->r[u - 1].write |= ls->r[i].write;
            continue;
        }
        ls->r[u++] = ls->r[i];
    }
    ls->n = u;
}

static void lockset_lock(lockset *ls)
{
    if (ls->all) {
        store_lock_all();
        return;
    }
    for (int i = 0; i < ls->n; i++) {
        shard *s = &server_dbs[ls->r[i].dbid].shards[ls->r[i].sidx];
        if (ls->r[i].write) shard_wrlock(s);
        else shard_rdlock(s);
    }
}

static void lockset_unlock(lockset *ls)
{
    if (ls->all) {
        store_unlock_all();
        return;
    }
    for (int i = ls->n - 1; i >= 0; i--) shard_unlock(&server_dbs[ls->r[i].dbid].shards[ls->r[i].sidx]);
}

/* Redis 7: a watched key that is logically expired at EXEC (and was not
 * already at WATCH) aborts the transaction. Shards held. */
static bool watched_key_expired(mstate *ms)
{
    int64_t now = util_cmd_now();
    for (int i = 0; i < ms->nw; i++) {
        wref *r = &ms->w[i];
        if (r->w->expired) continue;
        sv key = {r->k->key, r->k->klen};
        entry *e = store_find(&server_dbs[r->dbid].shards[r->sidx], key, r->k->h);
        if (e && store_expired(e, now)) return true;
    }
    return false;
}

static void exec_command(client *c)
{
    mstate *ms = c->ext[0];
    if (!ms || !ms->in_multi) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (ms->errored) {
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        multi_discard(c, ms, false);
        return;
    }
    queue_resolve(ms);
    lockset ls;
    LOCKSET_INIT(ls);
    exec_lockset(c, ms, &ls);
    lockset_lock(&ls);
    if (atomic_load_explicit(&ms->dirty, memory_order_relaxed) || watched_key_expired(ms)) {
        multi_discard(c, ms, true);
        lockset_unlock(&ls);
        LOCKSET_FREE(ls);
        reply_null_array(c);
        return;
    }
    unwatch_all(c, ms, true);
    command *exec_cmd = c->cmd;
    sv *saved_argv = c->argv;
    int saved_argc = c->argc;
    ms->in_exec = true;
    aof_txn_begin(c); /* the AOF logs the whole transaction as one unit */
    int bwas = block_txn_begin();
    reply_array(c, ms->nq);
    for (int i = 0; i < ms->nq; i++) {
        mcmd *m = &ms->q[i];
        c->argv = m->argv;
        c->argc = m->argc;
        /* the keys' hashes from the lock set: not hashed again */
        for (int j = 0; ls.hashed && j < m->argc && m->first + (size_t)j < EXEC_HASHES; j++)
            if (ls.hashed & (1ULL << (m->first + (size_t)j))) store_hash_memo(m->argv[j], ls.hv[m->first + (size_t)j]);
        /* the first command's time starts now, the others' where the one
         * before ended (one clock read per command) */
        cmd_call_locked(c, m->cmd, i == 0);
        store_hash_memo_clear();
    }
    block_txn_end(c, exec_cmd, bwas); /* its waiters, served now */
    aof_txn_end(c);
    ms->in_exec = false;
    lockset_unlock(&ls);
    LOCKSET_FREE(ls);
    c->argv = saved_argv;
    c->argc = saved_argc;
    c->cmd = exec_cmd;
    queue_free(ms);
    ms->in_multi = false;
    atomic_store_explicit(&c->info_multi, 0, memory_order_relaxed);
}

/* Rows: see the field list above cmds in cmd.c. */
command cmds_multi[] = {
    {"multi", multi_command, 1, CMD_NOLOCK | CMD_FAST | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, NULL, "transactions", "Starts a transaction.", "1.2.0", 0, 0, 0, 0},
    {"exec", exec_command, 1, CMD_NOLOCK | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_SKIP_SLOWLOG, 0, 0, 0, NULL, "transactions", "Executes all commands in a transaction.", "1.2.0", 0, 0, 0, 0},
    {"discard", discard_command, 1, CMD_NOLOCK | CMD_FAST | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, NULL, "transactions", "Discards a transaction.", "2.0.0", 0, 0, 0, 0},
    {"watch", watch_command, -2, CMD_NOLOCK | CMD_FAST | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 1, -1, 1, NULL, "transactions", "Monitors changes to keys to determine the execution of a transaction.", "2.2.0", 0, 0, 0, 0},
    {"unwatch", unwatch_command, 1, CMD_NOLOCK | CMD_FAST | CMD_LOADING | CMD_STALE | CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, NULL, "transactions", "Forgets about watched keys of a transaction.", "2.2.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* CLIENT LIST's multi=: commands queued in MULTI, -1 outside (t_server.c) */
int multi_client_queued(client *c) { return atomic_load_explicit(&c->info_multi, memory_order_relaxed) - 1; }

/* Edge refusals of EXEC (cmd.c), as Redis's execCommandAbort: the reason
 * in an EXECABORT, the transaction (and WATCH) discarded, in MULTI or not. */
bool multi_is_exec(const command *cmd) { return cmd->proc == exec_command; }

bool multi_queued_writes(client *c)
{
    mstate *ms = c->ext[0];
    if (!ms || !ms->in_multi) return false;
    for (int i = 0; i < ms->nq; i++)
        if (ms->q[i].cmd->flags & CMD_WRITE) return true;
    return false;
}

void multi_exec_abort(client *c, const char *why)
{
    mstate *ms = c->ext[0];
    reply_errorf(c, "EXECABORT Transaction discarded because of: %s", why);
    if (ms) multi_discard(c, ms, false);
}
