/* conn.c — one thread per connection. The thread blocks in read() on its
 * socket, parses every complete request in what arrived (pipelining),
 * executes each through cmd.c, and writes all replies with one write.
 * Threads that lose their connection park for a while and are handed the
 * next accepted socket, so a connect costs no thread creation. */
#include "kvd.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

pthread_mutex_t conn_list_lock = PTHREAD_MUTEX_INITIALIZER;
static client *clients;             /* list, under conn_list_lock */
static int nclients;                /* under conn_list_lock */
static pthread_cond_t clients_gone = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t total_conns;

size_t resp_bulk_pending(client *c, size_t avail);

/* aof.c provides these when linked with persistence; without it the AOF
 * is never on */
__attribute__((weak)) _Atomic bool aof_on;
__attribute__((weak)) void aof_wait_written(void) {}
__attribute__((weak)) void aof_wait_all(void) {}
__attribute__((weak)) bool aof_defer_reply(int fd, const char *p, size_t len)
{
    UNUSED(fd);
    UNUSED(p);
    UNUSED(len);
    return false;
}
__attribute__((weak)) bool aof_defer_likely(void) { return false; }
__attribute__((weak)) bool aof_defer_finish(const char **rest, size_t *restlen)
{
    UNUSED(rest);
    UNUSED(restlen);
    return false;
}

/* ---------------------------------------------------------------- list */

int conn_count(void)
{
    pthread_mutex_lock(&conn_list_lock);
    int n = nclients;
    pthread_mutex_unlock(&conn_list_lock);
    return n;
}

uint64_t conn_total(void) { return atomic_load(&total_conns); }

static void list_add(client *c)
{
    pthread_mutex_lock(&conn_list_lock);
    c->prev = NULL;
    c->next = clients;
    if (clients) clients->prev = c;
    clients = c;
    nclients++;
    pthread_mutex_unlock(&conn_list_lock);
}

/* Unlinks c and closes its socket under the list lock, so CLIENT KILL can
 * never shut down a descriptor number that was reused. */
static void list_remove(client *c)
{
    pthread_mutex_lock(&conn_list_lock);
    if (c->prev) c->prev->next = c->next;
    else clients = c->next;
    if (c->next) c->next->prev = c->prev;
    nclients--;
    close(c->fd);
    c->fd = -1;
    if (nclients == 0) pthread_cond_broadcast(&clients_gone);
    pthread_mutex_unlock(&conn_list_lock);
}

void conn_foreach(void (*fn)(client *c, void *ctx), void *ctx)
{
    pthread_mutex_lock(&conn_list_lock);
    for (client *c = clients; c; c = c->next) fn(c, ctx);
    pthread_mutex_unlock(&conn_list_lock);
}

client *conn_by_id(uint64_t id)
{
    client *r = NULL;
    pthread_mutex_lock(&conn_list_lock);
    for (client *c = clients; c; c = c->next)
        if (c->id == id) r = c;
    pthread_mutex_unlock(&conn_list_lock);
    return r;
}

/* Shuts down the matching connections' sockets (their threads then see end
 * of file and exit). Returns the number killed. */
int conn_kill(uint64_t id, const char *addr, const char *laddr, int skipme, client *me)
{
    int n = 0;
    pthread_mutex_lock(&conn_list_lock);
    for (client *c = clients; c; c = c->next) {
        if (id && c->id != id) continue;
        if (addr && strcmp(c->addr, addr) != 0) continue;
        if (laddr && strcmp(c->laddr, laddr) != 0) continue;
        if (skipme && c == me) continue;
        if (atomic_load(&c->flags) & CLIENT_CLOSE_ASAP) continue; /* already being killed */
        if (c == me) {
            atomic_fetch_or(&c->flags, CLIENT_CLOSE_AFTER_REPLY);
        } else {
            atomic_fetch_or(&c->flags, CLIENT_CLOSE_ASAP);
            shutdown(c->fd, SHUT_RDWR);
        }
        n++;
    }
    pthread_mutex_unlock(&conn_list_lock);
    return n;
}

void conn_kill_all(void)
{
    pthread_mutex_lock(&conn_list_lock);
    for (client *c = clients; c; c = c->next) {
        atomic_fetch_or(&c->flags, CLIENT_CLOSE_ASAP);
        shutdown(c->fd, SHUT_RD);
    }
    pthread_mutex_unlock(&conn_list_lock);
}

/* Waits up to ms for every connection thread to finish. */
void conn_shutdown_wait(int ms)
{
    struct timespec ts = util_deadline((int64_t)ms * 1000);
    pthread_mutex_lock(&conn_list_lock);
    while (nclients > 0)
        if (pthread_cond_timedwait(&clients_gone, &conn_list_lock, &ts) != 0) break;
    pthread_mutex_unlock(&conn_list_lock);
}

/* ---------------------------------------------------------------- I/O */

