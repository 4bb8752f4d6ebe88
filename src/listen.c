/* listen.c — the listening sockets (RESP port, text port, unix socket) and
 * the accept thread: it polls them, enforces maxclients and hands each
 * accepted socket to a connection thread (conn.c). */
#include "kvd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

_Atomic long stat_rejected_conn;

#define MAXL 16
static struct pollfd lfds[MAXL];
static int lkind[MAXL];
static int nl;
static int wake_pipe[2] = {-1, -1};
static pthread_t accept_tid;
static bool accept_running;

static int add_listener(int fd, int kind)
{
    if (nl == MAXL) {
        close(fd);
        return -1;
    }
    lfds[nl].fd = fd;
    lfds[nl].events = POLLIN;
    lkind[nl] = kind;
    nl++;
    return 0;
}

static int listen_tcp(const char *addr, int port, int kind, char *err, size_t errlen)
{
    struct addrinfo hints, *res, *ai;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    const char *a = addr;
    bool optional = false;
    if (a[0] == '-') { /* "-::1": bind if the address family exists */
        a++;
        optional = true;
    }
    int rc = getaddrinfo(strcmp(a, "*") == 0 ? NULL : a, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve bind address '%s': %s", a, gai_strerror(rc));
        return -1;
    }
    int ok = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, CFG(tcp_backlog)) < 0) {
            int e = errno;
            close(fd);
            /* ::1 on a host without IPv6 is not an error (as Redis's default bind) */
            if ((e == EADDRNOTAVAIL || e == EAFNOSUPPORT) && (optional || ai->ai_family == AF_INET6))
                continue;
            snprintf(err, errlen, "cannot listen on %s:%d: %s", a, port, strerror(e));
            freeaddrinfo(res);
            return -1;
        }
        add_listener(fd, kind);
        ok++;
    }
    freeaddrinfo(res);
    return ok;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "unix socket path too long: '%s'", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, CFG(tcp_backlog)) < 0) {
        snprintf(err, errlen, "cannot listen on unix socket '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (cfg.unixsocketperm) chmod(path, (mode_t)cfg.unixsocketperm);
    add_listener(fd, LISTEN_RESP | 0x100);
    return 1;
}

static void fmt_addr(struct sockaddr_storage *ss, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
        port = ntohs(s->sin_port);
        snprintf(out, n, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
        port = ntohs(s->sin6_port);
        snprintf(out, n, "[%s]:%d", host, port);
    } else {
        snprintf(out, n, "%s", cfg.unixsocket ? cfg.unixsocket : "");
    }
}

static void reject(int fd, const char *msg)
{
    ssize_t w = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
    UNUSED(w);
    close(fd);
    atomic_fetch_add(&stat_rejected_conn, 1);
}

/* ---- protected mode
 * With protected-mode yes and no requirepass, a connection is accepted
 * only from the local host. "Local" is what Redis 7.0 calls local: a unix
 * socket, or a peer whose address is exactly 127.0.0.1 or ::1 (checked
 * against redis-server 7.0.15: a peer at 127.0.0.2 is DENIED there too,
 * which also lets the tests exercise this without leaving loopback). Any
 * other peer gets Redis's DENIED message, word for word (its "Setup a an"
 * included), and is closed. */
static const char denied_msg[] =
    "DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
    "for the default user. In this mode connections are only accepted from the loopback interface. If you "
    "want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
    "disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    "connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
    "accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you started the server "
    "manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    "authentication password for the default user. NOTE: You only need to do one of the above things in "
    "order for the server to start accepting connections from the outside.";

bool listen_peer_is_local(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_UNIX) return true;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        return ntohl(s->sin_addr.s_addr) == INADDR_LOOPBACK; /* 127.0.0.1 only, as Redis */
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
    }
    return false;
}

/* True when protected mode refuses a connection from sa. */
bool listen_protected_denies(const struct sockaddr *sa)
{
    if (!CFG(protected_mode)) return false;
    const char *pw = __atomic_load_n(&cfg.requirepass, __ATOMIC_ACQUIRE);
    if (pw && pw[0]) return false;
    return !listen_peer_is_local(sa);
}

