/* config.c — the directive table. One row per directive: its name, type,
 * bounds, default and whether it can change at run time. The same code
 * reads the config file, `--directive value` arguments and CONFIG SET, and
 * answers CONFIG GET. Directives kvd does not act on yet are stored and
 * answered like Redis's, because tools read and set them. */
#include "kvd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

server_config cfg;
static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;

enum { T_BOOL, T_INT, T_LL, T_MEM, T_STR, T_ENUM, T_OCTAL };
#define F_IMMUTABLE 1
#define F_PROTECTED 2
#define F_MULTIARG 4   /* takes several words (bind, save, client-output-buffer-limit) */
#define F_POW2 8
#define F_DIR 16

typedef struct directive {
    const char *name;
    const char *alias;
    int type;
    int flags;
    void *ptr;          /* NULL: stored in sval only */
    long long min, max;
    const char *def;
    const char *const *enums;
    char *sval;         /* current value as text (every directive) */
    int line;           /* line in the config file, for CONFIG REWRITE */
} directive;

static const char *const e_loglevel[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const e_fsync[] = {"always", "everysec", "no", NULL};
static const char *const e_policy[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                       "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction", NULL};
static const char *const e_yesnolocal[] = {"no", "yes", "local", NULL};
static const char *const e_supervised[] = {"upstart", "systemd", "auto", "no", NULL};
static const char *const e_facility[] = {"user", "local0", "local1", "local2", "local3",
                                         "local4", "local5", "local6", "local7", NULL};
static const char *const e_sanitize[] = {"no", "yes", "clients", NULL};
static const char *const e_oom[] = {"no", "yes", "relative", "absolute", NULL};

static int v_loglevel = LL_NOTICE;

#define LLMAX LLONG_MAX
static directive dirs[] = {
    /* network */
    {"port", NULL, T_INT, F_IMMUTABLE, &cfg.port, 0, 65535, "6379", NULL, NULL, 0},
    {"text-port", NULL, T_INT, F_IMMUTABLE, &cfg.text_port, 0, 65535, "6380", NULL, NULL, 0},
    {"bind", NULL, T_STR, F_IMMUTABLE | F_MULTIARG, &cfg.bind, 0, 0, "127.0.0.1 -::1", NULL, NULL, 0},
    {"unixsocket", NULL, T_STR, F_IMMUTABLE, &cfg.unixsocket, 0, 0, "", NULL, NULL, 0},
    {"unixsocketperm", NULL, T_OCTAL, F_IMMUTABLE, &cfg.unixsocketperm, 0, 0777, "0", NULL, NULL, 0},
    {"tcp-backlog", NULL, T_INT, F_IMMUTABLE, &cfg.tcp_backlog, 0, INT_MAX, "511", NULL, NULL, 0},
    {"maxclients", NULL, T_INT, 0, &cfg.maxclients, 1, INT_MAX, "10000", NULL, NULL, 0},
    {"thread-stack-size", NULL, T_MEM, 0, &cfg.thread_stack_size, 65536, 1LL << 30, "262144", NULL, NULL, 0},
    {"conn-thread-tcache", NULL, T_BOOL, F_IMMUTABLE, &cfg.conn_thread_tcache, 0, 0, "no", NULL, NULL, 0},
    {"timeout", NULL, T_INT, 0, &cfg.timeout, 0, INT_MAX, "0", NULL, NULL, 0},
    {"tcp-keepalive", NULL, T_INT, 0, &cfg.tcp_keepalive, 0, INT_MAX, "300", NULL, NULL, 0},
    {"protected-mode", NULL, T_BOOL, 0, &cfg.protected_mode, 0, 0, "yes", NULL, NULL, 0},
    {"requirepass", NULL, T_STR, 0, &cfg.requirepass, 0, 0, "", NULL, NULL, 0},
    {"proto-max-bulk-len", NULL, T_MEM, 0, &cfg.proto_max_bulk_len, 1024 * 1024, LLMAX, "512mb", NULL, NULL, 0},
    {"client-query-buffer-limit", NULL, T_MEM, 0, &cfg.client_query_buffer_limit, 1024 * 1024, LLMAX, "1gb", NULL, NULL, 0},
    /* store */
    {"shards", NULL, T_INT, F_IMMUTABLE | F_POW2, &cfg.shards, 1, 65536, "64", NULL, NULL, 0},
    {"databases", NULL, T_INT, F_IMMUTABLE, &cfg.databases, 1, 1000000, "16", NULL, NULL, 0},
    {"hz", NULL, T_INT, 0, &cfg.hz, 1, 500, "10", NULL, NULL, 0},
    {"active-expire-effort", NULL, T_INT, 0, &cfg.active_expire_effort, 1, 10, "1", NULL, NULL, 0},
    {"maxmemory", NULL, T_MEM, 0, &cfg.maxmemory, 0, LLMAX, "0", NULL, NULL, 0},
    {"maxmemory-policy", NULL, T_ENUM, 0, NULL, 0, 0, "noeviction", e_policy, NULL, 0},
    {"maxmemory-samples", NULL, T_INT, 0, NULL, 1, 64, "5", NULL, NULL, 0},
    {"maxmemory-eviction-tenacity", NULL, T_INT, 0, NULL, 0, 100, "10", NULL, NULL, 0},
    /* files and process */
    {"dir", NULL, T_STR, F_PROTECTED | F_DIR, &cfg.dir, 0, 0, ".", NULL, NULL, 0},
    {"dbfilename", NULL, T_STR, F_PROTECTED, &cfg.dbfilename, 0, 0, "kvd.snap", NULL, NULL, 0},
    {"logfile", NULL, T_STR, F_IMMUTABLE, &cfg.logfile, 0, 0, "", NULL, NULL, 0},
    {"pidfile", NULL, T_STR, F_IMMUTABLE, &cfg.pidfile, 0, 0, "", NULL, NULL, 0},
    {"loglevel", NULL, T_ENUM, 0, &v_loglevel, 0, 0, "notice", e_loglevel, NULL, 0},
    {"daemonize", NULL, T_BOOL, F_IMMUTABLE, &cfg.daemonize, 0, 0, "no", NULL, NULL, 0},
    {"supervised", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "no", e_supervised, NULL, 0},
    {"syslog-enabled", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "no", NULL, NULL, 0},
    {"syslog-ident", NULL, T_STR, F_IMMUTABLE, NULL, 0, 0, "kvd", NULL, NULL, 0},
    {"syslog-facility", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "local0", e_facility, NULL, 0},
    {"enable-debug-command", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "no", e_yesnolocal, NULL, 0},
    {"enable-protected-configs", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "no", e_yesnolocal, NULL, 0},
    {"enable-module-command", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "no", e_yesnolocal, NULL, 0},
    /* persistence (acted on by the persistence work) */
    {"save", NULL, T_STR, F_MULTIARG, NULL, 0, 0, "3600 1 300 100 60 10000", NULL, NULL, 0},
    {"stop-writes-on-bgsave-error", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"rdbcompression", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"rdbchecksum", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"appendonly", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"appendfsync", NULL, T_ENUM, 0, NULL, 0, 0, "everysec", e_fsync, NULL, 0},
    {"appendfilename", NULL, T_STR, F_IMMUTABLE, NULL, 0, 0, "appendonly.aof", NULL, NULL, 0},
    {"appenddirname", NULL, T_STR, F_IMMUTABLE, NULL, 0, 0, "appendonlydir", NULL, NULL, 0},
    {"no-appendfsync-on-rewrite", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"auto-aof-rewrite-percentage", NULL, T_INT, 0, NULL, 0, INT_MAX, "100", NULL, NULL, 0},
    {"auto-aof-rewrite-min-size", NULL, T_MEM, 0, NULL, 0, LLMAX, "64mb", NULL, NULL, 0},
    {"aof-load-truncated", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"aof-use-rdb-preamble", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"aof-timestamp-enabled", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"aof-rewrite-incremental-fsync", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"rdb-save-incremental-fsync", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"rdb-del-sync-files", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    /* encodings and tuning */
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", T_LL, 0, NULL, 0, LLMAX, "128", NULL, NULL, 0},
    {"hash-max-listpack-value", "hash-max-ziplist-value", T_LL, 0, NULL, 0, LLMAX, "64", NULL, NULL, 0},
    {"list-max-listpack-size", "list-max-ziplist-size", T_INT, 0, NULL, INT_MIN, INT_MAX, "-2", NULL, NULL, 0},
    {"list-compress-depth", NULL, T_INT, 0, NULL, 0, INT_MAX, "0", NULL, NULL, 0},
    {"set-max-intset-entries", NULL, T_LL, 0, NULL, 0, LLMAX, "512", NULL, NULL, 0},
    {"set-max-listpack-entries", NULL, T_LL, 0, NULL, 0, LLMAX, "128", NULL, NULL, 0},
    {"set-max-listpack-value", NULL, T_LL, 0, NULL, 0, LLMAX, "64", NULL, NULL, 0},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", T_LL, 0, NULL, 0, LLMAX, "128", NULL, NULL, 0},
    {"zset-max-listpack-value", "zset-max-ziplist-value", T_LL, 0, NULL, 0, LLMAX, "64", NULL, NULL, 0},
    {"stream-node-max-bytes", NULL, T_MEM, 0, NULL, 0, LLMAX, "4096", NULL, NULL, 0},
    {"stream-node-max-entries", NULL, T_LL, 0, NULL, 0, LLMAX, "100", NULL, NULL, 0},
    {"hll-sparse-max-bytes", NULL, T_MEM, 0, NULL, 0, LLMAX, "3000", NULL, NULL, 0},
    {"activerehashing", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"dynamic-hz", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"activedefrag", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"lazyfree-lazy-eviction", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"lazyfree-lazy-expire", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"lazyfree-lazy-server-del", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"lazyfree-lazy-user-del", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"lazyfree-lazy-user-flush", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"lfu-log-factor", NULL, T_INT, 0, NULL, 0, INT_MAX, "10", NULL, NULL, 0},
    {"lfu-decay-time", NULL, T_INT, 0, NULL, 0, INT_MAX, "1", NULL, NULL, 0},
    {"notify-keyspace-events", NULL, T_STR, 0, NULL, 0, 0, "", NULL, NULL, 0},
    {"slowlog-log-slower-than", NULL, T_LL, 0, NULL, -1, LLMAX, "10000", NULL, NULL, 0},
    {"slowlog-max-len", NULL, T_LL, 0, NULL, 0, LLMAX, "128", NULL, NULL, 0},
    {"latency-monitor-threshold", NULL, T_LL, 0, NULL, 0, LLMAX, "0", NULL, NULL, 0},
    {"latency-tracking", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"lua-time-limit", "busy-reply-threshold", T_LL, 0, NULL, 0, LLMAX, "5000", NULL, NULL, 0},
    {"client-output-buffer-limit", NULL, T_STR, F_MULTIARG, NULL, 0, 0,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", NULL, NULL, 0},
    {"io-threads", NULL, T_INT, F_IMMUTABLE, NULL, 1, 128, "1", NULL, NULL, 0},
    {"io-threads-do-reads", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "no", NULL, NULL, 0},
    {"replica-read-only", "slave-read-only", T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"replica-serve-stale-data", "slave-serve-stale-data", T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"repl-diskless-sync", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"repl-backlog-size", NULL, T_MEM, 0, NULL, 1, LLMAX, "1mb", NULL, NULL, 0},
    {"min-replicas-to-write", "min-slaves-to-write", T_INT, 0, NULL, 0, INT_MAX, "0", NULL, NULL, 0},
    {"min-replicas-max-lag", "min-slaves-max-lag", T_INT, 0, NULL, 0, INT_MAX, "10", NULL, NULL, 0},
    {"replica-priority", "slave-priority", T_INT, 0, NULL, 0, INT_MAX, "100", NULL, NULL, 0},
    {"cluster-enabled", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "no", NULL, NULL, 0},
    {"jemalloc-bg-thread", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"tracking-table-max-keys", NULL, T_LL, 0, NULL, 0, LLMAX, "1000000", NULL, NULL, 0},
    {"acllog-max-len", NULL, T_LL, 0, NULL, 0, LLMAX, "128", NULL, NULL, 0},
    {"oom-score-adj", NULL, T_ENUM, 0, NULL, 0, 0, "no", e_oom, NULL, 0},
    {"crash-log-enabled", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"crash-memcheck-enabled", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"sanitize-dump-payload", NULL, T_ENUM, 0, NULL, 0, 0, "no", e_sanitize, NULL, 0},
    {"maxmemory-clients", NULL, T_MEM, 0, NULL, 0, LLMAX, "0", NULL, NULL, 0},
    {"active-defrag-cycle-min", NULL, T_INT, 0, NULL, 1, 99, "1", NULL, NULL, 0},
    {"active-defrag-cycle-max", NULL, T_INT, 0, NULL, 1, 99, "25", NULL, NULL, 0},
    {"lazyfree-lazy-user-flush", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"always-show-logo", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "no", NULL, NULL, 0},
    {"set-proc-title", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "yes", NULL, NULL, 0},
};
#define NDIRS (sizeof dirs / sizeof dirs[0])

static directive *find_dir(const char *name)
{
    for (size_t i = 0; i < NDIRS; i++) {
        if (strcasecmp(dirs[i].name, name) == 0) return &dirs[i];
        if (dirs[i].alias && strcasecmp(dirs[i].alias, name) == 0) return &dirs[i];
    }
    return NULL;
}

static bool parse_bool(const char *v, bool *out)
{
    if (strcasecmp(v, "yes") == 0) *out = true;
    else if (strcasecmp(v, "no") == 0) *out = false;
    else return false;
    return true;
}

/* ---- client-output-buffer-limit (harden): "<class> <hard> <soft> <seconds>"
 * groups; classes normal, replica (alias slave), pubsub. A partial value
 * changes only the classes it names; the stored text is always all three,
 * as Redis answers CONFIG GET. On success writes that text into canon and,
 * when apply is set, the numbers into cfg.obl_* (atomically: connection
 * threads read them). */
static int obl_parse(const char *value, bool apply, char *canon, size_t canonlen, char *err, size_t errlen)
{
    long long hard[3], soft[3];
    int secs[3];
    for (int k = 0; k < 3; k++) {
        hard[k] = CFG(obl_hard[k]);
        soft[k] = CFG(obl_soft[k]);
        secs[k] = CFG(obl_secs[k]);
    }
    char *copy = strdup(value), *save = NULL, *w[64];
    int n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save)) w[n++] = t;
    int rc = 0;
    if (n == 0 || n % 4) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i += 4) {
        int k = strcasecmp(w[i], "normal") == 0 ? 0
              : (strcasecmp(w[i], "replica") == 0 || strcasecmp(w[i], "slave") == 0) ? 1
              : strcasecmp(w[i], "pubsub") == 0 ? 2 : -1;
        unsigned long long h, so;
        long long sec;
        if (k < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            rc = -1;
        } else if (!util_memtoull(w[i + 1], &h) || !util_memtoull(w[i + 2], &so) ||
                   !util_str2ll(w[i + 3], strlen(w[i + 3]), &sec) || sec < 0 || sec > INT_MAX ||
                   h > (unsigned long long)LLMAX || so > (unsigned long long)LLMAX) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            rc = -1;
        } else {
            hard[k] = (long long)h;
            soft[k] = (long long)so;
            secs[k] = (int)sec;
        }
    }
    free(copy);
    if (rc) return -1;
    snprintf(canon, canonlen, "normal %lld %lld %d slave %lld %lld %d pubsub %lld %lld %d", hard[0], soft[0],
             secs[0], hard[1], soft[1], secs[1], hard[2], soft[2], secs[2]);
    if (apply)
        for (int k = 0; k < 3; k++) {
            __atomic_store_n(&cfg.obl_hard[k], hard[k], __ATOMIC_RELAXED);
            __atomic_store_n(&cfg.obl_soft[k], soft[k], __ATOMIC_RELAXED);
            __atomic_store_n(&cfg.obl_secs[k], secs[k], __ATOMIC_RELAXED);
        }
    return 0;
}

