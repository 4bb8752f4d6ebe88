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
#include <sys/stat.h>
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
static const char *const e_fsync[] = {"everysec", "always", "no", NULL}; /* Redis's order (its error lists them) */
static const char *const e_policy[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                       "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction", NULL};
static const char *const e_yesnolocal[] = {"no", "yes", "local", NULL};
static const char *const e_supervised[] = {"upstart", "systemd", "auto", "no", NULL};
static const char *const e_facility[] = {"user", "local0", "local1", "local2", "local3",
                                         "local4", "local5", "local6", "local7", NULL};
static const char *const e_sanitize[] = {"no", "yes", "clients", NULL};
static const char *const e_oom[] = {"no", "yes", "relative", "absolute", NULL};
static const char *const e_schedbatch[] = {"no", "yes", "pipelined", NULL};
static const char *const e_disklessload[] = {"disabled", "on-empty-db", "swapdb", NULL};

/* proc-title-template as Redis checks it: {variable}s it knows, {{ and }}
 * for braces, and something left once expanded with an empty title and
 * trimmed ({listen-addr}, {port}, {tls-port} and {config-file} count as
 * never empty, {server-mode} and {unixsocket} as empty, as Redis 7.0
 * answers for a standalone server). */
static bool proc_title_ok(const char *t)
{
    static const char *const vars[] = {"title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket",
                                       "config-file", NULL};
    bool something = false;
    for (const char *p = t; *p; p++) {
        if (*p == '}') { /* "}}" or a lone "}": a brace */
            something = true;
            if (p[1] == '}') p++;
        } else if (*p == '{') {
            if (p[1] == '{') {
                something = true;
                p++;
                continue;
            }
            const char *end = strchr(p, '}');
            if (!end) return false;
            int k = 0;
            while (vars[k] && !(strlen(vars[k]) == (size_t)(end - p - 1) && !memcmp(vars[k], p + 1, (size_t)(end - p - 1))))
                k++;
            if (!vars[k]) return false;
            if (k == 1 || k == 3 || k == 4 || k == 6) something = true;
            p = end;
        } else if (*p != ' ') {
            something = true;
        }
    }
    return something;
}

static int v_loglevel = LL_NOTICE;
static int v_protected; /* enable-protected-configs: 0 no, 1 yes, 2 local */