/* ---------------------------------------------------------------- output limits
 * A connection thread sends its replies between commands, never while it
 * holds a shard lock. When the peer does not read, the kernel's buffers
 * fill and the thread waits in poll() for the socket to drain, re-checking
 * every OUT_POLL_MS the output the client has not read — our unsent bytes
 * plus the socket's send queue (SIOCOUTQ) — against:
 *   - before AUTH (requirepass set): UNAUTH_MAX_OUTPUT, as Redis after
 *     CVE-2025-21605;
 *   - client-output-buffer-limit for the client's class (pubsub once it
 *     is subscribed, else normal): at <hard>, or at <soft> for <seconds>;
 *   - `timeout`: no byte accepted for that many seconds;
 * and closes the connection when one is passed. With Redis's default
 * "normal 0 0 0" and timeout 0 it waits while the peer stays connected;
 * memory stays bounded because the thread reads no more requests until its
 * replies are out. Messages queued for a subscriber by publishers are bounded
 * by the pubsub class in t_pubsub.c (check_limit). */
#define OUT_POLL_MS 100

static size_t sock_outq(int fd)
{
    int v = 0;
    if (ioctl(fd, SIOCOUTQ, &v) < 0 || v < 0) return 0;
    return (size_t)v;
}

static int client_class(client *c)
{
    return (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_POLL) ? 2 : 0;
}

/* True when c must be closed for unread output (pending bytes not yet
 * accepted by the kernel). Owning thread only. */
static bool output_over_limit(client *c, size_t pending)
{
    size_t unread = pending + sock_outq(c->fd);
    const char *why = NULL;
    int cls = client_class(c);
    long long hard = CFG(obl_hard[cls]), soft = CFG(obl_soft[cls]);
    int secs = CFG(obl_secs[cls]);
    const char *pw = __atomic_load_n(&cfg.requirepass, __ATOMIC_ACQUIRE);
    if (!c->authenticated && pw && pw[0] && unread > UNAUTH_MAX_OUTPUT) {
        why = "unauthenticated client not reading its replies";
    } else if (hard > 0 && unread >= (unsigned long long)hard) {
        why = "hard limit";
    } else if (soft > 0 && unread >= (unsigned long long)soft) {
        int64_t now = util_monotonic_us() / 1000;
        if (!c->obuf_soft_since) c->obuf_soft_since = now;
        else if (now - c->obuf_soft_since >= (int64_t)secs * 1000) why = "soft limit";
    } else {
        c->obuf_soft_since = 0;
    }
    if (!why) return false;
    log_warning("client id=%llu addr=%s closed for overcoming of output buffer limits (%s, %zu bytes unread)",
                (unsigned long long)c->id, c->addr, why, unread);
    return true;
}

/* Sends p[0..len) on c's socket under the limits above, as it is. False
 * when the connection must close (peer gone, killed, or a limit passed). */
static bool send_raw(client *c, const char *p, size_t len)
{
    size_t off = 0;
    bool ok = true;
    int64_t progress = 0; /* monotonic ms of the last byte accepted, 0 until we wait */
    while (off < len) {
        ssize_t n = send(c->fd, p + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            if (progress) {
                progress = util_monotonic_us() / 1000;
                pthread_mutex_lock(&c->lock); /* the peer reads: not idle */
                c->last_interaction = util_mstime();
                pthread_mutex_unlock(&c->lock);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            ok = false;
            break;
        }
        /* the peer is not reading: the subscribers this batch queued
         * messages for must not wait for it */
        pubsub_flush_wakes();
        int64_t now = util_monotonic_us() / 1000;
        if (!progress) progress = now;
        int to = CFG(timeout);
        if ((atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP) ||
            output_over_limit(c, len - off)) {
            ok = false;
            break;
        }
        if (to > 0 && now - progress >= (int64_t)to * 1000) {
            log_verbose("closing client id=%llu addr=%s: no reply read for %d s (timeout)",
                        (unsigned long long)c->id, c->addr, to);
            ok = false;
            break;
        }
        struct pollfd pf = {c->fd, POLLOUT, 0};
        if (poll(&pf, 1, OUT_POLL_MS) > 0 && (pf.revents & (POLLERR | POLLHUP | POLLNVAL))) {
            ok = false;
            break;
        }
    }
    /* after our replies: the next batch of our peer is on its way while we
     * write to the subscribers */
    pubsub_flush_wakes();
    if (ok && !progress) c->obuf_soft_since = 0; /* written without waiting */
    atomic_fetch_add_explicit(&server.stat_net_out, off, memory_order_relaxed);
    return ok;
}

/* A reply handed to the AOF's group commit (aof_defer_reply) goes out
 * before anything else: waits for it and sends what the socket did not
 * take then. */
static bool defer_finish(client *c)
{
    const char *rest;
    size_t n;
    if (!aof_defer_finish(&rest, &n) || n == 0) return true;
    return send_raw(c, rest, n);
}

/* send_raw, after any deferred reply and once the AOF records of what
 * p answers are written. */
static bool send_bounded(client *c, const char *p, size_t len)
{
    cmd_stats_flush(); /* what these replies answer is counted before they go out */
    if (!defer_finish(c)) return false;
    /* no reply before the AOF records of what it answers are written */
    if (atomic_load_explicit(&aof_on, memory_order_relaxed)) aof_wait_written();
    return send_raw(c, p, len);
}

bool conn_reply_too_big(client *c)
{
    long long cap = CFG(obl_hard[client_class(c)]);
    if (cap <= 0) cap = REPLY_CAP;
    size_t built = c->obuf.len + c->text_nodes * 32;
    if ((long long)built <= cap) return false;
    if (!(atomic_fetch_or(&c->flags, CLIENT_CLOSE_ASAP) & CLIENT_CLOSE_ASAP))
        log_warning("closing client id=%llu addr=%s: the reply of '%s' passed %lld bytes",
                    (unsigned long long)c->id, c->addr, c->cmd ? c->cmd->name : "?", cap);
    return true;
}

static bool write_all(client *c)
{
    if (c->obuf_foreign) {
        /* as conn_flush_async: output of other threads waits for
         * everything logged so far */
        c->obuf_foreign = false;
        if (atomic_load_explicit(&aof_on, memory_order_relaxed)) aof_wait_all();
    }
    bool ok = send_bounded(c, c->obuf.p, c->obuf.len);
    c->obuf.len = 0;
    cmd_clock_reset();
    return ok;
}

/* ---------------------------------------------------------------- wake-ups */

int conn_wake_init(client *c)
{
    if (c->wakefd >= 0) return 0;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return -1;
    pthread_mutex_lock(&c->outlock);
    c->wakefd = fd;
    pthread_mutex_unlock(&c->outlock);
    return 0;
}

void conn_wake(client *c)
{
    pthread_mutex_lock(&c->outlock);
    if (c->wakefd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(c->wakefd, &one, sizeof one);
        UNUSED(w);
    }
    pthread_mutex_unlock(&c->outlock);
}

bool conn_push(client *c, const void *p, size_t n) { return conn_push_n(c, p, n) >= 0; }

/* The owner checks c->async under outlock before it waits; a batch of
 * pushes (PUBLISHes of one pipelined read) owes one conn_send_or_wake at
 * its end, which sends or wakes only when no other batch that pushed here
 * is still running: one system call for several publishers' batches. */
long conn_push_defer(client *c, const void *p, size_t n, bool reg, bool try)
{
    if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP) return -1;
    if (try) {
        if (pthread_mutex_trylock(&c->outlock) != 0) return -2;
    } else {
        pthread_mutex_lock(&c->outlock);
    }
    c->out_pushers += reg;
    buf_append(&c->async, p, n);
    long pending = (long)c->async.len;
    pthread_mutex_unlock(&c->outlock);
    return pending;
}