/* Checks value for d and, when apply is set, stores it. Returns 0 or -1
 * with the reason (Redis's wording where Redis has one) in err. */
static int dir_set(directive *d, const char *value, bool apply, char *err, size_t errlen)
{
    long long ll = 0;
    bool bv = false;
    int ev = 0;
    switch (d->type) {
    case T_BOOL:
        if (!parse_bool(value, &bv)) {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        break;
    case T_INT:
    case T_LL:
        if (!util_str2ll(value, strlen(value), &ll)) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return -1;
        }
        goto bounds;
    case T_OCTAL: {
        char *end;
        errno = 0;
        ll = strtoll(value, &end, 8);
        if (errno || *end || !*value) {
            snprintf(err, errlen, "argument couldn't be parsed into an octal number");
            return -1;
        }
        goto bounds;
    }
    case T_MEM: {
        unsigned long long u;
        if (!util_memtoull(value, &u) || u > (unsigned long long)LLMAX) {
            snprintf(err, errlen, "argument must be a memory value");
            return -1;
        }
        ll = (long long)u;
    }
    bounds:
        if (ll < d->min || ll > d->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min, d->max);
            return -1;
        }
        if ((d->flags & F_POW2) && (ll & (ll - 1))) {
            snprintf(err, errlen, "argument must be a power of two");
            return -1;
        }
        break;
    case T_ENUM: {
        int i;
        for (i = 0; d->enums[i]; i++)
            if (strcasecmp(d->enums[i], value) == 0) break;
        if (!d->enums[i]) {
            snprintf(err, errlen, "argument(s) must be one of the following: ");
            for (int k = 0; d->enums[k]; k++) {
                size_t l = strlen(err);
                snprintf(err + l, errlen - l, "%s%s", k ? ", " : "", d->enums[k]);
            }
            return -1;
        }
        ev = i;
        break;
    }
    case T_STR:
        if (strcmp(d->name, "client-output-buffer-limit") == 0) {
            static _Thread_local char canon[256];
            if (obl_parse(value, apply, canon, sizeof canon, err, errlen) != 0) return -1;
            value = canon;
        }
        if (strcmp(d->name, "save") == 0 && value[0]) {
            /* pairs of <seconds> <changes> */
            char *copy = strdup(value), *save = NULL;
            int n = 0;
            bool bad = false;
            for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save), n++) {
                long long x;
                if (!util_str2ll(t, strlen(t), &x) || x < 0) bad = true;
            }
            free(copy);
            if (bad || n % 2) {
                snprintf(err, errlen, "Invalid save parameters");
                return -1;
            }
        }
        if ((d->flags & F_DIR) && apply) {
            if (chdir(value) != 0) {
                snprintf(err, errlen, "No such file or directory");
                return -1;
            }
        }
        break;
    }
    if (!apply) return 0;
    pthread_mutex_lock(&cfg_mu);
    char *nv = strdup(value);
    if (d->type == T_BOOL) {
        free(nv);
        nv = strdup(bv ? "yes" : "no");
    } else if (d->type == T_ENUM) {
        free(nv);
        nv = strdup(d->enums[ev]);
    }
    free(d->sval);
    d->sval = nv;
    if (d->ptr) {
        switch (d->type) {
        case T_BOOL: __atomic_store_n((bool *)d->ptr, bv, __ATOMIC_RELAXED); break;
        case T_INT:
        case T_OCTAL: __atomic_store_n((int *)d->ptr, (int)ll, __ATOMIC_RELAXED); break;
        case T_LL:
        case T_MEM: __atomic_store_n((long long *)d->ptr, ll, __ATOMIC_RELAXED); break;
        case T_ENUM: __atomic_store_n((int *)d->ptr, ev, __ATOMIC_RELAXED); break;
        case T_STR: {
            /* the old string is kept: a thread may still be reading it */
            char *s = strdup(value);
            __atomic_store_n((char **)d->ptr, s, __ATOMIC_RELEASE);
            break;
        }
        }
    }
    if (d->ptr == &v_loglevel) __atomic_store_n(&cfg.loglevel, ev, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&cfg_mu);
    return 0;
}