static void *accept_main(void *arg)
{
    UNUSED(arg);
    int backoff_ms = 0;
    int64_t last_sweep = util_monotonic_us();
    for (;;) {
        /* wakes at least once a second for the idle-client sweep */
        int n = poll(lfds, (nfds_t)nl, backoff_ms ? backoff_ms : 1000);
        backoff_ms = 0;
        int64_t now = util_monotonic_us();
        if (now - last_sweep >= 1000000) {
            last_sweep = now;
            conn_timeout_sweep();
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (lfds[0].revents) break; /* wake pipe: stop */
        for (int i = 1; i < nl; i++) {
            if (!(lfds[i].revents & POLLIN)) continue;
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            int fd = accept4(lfds[i].fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    log_warning("accept: %s; backing off", strerror(errno));
                    backoff_ms = 100; /* the listener stays readable: don't spin */
                }
                continue;
            }
            if (conn_count() >= CFG(maxclients)) {
                reject(fd, lkind[i] == LISTEN_TEXT ? "(error) ERR max number of clients reached\n"
                                                   : "-ERR max number of clients reached\r\n");
                continue;
            }
            if (listen_protected_denies((struct sockaddr *)&ss)) {
                char m[sizeof denied_msg + 16];
                snprintf(m, sizeof m, lkind[i] == LISTEN_TEXT ? "(error) %s\n" : "-%s\r\n", denied_msg);
                char who[64];
                fmt_addr(&ss, who, sizeof who);
                log_verbose("protected mode: denied connection from %s", who);
                reject(fd, m);
                continue;
            }
            char addr[64], laddr[64];
            fmt_addr(&ss, addr, sizeof addr);
            struct sockaddr_storage ls;
            socklen_t ll = sizeof ls;
            if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0) fmt_addr(&ls, laddr, sizeof laddr);
            else laddr[0] = '\0';
            if (ss.ss_family == AF_UNIX) {
                snprintf(addr, sizeof addr, "%s:0", cfg.unixsocket ? cfg.unixsocket : "");
                snprintf(laddr, sizeof laddr, "%s:0", cfg.unixsocket ? cfg.unixsocket : "");
            }
            conn_start(fd, lkind[i], addr, laddr);
        }
    }
    return NULL;
}

/* Binds every configured listener and starts the accept thread. Returns 0,
 * or -1 with the reason in err. */
int listen_start(char *err, size_t errlen)
{
    if (pipe2(wake_pipe, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    add_listener(wake_pipe[0], -1);
    char *binds = strdup(cfg.bind ? cfg.bind : "127.0.0.1");
    int total = 0;
    for (int pass = 0; pass < 2; pass++) {
        int port = pass == 0 ? cfg.port : cfg.text_port;
        if (port <= 0) continue;
        char *save = NULL, *copy = strdup(binds);
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            int r = listen_tcp(t, port, pass == 0 ? LISTEN_RESP : LISTEN_TEXT, err, errlen);
            if (r < 0) {
                free(copy);
                free(binds);
                return -1;
            }
            total += r;
        }
        free(copy);
    }
    free(binds);
    if (cfg.unixsocket && cfg.unixsocket[0]) {
        if (listen_unix(cfg.unixsocket, err, errlen) < 0) return -1;
        total++;
    }
    if (total == 0) {
        snprintf(err, errlen, "no listening sockets could be opened");
        return -1;
    }
    if (pthread_create(&accept_tid, NULL, accept_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the accept thread");
        return -1;
    }
    accept_running = true;
    return 0;
}

/* Stops accepting: wakes the accept thread, joins it, closes listeners. */
void listen_stop(void)
{
    if (!accept_running) return;
    ssize_t w = write(wake_pipe[1], "x", 1);
    UNUSED(w);
    pthread_join(accept_tid, NULL);
    accept_running = false;
    for (int i = 1; i < nl; i++) close(lfds[i].fd);
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    nl = 0;
    if (cfg.unixsocket && cfg.unixsocket[0]) unlink(cfg.unixsocket);
}