long conn_push_n(client *c, const void *p, size_t n)
{
    if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP) return -1;
    pthread_mutex_lock(&c->outlock);
    bool was_empty = c->async.len == 0;
    buf_append(&c->async, p, n);
    long pending = (long)c->async.len;
    if (was_empty && c->wakefd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(c->wakefd, &one, sizeof one);
        UNUSED(w);
    }
    pthread_mutex_unlock(&c->outlock);
    return pending;
}

/* Who writes a connection's socket, and when.
 *
 * The owning thread writes its replies (c->obuf, send_bounded) and drains
 * c->async (conn_flush_async) whenever it is running. Another thread may
 * write the socket only while the owner is *parked* and only as *the
 * sender*; both are flags under outlock:
 *  - c->out_parked is set by the owner in conn_wait(), in the critical
 *    section in which it found c->async empty, right before it sleeps in
 *    poll(); its own replies were all written before (serve and block_wait
 *    write obuf first). When poll() returns, before it reads, runs a
 *    command or writes anything, the owner clears it and waits until no
 *    sender is left (a sender is in one non-blocking send at most).
 *  - c->out_sending is held by at most one other thread (conn_send_or_wake,
 *    at the end of a publisher's batch): while parked and no one else
 *    sends, it takes the front of c->async (up to SEND_CHUNK bytes, copied
 *    out under outlock), sends it with MSG_DONTWAIT without the lock (so
 *    publishers appending to c->async are not held up by the system
 *    call), and retakes the lock. What the kernel did not take goes back
 *    to the front of c->async and the owner is woken to finish it under its
 *    output limits (send_bounded), as it would have without the shortcut;
 *    a send error does the same (the owner then meets the error itself).
 *    Otherwise the sender goes on while bytes are queued (a publisher that
 *    found another sender at work leaves its bytes to it), a few rounds at
 *    most, then wakes the owner for the rest.
 * So writes never overlap, and order is kept: c->async is FIFO and always
 * written from its front, and what the owner wrote before parking precedes
 * it. A message queued while the owner is not parked waits in c->async,
 * which the owner checks under outlock before it parks again. The owner
 * still watches its socket in poll(), so a closed peer is noticed. */
#define SEND_CHUNK 16384
#define SEND_ROUNDS 4

static void wake_locked(client *c)
{
    if (c->async.len && c->wakefd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(c->wakefd, &one, sizeof one);
        UNUSED(w);
    }
}