static void changed_logfile(const char *old);
static void changed_pidfile(const char *old);

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
    {"conn-spin-us", NULL, T_INT, 0, &cfg.conn_spin_us, -1, 10000, "-1", NULL, NULL, 0},
    {"conn-sched-batch", NULL, T_ENUM, F_IMMUTABLE, &cfg.conn_sched_batch, 0, 0, "pipelined", e_schedbatch, NULL, 0},
    {"shard-handoff", NULL, T_BOOL, 0, &cfg.shard_handoff, 0, 0, "yes", NULL, NULL, 0},
    {"timeout", NULL, T_INT, 0, &cfg.timeout, 0, INT_MAX, "0", NULL, NULL, 0},
    {"tcp-keepalive", NULL, T_INT, 0, &cfg.tcp_keepalive, 0, INT_MAX, "300", NULL, NULL, 0},
    {"protected-mode", NULL, T_BOOL, 0, &cfg.protected_mode, 0, 0, "yes", NULL, NULL, 0},
    {"requirepass", NULL, T_STR, 0, &cfg.requirepass, 0, 0, "", NULL, NULL, 0},
    {"proto-max-bulk-len", NULL, T_MEM, 0, &cfg.proto_max_bulk_len, 1024 * 1024, LLMAX, "512mb", NULL, NULL, 0},
    {"client-query-buffer-limit", NULL, T_MEM, 0, &cfg.client_query_buffer_limit, 1024 * 1024, LLMAX, "1gb", NULL, NULL, 0},
    /* store */
    {"shards", NULL, T_INT, F_IMMUTABLE | F_POW2, &cfg.shards, 1, 65536, "64", NULL, NULL, 0},
    {"databases", NULL, T_INT, F_IMMUTABLE, &cfg.databases, 1, 1000000, "16", NULL, NULL, 0},
    {"hz", NULL, T_INT, 0, &cfg.hz, 0, INT_MAX, "10", NULL, NULL, 0}, /* kept within 1..500 (dir_set), as Redis */
    {"active-expire-effort", NULL, T_INT, 0, &cfg.active_expire_effort, 1, 10, "1", NULL, NULL, 0},
    {"maxmemory", NULL, T_MEM, 0, &cfg.maxmemory, 0, LLMAX, "0", NULL, NULL, 0},
    {"maxmemory-policy", NULL, T_ENUM, 0, NULL, 0, 0, "noeviction", e_policy, NULL, 0},
    {"maxmemory-samples", NULL, T_INT, 0, NULL, 1, INT_MAX, "5", NULL, NULL, 0},
    {"maxmemory-eviction-tenacity", NULL, T_INT, 0, NULL, 0, 100, "10", NULL, NULL, 0},
    /* files and process */
    {"dir", NULL, T_STR, F_PROTECTED | F_DIR, &cfg.dir, 0, 0, ".", NULL, NULL, 0},
    {"dbfilename", NULL, T_STR, F_PROTECTED, &cfg.dbfilename, 0, 0, "kvd.snap", NULL, NULL, 0},
    {"logfile", NULL, T_STR, F_PROTECTED, &cfg.logfile, 0, 0, "", NULL, NULL, 0},
    {"pidfile", NULL, T_STR, F_PROTECTED, &cfg.pidfile, 0, 0, "", NULL, NULL, 0},
    {"loglevel", NULL, T_ENUM, 0, &v_loglevel, 0, 0, "notice", e_loglevel, NULL, 0},
    {"daemonize", NULL, T_BOOL, F_IMMUTABLE, &cfg.daemonize, 0, 0, "no", NULL, NULL, 0},
    {"supervised", NULL, T_ENUM, F_IMMUTABLE, &cfg.supervised, 0, 0, "no", e_supervised, NULL, 0},
    {"syslog-enabled", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "no", NULL, NULL, 0},
    {"syslog-ident", NULL, T_STR, F_IMMUTABLE, NULL, 0, 0, "kvd", NULL, NULL, 0},
    {"syslog-facility", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "local0", e_facility, NULL, 0},
    {"enable-debug-command", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "no", e_yesnolocal, NULL, 0},
    {"enable-protected-configs", NULL, T_ENUM, F_IMMUTABLE, &v_protected, 0, 0, "no", e_yesnolocal, NULL, 0},
    {"enable-module-command", NULL, T_ENUM, F_IMMUTABLE, NULL, 0, 0, "no", e_yesnolocal, NULL, 0},
    /* persistence (acted on by the persistence work) */
    {"save", NULL, T_STR, F_MULTIARG, NULL, 0, 0, "3600 1 300 100 60 10000", NULL, NULL, 0},
    {"stop-writes-on-bgsave-error", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"rdbcompression", NULL, T_BOOL, 0, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"rdbchecksum", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"appendonly", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"appendfsync", NULL, T_ENUM, 0, NULL, 0, 0, "everysec", e_fsync, NULL, 0},
    {"appendfilename", NULL, T_STR, F_IMMUTABLE, NULL, 0, 0, "appendonly.aof", NULL, NULL, 0},
    {"appenddirname", NULL, T_STR, F_PROTECTED, NULL, 0, 0, "appendonlydir", NULL, NULL, 0},
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
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", T_LL, 0, &cfg.hash_max_listpack_entries, 0, LLMAX, "128", NULL, NULL, 0},
    {"hash-max-listpack-value", "hash-max-ziplist-value", T_MEM, 0, &cfg.hash_max_listpack_value, 0, LLMAX, "64", NULL, NULL, 0},
    {"list-max-listpack-size", "list-max-ziplist-size", T_INT, 0, &cfg.list_max_listpack_size, INT_MIN, INT_MAX, "-2", NULL, NULL, 0},
    {"list-compress-depth", NULL, T_INT, 0, NULL, 0, INT_MAX, "0", NULL, NULL, 0},
    {"set-max-intset-entries", NULL, T_LL, 0, &cfg.set_max_intset_entries, 0, LLMAX, "512", NULL, NULL, 0},
    {"set-max-listpack-entries", NULL, T_LL, 0, &cfg.set_max_listpack_entries, 0, LLMAX, "128", NULL, NULL, 0},
    {"set-max-listpack-value", NULL, T_MEM, 0, &cfg.set_max_listpack_value, 0, LLMAX, "64", NULL, NULL, 0},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", T_LL, 0, &cfg.zset_max_listpack_entries, 0, LLMAX, "128", NULL, NULL, 0},
    {"zset-max-listpack-value", "zset-max-ziplist-value", T_MEM, 0, &cfg.zset_max_listpack_value, 0, LLMAX, "64", NULL, NULL, 0},
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
    {"slowlog-log-slower-than", NULL, T_LL, 0, &cfg.slowlog_log_slower_than, -1, LLMAX, "10000", NULL, NULL, 0},
    {"slowlog-max-len", NULL, T_LL, 0, &cfg.slowlog_max_len, 0, LLMAX, "128", NULL, NULL, 0},
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
    {"repl-diskless-sync-delay", NULL, T_INT, 0, NULL, 0, INT_MAX, "5", NULL, NULL, 0},
    {"repl-diskless-sync-max-replicas", NULL, T_INT, 0, NULL, 0, INT_MAX, "0", NULL, NULL, 0},
    {"repl-diskless-load", NULL, T_ENUM, 0, NULL, 0, 0, "disabled", e_disklessload, NULL, 0},
    {"repl-disable-tcp-nodelay", NULL, T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
    {"replica-lazy-flush", "slave-lazy-flush", T_BOOL, 0, NULL, 0, 0, "no", NULL, NULL, 0},
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
    {"always-show-logo", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "no", NULL, NULL, 0},
    {"set-proc-title", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "yes", NULL, NULL, 0},
    {"proc-title-template", NULL, T_STR, 0, NULL, 0, 0, "{title} {listen-addr} {server-mode}", NULL, NULL, 0},
    {"oom-score-adj-values", NULL, T_STR, F_MULTIARG, NULL, 0, 0, "0 200 800", NULL, NULL, 0},
    {"disable-thp", NULL, T_BOOL, F_IMMUTABLE, NULL, 0, 0, "yes", NULL, NULL, 0},
};
#define NDIRS (sizeof dirs / sizeof dirs[0])

