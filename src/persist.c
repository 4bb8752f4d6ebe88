/* persist.c — persistence as the rest of kvd sees it: the cached settings
 * (save rules, appendonly, appendfsync...), the snapshot thread that runs
 * the save rules, SAVE, BGSAVE, BGREWRITEAOF and CONFIG SET appendonly yes,
 * MISCONF refusal of writes after a failed save or AOF write, the INFO
 * persistence section, fault injection for the tests, the start-up load,
 * the final save at shutdown, and `kvd --check-snapshot/--check-aof`. */
#include "kvd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- faults */

static _Atomic long fault_nth[PFAULT_NKINDS], fault_times[PFAULT_NKINDS];

void persist_fault_set(int kind, long nth, long times)
{
    if (kind < 0 || kind >= PFAULT_NKINDS) return;
    atomic_store(&fault_times[kind], nth > 0 ? (times > 0 ? times : 1) : 0);
    atomic_store(&fault_nth[kind], nth > 0 ? nth : 0);
}

/* True when this call of `kind` must fail. */
static bool fault_hit(int kind)
{
    if (atomic_load_explicit(&fault_times[kind], memory_order_relaxed) <= 0) return false;
    long n = atomic_fetch_sub(&fault_nth[kind], 1);
    if (n > 1) return false;
    atomic_store(&fault_nth[kind], 1); /* the following calls fail too, while times last */
    return atomic_fetch_sub(&fault_times[kind], 1) > 0;
}

static _Thread_local size_t partial;

size_t persist_write_partial(void) { return partial; }

int persist_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    partial = 0;
    while (n > 0) {
        if (fault_hit(PFAULT_WRITE)) {
            /* a disk that fills up mid-write: half goes out, then ENOSPC */
            size_t half = n / 2;
            if (half) {
                ssize_t w = write(fd, s, half);
                if (w > 0) partial += (size_t)w;
            }
            errno = ENOSPC;
            return -1;
        }
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
        partial += (size_t)w;
    }
    return 0;
}

int persist_fsync(int fd)
{
    if (fault_hit(PFAULT_FSYNC)) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

int persist_rename(const char *from, const char *to)
{
    if (fault_hit(PFAULT_RENAME)) {
        errno = EIO;
        return -1;
    }
    return rename(from, to);
}

int persist_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* ---------------------------------------------------------------- settings */

#define MAX_RULES 16
static pthread_mutex_t st_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t st_cv = PTHREAD_COND_INITIALIZER;
/* under st_mu */
static struct { long long secs, changes; } rules[MAX_RULES];
static int nrules;
static bool stop_writes_on_err = true;
static long long aof_rewrite_pct = 100, aof_rewrite_min = 64LL << 20;
static bool started, stopping;
static bool req_bgsave, req_save, req_rewrite, req_aof_on;
static int save_waiters;
static uint64_t save_gen;           /* completed snapshots (SAVE waits for the next) */
static bool last_save_ok = true;
static bool in_progress;
static bool in_progress_rewrite;
static int64_t cur_start_ms = -1, last_duration_s = -1, last_try_ms;
static int64_t last_lock_max_us = -1; /* longest shard read lock of the last snapshot (INFO) */
static int64_t last_rewrite_s = -1;
static bool last_rewrite_ok = true;
static uint64_t rdb_saves, aof_rewrites, aof_rewrite_fails;
static uint64_t last_snap_bytes;
static uint64_t load_keys, load_expired;
static int64_t lastsave_s;
static char snap_err[512];

static _Atomic bool misconf_rdb;    /* stop-writes-on-bgsave-error in force */

static void update_misconf_locked(void)
{
    atomic_store(&misconf_rdb, stop_writes_on_err && nrules > 0 && !last_save_ok);
}

static const char *getv(const char *name, buf *t) { return config_get_value(name, t); }

static void read_rules_locked(const char *v)
{
    nrules = 0;
    char *copy = strdup(v ? v : ""), *save = NULL;
    long long vals[2 * MAX_RULES];
    int n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < 2 * MAX_RULES; t = strtok_r(NULL, " ", &save))
        vals[n++] = atoll(t);
    free(copy);
    for (int i = 0; i + 1 < n; i += 2) {
        rules[nrules].secs = vals[i];
        rules[nrules].changes = vals[i + 1];
        nrules++;
    }
}

