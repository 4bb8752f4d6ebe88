/* t_admin.c — SLOWLOG and MONITOR. Both are fed from one point after every
 * executed command (cmd.c's slowlog_feed hook, the place where Redis 7.0's
 * call() feeds them): commands rejected before running (unknown, arity,
 * NOAUTH) are not shown, commands queued by MULTI show when EXEC runs them,
 * and SELECT shows the database it selected. When no client monitors and
 * the slowlog threshold is not reached, the cost is two relaxed loads. */
#include "kvd.h"

#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- shared */

#define SLOWLOG_MAX_ARGC 32    /* more: the last kept says "... (N more arguments)" */
#define SLOWLOG_MAX_STRING 128 /* longer: "... (N more bytes)" */

/* Whether argument i of c's request is a secret (AUTH password, HELLO's
 * AUTH username and password): shown as "(redacted)", as Redis does. */
static bool redacted(client *c, int i)
{
    if (i == 0) return false;
    if (sv_eqci(c->argv[0], "auth")) return true;
    if (sv_eqci(c->argv[0], "hello")) {
        /* HELLO <protover> AUTH <username> <password> [SETNAME <name>] */
        for (int j = 2; j + 2 < c->argc; j++)
            if (sv_eqci(c->argv[j], "auth") && (i == j + 1 || i == j + 2)) return true;
    }
    return false;
}

/* ---------------------------------------------------------------- MONITOR */

/* Monitors are marked with CLIENT_MONITOR and found by walking the client
 * list under conn_list_lock, so a monitor that disconnects (and is freed
 * once unlinked from that list) can never be written to. nmonitors is an
 * upper bound kept for the fast path: raised under conn_list_lock by
 * MONITOR, lowered to the real count by a walk that found fewer. */
static _Atomic int nmonitors;

bool monitor_active(void) { return atomic_load_explicit(&nmonitors, memory_order_relaxed) > 0; }

typedef struct monfeed {
    const char *line;  /* "+<time> [db addr] args\r\n" */
    size_t len;
    int found;
} monfeed;

static void monitor_push(client *m, void *ctx)
{
    monfeed *f = ctx;
    int fl = atomic_load_explicit(&m->flags, memory_order_relaxed);
    if (!(fl & CLIENT_MONITOR) || (fl & CLIENT_CLOSE_ASAP)) return;
    f->found++;
    if (fl & CLIENT_REPLY_OFF) return; /* as Redis: the feed is a reply, dropped while OFF */
    if (m->proto == PROTO_TEXT) {
        /* the text protocol shows a status line without its '+', one per line */
        char *t = malloc(f->len - 2);
        if (!t) abort();
        memcpy(t, f->line + 1, f->len - 3);
        t[f->len - 3] = '\n';
        conn_push(m, t, f->len - 2);
        free(t);
    } else {
        conn_push(m, f->line, f->len);
    }
}

static void monitor_send(client *c, command *cmd)
{
    if (cmd->flags & (CMD_ADMIN | CMD_SKIP_MONITOR)) return;
    int seen = atomic_load_explicit(&nmonitors, memory_order_relaxed);
    char mem[512];
    buf b;
    buf_init_static(&b, mem, sizeof mem);
    int64_t us = util_ustime();
    buf_printf(&b, "+%lld.%06lld [%d %s]", (long long)(us / 1000000), (long long)(us % 1000000), c->dbid,
               (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_UNIX) ? "unix" : c->addr);
    for (int i = 0; i < c->argc; i++) {
        buf_appendc(&b, ' ');
        if (redacted(c, i)) buf_appendstr(&b, "\"(redacted)\"");
        else buf_append_repr(&b, c->argv[i].p, c->argv[i].n);
    }
    buf_append(&b, "\r\n", 2);
    monfeed f = {b.p, b.len, 0};
    conn_foreach(monitor_push, &f);
    if (f.found < seen) atomic_compare_exchange_strong(&nmonitors, &seen, f.found);
    buf_free(&b);
}

/* The arrival hook of cmd.c: monitors are fed after the call instead
 * (see the top of this file), so nothing happens here. */
void monitor_feed(client *c) { UNUSED(c); }

static void monitor_command(client *c)
{
    if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_MONITOR) return; /* as Redis: no reply */
    pthread_mutex_lock(&conn_list_lock);
    atomic_fetch_or(&c->flags, CLIENT_MONITOR | CLIENT_POLL);
    atomic_fetch_add(&nmonitors, 1);
    pthread_mutex_unlock(&conn_list_lock);
    conn_wake_init(c);
    reply_ok(c);
}