/* Directives that need work after CONFIG SET changed them: called outside
 * the config lock with the previous value's text. */
static const struct {
    const char *name;
    void (*changed)(const char *old);
} change_hooks[] = {
    {"logfile", changed_logfile},
    {"pidfile", changed_pidfile},
};

static void run_change_hook(const char *name, const char *old)
{
    for (size_t i = 0; i < sizeof change_hooks / sizeof change_hooks[0]; i++)
        if (strcmp(change_hooks[i].name, name) == 0) change_hooks[i].changed(old);
}

static directive *find_dir(const char *name)
{
    for (size_t i = 0; i < NDIRS; i++) {
        if (strcasecmp(dirs[i].name, name) == 0) return &dirs[i];
        if (dirs[i].alias && strcasecmp(dirs[i].alias, name) == 0) return &dirs[i];
    }
    return NULL;
}

static directive *find_dir_sv(sv name)
{
    char n[128];
    if (name.n >= sizeof n) return NULL;
    memcpy(n, name.p, name.n);
    n[name.n] = '\0';
    return find_dir(n);
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

/* Called after a directive got a new value (file, command line, CONFIG
 * SET): subsystems that act on a change at run time (persist.c for
 * appendonly, appendfsync, save...) define it. -1 with err refuses. */
__attribute__((weak)) int config_apply_hook(const char *name, char *err, size_t errlen)
{
    UNUSED(name);
    UNUSED(err);
    UNUSED(errlen);
    return 0;
}

/* Memory values: "100", "100b", "1k", "1kb", "10mb", "2gb" (any case);
 * "" is 0, as in Redis. Digits too many for 64 bits (with a valid unit)
 * give LLMAX + 1 in *big, for the caller's range error, as Redis's. */
static bool parse_mem2(const char *v, long long *out, bool *big)
{
    unsigned long long u;
    *big = false;
    if (!*v) {
        *out = 0;
        return true;
    }
    if (!util_memtoull_ov(v, &u, big)) return false;
    if (u > (unsigned long long)LLMAX) {
        *big = true;
        return false;
    }
    *out = (long long)u;
    return true;
}

static bool parse_mem(const char *v, long long *out)
{
    bool big;
    return parse_mem2(v, out, &big);
}

/* Bytes as the largest exact unit ("1gb", "64mb", "300"), as Redis's
 * CONFIG REWRITE writes them. */
static void mem_human(char *out, size_t n, long long v)
{
    static const struct { const char *u; long long m; } units[] = {
        {"gb", 1LL << 30}, {"mb", 1LL << 20}, {"kb", 1LL << 10}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (v != 0 && v % units[i].m == 0) {
            snprintf(out, n, "%lld%s", v / units[i].m, units[i].u);
            return;
        }
    }
    snprintf(out, n, "%lld", v);
}

/* client-output-buffer-limit: "<class> <hard> <soft> <seconds>" groups,
 * merged into the current three classes. Returns the normalized text
 * (malloc'd) or NULL with err set. */
static char *merge_obuf_limits(const char *cur, const char *value, char *err, size_t errlen)
{
    static const char *const classes[] = {"normal", "slave", "pubsub"};
    long long v[3][3] = {{0}};
    char *copy = strdup(cur), *save = NULL;
    int k = 0;
    for (char *t = strtok_r(copy, " ", &save); t && k < 12; t = strtok_r(NULL, " ", &save), k++)
        if (k % 4) parse_mem(t, &v[k / 4][k % 4 - 1]);
    free(copy);
    char *words[64];
    int n = 0;
    copy = strdup(value);
    for (char *t = strtok_r(copy, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save)) words[n++] = t;
    if (n == 0 || n % 4) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        free(copy);
        return NULL;
    }
    for (int i = 0; i < n; i += 4) {
        int cl;
        if (strcasecmp(words[i], "normal") == 0) cl = 0;
        else if (strcasecmp(words[i], "slave") == 0 || strcasecmp(words[i], "replica") == 0) cl = 1;
        else if (strcasecmp(words[i], "pubsub") == 0) cl = 2;
        else {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            free(copy);
            return NULL;
        }
        long long hard, soft, secs;
        if (!parse_mem(words[i + 1], &hard) || !parse_mem(words[i + 2], &soft) ||
            !util_str2ll(words[i + 3], strlen(words[i + 3]), &secs) || secs < 0) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            free(copy);
            return NULL;
        }
        v[cl][0] = hard;
        v[cl][1] = soft;
        v[cl][2] = secs;
    }
    free(copy);
    char out[256];
    snprintf(out, sizeof out, "%s %lld %lld %lld %s %lld %lld %lld %s %lld %lld %lld", classes[0], v[0][0],
             v[0][1], v[0][2], classes[1], v[1][0], v[1][1], v[1][2], classes[2], v[2][0], v[2][1], v[2][2]);
    return strdup(out);
}