void config_defaults(void)
{
    char err[256];
    for (size_t i = 0; i < NDIRS; i++) {
        if (dir_set(&dirs[i], dirs[i].def, !(dirs[i].flags & F_DIR), err, sizeof err) != 0) {
            fprintf(stderr, "kvd: bad default for '%s': %s\n", dirs[i].name, err);
            exit(1);
        }
        if (dirs[i].flags & F_DIR) {
            free(dirs[i].sval);
            dirs[i].sval = strdup(dirs[i].def);
            *(char **)dirs[i].ptr = strdup(dirs[i].def);
        }
    }
}

/* Copies the current text of a directive into tmp (NUL-terminated) and
 * returns it, or NULL for an unknown name. Safe from any thread. */
const char *config_get_value(const char *name, buf *tmp)
{
    directive *d = find_dir(name);
    if (!d) return NULL;
    pthread_mutex_lock(&cfg_mu);
    tmp->len = 0;
    buf_appendstr(tmp, d->sval ? d->sval : "");
    buf_appendc(tmp, '\0');
    pthread_mutex_unlock(&cfg_mu);
    return tmp->p;
}

/* Sets one directive from its words (after the name). */
static int set_words(const char *name, sv *w, int n, char *err, size_t errlen, bool runtime, int line)
{
    directive *d = find_dir(name);
    if (!d) {
        snprintf(err, errlen, "Bad directive or wrong number of arguments");
        return -1;
    }
    if (runtime && (d->flags & F_IMMUTABLE)) {
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    }
    if (runtime && (d->flags & F_PROTECTED)) {
        buf t;
        char m[32];
        buf_init_static(&t, m, sizeof m);
        const char *v = config_get_value("enable-protected-configs", &t);
        bool ok = v && strcmp(v, "yes") == 0;
        buf_free(&t);
        if (!ok) {
            snprintf(err, errlen, "can't set protected config");
            return -1;
        }
    }
    if (n != 1 && !(d->flags & F_MULTIARG)) {
        snprintf(err, errlen, "wrong number of arguments");
        return -1;
    }
    buf v;
    buf_init_static(&v, NULL, 0);
    for (int i = 0; i < n; i++) {
        if (i) buf_appendc(&v, ' ');
        buf_append(&v, w[i].p, w[i].n);
    }
    buf_appendc(&v, '\0');
    int r = dir_set(d, v.p, true, err, errlen);
    buf_free(&v);
    if (r == 0 && line) d->line = line;
    return r;
}