static bool is_yes(const char *v) { return v && strcmp(v, "yes") == 0; }

int config_apply_hook(const char *name, char *err, size_t errlen)
{
    UNUSED(err);
    UNUSED(errlen);
    buf t;
    char m[256];
    buf_init_static(&t, m, sizeof m);
    if (!strcmp(name, "save")) {
        const char *v = getv("save", &t);
        pthread_mutex_lock(&st_mu);
        read_rules_locked(v);
        update_misconf_locked();
        pthread_mutex_unlock(&st_mu);
    } else if (!strcmp(name, "stop-writes-on-bgsave-error")) {
        bool y = is_yes(getv(name, &t));
        pthread_mutex_lock(&st_mu);
        stop_writes_on_err = y;
        update_misconf_locked();
        pthread_mutex_unlock(&st_mu);
    } else if (!strcmp(name, "appendfsync")) {
        const char *v = getv(name, &t);
        int mode = !strcmp(v, "always") ? 0 : !strcmp(v, "everysec") ? 1 : 2;
        atomic_store(&aof_fsync_mode, mode);
    } else if (!strcmp(name, "auto-aof-rewrite-percentage") || !strcmp(name, "auto-aof-rewrite-min-size")) {
        const char *v = getv(name, &t);
        unsigned long long u = 0;
        util_memtoull(v, &u);
        pthread_mutex_lock(&st_mu);
        if (name[17] == 'p') aof_rewrite_pct = (long long)u;
        else aof_rewrite_min = (long long)u;
        pthread_mutex_unlock(&st_mu);
    } else if (!strcmp(name, "appendonly")) {
        bool y = is_yes(getv(name, &t));
        pthread_mutex_lock(&st_mu);
        bool live = started && !stopping;
        if (live && y && !atomic_load(&aof_on)) {
            req_aof_on = true; /* the snapshot thread starts it from a fresh snapshot */
            pthread_cond_broadcast(&st_cv);
        }
        pthread_mutex_unlock(&st_mu);
        if (live && !y) aof_stop();
    }
    buf_free(&t);
    return 0;
}

static void load_settings(void)
{
    static const char *names[] = {"save", "stop-writes-on-bgsave-error", "appendfsync",
                                  "auto-aof-rewrite-percentage", "auto-aof-rewrite-min-size"};
    char e[64];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) config_apply_hook(names[i], e, sizeof e);
    buf t;
    char m[1100];
    buf_init_static(&t, m, sizeof m);
    const char *d = getv("appenddirname", &t);
    char dn[1024];
    snprintf(dn, sizeof dn, "%s", d ? d : "appendonlydir");
    const char *f = getv("appendfilename", &t);
    aof_set_names(dn, f ? f : "appendonly.aof");
    buf_free(&t);
}

static bool appendonly_configured(void)
{
    buf t;
    char m[16];
    buf_init_static(&t, m, sizeof m);
    bool y = is_yes(getv("appendonly", &t));
    buf_free(&t);
    return y;
}

/* ---------------------------------------------------------------- MISCONF */

static const char *MISCONF_RDB =
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    "Commands that may modify the data set are disabled, because this instance is configured to report "
    "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the "
    "Redis logs for details about the RDB error.";

bool persist_write_allowed(client *c, command *cmd, bool writes, char *err, size_t errlen)
{
    UNUSED(c);
    if (atomic_load_explicit(&aof_on, memory_order_relaxed)) {
        /* whole-database writes never overlap a snapshot (see aof.c) */
        if ((cmd->flags & CMD_WRITE) && (cmd->flags & CMD_NOLOCK) && cmd->firstkey == 0) {
            pthread_mutex_lock(&st_mu);
            while (in_progress) pthread_cond_wait(&st_cv, &st_mu);
            pthread_mutex_unlock(&st_mu);
        }
    }
    bool rdb = atomic_load_explicit(&misconf_rdb, memory_order_relaxed);
    bool aof = atomic_load_explicit(&aof_write_failing, memory_order_relaxed) &&
               atomic_load_explicit(&aof_on, memory_order_relaxed);
    if (!rdb && !aof) return true;
    if (!writes && strcmp(cmd->name, "ping") != 0) return true;
    if (rdb) snprintf(err, errlen, "%s", MISCONF_RDB);
    else snprintf(err, errlen, "MISCONF Errors writing to the AOF file: %s", strerror(atomic_load(&aof_last_errno)));
    return false;
}

