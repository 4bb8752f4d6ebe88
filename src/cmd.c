/* cmd.c — the command table, lookup, arity and permission checks, shard
 * locking from each command's key specification, and statistics.
 *
 * The table is data. Each t_<type>.c exports an array of `command` rows,
 * ended by a row whose name is NULL. The fields of a row:
 *   name      lower-case command name
 *   proc      the handler: reads c->argv/c->argc, answers through reply.c
 *   arity     N = exactly N arguments counting the name; -N = at least N
 *   flags     CMD_*: WRITE (write locks, AOF), READONLY, FAST, ADMIN,
 *             NOLOCK (the handler locks for itself: whole-db commands),
 *             NOAUTH (allowed before AUTH), LOADING (allowed while loading)…
 *   firstkey  index of the first key argument (0: the command has no keys)
 *   lastkey   index of the last key; -1 the last argument, -2 the one before
 *   step      distance between key arguments (MSET: 2)
 *   getkeys   optional function for key positions the three numbers cannot
 *             describe (numkeys arguments)
 *   group, summary, since: for COMMAND DOCS
 * The table drives dispatch, arity errors, which shards to lock and how
 * (read or write), COMMAND output and what goes to the AOF. Handlers never
 * take shard locks themselves unless flagged NOLOCK. */
#include "kvd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

/* Every module's table. Modules not linked in yet are weak (NULL) and
 * skipped, so adding a t_<type>.c needs no edit here. */
extern command cmds_hash[] __attribute__((weak));
extern command cmds_list[] __attribute__((weak));
extern command cmds_set[] __attribute__((weak));
extern command cmds_zset[] __attribute__((weak));
extern command cmds_multi[] __attribute__((weak));
extern command cmds_pubsub[] __attribute__((weak));
extern command cmds_persist[] __attribute__((weak));
extern command cmds_admin[] __attribute__((weak));
extern command cmds_debug[] __attribute__((weak));
static command *tables[] = {cmds_string, cmds_keys, cmds_server, NULL, NULL, NULL, NULL,
                            NULL, NULL, NULL, NULL, NULL};
#define NTABLES (sizeof tables / sizeof tables[0])

static void tables_init(void)
{
    command *opt[] = {cmds_hash, cmds_list, cmds_set, cmds_zset, cmds_multi,
                      cmds_pubsub, cmds_persist, cmds_admin, cmds_debug};
    size_t k = 3;
    for (size_t i = 0; i < sizeof opt / sizeof opt[0] && k < NTABLES; i++)
        if (opt[i]) tables[k++] = opt[i];
}

/* open-addressing index from name to row */
static command **index_tab;
static size_t index_size;
static int ncommands;

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void index_put(command *cmd)
{
    size_t n = strlen(cmd->name);
    size_t i = name_hash(cmd->name, n) & (index_size - 1);
    while (index_tab[i]) i = (i + 1) & (index_size - 1);
    index_tab[i] = cmd;
}

void cmd_init(void)
{
    tables_init();
    ncommands = 0;
    for (size_t t = 0; t < NTABLES && tables[t]; t++)
        for (command *c = tables[t]; c->name; c++) ncommands++;
    index_size = 16;
    while (index_size < (size_t)ncommands * 3) index_size *= 2;
    free(index_tab);
    index_tab = calloc(index_size, sizeof(command *));
    for (size_t t = 0; t < NTABLES && tables[t]; t++)
        for (command *c = tables[t]; c->name; c++) {
            index_put(c);
            if (c->subs && !c->substats) {
                size_t n = 0;
                while (c->subs[n].name) n++;
                c->substats = calloc(n, sizeof(command));
                if (!c->substats) abort();
                for (size_t i = 0; i < n; i++) {
                    char *nm = malloc(strlen(c->name) + strlen(c->subs[i].name) + 2);
                    if (!nm) abort();
                    sprintf(nm, "%s|%s", c->name, c->subs[i].name);
                    c->substats[i].name = nm;
                }
            }
        }
}

/* Where a call of cmd counts: its subcommand's statistics for a container
 * (CONFIG GET counts as config|get, as in Redis 7). */
command *cmd_stat_target(client *c, command *cmd)
{
    if (!cmd->substats || c->argc < 2) return cmd;
    const subcommand *s = cmd_sub_find(cmd, c->argv[1]);
    return s ? &cmd->substats[s - cmd->subs] : cmd;
}

command *cmd_lookup(const char *name, size_t n)
{
    char low[64];
    if (n == 0 || n >= sizeof low) return NULL;
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)name[i]);
    size_t i = name_hash(low, n) & (index_size - 1);
    for (command *c; (c = index_tab[i]); i = (i + 1) & (index_size - 1))
        if (strlen(c->name) == n && memcmp(c->name, low, n) == 0) return c;
    return NULL;
}