int config_set(const char *name, const char *value, char *err, size_t errlen, bool runtime)
{
    sv w = sv_of(value);
    return set_words(name, &w, 1, err, errlen, runtime, 0);
}

static int load_depth;

/* Reads a redis.conf-style file. On error returns -1 with
 * "file:line: 'text': reason" in err. */
int config_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    if (++load_depth > 10) {
        snprintf(err, errlen, "'%s': include nesting too deep", path);
        fclose(f);
        load_depth--;
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    buf scratch;
    buf_init_static(&scratch, NULL, 0);
    sv *argv = NULL;
    int argcap = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\0') continue;
        scratch.len = 0;
        int argc = text_split(p, strlen(p), &scratch, &argv, &argcap);
        char why[256] = "";
        if (argc < 0) {
            snprintf(why, sizeof why, "unbalanced quotes in configuration line");
        } else if (argc == 0) {
            continue;
        } else {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)argv[0].n, argv[0].p);
            if (strcasecmp(name, "include") == 0) {
                if (argc != 2) {
                    snprintf(why, sizeof why, "include takes one file name");
                } else {
                    char *inc = kvd_strndup(argv[1].p, argv[1].n);
                    char sub[512];
                    if (config_load_file(inc, sub, sizeof sub) != 0) {
                        snprintf(err, errlen, "%s", sub);
                        free(inc);
                        rc = -1;
                        break;
                    }
                    free(inc);
                }
            } else if (strcasecmp(name, "rename-command") == 0) {
                if (argc != 3) {
                    snprintf(why, sizeof why, "rename-command takes two arguments");
                } else {
                    char *from = kvd_strndup(argv[1].p, argv[1].n);
                    char *to = kvd_strndup(argv[2].p, argv[2].n);
                    if (cmd_rename(from, to) != 0) snprintf(why, sizeof why, "No such command in rename-command");
                    free(from);
                    free(to);
                }
            } else if (!find_dir(name)) {
                snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
            } else if (set_words(name, argv + 1, argc - 1, why, sizeof why, false, lineno) == 0) {
                why[0] = '\0';
            }
        }
        if (why[0]) {
            snprintf(err, errlen, "%s:%d: '%s': %s", path, lineno, p, why);
            rc = -1;
            break;
        }
    }
    free(line);
    free(argv);
    buf_free(&scratch);
    fclose(f);
    load_depth--;
    return rc;
}

