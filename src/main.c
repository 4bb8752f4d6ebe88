/* main.c — start-up and shutdown: arguments, configuration, loading the
 * data, starting the threads (accept, reaper, snapshot), signals, pidfile,
 * daemon mode. The main thread ends up waiting for signals. */
#include "kvd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Persistence hooks; the persistence code provides the real ones. */
int persist_load(char *err, size_t errlen);
__attribute__((weak)) int persist_load(char *err, size_t errlen)
{
    UNUSED(err);
    UNUSED(errlen);
    return 0;
}
/* Before any thread hashes: adopt the snapshot's hash key (snapshot.c). */
void persist_preload(void);
__attribute__((weak)) void persist_preload(void) {}
int persist_start(void);
__attribute__((weak)) int persist_start(void) { return 0; }
void persist_shutdown(int flags);
__attribute__((weak)) void persist_shutdown(int flags) { UNUSED(flags); }
/* Extra command-line modes (--check-snapshot, --check-aof): return -1 when
 * argv is not theirs, else an exit status. */
int persist_cli(int argc, char **argv);
__attribute__((weak)) int persist_cli(int argc, char **argv)
{
    UNUSED(argc);
    UNUSED(argv);
    return -1;
}

static const char *allocator(void)
{
#ifdef HAVE_JEMALLOC
    return "jemalloc-" JEMALLOC_VERSION;
#else
    return "libc";
#endif
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: kvd [/path/to/kvd.conf] [--directive value ...]\n"
            "       kvd --test-config [/path/to/kvd.conf] [--directive value ...]\n"
            "       kvd --check-snapshot FILE\n"
            "       kvd --check-aof FILE [--fix]\n"
            "       kvd -v | --version\n"
            "       kvd -h | --help\n\n"
            "Examples:\n"
            "       kvd                                  (RESP on 127.0.0.1:6379, text on :6380)\n"
            "       kvd /etc/kvd/kvd.conf\n"
            "       kvd --port 7777 --text-port 0\n"
            "       kvd /etc/kvd/kvd.conf --loglevel verbose\n\n"
            "See kvd(8) and kvd.conf(5).\n");
}

/* cfg.pidfile may be changed by CONFIG SET (protected) from another
 * thread: read it atomically. */
static const char *pidfile_path(void)
{
    const char *p = __atomic_load_n(&cfg.pidfile, __ATOMIC_ACQUIRE);
    return p && p[0] ? p : NULL;
}

static void write_pidfile(void)
{
    const char *path = pidfile_path();
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        log_warning("cannot write pidfile '%s': %s", path, strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static int ready_fd = -1; /* daemon mode: the parent waits on this pipe */

/* Forks; the parent waits until the child reports it is ready (exit 0) or
 * failed (its message is printed and the parent exits 1). */
static void daemonize(void)
{
    int p[2];
    if (pipe(p) < 0) {
        perror("kvd: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("kvd: fork");
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        char msg[1024];
        ssize_t n, tot = 0;
        while ((n = read(p[0], msg + tot, sizeof msg - 1 - (size_t)tot)) > 0) tot += n;
        msg[tot] = '\0';
        if (tot > 0 && strcmp(msg, "OK") == 0) _exit(0);
        fprintf(stderr, "%s\n", tot ? msg : "kvd: the server exited during start-up");
        _exit(1);
    }
    close(p[0]);
    ready_fd = p[1];
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        /* as Redis: a daemon without a logfile logs nowhere; start-up
         * failures still reach the parent through the pipe */
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2) close(fd);
    }
}

/* One line on how the data is kept, for the start-up log. */
static void log_persistence(void)
{
    buf a, b, d;
    char ma[128], mb[64], md[256];
    buf_init_static(&a, ma, sizeof ma);
    buf_init_static(&b, mb, sizeof mb);
    buf_init_static(&d, md, sizeof md);
    const char *save = config_get_value("save", &a);
    const char *aof = config_get_value("appendonly", &b);
    const char *file = config_get_value("dbfilename", &d);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "%s", cfg.dir ? cfg.dir : ".");
    bool snap = save && save[0];
    bool aofon = aof && strcmp(aof, "yes") == 0;
    if (!snap && !aofon) {
        log_notice("persistence: none (save \"\", appendonly no): data lives in memory only; dir %s", cwd);
    } else {
        buf_free(&b);
        buf_init_static(&b, mb, sizeof mb);
        const char *fsync = config_get_value("appendfsync", &b);
        log_notice("persistence: snapshots %s%s%s%s, append-only file %s%s; dir %s", snap ? "to '" : "off",
                   snap ? file : "", snap ? "' on save " : "", snap ? save : "", aofon ? "on, appendfsync " : "off",
                   aofon ? fsync : "", cwd);
    }
    buf_free(&a);
    buf_free(&b);
    buf_free(&d);
}

static void startup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void startup_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_warning("%s", msg);
    if (ready_fd >= 0) {
        ssize_t w = write(ready_fd, msg, strlen(msg));
        UNUSED(w);
    } else if (__atomic_load_n(&cfg.logfile, __ATOMIC_ACQUIRE)[0]) {
        fprintf(stderr, "kvd: %s\n", msg);
    }
    exit(1);
}