/* ---------------------------------------------------------------- snapshots */

static const char *snap_path(buf *t)
{
    const char *v = getv("dbfilename", t);
    return v && v[0] ? v : "kvd.snap";
}

/* One snapshot, start to end, in the calling thread (the snapshot thread,
 * or shutdown). rewrite: counted as an AOF rewrite too. Returns 0 or -1. */
static int do_snapshot(bool rewrite, const char *why)
{
    pthread_mutex_lock(&st_mu);
    in_progress = true;
    in_progress_rewrite = rewrite;
    cur_start_ms = util_mstime();
    last_try_ms = cur_start_ms;
    uint64_t dirty0 = atomic_load(&server.stat_dirty);
    pthread_mutex_unlock(&st_mu);
    log_notice("%s: saving the snapshot", why);

    buf t;
    char m[1100];
    buf_init_static(&t, m, sizeof m);
    const char *path = snap_path(&t);
    char err[512] = "";
    int rc = -1;
    snap_info si;
    memset(&si, 0, sizeof si);
    int64_t t0 = util_monotonic_us();
    for (int attempt = 0; attempt < 4; attempt++) {
        bool aof = atomic_load(&aof_on);
        uint64_t seq = 0;
        if (aof) {
            seq = aof_roll_begin(err, sizeof err);
            if (!seq) break;
        }
        rc = snapshot_write(path, seq, aof ? &whole_epoch : NULL, &si, err, sizeof err);
        if (rc == 0) {
            aof_roll_complete(seq, si.created_ms);
            break;
        }
        if (errno != EAGAIN) break;
        log_notice("snapshot: %s, starting over", err);
    }
    int64_t dt = util_monotonic_us() - t0;

    pthread_mutex_lock(&st_mu);
    in_progress = false;
    in_progress_rewrite = false;
    cur_start_ms = -1;
    last_duration_s = dt / 1000000;
    if (rc == 0) {
        last_save_ok = true;
        lastsave_s = util_mstime() / 1000;
        rdb_saves++;
        last_snap_bytes = si.bytes;
        last_lock_max_us = si.max_hold_us;
        atomic_fetch_sub(&server.stat_dirty, dirty0 <= atomic_load(&server.stat_dirty) ? dirty0 : 0);
        if (rewrite) {
            aof_rewrites++;
            last_rewrite_ok = true;
            last_rewrite_s = dt / 1000000;
        }
        snap_err[0] = '\0';
    } else {
        last_save_ok = false;
        if (rewrite) {
            last_rewrite_ok = false;
            aof_rewrite_fails++;
        }
        snprintf(snap_err, sizeof snap_err, "%s", err);
    }
    update_misconf_locked();
    save_gen++;
    pthread_cond_broadcast(&st_cv);
    pthread_mutex_unlock(&st_mu);
    if (rc == 0)
        log_notice("snapshot saved to '%s': %llu keys, %llu bytes in %.3f seconds (longest shard lock %.2f ms)",
                   path, (unsigned long long)si.keys, (unsigned long long)si.bytes, (double)dt / 1e6,
                   (double)si.max_hold_us / 1e3);
    else
        log_warning("snapshot failed, keeping the previous file: %s", err);
    snap_info_free(&si);
    buf_free(&t);
    return rc;
}

/* CONFIG SET appendonly yes: log into a new segment from now, take a
 * snapshot that covers everything before, then publish the manifest. */