/* Applies `--name value ...` arguments from argv[start..]. */
int config_set_from_args(int argc, char **argv, int start, char *err, size_t errlen)
{
    for (int i = start; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2]) {
            snprintf(err, errlen, "unexpected argument '%s'", argv[i]);
            return -1;
        }
        const char *name = argv[i] + 2;
        int j = i + 1;
        while (j < argc && !(strncmp(argv[j], "--", 2) == 0 && argv[j][2] && !isdigit((unsigned char)argv[j][2])))
            j++;
        sv w[64];
        int n = 0;
        for (int k = i + 1; k < j && n < 64; k++) w[n++] = sv_of(argv[k]);
        char why[256];
        if (strcasecmp(name, "rename-command") == 0 && n == 2) {
            if (cmd_rename(argv[i + 1], argv[i + 2]) != 0) {
                snprintf(err, errlen, "--%s: No such command in rename-command", name);
                return -1;
            }
        } else if (set_words(name, w, n, why, sizeof why, false, 0) != 0) {
            snprintf(err, errlen, "--%s: %s", name, why);
            return -1;
        }
        i = j;
    }
    return 0;
}

/* CONFIG GET pattern [pattern ...]: every matching directive once. */
void config_get(client *c, sv *pats, int npats)
{
    long h = reply_defer(c);
    long n = 0;
    pthread_mutex_lock(&cfg_mu);
    for (size_t i = 0; i < NDIRS; i++) {
        directive *d = &dirs[i];
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            if (strcmp(dirs[k].name, d->name) == 0) dup = true;
        if (dup) continue;
        const char *hit = NULL;
        for (int p = 0; p < npats && !hit; p++) {
            if (util_glob_match(pats[p].p, pats[p].n, d->name, strlen(d->name), true)) hit = d->name;
            else if (d->alias && util_glob_match(pats[p].p, pats[p].n, d->alias, strlen(d->alias), true))
                hit = d->alias;
        }
        if (!hit) continue;
        reply_bulk_cstr(c, hit);
        reply_bulk_cstr(c, d->sval ? d->sval : "");
        n++;
    }
    pthread_mutex_unlock(&cfg_mu);
    reply_defer_map(c, h, n);
}