void conn_send_or_wake(client *c)
{
    char chunk[SEND_CHUNK];
    bool aof = atomic_load_explicit(&aof_on, memory_order_relaxed);
    pthread_mutex_lock(&c->outlock);
    c->out_pushers--;
    if (c->out_pushers > 0 && c->async.len < SEND_CHUNK) {
        /* a batch still running also queued here: its end sends it all */
        pthread_mutex_unlock(&c->outlock);
        return;
    }
    if (c->out_sending) { /* it looks at c->async again before it stops */
        pthread_mutex_unlock(&c->outlock);
        return;
    }
    if (!c->out_parked || aof || (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP)) {
        wake_locked(c);
        pthread_mutex_unlock(&c->outlock);
        return;
    }
    c->out_sending = true;
    for (int round = 0; c->async.len; round++) {
        if (!c->out_parked || round == SEND_ROUNDS) {
            wake_locked(c);
            break;
        }
        size_t len = c->async.len < SEND_CHUNK ? c->async.len : SEND_CHUNK;
        memcpy(chunk, c->async.p, len);
        buf_consume(&c->async, len);
        pthread_mutex_unlock(&c->outlock);
        ssize_t n = send(c->fd, chunk, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        size_t sent = n > 0 ? (size_t)n : 0;
        if (sent) atomic_fetch_add_explicit(&server.stat_net_out, sent, memory_order_relaxed);
        pthread_mutex_lock(&c->outlock);
        if (sent < len) {
            size_t rem = len - sent;
            buf_reserve(&c->async, rem);
            memmove(c->async.p + rem, c->async.p, c->async.len);
            memcpy(c->async.p, chunk + sent, rem);
            c->async.len += rem;
            wake_locked(c);
            break;
        }
    }
    c->out_sending = false;
    /* keep a small buffer for the next batch, not a burst's */
    if (c->async.len == 0 && c->async.cap > 64 * 1024) buf_free(&c->async);
    pthread_mutex_unlock(&c->outlock);
}

int conn_wait(client *c, int64_t deadline_ms, bool watch_socket)
{
    if (conn_wake_init(c) != 0) return CONN_CLOSED;
    for (;;) {
        int timeout = -1;
        pthread_mutex_lock(&c->outlock);
        if (c->async.len > 0) {
            pthread_mutex_unlock(&c->outlock);
            return CONN_WOKEN;
        }
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - util_mstime();
            if (left <= 0) {
                pthread_mutex_unlock(&c->outlock);
                return CONN_TIMEOUT;
            }
            timeout = left > 1000 ? 1000 : (int)left; /* re-check: the clock may be moved in tests */
        }
        c->out_parked = true;
        pthread_mutex_unlock(&c->outlock);
        struct pollfd pf[2] = {{c->wakefd, POLLIN, 0}, {c->fd, POLLIN, 0}};
        int r = poll(pf, watch_socket ? 2 : 1, timeout);
        pthread_mutex_lock(&c->outlock);
        c->out_parked = false;
        while (c->out_sending) { /* one non-blocking send */
            pthread_mutex_unlock(&c->outlock);
            sched_yield();
            pthread_mutex_lock(&c->outlock);
        }
        pthread_mutex_unlock(&c->outlock);
        if (r < 0 && errno != EINTR) return CONN_CLOSED;
        if (r <= 0) continue;
        if (pf[0].revents) {
            uint64_t v;
            ssize_t rd = read(c->wakefd, &v, sizeof v);
            UNUSED(rd);
            return CONN_WOKEN;
        }
        if (watch_socket && pf[1].revents) {
            if (pf[1].revents & (POLLHUP | POLLERR | POLLNVAL)) return CONN_CLOSED;
            char ch;
            ssize_t k = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) return CONN_CLOSED;
            return CONN_READABLE;
        }
    }
}

void conn_take_async(client *c)
{
    if (c->wakefd < 0 || c->troot) return; /* nobody ever queued; inside a text reply */
    pthread_mutex_lock(&c->outlock);
    if (c->async.len) {
        buf_append(&c->obuf, c->async.p, c->async.len);
        c->async.len = 0;
        c->obuf_foreign = true;
    }
    pthread_mutex_unlock(&c->outlock);
}

bool conn_flush_async(client *c)
{
    cmd_stats_flush();
    cmd_clock_reset();
    pthread_mutex_lock(&c->outlock);
    buf out = c->async;
    buf_init_static(&c->async, NULL, 0);
    pthread_mutex_unlock(&c->outlock);
    /* output made by another thread (a blocked pop served by a push): wait
     * for everything logged so far */
    if (out.len && atomic_load_explicit(&aof_on, memory_order_relaxed)) aof_wait_all();
    bool ok = send_bounded(c, out.p, out.len);
    buf_free(&out);
    return ok;
}

__attribute__((weak)) bool block_wait(client *c)
{
    atomic_fetch_and(&c->flags, ~CLIENT_BLOCKED);
    return true;
}

#define QMEM 2048
#define OMEM 2048
#define OBUF_FLUSH (64 * 1024)
#define BURST_MIN (16 * 1024)
#define BURST_MAX (64 * 1024)

/* conn-spin-us: -1 picks 0 (off) on 2 CPUs or fewer, where a spinning
 * thread takes the core its client needs, and SPIN_AUTO_US on more. */
#define SPIN_AUTO_US 20
static _Atomic int ncpu;