static void *shutdown_main(void *arg)
{
    int flags = (int)(intptr_t)arg;
    log_notice("user requested shutdown...");
    supervise_notify("STOPPING=1");
    listen_stop();
    atomic_store(&server.shutting_down, true);
    conn_kill_all();
    conn_shutdown_wait(5000);
    conn_pool_drain();
    expire_reaper_stop();
    persist_shutdown(flags);
    if (pidfile_path()) unlink(pidfile_path());
    log_notice("kvd is now ready to exit, bye bye...");
    exit(0);
}

int main(int argc, char **argv)
{
    config_defaults();
    util_hash_seed_random();
    server.start_ms = util_mstime();
    for (int i = 0; i < 40; i++) server.runid[i] = "0123456789abcdef"[util_rand64() & 15];
    server.runid[40] = '\0';
    ssize_t el = readlink("/proc/self/exe", server.executable, sizeof server.executable - 1);
    if (el > 0) server.executable[el] = '\0';

    int r = persist_cli(argc, argv);
    if (r >= 0) return r;

    bool test_config = false;
    int argi = 1;
    if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("kvd v=%s redis-compat=%s malloc=%s bits=%d\n", KVD_VERSION, KVD_REDIS_VERSION, allocator(),
               (int)sizeof(long) * 8);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--test-config")) {
        test_config = true;
        argi = 2;
    }
    cmd_init();
    char err[1024];
    if (argi < argc && strncmp(argv[argi], "--", 2) != 0) {
        char real[PATH_MAX];
        const char *path = argv[argi];
        if (realpath(path, real)) path = real;
        cfg.config_file = strdup(path);
        if (config_load_file(argv[argi], err, sizeof err) != 0) {
            fprintf(stderr, "kvd: configuration error: %s\n", err);
            return 1;
        }
        argi++;
    }
    if (config_set_from_args(argc, argv, argi, err, sizeof err) != 0) {
        fprintf(stderr, "kvd: configuration error: %s\n", err);
        return 1;
    }
    if (test_config) {
        if (cfg.config_file) printf("kvd: configuration file %s test is successful\n", cfg.config_file);
        else printf("kvd: configuration (defaults and command line) test is successful\n");
        return 0;
    }

    /* every thread inherits this mask; the main thread waits for them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* under a supervisor the process stays in the foreground (as Redis) */
    if (cfg.daemonize && supervise_mode() == SUPERVISED_NO) daemonize();
    if (log_check() != 0) startup_fail("cannot open log file '%s': %s", cfg.logfile, strerror(errno));
    log_open();
    log_notice("kvd %s (redis-compatible %s) starting, pid=%d, bits=%d, allocator=%s", KVD_VERSION,
               KVD_REDIS_VERSION, (int)getpid(), (int)sizeof(long) * 8, allocator());
    if (cfg.config_file) log_notice("configuration loaded from '%s'", cfg.config_file);
    else log_notice("no config file specified, using the defaults");
    supervise_init();

    persist_preload();
    store_init();
    log_notice("store: %d databases x %d shards", cfg.databases, cfg.shards);
    log_persistence();
    /* listen first: clients connecting during the load get -LOADING */
    atomic_store(&server.loading, true);
    if (listen_start(err, sizeof err) != 0) startup_fail("%s", err);
    if (persist_load(err, sizeof err) != 0) startup_fail("%s", err);
    atomic_store(&server.loading, false);
    if (expire_reaper_start() != 0) startup_fail("cannot start the reaper thread");
    if (persist_start() != 0) startup_fail("cannot start the persistence threads");
    log_notice("listening on %s: RESP port %d, text port %d%s%s%s", cfg.bind, cfg.port, cfg.text_port,
               cfg.text_port ? "" : " (off)", cfg.unixsocket && cfg.unixsocket[0] ? ", unix socket " : "",
               cfg.unixsocket && cfg.unixsocket[0] ? cfg.unixsocket : "");
    write_pidfile();
    log_notice("Ready to accept connections");
    supervise_notify("READY=1\nSTATUS=Ready to accept connections");
    if (ready_fd >= 0) {
        ssize_t w = write(ready_fd, "OK", 2);
        UNUSED(w);
        close(ready_fd);
        ready_fd = -1;
    }

    bool stopping = false;
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            log_notice("received SIGHUP, reopening the log file");
            log_reopen();
            log_notice("log file reopened (SIGHUP)");
            continue;
        }
        if (stopping) {
            if (sig == SIGINT) {
                log_warning("you insist... exiting now");
                if (pidfile_path()) unlink(pidfile_path());
                _exit(1);
            }
            continue;
        }
        stopping = true;
        int flags = atomic_load(&server.shutdown_flags);
        log_notice("received %s, scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
        pthread_t t;
        pthread_create(&t, NULL, shutdown_main, (void *)(intptr_t)flags);
        pthread_detach(t);
    }
}