/* Strings replaced in cfg (cfg.bind, cfg.logfile...) are never freed, as
 * another thread may still be reading the old pointer; they are kept on
 * this list (cfg_mu held) so they stay reachable. Changes are rare. */
typedef struct retired {
    struct retired *next;
    char *s;
} retired;
static retired *retired_strings;

static void retire(char *s)
{
    if (!s) return;
    retired *r = malloc(sizeof *r);
    if (!r) abort();
    r->s = s;
    r->next = retired_strings;
    retired_strings = r;
}

/* Checks value for d and, when apply is set, stores it. Returns 0 or -1
 * with the reason (Redis's wording where Redis has one) in err. The text
 * kept for CONFIG GET is normalized: yes/no, lower-case enums, memory in
 * bytes. */
static int dir_set(directive *d, const char *value, bool apply, char *err, size_t errlen)
{
    long long ll = 0;
    bool bv = false;
    int ev = 0;
    char *norm = NULL; /* normalized text, when it differs from value */
    char canon[256];
    switch (d->type) {
    case T_BOOL:
        if (!parse_bool(value, &bv)) {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        norm = strdup(bv ? "yes" : "no");
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
        bool big;
        bool pct_ok = strcmp(d->name, "maxmemory-clients") == 0; /* also "<n>%", as Redis */
        size_t vl = strlen(value);
        if (pct_ok && vl > 1 && value[vl - 1] == '%') {
            if (!util_str2ll(value, vl - 1, &ll) || ll < 0) {
                snprintf(err, errlen, "argument must be a memory or percent value");
                return -1;
            }
            if (ll > 100) {
                snprintf(err, errlen, "percentage argument must be less or equal to 100");
                return -1;
            }
            snprintf(canon, sizeof canon, ll ? "%lld%%" : "%lld", ll);
            norm = strdup(canon);
            break;
        }
        if (!parse_mem2(value, &ll, &big)) {
            if (big) snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min, d->max);
            else snprintf(err, errlen, pct_ok ? "argument must be a memory or percent value" : "argument must be a memory value");
            return -1;
        }
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
        /* values Redis takes and then clamps (CONFIG GET shows the clamped one) */
        if (strcmp(d->name, "hz") == 0) ll = ll < 1 ? 1 : ll > 500 ? 500 : ll;
        if (strcmp(d->name, "repl-backlog-size") == 0 && ll < 16384) ll = 16384;
        if (d->type == T_MEM || strcmp(d->name, "hz") == 0) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%lld", ll);
            norm = strdup(tmp);
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
        norm = strdup(d->enums[ev]);
        break;
    }
    case T_STR:
        /* t_pubsub.c parses these two and keeps their canonical text */
        if (strcmp(d->name, "notify-keyspace-events") == 0) {
            int fl = notify_flags_parse(value);
            if (fl < 0) {
                snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
                return -1;
            }
            if (apply) {
                notify_flags_string(fl, canon);
                value = canon;
                notify_set_flags(fl);
            }
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
        if (strcmp(d->name, "proc-title-template") == 0 && !proc_title_ok(value)) {
            snprintf(err, errlen, "template format is invalid or contains unknown variables");
            return -1;
        }
        if (strcmp(d->name, "oom-score-adj-values") == 0) {
            /* three numbers in [-2000, 2000], as Redis checks them */
            char *copy = strdup(value), *save = NULL;
            int n = 0;
            bool bad = false;
            for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save), n++) {
                char *e;
                long long x = strtoll(t, &e, 10); /* (Redis's parse: "+1" too) */
                if (*e || e == t || x < -2000 || x > 2000) bad = true;
            }
            free(copy);
            if (n != 3 || bad) {
                snprintf(err, errlen, "%s", n != 3 ? "wrong number of arguments"
                                                   : "Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
                return -1;
            }
        }
        if (strcmp(d->name, "client-output-buffer-limit") == 0) {
            /* merge the classes given into the current three, then let
             * t_pubsub.c check and take the pubsub class (an empty value
             * changes nothing, as in Redis) */
            norm = merge_obuf_limits(d->sval ? d->sval : d->def, value[0] ? value : d->sval ? d->sval : d->def,
                                     err, errlen);
            if (!norm) return -1;
            if (pubsub_output_limit_config(norm, apply, canon, sizeof canon, err, errlen) != 0) {
                free(norm);
                return -1;
            }
            /* ... and conn.c the normal class (harden: cfg.obl_*) */
            char ocanon[256];
            if (obl_parse(norm, apply, ocanon, sizeof ocanon, err, errlen) != 0) {
                free(norm);
                return -1;
            }
        }
        if ((d->flags & F_DIR) && apply) {
            char cwd[4096];
            if (chdir(value) != 0) {
                snprintf(err, errlen, "%s", strerror(errno));
                free(norm);
                return -1;
            }
            if (getcwd(cwd, sizeof cwd)) norm = strdup(cwd);
        }
        break;
    }
    if (!apply) {
        free(norm);
        return 0;
    }
    pthread_mutex_lock(&cfg_mu);
    free(d->sval);
    d->sval = norm ? norm : strdup(value);
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
            char *s = strdup(d->sval);
            retire(__atomic_exchange_n((char **)d->ptr, s, __ATOMIC_ACQ_REL));
            break;
        }
        }
    }
    if (d->ptr == &v_loglevel) __atomic_store_n(&cfg.loglevel, ev, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&cfg_mu);
    return config_apply_hook(d->name, err, errlen);
}

