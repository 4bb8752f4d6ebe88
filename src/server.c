/* server.c — process-wide state, statistics and the INFO report, with
 * Redis's section and field names (monitoring tools parse them). */
#include "kvd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

server_state server;

void server_request_shutdown(int flags)
{
    atomic_store(&server.shutdown_flags, flags);
    kill(getpid(), SIGTERM);
}

size_t server_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, rss = 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
    fclose(f);
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

#ifdef HAVE_JEMALLOC
static size_t je_stat(const char *name)
{
    uint64_t epoch = 1;
    size_t sz = sizeof epoch;
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    size_t v = 0;
    sz = sizeof v;
    if (mallctl(name, &v, &sz, NULL, 0) != 0) return 0;
    return v;
}
#endif

size_t server_mem_allocated(void)
{
#ifdef HAVE_JEMALLOC
    return je_stat("stats.allocated");
#else
    struct mallinfo2 mi = mallinfo2();
    size_t n = mi.uordblks + mi.hblkhd;
    /* sanitizer allocators do not fill mallinfo: report the RSS instead */
    return n ? n : server_rss();
#endif
}

static void human(char *out, size_t n, double v)
{
    const char *u = "B";
    if (v >= 1024.0 * 1024 * 1024 * 1024) {
        v /= 1024.0 * 1024 * 1024 * 1024;
        u = "T";
    } else if (v >= 1024.0 * 1024 * 1024) {
        v /= 1024.0 * 1024 * 1024;
        u = "G";
    } else if (v >= 1024.0 * 1024) {
        v /= 1024.0 * 1024;
        u = "M";
    } else if (v >= 1024.0) {
        v /= 1024.0;
        u = "K";
    }
    snprintf(out, n, "%.2f%s", v, u);
}

static _Atomic size_t peak_mem;

/* ---------------------------------------------------------------- errorstats */

/* Error replies counted by their first word ("ERR", "WRONGTYPE"), as
 * Redis's errorstats. A fixed table: slots are claimed under errstat_mu
 * and published with a release store of errstat_n, so the common case (a
 * known code) is a lock-free scan and one atomic add. Like Redis, at most
 * 128 distinct codes are tracked. */
#define ERRSTAT_MAX 128
static struct {
    char code[32];
    _Atomic uint64_t count;
} errstat[ERRSTAT_MAX];
static _Atomic int errstat_n;
static pthread_mutex_t errstat_mu = PTHREAD_MUTEX_INITIALIZER;

void server_stat_error(const char *msg)
{
    atomic_fetch_add_explicit(&server.stat_total_errors, 1, memory_order_relaxed);
    size_t n = strcspn(msg, " \r\n");
    if (n == 0 || n >= sizeof errstat[0].code) return;
    int k = atomic_load_explicit(&errstat_n, memory_order_acquire);
    for (int i = 0; i < k; i++) {
        if (strncmp(errstat[i].code, msg, n) == 0 && errstat[i].code[n] == '\0') {
            atomic_fetch_add_explicit(&errstat[i].count, 1, memory_order_relaxed);
            return;
        }
    }
    pthread_mutex_lock(&errstat_mu);
    k = atomic_load_explicit(&errstat_n, memory_order_relaxed);
    int i;
    for (i = 0; i < k; i++)
        if (strncmp(errstat[i].code, msg, n) == 0 && errstat[i].code[n] == '\0') break;
    if (i == k && k < ERRSTAT_MAX) {
        memcpy(errstat[k].code, msg, n);
        errstat[k].code[n] = '\0';
        atomic_store_explicit(&errstat[k].count, 0, memory_order_relaxed);
        atomic_store_explicit(&errstat_n, k + 1, memory_order_release);
    }
    if (i < ERRSTAT_MAX) atomic_fetch_add_explicit(&errstat[i].count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&errstat_mu);
}