static void enable_aof(void)
{
    char err[512];
    if (aof_begin(false, 0, false, err, sizeof err) != 0) {
        log_warning("cannot turn on the AOF: %s", err);
        return;
    }
    uint64_t seq = aof_current_seq();
    pthread_mutex_lock(&st_mu);
    in_progress = true;
    in_progress_rewrite = true;
    cur_start_ms = util_mstime();
    pthread_mutex_unlock(&st_mu);
    buf t;
    char m[1100];
    buf_init_static(&t, m, sizeof m);
    snap_info si;
    int rc = -1;
    for (int attempt = 0; attempt < 4 && rc != 0; attempt++) {
        rc = snapshot_write(snap_path(&t), seq, &whole_epoch, &si, err, sizeof err);
        if (rc != 0 && errno != EAGAIN) break;
    }
    if (rc == 0 && aof_publish(seq, si.created_ms, err, sizeof err) != 0) rc = -1;
    pthread_mutex_lock(&st_mu);
    in_progress = false;
    in_progress_rewrite = false;
    cur_start_ms = -1;
    if (rc == 0) {
        aof_rewrites++;
        last_rewrite_ok = true;
        last_save_ok = true;
        lastsave_s = util_mstime() / 1000;
        last_snap_bytes = si.bytes;
    } else {
        last_rewrite_ok = false;
        aof_rewrite_fails++;
    }
    update_misconf_locked();
    save_gen++;
    pthread_cond_broadcast(&st_cv);
    pthread_mutex_unlock(&st_mu);
    if (rc == 0) {
        log_notice("the AOF is on (segment %llu, on top of a fresh snapshot)", (unsigned long long)seq);
        snap_info_free(&si);
    } else {
        log_warning("cannot turn on the AOF: %s", err);
        aof_stop();
    }
    buf_free(&t);
}

static pthread_t snap_tid;
static _Atomic bool snap_running; /* read by SAVE on connection threads */

/* Whether a save rule or the AOF size asks for a snapshot now. st_mu held. */
static const char *cron_due(void)
{
    int64_t now = util_mstime();
    if (!last_save_ok && now - last_try_ms < 5000) return NULL; /* Redis's retry delay */
    uint64_t dirty = atomic_load(&server.stat_dirty);
    for (int i = 0; i < nrules; i++)
        if ((long long)dirty >= rules[i].changes && dirty > 0 && now / 1000 - lastsave_s >= rules[i].secs)
            return "save rule";
    if (atomic_load(&aof_on) && aof_rewrite_pct > 0) {
        uint64_t sz = atomic_load(&aof_bytes_since_base);
        uint64_t base = last_snap_bytes ? last_snap_bytes : 1;
        if ((long long)sz >= aof_rewrite_min && sz * 100 >= base * (uint64_t)aof_rewrite_pct)
            return "automatic AOF rewrite";
    }
    return NULL;
}

static void *snap_main(void *arg)
{
    UNUSED(arg);
    pthread_mutex_lock(&st_mu);
    while (!stopping) {
        const char *why = NULL;
        bool rewrite = false, aofon = false;
        if (req_aof_on) {
            req_aof_on = false;
            aofon = !atomic_load(&aof_on);
        } else if (req_bgsave || req_save) {
            why = req_save ? "SAVE" : "BGSAVE";
            req_bgsave = req_save = false;
        } else if (req_rewrite) {
            why = "BGREWRITEAOF";
            rewrite = true;
            req_rewrite = false;
        } else {
            why = cron_due();
        }
        if (aofon || why) {
            pthread_mutex_unlock(&st_mu);
            if (aofon) enable_aof();
            else do_snapshot(rewrite || atomic_load(&aof_on), why);
            pthread_mutex_lock(&st_mu);
            continue;
        }
        struct timespec ts = util_deadline(100000);
        pthread_cond_timedwait(&st_cv, &st_mu, &ts);
    }
    pthread_mutex_unlock(&st_mu);
    return NULL;
}

/* ---------------------------------------------------------------- commands */

static void save_command(client *c)
{
    pthread_mutex_lock(&st_mu);
    if (in_progress || req_bgsave) {
        pthread_mutex_unlock(&st_mu);
        reply_error(c, "ERR Background save already in progress");
        return;
    }
    if (!snap_running) {
        /* not started (tests): save in this thread */
        pthread_mutex_unlock(&st_mu);
        if (do_snapshot(false, "SAVE") == 0) reply_ok(c);
        else reply_error(c, "ERR");
        return;
    }
    uint64_t gen = save_gen;
    save_waiters++;
    req_save = true;
    pthread_cond_broadcast(&st_cv);
    while (save_gen == gen && !stopping) pthread_cond_wait(&st_cv, &st_mu);
    save_waiters--;
    bool ok = last_save_ok && save_gen != gen;
    pthread_mutex_unlock(&st_mu);
    if (ok) reply_ok(c);
    else reply_error(c, "ERR");
}