static bool save_from_file; /* a `save` line was read: later ones add rules */

void config_defaults(void)
{
    char err[256];
    for (size_t i = 0; i < NDIRS; i++) {
        free(dirs[i].sval);
        dirs[i].sval = NULL;
        dirs[i].line = 0;
        if (dir_set(&dirs[i], dirs[i].def, !(dirs[i].flags & F_DIR), err, sizeof err) != 0) {
            fprintf(stderr, "kvd: bad default for '%s': %s\n", dirs[i].name, err);
            exit(1);
        }
        if (dirs[i].flags & F_DIR) {
            dirs[i].sval = strdup(dirs[i].def);
            pthread_mutex_lock(&cfg_mu);
            retire(__atomic_exchange_n((char **)dirs[i].ptr, strdup(dirs[i].def), __ATOMIC_ACQ_REL));
            pthread_mutex_unlock(&cfg_mu);
        }
    }
    save_from_file = false;
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

/* Whether a client may change protected configs (dir, dbfilename,
 * appenddirname, logfile, pidfile): enable-protected-configs yes, or local
 * and the client came over loopback or the unix socket. */
static bool protected_allowed(client *c)
{
    int v = __atomic_load_n(&v_protected, __ATOMIC_RELAXED);
    if (v == 1) return true;
    if (v != 2 || !c) return false;
    if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_UNIX) return true;
    return strncmp(c->addr, "127.", 4) == 0 || strncmp(c->addr, "::1:", 4) == 0 ||
           strncmp(c->addr, "[::1]", 5) == 0;
}

/* Why CONFIG SET may not change d, in Redis's words, or NULL. */
static const char *runtime_refusal(directive *d, client *c)
{
    if (d->flags & F_IMMUTABLE) return "can't set immutable config";
    if ((d->flags & F_PROTECTED) && !protected_allowed(c)) return "can't set protected config";
    return NULL;
}

/* Sets one directive from its words (after the name), read from a file
 * (line > 0) or the command line (line == 0). */
static int set_words(const char *name, sv *w, int n, char *err, size_t errlen, int line)
{
    directive *d = find_dir(name);
    if (!d) {
        snprintf(err, errlen, "Bad directive or wrong number of arguments");
        return -1;
    }
    if (n != 1 && !(d->flags & F_MULTIARG)) {
        snprintf(err, errlen, "Bad directive or wrong number of arguments");
        return -1;
    }
    buf v;
    buf_init_static(&v, NULL, 0);
    bool is_save = strcmp(d->name, "save") == 0;
    /* Like redis.conf, every `save` line adds a rule; `save ""` clears. */
    if (is_save && save_from_file && !(n == 1 && w[0].n == 0) && d->sval && d->sval[0]) {
        buf_appendstr(&v, d->sval);
        buf_appendc(&v, ' ');
    }
    for (int i = 0; i < n; i++) {
        if (i) buf_appendc(&v, ' ');
        buf_append(&v, w[i].p, w[i].n);
    }
    buf_appendc(&v, '\0');
    int r = dir_set(d, v.p, true, err, errlen);
    buf_free(&v);
    if (r == 0 && line) d->line = line;
    if (r == 0 && is_save) save_from_file = true;
    return r;
}

int config_set(const char *name, const char *value, char *err, size_t errlen, bool runtime)
{
    directive *d = find_dir(name);
    if (runtime && d) {
        const char *why = runtime_refusal(d, NULL);
        if (why) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
    }
    sv w = sv_of(value);
    return set_words(name, &w, 1, err, errlen, 0);
}