static int cmp_code(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void info_errorstats(buf *b)
{
    int k = atomic_load_explicit(&errstat_n, memory_order_acquire);
    int order[ERRSTAT_MAX];
    const char *codes[ERRSTAT_MAX];
    for (int i = 0; i < k; i++) codes[i] = errstat[i].code;
    qsort(codes, (size_t)k, sizeof codes[0], cmp_code);
    for (int i = 0; i < k; i++) order[i] = (int)((codes[i] - errstat[0].code) / (long)sizeof errstat[0]);
    for (int i = 0; i < k; i++) {
        uint64_t v = atomic_load_explicit(&errstat[order[i]].count, memory_order_relaxed);
        if (v) buf_printf(b, "errorstat_%s:count=%llu\r\n", errstat[order[i]].code, (unsigned long long)v);
    }
}

/* CONFIG RESETSTAT: the counters INFO stats, commandstats and errorstats
 * show go back to zero. */
void cmd_reset_stats(void);
void server_reset_stats(void)
{
    atomic_store(&server.stat_commands, 0);
    atomic_store(&server.stat_connections, 0);
    atomic_store(&server.stat_expired, 0);
    atomic_store(&server.stat_expire_cap_reached, 0);
    atomic_store(&server.stat_keyspace_hits, 0);
    atomic_store(&server.stat_keyspace_misses, 0);
    atomic_store(&server.stat_net_in, 0);
    atomic_store(&server.stat_net_out, 0);
    atomic_store(&server.stat_total_errors, 0);
    atomic_store(&server.stat_handoffs, 0);
    atomic_store(&stat_rejected_conn, 0);
    atomic_store(&peak_mem, server_mem_allocated());
    int k = atomic_load_explicit(&errstat_n, memory_order_acquire);
    for (int i = 0; i < k; i++) atomic_store_explicit(&errstat[i].count, 0, memory_order_relaxed);
    cmd_reset_stats();
}

static bool want(sv *secs, int n, const char *name, bool dflt)
{
    if (n == 0) return dflt;
    for (int i = 0; i < n; i++) {
        if (sv_eqci(secs[i], name)) return true;
        if (sv_eqci(secs[i], "all")) return true; /* all but module-made sections: kvd has none */
        if (sv_eqci(secs[i], "everything")) return true;
        if (sv_eqci(secs[i], "default") && dflt) return true;
    }
    return false;
}

/* Hooks that later subsystems fill in (persistence, pub/sub...). */
void info_persistence(buf *b);
__attribute__((weak)) void info_persistence(buf *b)
{
    buf_printf(b,
               "loading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
               "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n"
               "current_save_keys_total:0\r\nrdb_changes_since_last_save:%llu\r\n"
               "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\nrdb_last_bgsave_status:ok\r\n"
               "rdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\n"
               "rdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\n"
               "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
               "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
               "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\n"
               "aof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n"
               "module_fork_last_cow_size:0\r\nsnapshot_last_lock_max_ms:-1.00\r\n",
               atomic_load(&server.loading) ? 1 : 0, (unsigned long long)atomic_load(&server.stat_dirty),
               (long long)(server.start_ms / 1000));
}

long info_blocked_clients(void);
__attribute__((weak)) long info_blocked_clients(void) { return 0; }
long info_timed_clients(void);
__attribute__((weak)) long info_timed_clients(void) { return 0; }

static void cmdstat(command *cmd, void *ctx)
{
    buf *b = ctx;
    for (size_t i = 0; cmd->substats && cmd->subs[i].name; i++) cmdstat(&cmd->substats[i], ctx);
    uint64_t calls = atomic_load(&cmd->calls), usec = atomic_load(&cmd->usec);
    uint64_t rej = atomic_load(&cmd->rejected), fail = atomic_load(&cmd->failed);
    if (!calls && !rej && !fail) return;
    buf_printf(b, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
               cmd->name, (unsigned long long)calls, (unsigned long long)usec,
               calls ? (double)usec / (double)calls : 0.0, (unsigned long long)rej, (unsigned long long)fail);
}

void server_info(client *c, sv *secs, int n)
{
    buf b;
    buf_init_static(&b, NULL, 0);
    int64_t now = util_mstime();
    bool first = true;
#define SECTION(name) do { if (!first) buf_appendstr(&b, "\r\n"); first = false; buf_appendstr(&b, "# " name "\r\n"); } while (0)
    if (want(secs, n, "server", true)) {
        struct utsname un;
        uname(&un);
        SECTION("Server");
        buf_printf(&b,
                   "redis_version:%s\r\nkvd_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                   "redis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
                   "monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:thread-per-connection\r\n"
                   "atomicvar_api:c11-builtin\r\ngcc_version:%d.%d.%d\r\nprocess_id:%d\r\n"
                   "process_supervised:%s\r\nrun_id:%s\r\ntcp_port:%d\r\ntext_port:%d\r\n"
                   "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%d\r\n"
                   "configured_hz:%d\r\nlru_clock:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\n"
                   "io_threads_active:0\r\nshards:%d\r\ndatabases:%d\r\n",
                   KVD_REDIS_VERSION, KVD_VERSION, un.sysname, un.release, un.machine, (int)sizeof(long) * 8,
#ifdef __GNUC__
                   __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                   0, 0, 0,
#endif
                   (int)getpid(), supervise_mode_name(), server.runid, cfg.port, cfg.text_port, (long long)util_ustime(),
                   (long long)((now - server.start_ms) / 1000), (long long)((now - server.start_ms) / 86400000),
                   cfg_hz_in_use(), CFG(hz), (long long)((now / 1000) & ((1 << 24) - 1)), server.executable,
                   cfg.config_file ? cfg.config_file : "", cfg.shards, cfg.databases);
    }
    if (want(secs, n, "clients", true)) {
        SECTION("Clients");
        buf_printf(&b,
                   "connected_clients:%d\r\ncluster_connections:0\r\nmaxclients:%d\r\n"
                   "client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\n"
                   "blocked_clients:%ld\r\ntracking_clients:0\r\nclients_in_timeout_table:%ld\r\n",
                   conn_count(), CFG(maxclients), info_blocked_clients(), info_timed_clients());
    }
    if (want(secs, n, "memory", true)) {
        size_t used = server_mem_allocated(), rss = server_rss();
        size_t pk = atomic_load(&peak_mem);
        while (used > pk && !atomic_compare_exchange_weak(&peak_mem, &pk, used)) {}
        if (used > pk) pk = used;
        SECTION("Memory");
        char h1[32], h2[32], h3[32], h4[32], h5[32];
        long long maxmem = CFG(maxmemory);
        human(h1, sizeof h1, (double)used);
        human(h2, sizeof h2, (double)rss);
        human(h3, sizeof h3, (double)pk);
        human(h4, sizeof h4, (double)maxmem);
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        double total = (double)pages * (double)psz;
        human(h5, sizeof h5, total);
        size_t active = used, resident = rss;
#ifdef HAVE_JEMALLOC
        active = je_stat("stats.active");
        resident = je_stat("stats.resident");
        const char *alloc = "jemalloc-" JEMALLOC_VERSION;
#else
        const char *alloc = "libc";
#endif
        buf tmp;
        char tm[64];
        buf_init_static(&tmp, tm, sizeof tm);
        const char *pol = config_get_value("maxmemory-policy", &tmp);
        buf_printf(&b,
                   "used_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\nused_memory_rss_human:%s\r\n"
                   "used_memory_peak:%zu\r\nused_memory_peak_human:%s\r\nused_memory_peak_perc:%.2f%%\r\n"
                   "used_memory_overhead:0\r\nused_memory_startup:0\r\nused_memory_dataset:%zu\r\n"
                   "used_memory_dataset_perc:100.00%%\r\nallocator_allocated:%zu\r\nallocator_active:%zu\r\n"
                   "allocator_resident:%zu\r\ntotal_system_memory:%.0f\r\ntotal_system_memory_human:%s\r\n"
                   "used_memory_lua:31744\r\nused_memory_vm_eval:31744\r\nused_memory_lua_human:31.00K\r\n"
                   "used_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\n"
                   "number_of_libraries:0\r\nused_memory_vm_functions:32768\r\nused_memory_vm_total:64512\r\n"
                   "used_memory_vm_total_human:63.00K\r\nused_memory_functions:184\r\nused_memory_scripts:184\r\n"
                   "used_memory_scripts_human:184B\r\nmaxmemory:%lld\r\nmaxmemory_human:%s\r\n"
                   "maxmemory_policy:%s\r\nallocator_frag_ratio:%.2f\r\nallocator_frag_bytes:%zd\r\n"
                   "allocator_rss_ratio:%.2f\r\nallocator_rss_bytes:%zd\r\nrss_overhead_ratio:1.00\r\n"
                   "rss_overhead_bytes:0\r\nmem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%zd\r\n"
                   "mem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\n"
                   "mem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\n"
                   "mem_allocator:%s\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\n"
                   "lazyfreed_objects:0\r\n",
                   used, h1, rss, h2, pk, h3, pk ? 100.0 * (double)used / (double)pk : 0.0, used, used, active,
                   resident, total, h5, maxmem, h4, pol ? pol : "noeviction",
                   used ? (double)active / (double)used : 0.0, (ssize_t)(active - used),
                   active ? (double)resident / (double)active : 0.0, (ssize_t)(resident - active),
                   used ? (double)rss / (double)used : 0.0, (ssize_t)(rss - used), alloc);
        buf_free(&tmp);
    }
    if (want(secs, n, "persistence", true)) {
        SECTION("Persistence");
        info_persistence(&b);
    }
    if (want(secs, n, "stats", true)) {
        SECTION("Stats");
        /* kvd: expired_stale_perc is measured now, not smoothed: the share
         * of keys with a TTL that are logically expired but not yet
         * reclaimed (expire.c's walk of each shard's due subtree) */
        expstats xs = {0};
        int64_t xnow = util_mstime();
        for (int i = 0; i < cfg.databases; i++)
            for (int j = 0; j < cfg.shards; j++) {
                shard *s = &server_dbs[i].shards[j];
                shard_rdlock(s);
                expire_shard_stats(s, xnow, &xs);
                shard_unlock(s);
            }
        double stale_perc = xs.ttl_keys ? 100.0 * xs.stale / (double)xs.ttl_keys : 0.0;
        long ps_chan, ps_pat, ps_shard;
        pubsub_counts(&ps_chan, &ps_pat, &ps_shard);
        buf_printf(&b,
                   "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                   "instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
                   "total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\n"
                   "instantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\n"
                   "instantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\n"
                   "rejected_connections:%ld\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\n"
                   "expired_keys:%llu\r\nexpired_stale_perc:%.2f\r\nexpired_time_cap_reached_count:%llu\r\n"
                   "expire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\n"
                   "total_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n"
                   "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\npubsub_channels:%ld\r\npubsub_patterns:%ld\r\n"
                   "pubsubshard_channels:%ld\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\n"
                   "slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n"
                   "active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n"
                   "current_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\n"
                   "tracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:%llu\r\n"
                   "dump_payload_sanitizations:0\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\n"
                   "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n"
                   "reply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\nshard_handoffs:%llu\r\n",
                   (unsigned long long)atomic_load(&server.stat_connections),
                   (unsigned long long)atomic_load(&server.stat_commands),
                   (unsigned long long)atomic_load(&server.stat_net_in),
                   (unsigned long long)atomic_load(&server.stat_net_out), atomic_load(&stat_rejected_conn),
                   (unsigned long long)atomic_load(&server.stat_expired),
                   stale_perc,
                   (unsigned long long)atomic_load(&server.stat_expire_cap_reached),
                   (unsigned long long)atomic_load(&server.stat_keyspace_hits),
                   (unsigned long long)atomic_load(&server.stat_keyspace_misses), ps_chan, ps_pat, ps_shard,
                   (unsigned long long)atomic_load(&server.stat_total_errors),
                   (unsigned long long)atomic_load(&server.stat_handoffs));
    }
    if (want(secs, n, "replication", true)) {
        SECTION("Replication");
        buf_printf(&b,
                   "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                   "master_replid:%s\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                   "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
                   "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                   server.runid);
    }
    if (want(secs, n, "cpu", true)) {
        struct rusage self, children;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &children);
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
        SECTION("CPU");
        buf_printf(&b,
                   "used_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
                   "used_cpu_user_children:%.6f\r\nused_cpu_sys_main_thread:%.6f\r\n"
                   "used_cpu_user_main_thread:%.6f\r\n",
                   TV(self.ru_stime), TV(self.ru_utime), TV(children.ru_stime), TV(children.ru_utime),
                   TV(self.ru_stime), TV(self.ru_utime));
    }
    if (want(secs, n, "modules", true)) {
        SECTION("Modules");
    }
    if (want(secs, n, "commandstats", false)) {
        SECTION("Commandstats");
        cmd_foreach(cmdstat, &b);
    }
    if (want(secs, n, "errorstats", true)) {
        SECTION("Errorstats");
        info_errorstats(&b);
    }
    if (want(secs, n, "latencystats", false)) {
        /* per-command latency percentiles are not tracked (yet): the
         * section is there, empty, so parsers see Redis's layout */
        SECTION("Latencystats");
    }
    if (want(secs, n, "cluster", true)) {
        SECTION("Cluster");
        buf_appendstr(&b, "cluster_enabled:0\r\n");
    }
    if (want(secs, n, "keyspace", true)) {
        SECTION("Keyspace");
        int64_t tnow = util_mstime();
        for (int i = 0; i < cfg.databases; i++) {
            uint64_t keys = 0;
            expstats xs = {0};
            for (int j = 0; j < cfg.shards; j++) {
                shard *s = &server_dbs[i].shards[j];
                shard_rdlock(s);
                keys += s->count;
                expire_shard_stats(s, tnow, &xs);
                shard_unlock(s);
            }
            if (!keys) continue;
            /* avg_ttl: mean remaining ms of the keys with a TTL that are
             * still live, exact from each shard's sum of deadlines unless
             * a shard has a large backlog (then sampled); exporters parse
             * this exact line shape */
            long long avg = xs.live >= 1 ? (long long)(xs.live_ttl_sum / xs.live) : 0;
            buf_printf(&b, "db%d:keys=%llu,expires=%llu,avg_ttl=%lld\r\n", i, (unsigned long long)keys,
                       (unsigned long long)xs.ttl_keys, avg < 0 ? 0 : avg);
        }
    }
    reply_verbatim(c, b.p ? b.p : "", b.len, "txt");
    buf_free(&b);
}