static int spin_us(void)
{
    int v = CFG(conn_spin_us);
    if (v >= 0) return v;
    int n = atomic_load_explicit(&ncpu, memory_order_relaxed);
    if (!n) {
        long k = sysconf(_SC_NPROCESSORS_ONLN);
        n = k > 0 ? (int)k : 1;
        atomic_store_explicit(&ncpu, n, memory_order_relaxed);
    }
    return n > 2 ? SPIN_AUTO_US : 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Reads what is already there without blocking, retrying for up to spin
 * microseconds. Returns what recv returns, or -2 when nothing came. */
static ssize_t read_nowait(int fd, char *p, size_t room, int spin)
{
    int64_t deadline = 0;
    for (;;) {
        ssize_t n = recv(fd, p, room, MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
        if (spin <= 0) return -2;
        int64_t now = util_monotonic_us();
        if (!deadline) deadline = now + spin;
        else if (now >= deadline) return -2;
        for (int i = 0; i < 16; i++) cpu_relax();
    }
}

/* SCHED_BATCH (conn-sched-batch): a thread under it is not preempted by
 * the threads that wake while it runs, nor does it preempt when woken. For
 * a pipelining client that saves a context switch per batch: the woken
 * thread waits for the running one (often the client that sent it, with
 * more to send) instead of interrupting it. Measured on 2 CPUs at pipeline
 * 16, single-key list/hash/set commands: CPU per request -15 to -25%,
 * throughput +15 to +35%. For a client that waits for every reply it
 * doubles p99 (the wake-up waits for a time slice), so `pipelined` (the
 * default) switches a thread to SCHED_BATCH when its client sends batches
 * of PIPELINED_ON commands or more and back when it sends one at a time. */
#define PIPELINED_ON 8
static _Thread_local bool tl_sched_batch;

static _Atomic bool sched_batch_refused; /* a sandbox said no: stop asking */

static void sched_batch_set(bool on)
{
#ifdef SCHED_BATCH
    if (tl_sched_batch == on || atomic_load_explicit(&sched_batch_refused, memory_order_relaxed)) return;
    struct sched_param sp = {0};
    int r = pthread_setschedparam(pthread_self(), on ? SCHED_BATCH : SCHED_OTHER, &sp);
    if (r == 0) {
        tl_sched_batch = on;
    } else if (!atomic_exchange(&sched_batch_refused, true)) {
        log_notice("conn-sched-batch: can't set SCHED_BATCH (%s); connection threads stay SCHED_OTHER",
                   strerror(r));
    }
#else
    UNUSED(on);
#endif
}

/* What CLIENT LIST shows of c: its last command, when it was run and,
 * at the end of a batch, its query buffer. */
static void note_info(client *c, bool qbuf)
{
    pthread_mutex_lock(&c->lock);
    c->last_interaction = util_mstime();
    if (qbuf) {
        c->info_qbuf = c->qbuf.len;
        c->info_qbuf_free = c->qbuf.cap - c->qbuf.len;
    }
    c->info_cmd = c->lastcmd;
    memcpy(c->info_sub, c->lastsub, sizeof c->info_sub);
    pthread_mutex_unlock(&c->lock);
}

/* A batch's replies may be left to the AOF's group commit when nothing
 * else would go out on the socket before the next read (no output of
 * other threads, not closing) and the socket will take them whole: small,
 * and nothing still queued in it. The thread then sleeps in read(2); a
 * reply the socket took only in part would wait there for a request the
 * client, waiting for the rest, never sends. */
static bool can_defer(client *c, bool close_now)
{
    return !close_now && c->obuf.len <= AOF_DEFER_MAX && atomic_load_explicit(&aof_on, memory_order_relaxed) &&
           !c->obuf_foreign && c->wakefd < 0 &&
           !(atomic_load_explicit(&c->flags, memory_order_relaxed) & (CLIENT_CLOSE_ASAP | CLIENT_POLL)) &&
           aof_defer_likely() && sock_outq(c->fd) == 0;
}

/* The thread's eventfd for delegation (cmd.c): a holder that could not
 * send a handed batch's whole reply, or that lets go of the lock with it
 * still listed, wakes the owner waiting on its socket through it. Made on
 * the thread's first connection, kept for the pooled thread's life. */
static _Thread_local int tl_efd = -1;

static int thread_efd(void)
{
    if (tl_efd < 0) tl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return tl_efd;
}

bool conn_send_handed(client *c)
{
    if (!c->obuf.len || (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP)) return false;
    ssize_t n = send(c->fd, c->obuf.p, c->obuf.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
        atomic_fetch_add_explicit(&server.stat_net_out, (uint64_t)n, memory_order_relaxed);
        buf_consume(&c->obuf, (size_t)n);
    }
    return c->obuf.len > 0;
}

void conn_wake_handed(int efd)
{
    uint64_t one = 1;
    if (write(efd, &one, sizeof one) < 0) { /* the counter is full: it is awake anyway */
    }
}

/* c's batch went to another thread (c->handed): until it is run and its
 * replies sent, c's buffers are that thread's. Waiting on the socket means
 * one sleep per batch, as without a hand-over: the client's next request
 * comes after the replies it waits for. */
static void deleg_wait(client *c)
{
    c->handed = false;
    dreq *r = &c->dr;
    bool readable = false;
    for (;;) {
        uint32_t st = atomic_load_explicit(&r->state, memory_order_acquire);
        if (st == DREQ_DONE) break;
        if (st == DREQ_KICKED) {
            cmd_deleg_take(c, true);
            break;
        }
        if (readable) { /* more input already (or the peer gone): only the batch is awaited */
            uint32_t w = DREQ_WAITING;
            if ((st == DREQ_ASLEEP || atomic_compare_exchange_strong(&r->state, &w, DREQ_ASLEEP)) &&
                !util_futex_wait(&r->state, DREQ_ASLEEP, 1000) && cmd_deleg_take(c, false))
                break; /* the backstop below: listed after the holder's last look, and nobody
                        * took the lock since (a killed client's socket is readable at once) */
            continue;
        }
        struct pollfd pf[2] = {{c->fd, POLLIN, 0}, {r->efd, POLLIN, 0}};
        int n = poll(pf, 2, 100);
        if (pf[1].revents & POLLIN) {
            uint64_t v;
            if (read(r->efd, &v, sizeof v) < 0) { /* already read: nothing to do */
            }
        }
        if (pf[0].revents) readable = true;
        if (n == 0 && cmd_deleg_take(c, false)) break; /* a backstop: nobody ran it */
    }
}

static void serve(client *c)
{
    char qmem[QMEM], omem[OMEM];
    tl_stats.on = true;
    buf_init_static(&c->qbuf, qmem, sizeof qmem);
    buf_init_static(&c->obuf, omem, sizeof omem);
    bool text = c->proto == PROTO_TEXT;
    int cur_timeout = 0;
    size_t burst = 0;
    int sched = CFG(conn_sched_batch);
    if (sched == SCHED_BATCH_PIPELINED) sched_batch_set(false); /* a pooled thread starts over */
    cmd_coalesce(true);
    c->dr.efd = thread_efd();

    for (;;) {
        if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_POLL) {
            if (!defer_finish(c)) break; /* nothing may overtake it */
            int w = conn_wait(c, -1, true);
            if (w == CONN_CLOSED) break;
            if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP) break;
            if (w == CONN_WOKEN) {
                if (!conn_flush_async(c)) break;
                continue;
            }
        }
        /* `timeout` (CONFIG SET applies to connections already open) */
        int to = CFG(timeout);
        if (to != cur_timeout) {
            struct timeval tv = {to, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            cur_timeout = to;
        }
        /* room for the next read: at least 1 KiB, more for a large bulk or
         * while a stream of requests keeps filling the buffer (burst) */
        size_t want = burst ? burst : 1024;
        size_t pend = text ? 0 : resp_bulk_pending(c, c->qbuf.len);
        if (pend > want) want = pend < (1u << 20) ? pend : (1u << 20);
        if (c->qbuf.cap - c->qbuf.len < want) buf_reserve(&c->qbuf, want);
        size_t room = c->qbuf.cap - c->qbuf.len;
        ssize_t n = -2;
        int spin = spin_us();
        if (burst || spin > 0) n = read_nowait(c->fd, c->qbuf.p + c->qbuf.len, room, spin);
        if (n == -2) {
            /* nothing waiting: the stream paused, the buffers go back to
             * the stack before the thread sleeps */
            if (burst) {
                burst = 0;
                if (c->qbuf.len == 0 && c->qbuf.heap) buf_reset(&c->qbuf, qmem, sizeof qmem);
                if (c->obuf.heap) buf_reset(&c->obuf, omem, sizeof omem);
                room = c->qbuf.cap - c->qbuf.len;
            }
            n = read(c->fd, c->qbuf.p + c->qbuf.len, room);
        }
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;
        }
        /* a full read means more is waiting: read more at a time (fewer
         * wake-ups, system calls and replies' writes) until a read comes
         * back short; then the buffers go back to the stack */
        if ((size_t)n == room) burst = burst ? (burst < BURST_MAX ? burst * 2 : BURST_MAX) : BURST_MIN;
        else burst = 0;
        c->qbuf.len += (size_t)n;
        cmd_clock_reset();
        atomic_fetch_add_explicit(&server.stat_net_in, (uint64_t)n, memory_order_relaxed);
        if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP) break;

        size_t pos = 0;
        bool close_now = false;
        uint64_t ncmd0 = c->commands;
        c->parse_pos = &pos; /* a shard's lock holder may run on from there (cmd.c) */
        for (;;) {
            const char *err = NULL;
            int r = text ? text_parse(c, c->qbuf.p, c->qbuf.len, &pos, &err)
                         : resp_parse(c, c->qbuf.p, c->qbuf.len, &pos, &err);
            if (r == PARSE_MORE) break;
            if (r == PARSE_ERR) {
                char msg[160];
                snprintf(msg, sizeof msg, "ERR %s", err);
                c->cmd = NULL;
                reply_error(c, msg);
                if (!text) {
                    log_verbose("protocol error from client id=%llu addr=%s: %s",
                                (unsigned long long)c->id, c->addr, err);
                    close_now = true;
                    break;
                }
                continue;
            }
            if (c->argc == 0) continue;
            /* a subscriber (or monitor): what was published before this
             * command precedes its reply */
            if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_POLL) conn_take_async(c);
            /* CLIENT REPLY: what a command skipped (or any while OFF)
             * replies is dropped (reply_flags also keeps the command from
             * being handed to another thread, cmd.c) */
            if (c->reply_flags & REPLY_SKIP_NEXT) c->reply_flags = (uint8_t)((c->reply_flags & ~REPLY_SKIP_NEXT) | REPLY_SKIP);
            size_t reply_mark = c->obuf.len;
            c->reply_keep = reply_mark; /* (pushes kept past it: t_pubsub.c) */
            cmd_dispatch(c);
            if (c->handed) deleg_wait(c);
            c->commands++;
            int fl = atomic_load_explicit(&c->flags, memory_order_relaxed);
            if (fl & CLIENT_BLOCKED) {
                /* replies so far go out first, then the command waits */
                cmd_release_held();
                if (c->reply_flags & (REPLY_OFF | REPLY_SKIP)) c->obuf.len = reply_mark;
                if ((c->obuf.len && !write_all(c)) || !defer_finish(c)) {
                    close_now = true;
                    break;
                }
                reply_mark = 0;
                pubsub_flush_wakes();
                note_info(c, false); /* CLIENT LIST shows the blocking command, as Redis */
                bool ok = block_wait(c);
                cmd_clock_reset();
                if (!ok) {
                    close_now = true;
                    break;
                }
                fl = atomic_load_explicit(&c->flags, memory_order_relaxed);
            }
            if (c->reply_flags & (REPLY_OFF | REPLY_SKIP)) {
                /* (but for (un)subscribe confirmations and the messages
                 * taken before them: pushes, as Redis sends them) */
                if (c->reply_keep > reply_mark) reply_mark = c->reply_keep;
                if (c->obuf.len > reply_mark) c->obuf.len = reply_mark;
                c->reply_flags &= (uint8_t)~REPLY_SKIP;
            }
            if (fl & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) {
                close_now = true;
                break;
            }
            if (c->obuf.len > OBUF_FLUSH) {
                cmd_release_held();
                if (!write_all(c)) {
                    close_now = true;
                    break;
                }
            }
        }
        cmd_release_held(); /* no shard lock across a send or a read */
        c->parse_pos = NULL;
        if (sched == SCHED_BATCH_PIPELINED) {
            uint64_t ncmd = c->commands - ncmd0;
            if (ncmd >= PIPELINED_ON) sched_batch_set(true);
            else if (ncmd <= 1) sched_batch_set(false);
        }
        /* keep only the unparsed tail */
        if (pos) buf_consume(&c->qbuf, pos);
        if (c->qbuf.len == 0 && c->qbuf.heap && !burst) buf_reset(&c->qbuf, qmem, sizeof qmem);
        if ((long long)c->qbuf.len > CFG(client_query_buffer_limit)) {
            log_warning("closing client that reached max query buffer length: id=%llu addr=%s",
                        (unsigned long long)c->id, c->addr);
            close_now = true;
        }
        note_info(c, true);
        cmd_stats_flush(); /* also when there is nothing to write (CLIENT REPLY OFF) */
        /* killed or over a limit: what is left unsent is dropped */
        if (atomic_load_explicit(&c->flags, memory_order_relaxed) & CLIENT_CLOSE_ASAP) c->obuf.len = 0;
        if (c->obuf.len && can_defer(c, close_now) && aof_defer_reply(c->fd, c->obuf.p, c->obuf.len)) {
            c->obuf.len = 0; /* the group commit sends it; we read on */
            cmd_clock_reset();
        }
        if (c->obuf.len && !write_all(c)) break;
        if (c->obuf.heap && !burst) buf_reset(&c->obuf, omem, sizeof omem);
        if (c->wakefd >= 0) {
            pthread_mutex_lock(&c->outlock);
            bool queued = c->async.len > 0;
            pthread_mutex_unlock(&c->outlock);
            if (queued && !conn_flush_async(c)) break;
        }
        if (close_now) break;
    }
    cmd_coalesce(false);
    defer_finish(c); /* the socket stays ours until it is sent */
    pubsub_flush_wakes();
    cmd_stats_flush();
    buf_free(&c->qbuf);
    buf_free(&c->obuf);
}