static int load_depth;

/* Reads a redis.conf-style file. On error returns -1 with
 * "file:line: 'text': reason" in err (for an error in an included file,
 * that file and line). */
int config_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    if (++load_depth > 10) {
        snprintf(err, errlen, "'%s': include nesting too deep (more than 10 levels)", path);
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
        if (memchr(line, '\0', (size_t)n)) {
            snprintf(err, errlen, "%s:%d: '%s': NUL byte in configuration line", path, lineno, p);
            rc = -1;
            break;
        }
        scratch.len = 0;
        int argc = text_split(p, strlen(p), &scratch, &argv, &argcap);
        char why[256] = "";
        if (argc < 0) {
            snprintf(why, sizeof why, "Unbalanced quotes in configuration line");
        } else if (argc == 0) {
            continue;
        } else if (argc == 1 && !(find_dir_sv(argv[0]) && (find_dir_sv(argv[0])->flags & F_MULTIARG))) {
            snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
        } else {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)argv[0].n, argv[0].p);
            if (strcasecmp(name, "include") == 0) {
                if (argc != 2) {
                    snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
                } else {
                    char *inc = kvd_strndup(argv[1].p, argv[1].n);
                    char sub[1024];
                    if (config_load_file(inc, sub, sizeof sub) != 0) {
                        if (strncmp(sub, "cannot open", 11) == 0) snprintf(why, sizeof why, "%.200s", sub);
                        else snprintf(err, errlen, "%s", sub);
                        free(inc);
                        if (!why[0]) {
                            rc = -1;
                            break;
                        }
                    } else {
                        free(inc);
                    }
                }
            } else if (strcasecmp(name, "rename-command") == 0) {
                if (argc != 3) {
                    snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
                } else {
                    char *from = kvd_strndup(argv[1].p, argv[1].n);
                    char *to = kvd_strndup(argv[2].p, argv[2].n);
                    if (cmd_rename(from, to) != 0) snprintf(why, sizeof why, "No such command in rename-command");
                    free(from);
                    free(to);
                }
            } else if (set_words(name, argv + 1, argc - 1, why, sizeof why, lineno) == 0) {
                why[0] = '\0';
            }
        }
        if (why[0]) {
            snprintf(err, errlen, "%s:%d: '%s': %s", path, lineno, p, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    free(argv);
    buf_free(&scratch);
    fclose(f);
    load_depth--;
    return rc;
}

/* Applies `--name value ...` arguments from argv[start..]. A value may
 * itself start with "--" only if it is a negative number. */
int config_set_from_args(int argc, char **argv, int start, char *err, size_t errlen)
{
    for (int i = start; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2]) {
            snprintf(err, errlen, "command line: unexpected argument '%s'", argv[i]);
            return -1;
        }
        const char *name = argv[i] + 2;
        int j = i + 1;
        while (j < argc && !(strncmp(argv[j], "--", 2) == 0 && argv[j][2] && !isdigit((unsigned char)argv[j][2])))
            j++;
        sv w[64];
        int n = 0;
        buf text;
        buf_init_static(&text, NULL, 0);
        buf_appendstr(&text, argv[i]);
        for (int k = i + 1; k < j && n < 64; k++) {
            w[n++] = sv_of(argv[k]);
            buf_appendc(&text, ' ');
            buf_appendstr(&text, argv[k]);
        }
        buf_appendc(&text, '\0');
        char why[256] = "";
        if (strcasecmp(name, "rename-command") == 0) {
            if (n != 2) snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
            else if (cmd_rename(argv[i + 1], argv[i + 2]) != 0)
                snprintf(why, sizeof why, "No such command in rename-command");
        } else if (n == 0) {
            snprintf(why, sizeof why, "Bad directive or wrong number of arguments");
        } else if (set_words(name, w, n, why, sizeof why, 0) == 0) {
            why[0] = '\0';
        }
        if (why[0]) {
            snprintf(err, errlen, "command line: '%s': %s", text.p, why);
            buf_free(&text);
            return -1;
        }
        buf_free(&text);
        i = j;
    }
    return 0;
}

/* CONFIG GET pattern [pattern ...]: every matching directive once under
 * each of its names that matched. */