/* RESET: a monitor goes back to being a normal client. */
void monitor_reset_client(client *c)
{
    int fl = atomic_load_explicit(&c->flags, memory_order_relaxed);
    if (!(fl & CLIENT_MONITOR)) return;
    pthread_mutex_lock(&conn_list_lock);
    atomic_fetch_and(&c->flags, ~CLIENT_MONITOR);
    pthread_mutex_unlock(&conn_list_lock);
    /* CLIENT_POLL stays if another feature (pub/sub) still wants it; the
     * poll wait costs nothing more than a read. */
}

/* ---------------------------------------------------------------- SLOWLOG */

typedef struct slowentry {
    long long id, time, usec;
    int argc;
    sv *argv;          /* each p malloc'd */
    char *peer, *name;
    struct slowentry *prev, *next;
} slowentry;

/* The log: a list, newest first, under slow_mu. */
static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static slowentry *slow_head, *slow_tail;
static long slow_len;
static long long slow_next_id;

static void slowentry_free(slowentry *e)
{
    for (int i = 0; i < e->argc; i++) free((void *)e->argv[i].p);
    free(e->argv);
    free(e->peer);
    free(e->name);
    free(e);
}

static void slowlist_free(slowentry *e)
{
    while (e) {
        slowentry *next = e->next;
        slowentry_free(e);
        e = next;
    }
}

static sv sv_dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static sv sv_dup_printf(const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sv v = {kvd_strndup(tmp, (size_t)n), (size_t)n};
    return v;
}

/* A copy of c's request as the slowlog shows it (Redis's limits). */
static slowentry *slowentry_new(client *c, int64_t usec)
{
    slowentry *e = calloc(1, sizeof *e);
    if (!e) abort();
    int argc = c->argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : c->argc;
    e->argc = argc;
    e->argv = calloc((size_t)argc, sizeof(sv));
    if (!e->argv) abort();
    for (int i = 0; i < argc; i++) {
        if (i == argc - 1 && argc != c->argc) {
            e->argv[i] = sv_dup_printf("... (%d more arguments)", c->argc - argc + 1);
        } else if (redacted(c, i)) {
            e->argv[i] = sv_dup_printf("(redacted)");
        } else if (c->argv[i].n > SLOWLOG_MAX_STRING) {
            buf b;
            buf_init_static(&b, NULL, 0);
            buf_append(&b, c->argv[i].p, SLOWLOG_MAX_STRING);
            buf_printf(&b, "... (%zu more bytes)", c->argv[i].n - SLOWLOG_MAX_STRING);
            e->argv[i].p = b.p; /* heap: now owned by the entry */
            e->argv[i].n = b.len;
        } else {
            e->argv[i].p = kvd_strndup(c->argv[i].p, c->argv[i].n);
            e->argv[i].n = c->argv[i].n;
        }
    }
    e->peer = strdup((atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_UNIX) ? "unix" : c->addr);
    pthread_mutex_lock(&c->lock);
    e->name = strdup(c->name ? c->name : "");
    pthread_mutex_unlock(&c->lock);
    e->time = util_mstime() / 1000;
    e->usec = usec;
    return e;
}

/* Cuts the list to max entries (slow_mu held); returns the cut tail,
 * which the caller frees after unlocking. */
static slowentry *slow_trim(long max)
{
    if (slow_len <= max) return NULL;
    slowentry *keep = slow_head;
    for (long i = 1; i < max; i++) keep = keep->next;
    slowentry *cut = max > 0 ? keep->next : slow_head;
    if (max > 0) {
        keep->next = NULL;
        slow_tail = keep;
    } else {
        slow_head = slow_tail = NULL;
    }
    cut->prev = NULL;
    slow_len = max;
    return cut;
}

/* Adds e as the newest entry, keeping at most max. Only pointer work
 * under the lock; every free happens after it. */
static void slow_add(slowentry *e, long max)
{
    slowentry *cut = NULL;
    pthread_mutex_lock(&slow_mu);
    e->id = slow_next_id++;
    e->prev = NULL;
    e->next = slow_head;
    if (slow_head) slow_head->prev = e;
    slow_head = e;
    if (!slow_tail) slow_tail = e;
    slow_len++;
    if (slow_len > max) {
        if (slow_len == max + 1 && max > 0) {
            cut = slow_tail; /* the usual case: drop the oldest */
            slow_tail = cut->prev;
            slow_tail->next = NULL;
            cut->prev = NULL;
            slow_len--;
        } else {
            cut = slow_trim(max);
        }
    }
    pthread_mutex_unlock(&slow_mu);
    slowlist_free(cut);
}