__attribute__((weak)) void multi_reset_client(client *c) { UNUSED(c); }
__attribute__((weak)) void pubsub_reset_client(client *c) { UNUSED(c); }
__attribute__((weak)) void block_reset_client(client *c) { UNUSED(c); }

static void client_free(client *c)
{
    block_reset_client(c);   /* blocking registrations */
    multi_reset_client(c);   /* queued commands, WATCHed keys */
    pubsub_reset_client(c);  /* subscriptions */
    list_remove(c);
    if (c->wakefd >= 0) close(c->wakefd);
    buf_free(&c->async);
    buf_free(&c->prop);
    pthread_mutex_destroy(&c->outlock);
    buf_free(&c->scratch);
    tnode_free(c->troot);
    free(c->argv);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---------------------------------------------------------------- threads */

typedef struct worker {
    pthread_cond_t cv;
    client *c;
    struct worker *next;
} worker;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static worker *idle_workers;
static int idle_count;
#define POOL_MAX_IDLE 256
#define POOL_IDLE_SECONDS 60

static void worker_unlink(worker *w)
{
    for (worker **pp = &idle_workers; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            idle_count--;
            return;
        }
}

static void *worker_main(void *arg)
{
    worker w;
    pthread_cond_init(&w.cv, NULL);
    w.c = arg;
    if (CFG(conn_sched_batch) == SCHED_BATCH_YES) sched_batch_set(true);
#ifdef HAVE_JEMALLOC
    if (!CFG(conn_thread_tcache)) {
        bool off = false;
        mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof off);
    }
#endif
    for (;;) {
        client *c = w.c;
        serve(c);
        client_free(c);

        pthread_mutex_lock(&pool_mu);
        if (idle_count >= POOL_MAX_IDLE || atomic_load(&server.shutting_down)) {
            pthread_mutex_unlock(&pool_mu);
            break;
        }
        w.c = NULL;
        w.next = idle_workers;
        idle_workers = &w;
        idle_count++;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += POOL_IDLE_SECONDS;
        while (!w.c) {
            if (pthread_cond_timedwait(&w.cv, &pool_mu, &ts) != 0 && !w.c) {
                worker_unlink(&w);
                break;
            }
        }
        client *next = w.c;
        pthread_mutex_unlock(&pool_mu);
        if (!next) break;
    }
    block_thread_exit();
    pthread_cond_destroy(&w.cv);
    return NULL;
}