void config_get(client *c, sv *pats, int npats)
{
    long h = reply_defer(c);
    long n = 0;
    char cwd[4096];
    pthread_mutex_lock(&cfg_mu);
    for (size_t i = 0; i < NDIRS; i++) {
        directive *d = &dirs[i];
        /* as Redis: a pattern matches the name and the alias apart (both
         * are listed for *), an exact one is echoed as the client typed it */
        const char *hit[2] = {NULL, NULL}; /* under its name, under its alias */
        char asgiven[2][128];
        for (int p = 0; p < npats; p++) {
            bool glob = memchr(pats[p].p, '*', pats[p].n) || memchr(pats[p].p, '?', pats[p].n) ||
                        memchr(pats[p].p, '[', pats[p].n);
            for (int k = 0; k < 2; k++) {
                const char *nm = k ? d->alias : d->name;
                if (!nm || hit[k]) continue;
                if (!glob && pats[p].n < sizeof asgiven[k] && sv_eqci(pats[p], nm)) {
                    memcpy(asgiven[k], pats[p].p, pats[p].n);
                    asgiven[k][pats[p].n] = '\0';
                    hit[k] = asgiven[k];
                } else if (glob && util_glob_match(pats[p].p, pats[p].n, nm, strlen(nm), true)) {
                    hit[k] = nm;
                }
            }
        }
        if (!hit[0] && !hit[1]) continue;
        const char *val = d->sval ? d->sval : "";
        if ((d->flags & F_DIR) && getcwd(cwd, sizeof cwd)) val = cwd;
        for (int k = 0; k < 2; k++) {
            if (!hit[k]) continue;
            reply_bulk_cstr(c, hit[k]);
            reply_bulk_cstr(c, val);
            n++;
        }
    }
    pthread_mutex_unlock(&cfg_mu);
    reply_defer_map(c, h, n);
}

/* Appends `name value` as a config line: quoted when the value needs it
 * (multi-word directives are written as their words). */
static void rewrite_line(buf *out, directive *d)
{
    const char *v = d->sval ? d->sval : "";
    buf_appendstr(out, d->name);
    buf_appendc(out, ' ');
    if (d->type == T_MEM) {
        char h[32];
        mem_human(h, sizeof h, strtoll(v, NULL, 10));
        buf_appendstr(out, h);
    } else if ((d->flags & F_MULTIARG) && v[0]) {
        buf_appendstr(out, v);
    } else {
        bool plain = v[0] != '\0';
        for (const char *p = v; *p; p++)
            if (*p <= ' ' || *p == '"' || *p == '\'' || *p == '\\' || (unsigned char)*p >= 127) plain = false;
        if (plain) buf_appendstr(out, v);
        else buf_append_repr(out, v, strlen(v));
    }
    buf_appendc(out, '\n');
}

static bool is_default(directive *d)
{
    if (!d->sval) return true;
    if (d->type == T_MEM) {
        long long a = 0;
        parse_mem(d->def, &a);
        return strtoll(d->sval, NULL, 10) == a;
    }
    return strcmp(d->sval, d->def) == 0;
}

/* CONFIG REWRITE: rewrite the config file in place, keeping comments,
 * blank lines, unknown lines (include, rename-command) and order; the
 * first line of each directive gets its current value, later lines of the
 * same directive are dropped, and directives that differ from their
 * defaults but have no line are appended. Written to a temporary file,
 * fsynced and renamed over the old one. */
int config_rewrite(char *errbuf, size_t errlen)
{
    if (!cfg.config_file) {
        snprintf(errbuf, errlen, "The server is running without a config file");
        return -1;
    }
    FILE *f = fopen(cfg.config_file, "r");
    if (!f && errno != ENOENT) {
        snprintf(errbuf, errlen, "Rewriting config file: %s", strerror(errno));
        return -1;
    }
    buf out;
    buf_init_static(&out, NULL, 0);
    bool *done = calloc(NDIRS, sizeof(bool));
    pthread_mutex_lock(&cfg_mu);
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        buf scratch;
        buf_init_static(&scratch, NULL, 0);
        sv *argv = NULL;
        int argcap = 0;
        while ((n = getline(&line, &cap, f)) >= 0) {
            size_t len = (size_t)n;
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            const char *p = line;
            while (*p == ' ' || *p == '\t') p++;
            directive *d = NULL;
            if (*p && *p != '#') {
                scratch.len = 0;
                int argc = text_split(p, len - (size_t)(p - line), &scratch, &argv, &argcap);
                if (argc > 0) d = find_dir_sv(argv[0]);
            }
            if (d) {
                size_t i = (size_t)(d - dirs);
                if (!done[i]) {
                    rewrite_line(&out, d);
                    done[i] = true;
                }
                continue; /* later lines of a directive collapse into the first */
            }
            buf_append(&out, line, len);
            buf_appendc(&out, '\n');
        }
        free(line);
        free(argv);
        buf_free(&scratch);
        fclose(f);
    }
    bool header = false;
    for (size_t i = 0; i < NDIRS; i++) {
        if (done[i] || is_default(&dirs[i])) continue;
        if ((dirs[i].flags & F_DIR) && strcmp(dirs[i].sval, ".") == 0) continue;
        if (!header) {
            if (out.len && out.p[out.len - 1] != '\n') buf_appendc(&out, '\n');
            buf_appendstr(&out, "# Generated by CONFIG REWRITE\n");
            header = true;
        }
        rewrite_line(&out, &dirs[i]);
    }
    pthread_mutex_unlock(&cfg_mu);
    free(done);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", cfg.config_file, (int)getpid());
    int rc = 0;
    FILE *w = fopen(tmp, "w");
    if (!w || fwrite(out.p ? out.p : "", 1, out.len, w) != out.len || fflush(w) != 0 || fsync(fileno(w)) != 0) {
        snprintf(errbuf, errlen, "Rewriting config file: %s", strerror(errno));
        rc = -1;
    }
    if (w && fclose(w) != 0 && rc == 0) {
        snprintf(errbuf, errlen, "Rewriting config file: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        struct stat st;
        if (stat(cfg.config_file, &st) == 0) chmod(tmp, st.st_mode & 07777);
        if (rename(tmp, cfg.config_file) != 0) {
            snprintf(errbuf, errlen, "Rewriting config file: %s", strerror(errno));
            rc = -1;
        }
    }
    if (rc != 0) unlink(tmp);
    buf_free(&out);
    if (rc == 0) log_notice("CONFIG REWRITE executed with success");
    return rc;
}

