/* supervise.c — telling a supervisor how start-up and shutdown go. With
 * `supervised systemd` (or `auto` when $NOTIFY_SOCKET is set) main.c's
 * READY=1, STATUS=... and STOPPING=1 messages are sent as datagrams to the
 * unix socket named by $NOTIFY_SOCKET (a path, or '@' for an abstract
 * name), which is all sd_notify(3) does; no libsystemd. With `supervised
 * upstart` the server stops itself with SIGSTOP once ready, as upstart's
 * `expect stop` wants. */
#include "kvd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The mode that applies: SUPERVISED_SYSTEMD, SUPERVISED_UPSTART or
 * SUPERVISED_NO (auto resolved from the environment). */
int supervise_mode(void)
{
    int m = cfg.supervised;
    if (m == SUPERVISED_AUTO) {
        if (getenv("NOTIFY_SOCKET")) return SUPERVISED_SYSTEMD;
        if (getenv("UPSTART_JOB")) return SUPERVISED_UPSTART;
        return SUPERVISED_NO;
    }
    return m;
}

const char *supervise_mode_name(void)
{
    switch (supervise_mode()) {
    case SUPERVISED_SYSTEMD: return "systemd";
    case SUPERVISED_UPSTART: return "upstart";
    default: return "no";
    }
}

/* Sends msg ("READY=1", "STATUS=...\nREADY=1", "STOPPING=1") to
 * $NOTIFY_SOCKET. Returns 0, or -1 (not supervised, no socket, or the
 * send failed: logged once per cause, never fatal). */
static int notify_systemd(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0]) return -1;
    struct sockaddr_un su;
    memset(&su, 0, sizeof su);
    su.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof su.sun_path || (path[0] != '/' && path[0] != '@')) {
        log_warning("NOTIFY_SOCKET '%s' is not a usable socket name", path);
        return -1;
    }
    memcpy(su.sun_path, path, n);
    if (path[0] == '@') su.sun_path[0] = '\0'; /* abstract namespace */
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_warning("cannot notify systemd: socket: %s", strerror(errno));
        return -1;
    }
    ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&su, len);
    int saved = errno;
    close(fd);
    if (w < 0) {
        log_warning("cannot notify systemd at '%s': %s", path, strerror(saved));
        return -1;
    }
    log_debug("notified systemd: %s", msg);
    return 0;
}

void supervise_notify(const char *msg)
{
    switch (supervise_mode()) {
    case SUPERVISED_SYSTEMD:
        notify_systemd(msg);
        break;
    case SUPERVISED_UPSTART:
        if (strstr(msg, "READY=1") && getenv("UPSTART_JOB")) {
            unsetenv("UPSTART_JOB");
            raise(SIGSTOP);
        }
        break;
    default:
        break;
    }
}

/* Start-up: says what supervision applies and warns when systemd was asked
 * for but there is no socket to talk to. */
void supervise_init(void)
{
    if (cfg.supervised == SUPERVISED_SYSTEMD && !getenv("NOTIFY_SOCKET"))
        log_warning("systemd supervision requested, but the NOTIFY_SOCKET environment variable is not set");
    else if (supervise_mode() == SUPERVISED_SYSTEMD)
        log_notice("supervised by systemd, notifying '%s'", getenv("NOTIFY_SOCKET"));
    else if (supervise_mode() == SUPERVISED_UPSTART)
        log_notice("supervised by upstart, will stop myself when ready");
}