/* Wakes parked threads so they exit (shutdown). */
void conn_pool_drain(void)
{
    pthread_mutex_lock(&pool_mu);
    while (idle_workers) {
        worker *w = idle_workers;
        idle_workers = w->next;
        idle_count--;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&pool_mu);
}

static void set_sockopts(int fd, int kind)
{
    int one = 1;
    if (!(kind & 0x100)) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int ka = CFG(tcp_keepalive);
    if (ka > 0 && !(kind & 0x100)) {
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#ifdef TCP_KEEPIDLE
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &ka, sizeof ka);
        int intvl = ka / 3 ? ka / 3 : 1, cnt = 3;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
#endif
    }
    /* `timeout` is enforced by conn_timeout_sweep(), which also sees
     * CONFIG SET changes (an SO_RCVTIMEO set here would not) */
}

/* Closes clients idle for longer than `timeout` seconds, as Redis's
 * clientsCron: not blocked ones nor subscribers. Called about once a second
 * by the accept thread. A client waiting for its peer to read replies is
 * handled by send_bounded(), which counts progress as interaction. */
void conn_timeout_sweep(void)
{
    int to = CFG(timeout);
    if (to <= 0) return;
    int64_t now = util_mstime();
    pthread_mutex_lock(&conn_list_lock);
    for (client *c = clients; c; c = c->next) {
        int fl = atomic_load_explicit(&c->flags, memory_order_relaxed);
        if (fl & (CLIENT_BLOCKED | CLIENT_POLL | CLIENT_CLOSE_ASAP)) continue;
        pthread_mutex_lock(&c->lock);
        int64_t last = c->last_interaction;
        pthread_mutex_unlock(&c->lock);
        if (now - last <= (int64_t)to * 1000) continue;
        log_verbose("closing idle client id=%llu addr=%s", (unsigned long long)c->id, c->addr);
        atomic_fetch_or(&c->flags, CLIENT_CLOSE_ASAP);
        shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&conn_list_lock);
}