/* CONFIG SET name value [name value ...]: all or nothing. Every name is
 * checked first (unknown, immutable, protected, duplicate), then every
 * value is applied; if one fails, those already applied are put back. */
void config_set_command(client *c);
void config_set_command(client *c)
{
    if (c->argc < 4) {
        reply_err_arity(c, "config|set");
        return;
    }
    if ((c->argc - 2) % 2) {
        reply_err_syntax(c);
        return;
    }
    int npairs = (c->argc - 2) / 2;
    directive **ds = calloc((size_t)npairs, sizeof *ds);
    char err[300];
    const char *why = NULL;
    int bad = -1;
    for (int i = 0; i < npairs; i++) {
        sv k = c->argv[2 + 2 * i];
        ds[i] = find_dir_sv(k);
        if (!ds[i]) {
            reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'", (int)k.n, k.p);
            free(ds);
            return;
        }
        const char *r = runtime_refusal(ds[i], c);
        if (r && !why) {
            why = r;
            bad = i;
        }
        for (int j = 0; j < i && !why; j++) {
            if (ds[j] == ds[i]) {
                why = "duplicate parameter";
                bad = i;
            }
        }
    }
    for (int i = 0; i < npairs && !why; i++) {
        char *val = kvd_strndup(c->argv[3 + 2 * i].p, c->argv[3 + 2 * i].n);
        if (!(ds[i]->flags & F_DIR) && dir_set(ds[i], val, false, err, sizeof err) != 0) {
            why = err;
            bad = i;
        }
        free(val);
    }
    if (why) {
        sv k = c->argv[2 + 2 * bad];
        reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s", (int)k.n, k.p, why);
        free(ds);
        return;
    }
    /* apply, remembering old values to roll back */
    char **old = calloc((size_t)npairs, sizeof(char *));
    for (int i = 0; i < npairs; i++) {
        pthread_mutex_lock(&cfg_mu);
        old[i] = strdup(ds[i]->sval ? ds[i]->sval : "");
        pthread_mutex_unlock(&cfg_mu);
        char cwd[4096];
        if ((ds[i]->flags & F_DIR) && getcwd(cwd, sizeof cwd)) {
            free(old[i]);
            old[i] = strdup(cwd);
        }
        char *val = kvd_strndup(c->argv[3 + 2 * i].p, c->argv[3 + 2 * i].n);
        int r = dir_set(ds[i], val, true, err, sizeof err);
        free(val);
        if (r != 0) {
            for (int j = i - 1; j >= 0; j--) {
                char e2[256];
                dir_set(ds[j], old[j], true, e2, sizeof e2);
            }
            sv k = c->argv[2 + 2 * i];
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s", (int)k.n, k.p, err);
            for (int j = 0; j <= i; j++) free(old[j]);
            free(old);
            free(ds);
            return;
        }
    }
    for (int i = 0; i < npairs; i++) {
        run_change_hook(ds[i]->name, old[i]);
        free(old[i]);
    }
    free(old);
    free(ds);
    reply_ok(c);
}

/* ---------------------------------------------------------------- change hooks */

static void changed_logfile(const char *old)
{
    UNUSED(old);
    log_reopen();
}

static void changed_pidfile(const char *old)
{
    if (old && old[0]) unlink(old);
    const char *p = __atomic_load_n(&cfg.pidfile, __ATOMIC_ACQUIRE);
    if (!p || !p[0]) return;
    FILE *f = fopen(p, "w");
    if (!f) {
        log_warning("cannot write pidfile '%s': %s", p, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

/* Every directive name, for tests and documentation checks. */
int config_names(const char ***out)
{
    static const char *names[NDIRS];
    for (size_t i = 0; i < NDIRS; i++) names[i] = dirs[i].name;
    *out = names;
    return (int)NDIRS;
}