int cmd_count(void) { return ncommands; }

void cmd_foreach(void (*fn)(command *cmd, void *ctx), void *ctx)
{
    for (size_t t = 0; t < NTABLES && tables[t]; t++)
        for (command *c = tables[t]; c->name; c++) fn(c, ctx);
}

static const struct { int flag; const char *name; } flag_names[] = {
    {CMD_WRITE, "write"},       {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},       {CMD_PUBSUB, "pubsub"},     {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"}, {CMD_LOADING, "loading"},   {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"}, {CMD_FAST, "fast"}, {CMD_NOAUTH, "no_auth"},
    {CMD_ALLOW_BUSY, "allow_busy"}, {CMD_NOMULTI, "no_multi"}, {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"},
};

const char **cmd_flag_names(int flags, int *n)
{
    static const char *out[32];
    int k = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        if (flags & flag_names[i].flag) out[k++] = flag_names[i].name;
    *n = k;
    return out;
}

/* Key argument indexes of c's request for cmd; at most max. */
int cmd_range_keys(int argc, int first, int last, int step, int *keys, int max)
{
    if (first <= 0) return 0;
    if (last < 0) last = argc + last;
    int n = 0;
    for (int i = first; i <= last && i < argc && n < max; i += step ? step : 1) keys[n++] = i;
    return n;
}

int cmd_getkeys(client *c, command *cmd, int *keys, int max)
{
    if (cmd->getkeys) return cmd->getkeys(c, keys, max);
    return cmd_range_keys(c->argc, cmd->firstkey, cmd->lastkey, cmd->step, keys, max);
}

const subcommand *cmd_sub_find(const command *cmd, sv name)
{
    for (const subcommand *s = cmd->subs; s && s->name; s++)
        if (sv_eqci(name, s->name)) return s;
    return NULL;
}

/* ---------------------------------------------------------------- locking */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

#define MAXKEYS_STACK 64

/* The distinct shards of c's keys, ascending, in idx[]; returns how many. */
static int key_shards(client *c, command *cmd, uint32_t *idx)
{
    int kbuf[MAXKEYS_STACK];
    int *keys = kbuf;
    int maxk = c->argc;
    if (maxk > MAXKEYS_STACK) {
        keys = malloc(sizeof(int) * (size_t)maxk);
        if (!keys) abort();
    } else {
        maxk = MAXKEYS_STACK;
    }
    int nk = cmd_getkeys(c, cmd, keys, maxk);
    int n = 0;
    for (int i = 0; i < nk; i++) {
        uint64_t h = store_hash(c->argv[keys[i]]);
        store_hash_memo(c->argv[keys[i]], h);
        idx[n++] = store_shard_index(h);
    }
    if (keys != kbuf) free(keys);
    if (n > 1) {
        qsort(idx, (size_t)n, sizeof idx[0], cmp_u32);
        int u = 1;
        for (int i = 1; i < n; i++)
            if (idx[i] != idx[u - 1]) idx[u++] = idx[i];
        n = u;
    }
    return n;
}

static void lock_shards(client *c, const uint32_t *idx, int n, bool write)
{
    for (int i = 0; i < n; i++) {
        shard *s = &c->db->shards[idx[i]];
        if (write) shard_wrlock(s);
        else shard_rdlock(s);
    }
}

/* Lock coalescing within a connection's batch: when a command's keys are
 * all in one shard, its thread may keep that shard's lock for the next
 * command of the same batch if it needs the same shard (a write lock also
 * serves a read). One lock round trip per run of same-shard commands
 * instead of one per command: on a hot key (redis-benchmark's LPUSH, one
 * list for 50 connections) each acquisition bounces the lock's cache line
 * between CPUs and often wakes a waiter. Bounded: at most HOLD_MAX commands
 * per hold, and never across a read, a send, a block or the end of the
 * batch (cmd_release_held). Only connection threads turn it on. */
#define HOLD_MAX 32
static _Thread_local struct {
    db *d;
    uint32_t idx;
    bool write;
    bool on;      /* a lock is held */
    bool allowed; /* this thread coalesces */
    int uses;
} held;

void cmd_coalesce(bool on)
{
    cmd_release_held();
    held.allowed = on;
}

static void deleg_drain(shard *s, dreq *mine);
static void deleg_send_all(void);
static _Thread_local dreq *tl_sendq, *tl_sendq_tail; /* run here, replies not yet sent (delegation), oldest first */

void cmd_release_held(void)
{
    if (held.on) {
        shard *s = &held.d->shards[held.idx];
        if (held.write && atomic_load_explicit(&s->dq, memory_order_relaxed)) deleg_drain(s, NULL);
        held.on = false;
        shard_unlock(s);
    }
    if (tl_sendq) deleg_send_all();
}

static void unlock_keys(client *c, uint32_t *idx, int n)
{
    for (int i = n - 1; i >= 0; i--) shard_unlock(&c->db->shards[idx[i]]);
}

/* ---------------------------------------------------------------- dispatch */

static void reject_unknown(client *c)
{
    buf b;
    char mem[512];
    buf_init_static(&b, mem, sizeof mem);
    buf_printf(&b, "ERR unknown command '%.*s', with args beginning with: ",
               (int)(c->argv[0].n > 128 ? 128 : c->argv[0].n), c->argv[0].p);
    size_t args = 0;
    for (int i = 1; i < c->argc && args < 128; i++) {
        size_t before = b.len;
        int room = 128 - (int)args;
        buf_printf(&b, "'%.*s' ", (int)c->argv[i].n < room ? (int)c->argv[i].n : room, c->argv[i].p);
        args += b.len - before;
    }
    buf_appendc(&b, '\0');
    c->cmd = NULL;
    reply_error(c, b.p);
    buf_free(&b);
}

/* Hook points for later subsystems (weak no-op defaults here; the file
 * that owns a feature defines the strong version):
 *   cmd_filter_hook    may refuse a command in the client's state (pub/sub
 *                      context, MISCONF, OOM...): replies and returns false
 *   multi_queue_hook   inside MULTI: queues the command, replies QUEUED,
 *                      returns true
 *   monitor_feed       MONITOR clients see every command as it arrives
 *   aof_feed           after a write command ran, with its shards still
 *                      locked (n locked shard indexes in idx, or n < 0 for
 *                      a NOLOCK command): logs c->prop or c->argv
 *   slowlog_feed       after the call, with its duration */
__attribute__((weak)) bool cmd_filter_hook(client *c, command *cmd)
{
    UNUSED(c);
    UNUSED(cmd);
    return true;
}
__attribute__((weak)) bool persist_write_allowed(client *c, command *cmd, bool writes, char *err, size_t errlen)
{
    UNUSED(c);
    UNUSED(cmd);
    UNUSED(writes);
    UNUSED(err);
    UNUSED(errlen);
    return true;
}
__attribute__((weak)) bool multi_is_exec(const command *cmd)
{
    UNUSED(cmd);
    return false;
}
__attribute__((weak)) bool multi_queued_writes(client *c)
{
    UNUSED(c);
    return false;
}
__attribute__((weak)) void multi_exec_abort(client *c, const char *why) { reply_error(c, why); }
__attribute__((weak)) bool multi_queue_hook(client *c, command *cmd)
{
    UNUSED(c);
    UNUSED(cmd);
    return false;
}
__attribute__((weak)) void monitor_feed(client *c) { UNUSED(c); }
__attribute__((weak)) bool monitor_active(void) { return false; }
__attribute__((weak)) void aof_feed(client *c, command *cmd, const uint32_t *idx, int n)
{
    UNUSED(c);
    UNUSED(cmd);
    UNUSED(idx);
    UNUSED(n);
}
__attribute__((weak)) void slowlog_feed(client *c, command *cmd, int64_t usec)
{
    UNUSED(c);
    UNUSED(cmd);
    UNUSED(usec);
}

/* ---------------------------------------------------------------- statistics */

_Thread_local statacc tl_stats;

/* Folds this thread's counts into the shared ones. */
void cmd_stats_flush(void)
{
    statacc *t = &tl_stats;
    if (t->cmd && t->calls) {
        atomic_fetch_add_explicit(&t->cmd->calls, t->calls, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->cmd->usec, t->usec, memory_order_relaxed);
    }
    t->cmd = NULL;
    t->calls = t->usec = 0;
    if (t->commands) atomic_fetch_add_explicit(&server.stat_commands, t->commands, memory_order_relaxed);
    if (t->dirty) atomic_fetch_add_explicit(&server.stat_dirty, t->dirty, memory_order_relaxed);
    if (t->hits) atomic_fetch_add_explicit(&server.stat_keyspace_hits, t->hits, memory_order_relaxed);
    if (t->misses) atomic_fetch_add_explicit(&server.stat_keyspace_misses, t->misses, memory_order_relaxed);
    if (t->handoffs) atomic_fetch_add_explicit(&server.stat_handoffs, t->handoffs, memory_order_relaxed);
    t->commands = t->dirty = t->hits = t->misses = t->handoffs = 0;
}

/* Start of a call: the counts of a different command go out first, so a
 * command that reads statistics (INFO, CONFIG RESETSTAT, BGSAVE's dirty
 * count) sees everything before it. Returns the start time: the end of the
 * previous command of the batch when there is one (one clock read per
 * command instead of two). */
static int64_t stats_begin(command *cmd, bool fresh)
{
    statacc *t = &tl_stats;
    if (!t->on) return util_monotonic_us();
    if (t->cmd != cmd && (t->cmd || t->commands || t->dirty || t->hits || t->misses)) cmd_stats_flush();
    return t->t_last && !fresh ? t->t_last : util_monotonic_us();
}

static int64_t stats_end(command *cmd, int64_t t0)
{
    int64_t t1 = util_monotonic_us();
    int64_t dt = t1 - t0;
    statacc *t = &tl_stats;
    if (t->on) {
        if (t->cmd != cmd) cmd_stats_flush();
        t->cmd = cmd;
        t->calls++;
        t->usec += (uint64_t)dt;
        t->commands++;
        t->t_last = t1;
    } else {
        atomic_fetch_add_explicit(&cmd->calls, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&cmd->usec, (uint64_t)dt, memory_order_relaxed);
        atomic_fetch_add_explicit(&server.stat_commands, 1, memory_order_relaxed);
    }
    return dt;
}

/* Runs cmd with its shard locks already held by the caller (EXEC). fresh:
 * its time starts now (the first of a transaction: not chained to the end
 * of the command before EXEC, which would count the lock wait). */
/* What every call does around the command itself (call_begin ...
 * call_end): its clock reading (util.h; an EXEC's commands share their
 * EXEC's, a replayed record's get the record's), its statistics (a
 * container's under its subcommand), its propagation reset, the slowlog
 * and MONITOR. */
typedef struct callframe {
    command *st;   /* where its statistics go */
    int64_t t0;
    bool own_time; /* it set util_cmd_ms */
} callframe;

static void call_begin(client *c, command *cmd, bool fresh, callframe *f)
{
    f->own_time = !util_cmd_ms;
    if (f->own_time) util_cmd_ms = -1; /* read at its first use */
    c->cmd = cmd;
    f->st = cmd->subs ? cmd_stat_target(c, cmd) : cmd;
    c->prop.len = 0;
    c->prop_count = 0;
    c->prop_custom = false;
    f->t0 = stats_begin(f->st, fresh);
}

static void call_end(client *c, command *cmd, const callframe *f)
{
    int64_t dt = stats_end(f->st, f->t0);
    slowlog_feed(c, cmd, dt);
    c->lastcmd = cmd;
    c->cmd = NULL;
    if (f->own_time) util_cmd_ms = 0;
}

static void call_held(client *c, command *cmd, bool fresh, uint32_t *idx, int n)
{
    callframe f;
    call_begin(c, cmd, fresh, &f);
    block_defer_begin(); /* (inside EXEC: noted for its end) */
    cmd->proc(c);
    block_defer_end(c);
    if (cmd->flags & CMD_WRITE) aof_feed(c, cmd, idx, n);
    store_hash_memo_clear();
    call_end(c, cmd, &f);
}

void cmd_call_locked(client *c, command *cmd, bool fresh) { call_held(c, cmd, fresh, NULL, -1); }

/* ---------------------------------------------------------------- delegation
 *
 * A hot key (redis-benchmark's ZADD, SADD, LPUSH: one key for 50
 * connections) puts every batch on one shard's write lock. A thread that
 * finds it held would sleep on it, wake, run its batch on whichever CPU it
 * woke on (pulling the key's data across), send its reply and sleep again
 * in read(2): two sleeps per batch. Instead it hands its batch to the
 * lock's holder: it lists c->dr on the shard (dq) and waits on its socket
 * for the client's next request (conn.c). Whoever holds the write lock at
 * the end of its own run on the shard (cmd_release_held) runs the listed
 * batches first, on its CPU, with the data warm: each listed command and
 * the ones after it in that connection's input, as long as they are plain
 * writes to the same shard; then, the lock released, sends their replies.
 * Only with the AOF off (a reply waits for its records; the owner may have
 * one with the group commit). A request is taken from the list only under
 * the write lock; one still listed when a holder lets go is "kicked": its
 * owner takes the lock and runs what is listed itself. */
#define DELEG_CMDS 64   /* commands of one connection per hand-over */
#define DELEG_ROUNDS 4  /* takes of the list per run */
static _Thread_local bool draining;
void cmd_deleg_kick(dreq *r)
{
    uint32_t w = DREQ_WAITING;
    if (atomic_compare_exchange_strong(&r->state, &w, DREQ_KICKED) ||
        (w == DREQ_ASLEEP && atomic_compare_exchange_strong(&r->state, &w, DREQ_KICKED))) {
        util_futex_wake(&r->state, 1);
        conn_wake_handed(r->efd);
    }
}

/* Whether c's next command (parsed in argv) may run on another thread
 * holding shard idx of c's db: a write with its keys in that shard alone,
 * that neither blocks, queues (MULTI), nor leaves the lock. */
static bool deleg_fits(client *c, command *cmd, uint32_t idx)
{
    if (!cmd || !(cmd->flags & CMD_WRITE) || (cmd->flags & (CMD_NOLOCK | CMD_BLOCKING)) || cmd->subs) return false;
    if ((cmd->arity > 0 && c->argc != cmd->arity) || (cmd->arity < 0 && c->argc < -cmd->arity)) return false;
    if ((atomic_load_explicit(&c->flags, memory_order_relaxed) & (CLIENT_POLL | CLIENT_MONITOR | CLIENT_CLOSE_ASAP)) ||
        !c->authenticated || multi_active(c) || monitor_active())
        return false;
    uint32_t sbuf[MAXKEYS_STACK];
    if (c->argc > MAXKEYS_STACK) return false;
    int n = key_shards(c, cmd, sbuf);
    if (n == 1 && sbuf[0] == idx) return true; /* its hashes stay memoized for the call */
    store_hash_memo_clear(); /* the owner parses it again, maybe at other bytes later */
    return false;
}

/* Whether handing c's batch over pays, its first command (in argv) being
 * a write to shard idx whose lock is taken: when the next command is one
 * more plain write to that shard, or there is none yet (the holder then
 * sends the reply). A batch that goes on elsewhere would come straight
 * back, a wake-up per command (1,000 clients pipelining writes over all
 * shards: 1.7x slower). The next command is parsed and put back, argv
 * included; an inline one is not looked at (it parses into c->scratch,
 * where an inline command's arguments live). */
static bool deleg_worth(client *c, uint32_t idx)
{
    size_t *pos = c->parse_pos;
    int argc = c->argc;
    if (!pos || c->dr.efd < 0 || c->proto == PROTO_TEXT || argc > 16) return false;
    if (*pos >= c->qbuf.len) return true;
    if (c->qbuf.p[*pos] != '*') return false;
    sv saved[16];
    memcpy(saved, c->argv, (size_t)argc * sizeof(sv));
    reqparser ps = c->ps;
    size_t p0 = *pos;
    const char *err = NULL;
    int pr = resp_parse(c, c->qbuf.p, c->qbuf.len, pos, &err);
    bool worth = pr == PARSE_MORE;
    if (pr == PARSE_OK && c->argc > 0) {
        command *next = cmd_lookup(c->argv[0].p, c->argv[0].n);
        worth = next && deleg_fits(c, next, idx);
        store_hash_memo_clear(); /* the memo of the next command's keys */
    }
    c->ps = ps;
    *pos = p0;
    c->argc = argc;
    memcpy(c->argv, saved, (size_t)argc * sizeof(sv));
    return worth;
}

/* r is done (its replies sent, or left in its buffer when resume: the
 * owner must go on with its batch itself). */
static void deleg_done(dreq *r, bool resume)
{
    _Atomic uint32_t *w = &r->state;
    int efd = r->efd;
    /* the last touch of r: its owner may go on once it sees DONE */
    uint32_t prev = atomic_exchange_explicit(w, DREQ_DONE, memory_order_acq_rel);
    /* an owner that was not told waits on its socket (conn.c), for its
     * client's next request: woken only when it has more to do */
    if (prev != DREQ_WAITING) util_futex_wake(w, 1);
    else if (resume) conn_wake_handed(efd);
}

/* Runs r's command, then as much of its connection's batch as fits. */
static void deleg_run(dreq *r, bool mine)
{
    client *c = r->c;
    call_held(c, r->cmd, false, &r->idx, 1); /* (a write: fits as below) */
    size_t *pos = c->parse_pos; /* set: the owner waits in its parse loop */
    uint64_t more = 0;
    bool whole = false; /* ran up to the end of what was read */
    while (more < DELEG_CMDS && c->obuf.len <= (64u << 10)) {
        reqparser ps = c->ps;
        size_t p0 = *pos;
        const char *err = NULL;
        int pr = c->proto == PROTO_TEXT ? text_parse(c, c->qbuf.p, c->qbuf.len, pos, &err)
                                        : resp_parse(c, c->qbuf.p, c->qbuf.len, pos, &err);
        if (pr == PARSE_OK && c->argc == 0) continue;
        command *cmd = pr == PARSE_OK ? cmd_lookup(c->argv[0].p, c->argv[0].n) : NULL;
        if (!cmd || !deleg_fits(c, cmd, r->idx)) {
            c->ps = ps; /* left for the owner to parse again */
            *pos = p0;
            whole = pr == PARSE_MORE;
            break;
        }
        cmd_dispatch(c);
        store_hash_memo_clear(); /* (when the checks refused it before its call) */
        more++;
    }
    c->commands += more;
    if (mine) {
        atomic_store_explicit(&r->state, DREQ_DONE, memory_order_release);
    } else if (whole) {
        r->sendnext = NULL; /* sent once the lock is let go */
        if (tl_sendq) tl_sendq_tail->sendnext = r;
        else tl_sendq = r;
        tl_sendq_tail = r;
    } else {
        deleg_done(r, true);
    }
}

/* Under s's write lock: runs the batches listed for it, oldest first, and
 * those listed meanwhile, up to DELEG_ROUNDS takes of the list. mine: the
 * caller's own request, which it finishes itself. */
static void deleg_drain(shard *s, dreq *mine)
{
    bool was = draining;
    draining = true;
    int64_t our_time = util_cmd_ms; /* theirs are their own */
    util_cmd_ms = 0;
    for (int round = 0; round < DELEG_ROUNDS; round++) {
        dreq *r = atomic_exchange_explicit(&s->dq, NULL, memory_order_acquire);
        if (!r) break;
        dreq *fifo = NULL;
        while (r) {
            dreq *nx = r->next;
            r->next = fifo;
            fifo = r;
            r = nx;
        }
        for (r = fifo; r;) {
            dreq *nx = r->next; /* r is its owner's once done */
            deleg_run(r, r == mine);
            r = nx;
        }
    }
    util_cmd_ms = our_time;
    draining = was;
}

/* With no lock held: sends the replies of the batches run here for
 * others, oldest first, and lets their owners go. What a socket does not
 * take at once stays in the owner's buffer, for it to send (woken). */
static void deleg_send_all(void)
{
    dreq *r = tl_sendq;
    tl_sendq = tl_sendq_tail = NULL;
    /* turned on meanwhile (CONFIG SET appendonly yes): no reply before its
     * records are written */
    if (atomic_load_explicit(&aof_on, memory_order_relaxed)) aof_wait_all();
    while (r) {
        dreq *nx = r->sendnext;
        client *c = r->c;
        bool rest = conn_send_handed(c); /* what the socket takes now */
        deleg_done(r, rest);            /* the owner sends the rest */
        r = nx;
    }
}

/* Lists c's batch (its command cmd, in argv, for shard idx of c->db) for
 * the holder of that shard's write lock; conn.c then waits for it
 * (c->handed). */
static void deleg_hand_over(client *c, command *cmd, uint32_t idx)
{
    shard *s = &c->db->shards[idx];
    dreq *r = &c->dr;
    r->c = c;
    r->cmd = cmd;
    r->idx = idx;
    atomic_store_explicit(&r->state, DREQ_WAITING, memory_order_relaxed);
    dreq *h = atomic_load_explicit(&s->dq, memory_order_relaxed);
    do {
        r->next = h;
    } while (!atomic_compare_exchange_weak_explicit(&s->dq, &h, r, memory_order_release, memory_order_relaxed));
    if (tl_stats.on) tl_stats.handoffs++;
    else atomic_fetch_add_explicit(&server.stat_handoffs, 1, memory_order_relaxed);
    store_hash_memo_clear(); /* our key's hash: the runner finds its own */
    c->handed = true;
}

/* The owner of c->dr, told to take the lock or tired of waiting. */
bool cmd_deleg_take(client *c, bool wait)
{
    dreq *r = &c->dr;
    shard *s = &c->db->shards[r->idx];
    if (wait) pthread_rwlock_wrlock(&s->lock);
    else if (pthread_rwlock_trywrlock(&s->lock) != 0) return false;
    held.d = c->db;
    held.idx = r->idx;
    held.write = true;
    held.uses = 1;
    held.on = true;
    deleg_drain(s, r); /* ours too, when nobody has run it */
    /* else a holder took it before we got the lock: it sends the replies
     * once it has let go of the lock, then marks it done */
    for (uint32_t st; (st = atomic_load_explicit(&r->state, memory_order_acquire)) != DREQ_DONE;) {
        if (st == DREQ_WAITING && !atomic_compare_exchange_strong(&r->state, &st, DREQ_ASLEEP)) continue;
        util_futex_wait(&r->state, st == DREQ_WAITING ? DREQ_ASLEEP : st, 1000);
    }
    return true;
}

/* Takes cmd's shard locks (ascending), runs it, feeds the AOF while the
 * locks are held, releases them. */
void cmd_call(client *c, command *cmd)
{
    callframe f;
    call_begin(c, cmd, false, &f);
    bool bwas = block_call_begin(!draining);
    if (cmd->flags & CMD_NOLOCK) { /* cmd_dispatch let go of any kept lock */
        cmd->proc(c);
        if (cmd->flags & CMD_WRITE) aof_feed(c, cmd, NULL, -1);
    } else {
        uint32_t sbuf[MAXKEYS_STACK];
        uint32_t *idx = sbuf;
        if (c->argc > MAXKEYS_STACK) {
            idx = malloc(sizeof(uint32_t) * (size_t)c->argc);
            if (!idx) abort();
        }
        bool write = (cmd->flags & CMD_WRITE) != 0;
        int n = key_shards(c, cmd, idx);
        if (held.on && n == 1 && held.d == c->db && held.idx == idx[0] && (held.write || !write) &&
            (held.uses < HOLD_MAX || draining)) {
            held.uses++;
        } else {
            cmd_release_held();
            bool deleg = n == 1 && write && held.allowed && !(cmd->flags & CMD_BLOCKING) && !monitor_active() &&
                         !c->reply_flags && /* (conn.c drops its replies) */
                         !store_locks_held(c) && !atomic_load_explicit(&aof_on, memory_order_relaxed) &&
                         !aof_defer_pending() && CFG(shard_handoff);
            shard *s1 = deleg ? &c->db->shards[idx[0]] : NULL;
            if (!deleg) {
                lock_shards(c, idx, n, write);
            } else if (pthread_rwlock_trywrlock(&s1->lock) != 0) {
                /* held by another: hand the batch over (delegation above)
                 * when that pays, else wait for the lock */
                if (deleg_worth(c, idx[0])) {
                    deleg_hand_over(c, cmd, idx[0]);
                    block_call_end(bwas); /* (the holder runs it) */
                    if (idx != sbuf) free(idx);
                    if (f.own_time) util_cmd_ms = 0; /* (the holder runs and counts it) */
                    return;
                }
                pthread_rwlock_wrlock(&s1->lock);
            }
            if (n == 1 && held.allowed && !(cmd->flags & CMD_BLOCKING) && !monitor_active()) {
                held.d = c->db;
                held.idx = idx[0];
                held.write = write;
                held.uses = 1;
                held.on = true;
            }
        }
        block_defer_begin();
        cmd->proc(c);
        block_defer_end(c); /* its waiters, served after it */
        if (write) aof_feed(c, cmd, idx, n);
        store_hash_memo_clear();
        /* held.on here means the held lock is this command's one lock (a
         * blocking command never keeps one: it may wait in block_wait) */
        if (held.on && store_expire_has_pending()) held.on = false;
        if (!held.on) unlock_keys(c, idx, n);
        if (idx != sbuf) free(idx);
    }
    store_expire_pending();
    if (cmd->flags & CMD_NOLOCK) block_serve_pending(c); /* (no lock is kept after those) */
    if (block_call_end(bwas) && !draining && !bwas) {
        /* a waiter's cross-shard move is due before our reply (block.c) */
        cmd_release_held();
        block_wait_retries();
    }
    call_end(c, cmd, &f);
}

/* Container commands: the subcommand must exist and have its arity. */
static bool check_subcommand(client *c, command *cmd)
{
    c->lastsub[0] = '\0';
    if (c->argc < 2) return true; /* COMMAND alone; others have arity -2 */
    sv sub = c->argv[1];
    const subcommand *s = cmd_sub_find(cmd, sub);
    if (s) {
        snprintf(c->lastsub, sizeof c->lastsub, "%s", s->name);
        if ((s->arity > 0 && c->argc != s->arity) || (s->arity < 0 && c->argc < -s->arity)) {
            atomic_fetch_add_explicit(&cmd->substats[s - cmd->subs].rejected, 1, memory_order_relaxed);
            reply_errorf(c, "ERR wrong number of arguments for '%s|%s' command", cmd->name, s->name);
            return false;
        }
        return true;
    }
    char up[32];
    size_t i;
    for (i = 0; cmd->name[i] && i < sizeof up - 1; i++) up[i] = (char)toupper((unsigned char)cmd->name[i]);
    up[i] = '\0';
    /* (no command's statistics: Redis finds no command to charge, nor
     * one to show in CLIENT LIST) */
    c->lastcmd = NULL;
    reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.", (int)(sub.n > 128 ? 128 : sub.n), sub.p, up);
    return false;
}

/* A command refused by an edge check (auth, loading, MISCONF), as Redis's
 * rejectCommand: counted as rejected, and a transaction being queued is
 * flagged (its EXEC aborts); EXEC itself answers EXECABORT with the reason
 * and its transaction is discarded. */
static void reject(client *c, command *cmd, const char *err)
{
    command *t = cmd->subs ? cmd_stat_target(c, cmd) : cmd;
    atomic_fetch_add_explicit(&t->rejected, 1, memory_order_relaxed);
    if (multi_is_exec(cmd)) {
        multi_exec_abort(c, err);
        return;
    }
    reply_error(c, err);
    multi_queue_hook(c, NULL);
}

/* Edge checks in Redis's order (unknown command, arity, auth, loading,
 * state filters, MULTI queueing), then the call. */
void cmd_dispatch(client *c)
{
    if (c->argc == 0) return;
    command *cmd = cmd_lookup(c->argv[0].p, c->argv[0].n);
    c->cmd = NULL;
    c->lastcmd = cmd; /* as Redis: rejected and queued commands too (CLIENT LIST cmd=) */
    c->lastsub[0] = '\0';
    /* a lock kept from the command before is only for a command that locks
     * its keys: the checks below may wait (a whole-db write for a snapshot) */
    if (!cmd || (cmd->flags & (CMD_NOLOCK | CMD_BLOCKING))) cmd_release_held();
    monitor_feed(c);
    if (!cmd) {
        reject_unknown(c);
        multi_queue_hook(c, NULL); /* an unknown command inside MULTI aborts it too */
        return;
    }
    if ((cmd->arity > 0 && c->argc != cmd->arity) || (cmd->arity < 0 && c->argc < -cmd->arity)) {
        atomic_fetch_add_explicit(&cmd->rejected, 1, memory_order_relaxed);
        reply_err_arity(c, cmd->name);
        multi_queue_hook(c, NULL); /* an error while queuing aborts the transaction */
        return;
    }
    c->lastsub[0] = '\0';
    if (cmd->subs && !check_subcommand(c, cmd)) {
        multi_queue_hook(c, NULL);
        return;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NOAUTH)) {
        reject(c, cmd, "NOAUTH Authentication required.");
        return;
    }
    if (atomic_load_explicit(&server.loading, memory_order_relaxed) && !(cmd->flags & CMD_LOADING)) {
        reject(c, cmd, "LOADING kvd is loading the dataset in memory");
        return;
    }
    char why[512]; /* (the MISCONF text is ~330 bytes) */
    bool writes = (cmd->flags & CMD_WRITE) || (multi_is_exec(cmd) && multi_queued_writes(c));
    if (!persist_write_allowed(c, cmd, writes, why, sizeof why)) {
        reject(c, cmd, why);
        return;
    }
    if (!cmd_filter_hook(c, cmd)) return;
    if (multi_queue_hook(c, cmd)) return;
    cmd_call(c, cmd);
}