/* Takes ownership of fd: registers a client and hands it to a parked
 * thread or a new one. kind is LISTEN_RESP or LISTEN_TEXT (| 0x100 for a
 * unix socket). On failure answers an error and closes. */
void conn_start(int fd, int kind, const char *addr, const char *laddr)
{
    client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    set_sockopts(fd, kind);
    c->id = atomic_fetch_add(&next_id, 1);
    c->fd = fd;
    c->proto = (kind & 0xff) == LISTEN_TEXT ? PROTO_TEXT : PROTO_RESP2;
    if ((kind & 0xff) == LISTEN_TEXT) c->flags = CLIENT_TEXT;
    c->db = &server_dbs[0];
    c->ps.bulklen = -1;
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    snprintf(c->laddr, sizeof c->laddr, "%s", laddr);
    c->ctime = c->last_interaction = util_mstime();
    const char *pw = __atomic_load_n(&cfg.requirepass, __ATOMIC_ACQUIRE); /* CONFIG SET may change it */
    c->authenticated = pw == NULL || pw[0] == '\0';
    pthread_mutex_init(&c->lock, NULL);
    {
        /* held for a copy at a time by publishers on other cores: spin a
         * little before sleeping */
        pthread_mutexattr_t ma;
        pthread_mutexattr_init(&ma);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
        pthread_mutex_init(&c->outlock, &ma);
        pthread_mutexattr_destroy(&ma);
    }
    c->wakefd = -1;
    list_add(c);
    atomic_fetch_add(&total_conns, 1);
    atomic_fetch_add_explicit(&server.stat_connections, 1, memory_order_relaxed);

    pthread_mutex_lock(&pool_mu);
    if (idle_workers) {
        worker *w = idle_workers;
        idle_workers = w->next;
        idle_count--;
        w->c = c;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&pool_mu);
        return;
    }
    pthread_mutex_unlock(&pool_mu);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, (size_t)cfg.thread_stack_size);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, worker_main, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        log_warning("cannot start a connection thread: %s", strerror(rc));
        ssize_t w = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
        UNUSED(w);
        atomic_fetch_add(&stat_rejected_conn, 1);
        client_free(c);
    }
}