/* CONFIG REWRITE: rewrite the config file in place, keeping comments and
 * order, replacing lines of directives we set and appending the others that
 * differ from their defaults. */
int config_rewrite(char *errbuf, size_t errlen)
{
    if (!cfg.config_file) {
        snprintf(errbuf, errlen, "The server is running without a config file");
        return -1;
    }
    FILE *f = fopen(cfg.config_file, "r");
    buf out;
    buf_init_static(&out, NULL, 0);
    bool *done = calloc(NDIRS, sizeof(bool));
    pthread_mutex_lock(&cfg_mu);
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) >= 0) {
            const char *p = line;
            while (*p == ' ' || *p == '\t') p++;
            char name[128] = "";
            sscanf(p, "%127s", name);
            directive *d = (*p && *p != '#') ? find_dir(name) : NULL;
            if (d) {
                size_t i = (size_t)(d - dirs);
                if (!done[i]) {
                    buf_printf(&out, "%s %s\n", d->name, d->sval && d->sval[0] ? d->sval : "\"\"");
                    done[i] = true;
                }
                continue; /* later duplicates of a directive collapse into the first */
            }
            buf_append(&out, line, (size_t)n);
            if (n && line[n - 1] != '\n') buf_appendc(&out, '\n');
        }
        free(line);
        fclose(f);
    }
    for (size_t i = 0; i < NDIRS; i++) {
        if (done[i] || !dirs[i].sval || strcmp(dirs[i].sval, dirs[i].def) == 0) continue;
        buf_printf(&out, "%s %s\n", dirs[i].name, dirs[i].sval[0] ? dirs[i].sval : "\"\"");
    }
    pthread_mutex_unlock(&cfg_mu);
    free(done);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", cfg.config_file, (int)getpid());
    FILE *w = fopen(tmp, "w");
    int rc = 0;
    if (!w || fwrite(out.p, 1, out.len, w) != out.len || fflush(w) != 0 || fsync(fileno(w)) != 0) {
        snprintf(errbuf, errlen, "Rewriting config file: %s", strerror(errno));
        rc = -1;
    }
    if (w && fclose(w) != 0) rc = -1;
    if (rc == 0 && rename(tmp, cfg.config_file) != 0) {
        snprintf(errbuf, errlen, "Rewriting config file: %s", strerror(errno));
        rc = -1;
    }
    if (rc != 0) unlink(tmp);
    buf_free(&out);
    return rc;
}

