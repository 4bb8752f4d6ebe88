/* log.c — levelled log lines in Redis's format
 * ("pid:M 22 Nov 2026 03:09:49.123 * message"), one write(2) per line so
 * lines from different threads never interleave. SIGHUP reopens the file. */
#include "kvd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_fd = 2;
static bool use_syslog;

void log_open(void)
{
    buf t;
    char m[64];
    buf_init_static(&t, m, sizeof m);
    const char *v = config_get_value("syslog-enabled", &t);
    use_syslog = v && strcmp(v, "yes") == 0;
    if (use_syslog) {
        static char ident[64];
        v = config_get_value("syslog-ident", &t);
        snprintf(ident, sizeof ident, "%s", v ? v : "kvd");
        static const struct { const char *n; int f; } fac[] = {
            {"user", LOG_USER}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
            {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
            {"local7", LOG_LOCAL7}};
        int f = LOG_LOCAL0;
        v = config_get_value("syslog-facility", &t);
        for (size_t i = 0; v && i < sizeof fac / sizeof fac[0]; i++)
            if (strcmp(fac[i].n, v) == 0) f = fac[i].f;
        openlog(ident, LOG_PID | LOG_NDELAY | LOG_NOWAIT, f);
    }
    buf_free(&t);
    log_reopen();
}

/* Reopens the log file (logrotate's SIGHUP). Keeps the old descriptor if
 * the file cannot be opened. */
void log_reopen(void)
{
    const char *path = __atomic_load_n(&cfg.logfile, __ATOMIC_ACQUIRE);
    if (!path || !path[0]) {
        int old = atomic_exchange(&log_fd, 2); /* logfile "": standard error */
        if (old > 2) close(old);
        return;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_warning("cannot open log file '%s': %s", path, strerror(errno));
        return;
    }
    int old = atomic_exchange(&log_fd, fd);
    if (old > 2) close(old);
}

/* Start-up: whether the log file can be opened (a daemon must fail before
 * it reports readiness, not write into the void). 0 or -1 with errno. */
int log_check(void)
{
    if (!cfg.logfile || !cfg.logfile[0]) return 0;
    int fd = open(cfg.logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < CFG(loglevel)) return;
    char line[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%d:M ", (int)getpid());
    n += (int)strftime(line + n, sizeof line - (size_t)n, "%d %b %Y %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03d %c ", (int)(tv.tv_usec / 1000), ".-*#"[level & 3]);
    int start = n;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    n += m;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (use_syslog) {
        static const int pri[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING};
        syslog(pri[level & 3], "%.*s", n - start - 1, line + start);
    }
    ssize_t w = write(atomic_load(&log_fd), line, (size_t)n);
    UNUSED(w);
}