static void bgsave_command(client *c)
{
    bool schedule = false;
    if (c->argc == 2 && sv_eqci(c->argv[1], "schedule")) schedule = true;
    else if (c->argc > 1) {
        reply_err_syntax(c);
        return;
    }
    pthread_mutex_lock(&st_mu);
    if (in_progress || req_bgsave) {
        if (schedule) {
            req_bgsave = true;
            pthread_mutex_unlock(&st_mu);
            reply_status(c, "Background saving scheduled");
            return;
        }
        pthread_mutex_unlock(&st_mu);
        reply_error(c, "ERR Background save already in progress");
        return;
    }
    req_bgsave = true;
    pthread_cond_broadcast(&st_cv);
    pthread_mutex_unlock(&st_mu);
    reply_status(c, "Background saving started");
}

static void bgrewriteaof_command(client *c)
{
    pthread_mutex_lock(&st_mu);
    bool busy = in_progress || req_bgsave;
    req_rewrite = true;
    pthread_cond_broadcast(&st_cv);
    pthread_mutex_unlock(&st_mu);
    reply_status(c, busy ? "Background append only file rewriting scheduled"
                         : "Background append only file rewriting started");
}

static void lastsave_command(client *c)
{
    pthread_mutex_lock(&st_mu);
    long long v = lastsave_s;
    pthread_mutex_unlock(&st_mu);
    reply_int(c, v);
}

/* PERSIST-FAULT WRITE|FSYNC|RENAME <nth> [times] | OFF — kvd: makes the nth
 * following call fail (tests of disk-full and I/O errors). Needs
 * enable-debug-command, as DEBUG. */
static void persist_fault_command(client *c)
{
    buf t;
    char m[32];
    buf_init_static(&t, m, sizeof m);
    const char *v = getv("enable-debug-command", &t);
    bool ok = v && (!strcmp(v, "yes") || (!strcmp(v, "local") && (!strncmp(c->addr, "127.", 4) ||
                                                                    !strncmp(c->addr, "[::1]", 5))));
    buf_free(&t);
    if (!ok) {
        reply_error(c, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
                       "you can run it from a local connection, otherwise you need to set this option in the "
                       "configuration file, and then restart the server.");
        return;
    }
    if (c->argc == 2 && sv_eqci(c->argv[1], "off")) {
        for (int k = 0; k < PFAULT_NKINDS; k++) persist_fault_set(k, 0, 0);
        reply_ok(c);
        return;
    }
    int kind = -1;
    if (c->argc >= 3) {
        if (sv_eqci(c->argv[1], "write")) kind = PFAULT_WRITE;
        else if (sv_eqci(c->argv[1], "fsync")) kind = PFAULT_FSYNC;
        else if (sv_eqci(c->argv[1], "rename")) kind = PFAULT_RENAME;
    }
    long long nth = 0, times = 1;
    if (kind < 0 || c->argc > 4 || !util_str2ll(c->argv[2].p, c->argv[2].n, &nth) ||
        (c->argc == 4 && !util_str2ll(c->argv[3].p, c->argv[3].n, &times))) {
        reply_err_syntax(c);
        return;
    }
    persist_fault_set(kind, (long)nth, (long)times);
    reply_ok(c);
}