int cmd_rename(const char *from, const char *to)
{
    command *c = cmd_lookup(from, strlen(from));
    if (!c) return -1;
    char *nm = malloc(strlen(to) + 1);
    if (!nm) abort();
    for (size_t i = 0; i <= strlen(to); i++) nm[i] = (char)tolower((unsigned char)to[i]);
    c->name = nm[0] ? nm : "";
    cmd_init();
    return 0;
}

static void reset_one(command *cmd, void *ctx)
{
    UNUSED(ctx);
    atomic_store(&cmd->calls, 0);
    atomic_store(&cmd->usec, 0);
    atomic_store(&cmd->rejected, 0);
    atomic_store(&cmd->failed, 0);
    for (size_t i = 0; cmd->substats && cmd->subs[i].name; i++) reset_one(&cmd->substats[i], NULL);
}

void cmd_reset_stats(void);
void cmd_reset_stats(void) { cmd_foreach(reset_one, NULL); }

/* ---------------------------------------------------------------- propagation */

/* Records are kept in c->prop as: uint32 argc, then per argument uint32
 * length + bytes. The AOF feed reads them after the handler returns. */
void cmd_propagate(client *c, int argc, const sv *argv)
{
    c->prop_custom = true;
    uint32_t n = (uint32_t)argc;
    buf_append(&c->prop, &n, sizeof n);
    for (int i = 0; i < argc; i++) {
        uint32_t l = (uint32_t)argv[i].n;
        buf_append(&c->prop, &l, sizeof l);
        buf_append(&c->prop, argv[i].p, argv[i].n);
    }
    c->prop_count++;
}

void cmd_propagate_none(client *c)
{
    c->prop_custom = true;
}