/* cmd.c's hook after every executed command, on the client's thread. */
void slowlog_feed(client *c, command *cmd, int64_t usec)
{
    if (atomic_load_explicit(&nmonitors, memory_order_relaxed)) monitor_send(c, cmd);
    long long thr = CFG(slowlog_log_slower_than);
    if (thr < 0 || usec < thr) return;
    if (cmd->flags & CMD_SKIP_SLOWLOG) return; /* EXEC: its commands are logged one by one */
    slow_add(slowentry_new(c, usec), (long)CFG(slowlog_max_len));
}

static void slowlog_command(client *c)
{
    sv sub = c->argv[1];
    if (sv_eqci(sub, "help") && c->argc == 2) {
        static const char *const help[] = {
            "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
            "HELP",
            "    Prints this help.",
        };
        reply_array(c, (long)(sizeof help / sizeof help[0]));
        for (size_t i = 0; i < sizeof help / sizeof help[0]; i++) reply_status(c, help[i]);
    } else if (sv_eqci(sub, "len") || sv_eqci(sub, "reset") || (sv_eqci(sub, "help"))) {
        if (c->argc != 2) {
            char n[32];
            snprintf(n, sizeof n, "slowlog|%s", sv_eqci(sub, "len") ? "len" : sv_eqci(sub, "reset") ? "reset" : "help");
            reply_err_arity(c, n);
            return;
        }
        if (sv_eqci(sub, "len")) {
            pthread_mutex_lock(&slow_mu);
            long n = slow_len;
            pthread_mutex_unlock(&slow_mu);
            reply_int(c, n);
            return;
        }
        pthread_mutex_lock(&slow_mu);
        slowentry *cut = slow_trim(0);
        pthread_mutex_unlock(&slow_mu);
        slowlist_free(cut);
        reply_ok(c);
    } else if (sv_eqci(sub, "get") && (c->argc == 2 || c->argc == 3)) {
        long long count = 10;
        if (c->argc == 3 && (!util_str2ll(c->argv[2].p, c->argv[2].n, &count) || count < -1)) {
            reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
        /* copy what is shown under the lock, reply outside it */
        pthread_mutex_lock(&slow_mu);
        long n = slow_len;
        if (count >= 0 && count < n) n = (long)count;
        slowentry *copy = NULL, **tail = &copy;
        slowentry *e = slow_head;
        for (long i = 0; i < n; i++, e = e->next) {
            slowentry *d = calloc(1, sizeof *d);
            if (!d) abort();
            *d = *e;
            d->next = d->prev = NULL;
            d->argv = calloc((size_t)e->argc, sizeof(sv));
            if (!d->argv) abort();
            for (int k = 0; k < e->argc; k++) {
                d->argv[k].p = kvd_strndup(e->argv[k].p, e->argv[k].n);
                d->argv[k].n = e->argv[k].n;
            }
            d->peer = strdup(e->peer);
            d->name = strdup(e->name);
            *tail = d;
            tail = &d->next;
        }
        pthread_mutex_unlock(&slow_mu);
        reply_array(c, n);
        for (e = copy; e; e = e->next) {
            reply_array(c, 6);
            reply_int(c, e->id);
            reply_int(c, e->time);
            reply_int(c, e->usec);
            reply_array(c, e->argc);
            for (int k = 0; k < e->argc; k++) reply_bulk_sv(c, e->argv[k]);
            reply_bulk_cstr(c, e->peer);
            reply_bulk_cstr(c, e->name);
        }
        slowlist_free(copy);
    } else if (sv_eqci(sub, "get")) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try SLOWLOG HELP.",
                     (int)sub.n, sub.p);
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try SLOWLOG HELP.", (int)(sub.n > 128 ? 128 : sub.n),
                     sub.p);
    }
}

static const subcommand slowlog_subs[] = {
    {"get", -2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "request_policy:all_nodes nondeterministic_output",
     "Get the slow log's entries", "2.2.12"},
    {"len", 2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "request_policy:all_nodes response_policy:agg_sum nondeterministic_output",
     "Get the slow log's length", "2.2.12"},
    {"reset", 2, CMD_ADMIN | CMD_LOADING | CMD_STALE, 0, 0, 0, "@admin @slow @dangerous", "request_policy:all_nodes response_policy:all_succeeded",
     "Clear all entries from the slow log", "2.2.12"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow", "",
     "Show helpful text about the different subcommands", "6.2.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};

command cmds_admin[] = {
    {"slowlog", slowlog_command, -2, CMD_ADMIN | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "server", "A container for slow log commands.", "2.2.12", 0, 0, 0, 0, slowlog_subs},
    {"monitor", monitor_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Listens for all requests received by the server in real-time.", "1.0.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