command cmds_persist[] = {
    {"save", save_command, 1, CMD_ADMIN | CMD_NO_ASYNC_LOADING | CMD_NOLOCK | CMD_NOSCRIPT | CMD_NOMULTI, 0, 0, 0, NULL, "server", "Synchronously saves the database(s) to disk.", "1.0.0", 0, 0, 0, 0},
    {"bgsave", bgsave_command, -1, CMD_ADMIN | CMD_NO_ASYNC_LOADING | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "server", "Asynchronously saves the database(s) to disk.", "1.0.0", 0, 0, 0, 0},
    {"bgrewriteaof", bgrewriteaof_command, 1, CMD_ADMIN | CMD_NO_ASYNC_LOADING | CMD_NOLOCK | CMD_NOSCRIPT, 0, 0, 0, NULL, "server", "Asynchronously rewrites the append-only file to disk.", "1.0.0", 0, 0, 0, 0},
    {"lastsave", lastsave_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Returns the Unix timestamp of the last successful save to disk.", "1.0.0", 0, 0, 0, 0},
    {"persist-fault", persist_fault_command, -2, CMD_ADMIN | CMD_NOLOCK | CMD_LOADING, 0, 0, 0, NULL, "server", "kvd: make the nth persistence write, fsync or rename fail (tests).", "0.1.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* ---------------------------------------------------------------- INFO */

void info_persistence(buf *b)
{
    pthread_mutex_lock(&st_mu);
    int64_t now = util_mstime();
    bool inprog = in_progress;
    long long cur = inprog && cur_start_ms >= 0 ? (now - cur_start_ms) / 1000 : -1;
    buf_printf(b,
               "loading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
               "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:%llu\r\n"
               "current_save_keys_total:0\r\nrdb_changes_since_last_save:%llu\r\n"
               "rdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\n"
               "rdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%llu\r\n"
               "rdb_last_cow_size:0\r\nrdb_last_load_keys_expired:%llu\r\nrdb_last_load_keys_loaded:%llu\r\n"
               "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\naof_rewrite_scheduled:%d\r\n"
               "aof_last_rewrite_time_sec:%lld\r\naof_current_rewrite_time_sec:%lld\r\n"
               "aof_last_bgrewrite_status:%s\r\naof_rewrites:%llu\r\naof_rewrites_consecutive_failures:%llu\r\n"
               "aof_last_write_status:%s\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n"
               "module_fork_last_cow_size:0\r\nsnapshot_last_lock_max_ms:%.2f\r\n",
               atomic_load(&server.loading) ? 1 : 0,
               inprog ? (unsigned long long)atomic_load(&snap_keys_done) : 0ULL,
               (unsigned long long)atomic_load(&server.stat_dirty), inprog ? 1 : 0, (long long)lastsave_s,
               last_save_ok ? "ok" : "err", (long long)last_duration_s, cur, (unsigned long long)rdb_saves,
               (unsigned long long)load_expired, (unsigned long long)load_keys, atomic_load(&aof_on) ? 1 : 0,
               inprog && in_progress_rewrite ? 1 : 0, req_rewrite ? 1 : 0, (long long)last_rewrite_s,
               inprog && in_progress_rewrite ? cur : -1, last_rewrite_ok ? "ok" : "err",
               (unsigned long long)aof_rewrites, (unsigned long long)(last_rewrite_ok ? 0 : aof_rewrite_fails),
               atomic_load(&aof_write_failing) ? "err" : "ok",
               last_lock_max_us < 0 ? -1.0 : (double)last_lock_max_us / 1e3);
    if (atomic_load(&aof_on))
        buf_printf(b,
                   "aof_current_size:%llu\r\naof_base_size:%llu\r\naof_pending_rewrite:0\r\n"
                   "aof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                   (unsigned long long)atomic_load(&aof_bytes_since_base), (unsigned long long)last_snap_bytes);
    pthread_mutex_unlock(&st_mu);
}

/* ---------------------------------------------------------------- life cycle */

static void sweep_expired(void)
{
    int64_t now = util_mstime();
    uint64_t total = 0;
    for (int d = 0; d < cfg.databases; d++)
        for (int s = 0; s < cfg.shards; s++) {
            shard *x = &server_dbs[d].shards[s];
            long n = 0;
            shard_wrlock(x);
            expire_reap_shard(x, now, 1L << 62, &n);
            shard_unlock(x);
            total += (uint64_t)n;
        }
    if (total) log_notice("dropped %llu keys that expired before the restart", (unsigned long long)total);
    load_expired += total;
}

/* The snapshot's hash key is NOT adopted: the keyed hash's seed stays
 * random per process (hash-flooding resistance, issue 7), so a restart
 * reloads through the general path; the same-layout fast path applies only
 * when the key matches (a DEBUG RELOAD-style reload in one process). */
void persist_preload(void)
{
}

int persist_load(char *err, size_t errlen)
{
    load_settings();
    bool aof = appendonly_configured();
    buf t;
    char m[1100];
    buf_init_static(&t, m, sizeof m);
    char path[1100];
    snprintf(path, sizeof path, "%s", snap_path(&t));
    buf_free(&t);
    snap_info si;
    int64_t t0 = util_monotonic_us();
    int r = snapshot_read(path, aof ? SNAP_LOAD_KEEP_EXPIRED : SNAP_LOAD, &si, err, errlen);
    if (r < 0) return -1;
    bool loaded = r == 0;
    if (loaded) {
        load_keys = si.keys;
        load_expired = aof ? 0 : si.expired;
        lastsave_s = si.created_ms / 1000;
        last_snap_bytes = si.bytes;
        log_notice("DB loaded from disk: %.3f seconds, %llu keys from '%s'%s",
                   (double)(util_monotonic_us() - t0) / 1e6, (unsigned long long)si.keys, path,
                   si.expired && !aof ? " (expired ones dropped)" : "");
    } else {
        lastsave_s = util_mstime() / 1000;
    }
    uint64_t max_lsn = 0;
    if (loaded) {
        max_lsn = si.lsn_start;
        for (size_t i = 0; i < (size_t)si.dbs * si.shards; i++)
            if (si.marks[i] > max_lsn) max_lsn = si.marks[i];
    }
    if (aof) {
        if (aof_replay(loaded ? &si : NULL, &max_lsn, err, errlen) != 0) {
            if (loaded) snap_info_free(&si);
            return -1;
        }
        sweep_expired();
        aof_set_lsn(max_lsn);
        if (aof_begin(true, loaded ? si.created_ms : 0, true, err, errlen) != 0) {
            if (loaded) snap_info_free(&si);
            return -1;
        }
    }
    if (loaded) snap_info_free(&si);
    atomic_store(&server.stat_dirty, 0);
    return 0;
}

int persist_start(void)
{
    pthread_mutex_lock(&st_mu);
    started = true;
    pthread_mutex_unlock(&st_mu);
    if (aof_thread_start() != 0) return -1;
    if (pthread_create(&snap_tid, NULL, snap_main, NULL) != 0) return -1;
    snap_running = true;
    return 0;
}

void persist_shutdown(int flags)
{
    pthread_mutex_lock(&st_mu);
    stopping = true;
    pthread_cond_broadcast(&st_cv);
    bool rules_set = nrules > 0;
    pthread_mutex_unlock(&st_mu);
    if (snap_running) {
        pthread_join(snap_tid, NULL);
        snap_running = false;
    }
    if (!(flags & SHUTDOWN_NOSAVE) && (rules_set || (flags & SHUTDOWN_SAVE))) {
        log_notice("saving the final snapshot before exiting");
        if (do_snapshot(atomic_load(&aof_on), "shutdown") != 0) log_warning("error trying to save the DB");
    }
    aof_shutdown();
}

int persist_cli(int argc, char **argv)
{
    if (argc < 2) return -1;
    if (!strcmp(argv[1], "--check-snapshot")) {
        if (argc != 3) {
            fprintf(stderr, "usage: kvd --check-snapshot FILE\n");
            return 2;
        }
        snap_info si;
        char err[1024];
        int r = snapshot_read(argv[2], SNAP_CHECK, &si, err, sizeof err);
        if (r == 1) {
            printf("snapshot '%s': no such file\n", argv[2]);
            return 2;
        }
        if (r < 0) {
            printf("%s\nsnapshot '%s': damaged\n", err, argv[2]);
            return 1;
        }
        time_t ct = (time_t)(si.created_ms / 1000);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&ct));
        printf("snapshot '%s': format version %d, written %s, %u databases x %u shards, "
               "AOF segment %llu, LSN %llu\n",
               argv[2], (int)si.version, when, si.dbs, si.shards, (unsigned long long)si.aof_seq,
               (unsigned long long)si.lsn_start);
        printf("snapshot '%s': %llu keys (%llu already expired), %llu bytes, checksums ok: valid\n", argv[2],
               (unsigned long long)si.keys, (unsigned long long)si.expired, (unsigned long long)si.bytes);
        snap_info_free(&si);
        return 0;
    }
    if (!strcmp(argv[1], "--check-aof")) {
        bool fix = false;
        const char *file = NULL;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--fix")) fix = true;
            else if (!file) file = argv[i];
            else file = NULL, i = argc;
        }
        if (!file) {
            fprintf(stderr, "usage: kvd --check-aof FILE [--fix]\n");
            return 2;
        }
        cmd_init(); /* records name commands: check them against the table */
        return aof_check_cli(file, fix);
    }
    return -1;
}