/* CONFIG SET name value [name value ...]: all or nothing. */
void config_set_command(client *c);
void config_set_command(client *c)
{
    if (c->argc < 4 || (c->argc - 2) % 2) {
        reply_err_arity(c, "config|set");
        return;
    }
    int npairs = (c->argc - 2) / 2;
    char err[300], name[128];
    /* validate all first */
    for (int i = 0; i < npairs; i++) {
        sv k = c->argv[2 + 2 * i];
        snprintf(name, sizeof name, "%.*s", (int)k.n, k.p);
        for (int j = 0; j < i; j++) {
            sv o = c->argv[2 + 2 * j];
            directive *a = find_dir(name);
            char on[128];
            snprintf(on, sizeof on, "%.*s", (int)o.n, o.p);
            if (a && a == find_dir(on)) {
                reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", name);
                return;
            }
        }
        directive *d = find_dir(name);
        const char *why = NULL;
        if (!d) why = "Unsupported CONFIG parameter";
        else if (d->flags & F_IMMUTABLE) why = "can't set immutable config";
        if (!why && (d->flags & F_PROTECTED)) {
            buf t;
            char m[32];
            buf_init_static(&t, m, sizeof m);
            const char *v = config_get_value("enable-protected-configs", &t);
            if (!(v && strcmp(v, "yes") == 0)) why = "can't set protected config";
            buf_free(&t);
        }
        if (!why) {
            char *val = kvd_strndup(c->argv[3 + 2 * i].p, c->argv[3 + 2 * i].n);
            if (!(d->flags & F_DIR) && dir_set(d, val, false, err, sizeof err) != 0) why = err;
            free(val);
        }
        if (why) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, why);
            return;
        }
    }
    /* apply, remembering old values to roll back */
    char **old = calloc((size_t)npairs, sizeof(char *));
    int applied = 0;
    for (int i = 0; i < npairs; i++) {
        sv k = c->argv[2 + 2 * i];
        snprintf(name, sizeof name, "%.*s", (int)k.n, k.p);
        directive *d = find_dir(name);
        pthread_mutex_lock(&cfg_mu);
        old[i] = strdup(d->sval ? d->sval : "");
        pthread_mutex_unlock(&cfg_mu);
        char *val = kvd_strndup(c->argv[3 + 2 * i].p, c->argv[3 + 2 * i].n);
        int r = dir_set(d, val, true, err, sizeof err);
        free(val);
        if (r != 0) {
            for (int j = applied - 1; j >= 0; j--) {
                sv kk = c->argv[2 + 2 * j];
                char nn[128];
                snprintf(nn, sizeof nn, "%.*s", (int)kk.n, kk.p);
                char e2[256];
                dir_set(find_dir(nn), old[j], true, e2, sizeof e2);
            }
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, err);
            for (int j = 0; j <= i; j++) free(old[j]);
            free(old);
            return;
        }
        applied++;
    }
    for (int j = 0; j < npairs; j++) free(old[j]);
    free(old);
    reply_ok(c);
}
