/* t_pubsub.c — publish/subscribe: the registry of channels, patterns and
 * shard channels, the (P|S)SUBSCRIBE family, PUBLISH and PUBSUB, the RESP2
 * subscribed-context filter, subscriber output limits, and keyspace
 * notifications.
 *
 * Delivery: the publisher's thread renders a message once per protocol and
 * appends it to each subscriber's async output (conn_push_defer, under that
 * subscriber's outlock) while it executes PUBLISH; a subscribed connection
 * waits in poll() on its socket and wake fd (CLIENT_POLL). At the end of
 * the publisher's batch (the PUBLISHes of one read, pubsub_flush_wakes,
 * right after its replies went out, or before it would wait for its peer
 * to read them) each subscriber it queued for is flushed
 * once: by the last of the batches that queued for it, which writes the
 * subscriber's socket itself with a non-blocking send while the
 * subscriber's thread is parked, or else wakes that thread (see "Who
 * writes a connection's socket" in conn.c). The publisher never waits on a
 * subscriber's socket; a subscriber whose pending output passes
 * client-output-buffer-limit pubsub is disconnected. Order: a subscriber
 * gets what was published before its command ran before that command's
 * reply (conn_take_async; for (un)subscribe under the registry write lock).
 *
 * Locking: one registry rwlock (publishers read, (un)subscribers write).
 * Order: shard locks -> registry -> a subscriber's outlock (keyspace events
 * are published under shard locks). A client's own subscription lists are
 * changed only by its thread under the registry write lock. */
#include "kvd.h"

#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------- registry */

typedef struct pnode {      /* one channel or pattern and its subscribers */
    struct pnode *next;
    uint64_t h;
    size_t n;
    client **subs;
    int nsubs, cap;
    char name[];
} pnode;

typedef struct pmap {
    pnode **tab;
    size_t size, count;
} pmap;

enum { K_CHANNEL = 0, K_PATTERN = 1, K_SHARD = 2 };

static pmap maps[3];                 /* under reg_lock */
static pthread_rwlock_t reg_lock;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static _Atomic long reg_counts[3];   /* maps[k].count, for INFO without the lock */

/* Per-client state (c->ext[1]): the nodes it is subscribed to. */
typedef struct psstate {
    pnode **subs[3];
    int n[3], cap[3];
    bool poll_set;                   /* we set CLIENT_POLL */
    _Atomic int64_t soft_since;      /* ms when the soft limit was first passed, 0 none */
    _Atomic long wake_refs;          /* publishers holding a deferred wake-up for us */
} psstate;

/* Deferred wake-ups of this publisher thread (see pubsub_flush_wakes).
 * Each entry holds a wake_ref, so its client outlives the entry. */
typedef struct pendwake {
    client *c;
    psstate *ps;
} pendwake;
static _Thread_local pendwake *tl_wakes;
static _Thread_local int tl_nwakes, tl_capwakes;
static _Thread_local bool tl_defer;
/* The subscribers this batch registered with (tl_wakes), as a set: slots
 * of an earlier batch (gen != tl_gen) are empty. */
typedef struct tlmark {
    client *c;
    uint32_t gen;
} tlmark;
static _Thread_local tlmark *tl_set;
static _Thread_local uint32_t tl_setcap, tl_gen = 1;

static uint32_t ptr_slot(const client *c, uint32_t mask)
{
    uint64_t x = (uint64_t)(uintptr_t)c;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 32;
    return (uint32_t)x & mask;
}

static void tl_set_put(client *c)
{
    uint32_t mask = tl_setcap - 1, i = ptr_slot(c, mask);
    while (tl_set[i].gen == tl_gen) i = (i + 1) & mask;
    tl_set[i] = (tlmark){c, tl_gen};
}

/* True if this batch registered with c already (it is in tl_wakes). */
static bool tl_seen(client *c)
{
    if ((uint32_t)tl_nwakes * 2 + 2 >= tl_setcap) {
        free(tl_set);
        tl_setcap = tl_setcap ? tl_setcap * 2 : 64;
        while (tl_setcap < (uint32_t)tl_nwakes * 4 + 4) tl_setcap *= 2;
        tl_set = calloc(tl_setcap, sizeof *tl_set);
        if (!tl_set) abort();
        if (tl_gen == 0) tl_gen = 1;
        for (int i = 0; i < tl_nwakes; i++) tl_set_put(tl_wakes[i].c);
    }
    uint32_t mask = tl_setcap - 1;
    for (uint32_t i = ptr_slot(c, mask); tl_set[i].gen == tl_gen; i = (i + 1) & mask)
        if (tl_set[i].c == c) return true;
    return false;
}

static void reg_init(void)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
#ifdef __GLIBC__
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    pthread_rwlock_init(&reg_lock, &a);
    pthread_rwlockattr_destroy(&a);
}

__attribute__((constructor)) static void pubsub_ctor(void) { pthread_once(&reg_once, reg_init); }

static pnode *pmap_find(pmap *m, sv name, uint64_t h)
{
    if (!m->size) return NULL;
    for (pnode *p = m->tab[h & (m->size - 1)]; p; p = p->next)
        if (p->h == h && p->n == name.n && memcmp(p->name, name.p, name.n) == 0) return p;
    return NULL;
}

static void pmap_resize(pmap *m, size_t nsize)
{
    pnode **nt = calloc(nsize, sizeof(pnode *));
    if (!nt) abort();
    for (size_t i = 0; i < m->size; i++)
        for (pnode *p = m->tab[i], *next; p; p = next) {
            next = p->next;
            p->next = nt[p->h & (nsize - 1)];
            nt[p->h & (nsize - 1)] = p;
        }
    free(m->tab);
    m->tab = nt;
    m->size = nsize;
}

static pnode *pmap_add(pmap *m, sv name, uint64_t h)
{
    if (m->count >= m->size) pmap_resize(m, m->size ? m->size * 2 : 16);
    pnode *p = calloc(1, sizeof *p + name.n + 1);
    if (!p) abort();
    p->h = h;
    p->n = name.n;
    memcpy(p->name, name.p, name.n);
    p->next = m->tab[h & (m->size - 1)];
    m->tab[h & (m->size - 1)] = p;
    m->count++;
    return p;
}

static void pmap_del(pmap *m, pnode *p)
{
    for (pnode **pp = &m->tab[p->h & (m->size - 1)]; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    m->count--;
    free(p->subs);
    free(p);
    if (m->count == 0) {
        free(m->tab);
        m->tab = NULL;
        m->size = 0;
    }
}

static uint64_t name_hash(sv s) { return util_hash(s.p, s.n); }

static psstate *ps_get(client *c)
{
    psstate *ps = c->ext[1];
    if (!ps) {
        ps = calloc(1, sizeof *ps);
        if (!ps) abort();
        c->ext[1] = ps;
    }
    return ps;
}

static int ps_total(psstate *ps) { return ps ? ps->n[0] + ps->n[1] + ps->n[2] : 0; }
/* The count subscribe replies carry: channels + patterns, or shard channels. */
static int ps_count(psstate *ps, int kind)
{
    if (!ps) return 0;
    return kind == K_SHARD ? ps->n[2] : ps->n[0] + ps->n[1];
}

/* Registry write lock held. Returns false if already subscribed. */
static bool sub_add(client *c, psstate *ps, int kind, sv name)
{
    uint64_t h = name_hash(name);
    pnode *p = pmap_find(&maps[kind], name, h);
    if (p) {
        for (int i = 0; i < ps->n[kind]; i++)
            if (ps->subs[kind][i] == p) return false;
    } else {
        p = pmap_add(&maps[kind], name, h);
        atomic_store_explicit(&reg_counts[kind], (long)maps[kind].count, memory_order_relaxed);
    }
    if (p->nsubs == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->subs = realloc(p->subs, sizeof(client *) * (size_t)p->cap);
        if (!p->subs) abort();
    }
    p->subs[p->nsubs++] = c;
    if (ps->n[kind] == ps->cap[kind]) {
        ps->cap[kind] = ps->cap[kind] ? ps->cap[kind] * 2 : 4;
        ps->subs[kind] = realloc(ps->subs[kind], sizeof(pnode *) * (size_t)ps->cap[kind]);
        if (!ps->subs[kind]) abort();
    }
    ps->subs[kind][ps->n[kind]++] = p;
    atomic_store_explicit(&c->info_nsub[kind], ps->n[kind], memory_order_relaxed);
    return true;
}

/* Removes c's subscription at index i of its kind list. Write lock held. */
static void sub_remove_at(client *c, psstate *ps, int kind, int i)
{
    pnode *p = ps->subs[kind][i];
    ps->subs[kind][i] = ps->subs[kind][--ps->n[kind]];
    atomic_store_explicit(&c->info_nsub[kind], ps->n[kind], memory_order_relaxed);
    for (int j = 0; j < p->nsubs; j++)
        if (p->subs[j] == c) {
            /* keep subscription order for delivery fairness: shift */
            memmove(&p->subs[j], &p->subs[j + 1], sizeof(client *) * (size_t)(p->nsubs - j - 1));
            p->nsubs--;
            break;
        }
    if (p->nsubs == 0) {
        pmap_del(&maps[kind], p);
        atomic_store_explicit(&reg_counts[kind], (long)maps[kind].count, memory_order_relaxed);
    }
}

static int sub_index(psstate *ps, int kind, sv name)
{
    if (!ps) return -1;
    for (int i = 0; i < ps->n[kind]; i++) {
        pnode *p = ps->subs[kind][i];
        if (p->n == name.n && memcmp(p->name, name.p, name.n) == 0) return i;
    }
    return -1;
}

/* CLIENT LIST's sub=, psub=, ssub= of c (t_server.c) */
void pubsub_client_counts(client *c, int *sub, int *psub, int *ssub)
{
    *sub = atomic_load_explicit(&c->info_nsub[K_CHANNEL], memory_order_relaxed);
    *psub = atomic_load_explicit(&c->info_nsub[K_PATTERN], memory_order_relaxed);
    *ssub = atomic_load_explicit(&c->info_nsub[K_SHARD], memory_order_relaxed);
}

void pubsub_counts(long *channels, long *patterns, long *shardchannels)
{
    *channels = atomic_load_explicit(&reg_counts[K_CHANNEL], memory_order_relaxed);
    *patterns = atomic_load_explicit(&reg_counts[K_PATTERN], memory_order_relaxed);
    *shardchannels = atomic_load_explicit(&reg_counts[K_SHARD], memory_order_relaxed);
}

/* ---------------------------------------------------------------- output limits */

static pthread_mutex_t lim_mu = PTHREAD_MUTEX_INITIALIZER;
static long long limits[3][3] = {{0, 0, 0}, {268435456LL, 67108864LL, 60}, {33554432LL, 8388608LL, 60}};
static _Atomic long long lim_hard = 33554432LL, lim_soft = 8388608LL, lim_secs = 60;

int pubsub_output_limit_config(const char *value, bool apply, char *canon, size_t canonlen, char *err,
                               size_t errlen)
{
    long long nl[3][3];
    pthread_mutex_lock(&lim_mu);
    memcpy(nl, limits, sizeof nl);
    pthread_mutex_unlock(&lim_mu);
    char *copy = strdup(value), *save = NULL;
    if (!copy) abort();
    char *w[64];
    int n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save)) w[n++] = t;
    int rc = 0;
    if (n % 4 != 0) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        rc = -1;
    }
    for (int i = 0; rc == 0 && i < n; i += 4) {
        int cls;
        if (strcasecmp(w[i], "normal") == 0) cls = 0;
        else if (strcasecmp(w[i], "slave") == 0 || strcasecmp(w[i], "replica") == 0) cls = 1;
        else if (strcasecmp(w[i], "pubsub") == 0) cls = 2;
        else {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            rc = -1;
            break;
        }
        unsigned long long hard, soft;
        long long secs;
        if (!util_memtoull(w[i + 1], &hard) || !util_memtoull(w[i + 2], &soft) ||
            !util_str2ll(w[i + 3], strlen(w[i + 3]), &secs) || secs < 0) {
            snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            rc = -1;
            break;
        }
        nl[cls][0] = (long long)hard;
        nl[cls][1] = (long long)soft;
        nl[cls][2] = secs;
    }
    free(copy);
    if (rc) return rc;
    snprintf(canon, canonlen, "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld", nl[0][0],
             nl[0][1], nl[0][2], nl[1][0], nl[1][1], nl[1][2], nl[2][0], nl[2][1], nl[2][2]);
    if (apply) {
        pthread_mutex_lock(&lim_mu);
        memcpy(limits, nl, sizeof nl);
        pthread_mutex_unlock(&lim_mu);
        atomic_store(&lim_hard, nl[2][0]);
        atomic_store(&lim_soft, nl[2][1]);
        atomic_store(&lim_secs, nl[2][2]);
    }
    return 0;
}

/* A subscriber that does not keep up: closed as Redis does (registry lock
 * held, so c cannot be freed meanwhile; its thread sees the shutdown). */
static void kill_slow(client *c)
{
    int old = atomic_fetch_or(&c->flags, CLIENT_CLOSE_ASAP);
    if (old & CLIENT_CLOSE_ASAP) return;
    log_warning("client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output buffer limits",
                (unsigned long long)c->id, c->addr);
    shutdown(c->fd, SHUT_RDWR);
}

static void check_limit(client *c, long pending)
{
    long long hard = atomic_load_explicit(&lim_hard, memory_order_relaxed);
    long long soft = atomic_load_explicit(&lim_soft, memory_order_relaxed);
    psstate *ps = c->ext[1];
    if (hard && pending >= hard) {
        kill_slow(c);
        return;
    }
    if (soft && pending >= soft) {
        int64_t now = util_mstime();
        int64_t since = atomic_load_explicit(&ps->soft_since, memory_order_relaxed);
        if (since == 0) {
            atomic_store_explicit(&ps->soft_since, now, memory_order_relaxed);
        } else if (now - since > atomic_load_explicit(&lim_secs, memory_order_relaxed) * 1000) {
            kill_slow(c);
        }
    } else if (atomic_load_explicit(&ps->soft_since, memory_order_relaxed)) {
        atomic_store_explicit(&ps->soft_since, 0, memory_order_relaxed);
    }
}

/* ---------------------------------------------------------------- rendering */

static void render_bulk(buf *b, const char *p, size_t n)
{
    resp_write_len(b, '$', (long long)n);
    buf_append(b, p, n);
    buf_append(b, "\r\n", 2);
}

static tnode *text_leaf(int type, const char *p, size_t n)
{
    tnode *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->type = type;
    t->str = kvd_strndup(p, n);
    t->len = n;
    return t;
}

/* Renders [kind, (pattern,) channel, message] for proto into b. */
static void render_msg(buf *b, int proto, const char *kind, const sv *parts, int nparts)
{
    if (proto == PROTO_TEXT) {
        tnode root;
        memset(&root, 0, sizeof root);
        root.type = TN_ARRAY;
        tnode *kids[4];
        root.child = kids;
        root.nchild = root.expect = root.cap = nparts + 1;
        kids[0] = text_leaf(TN_BULK, kind, strlen(kind));
        for (int i = 0; i < nparts; i++) kids[i + 1] = text_leaf(TN_BULK, parts[i].p, parts[i].n);
        text_render(b, &root);
        for (int i = 0; i <= nparts; i++) tnode_free(kids[i]);
        return;
    }
    resp_write_len(b, proto == PROTO_RESP3 ? '>' : '*', nparts + 1);
    render_bulk(b, kind, strlen(kind));
    for (int i = 0; i < nparts; i++) render_bulk(b, parts[i].p, parts[i].n);
}

typedef struct msgcache {
    buf r[3];        /* RESP2, RESP3, text */
    bool done[3];
} msgcache;

static int proto_slot(int proto) { return proto == PROTO_RESP3 ? 1 : proto == PROTO_TEXT ? 2 : 0; }

/* Where this thread starts walking a channel's subscribers: publishers
 * on other cores start elsewhere, so they seldom want the same
 * subscriber's outlock at the same moment (the order among subscribers
 * of one message does not matter: all have it before PUBLISH answers). */
static _Thread_local uint64_t tl_rng;

static int walk_start(int n)
{
    if (n < 4) return 0;
    if (!tl_rng) tl_rng = (uint64_t)(uintptr_t)&tl_rng * 0x9e3779b97f4a7c15ULL | 1;
    tl_rng ^= tl_rng << 13;
    tl_rng ^= tl_rng >> 7;
    tl_rng ^= tl_rng << 17;
    return (int)(tl_rng % (uint64_t)n);
}

/* Subscribers whose outlock another publisher holds are skipped for a
 * second pass (up to BUSY_MAX of them): by then it is usually free, and
 * the order among the subscribers of one message does not matter. */
#define BUSY_MAX 64

static void deliver(pnode *p, msgcache *mc, const char *kind, const sv *parts, int nparts)
{
    int n = p->nsubs, start = walk_start(n);
    int busy[BUSY_MAX], nbusy = 0;
    for (int j = 0; j < n + nbusy; j++) {
        int i;
        bool retry = j >= n;
        if (retry) i = busy[j - n];
        else i = start + j < n ? start + j : start + j - n;
        client *s = p->subs[i];
        int k = proto_slot(s->proto);
        if (!mc->done[k]) {
            render_msg(&mc->r[k], s->proto, kind, parts, nparts);
            mc->done[k] = true;
        }
        long pending;
        if (tl_defer) {
            bool reg = !tl_seen(s);
            pending = conn_push_defer(s, mc->r[k].p, mc->r[k].len, reg, !retry && nbusy < BUSY_MAX);
            if (pending == -2) {
                busy[nbusy++] = i;
                continue;
            }
            if (reg && pending >= 0) { /* registered: c stays alive until our flush */
                tl_set_put(s);
                if (tl_nwakes == tl_capwakes) {
                    tl_capwakes = tl_capwakes ? tl_capwakes * 2 : 16;
                    tl_wakes = realloc(tl_wakes, sizeof(pendwake) * (size_t)tl_capwakes);
                    if (!tl_wakes) abort();
                }
                psstate *ps = s->ext[1];
                atomic_fetch_add_explicit(&ps->wake_refs, 1, memory_order_relaxed);
                tl_wakes[tl_nwakes++] = (pendwake){s, ps};
            }
        } else {
            pending = conn_push_n(s, mc->r[k].p, mc->r[k].len);
        }
        if (pending >= 0) check_limit(s, pending);
    }
}

long pubsub_publish(sv channel, sv msg, bool sharded)
{
    long receivers = 0;
    if (sharded) {
        if (atomic_load_explicit(&reg_counts[K_SHARD], memory_order_relaxed) == 0) return 0;
    } else if (atomic_load_explicit(&reg_counts[K_CHANNEL], memory_order_relaxed) == 0 &&
               atomic_load_explicit(&reg_counts[K_PATTERN], memory_order_relaxed) == 0) {
        return 0;
    }
    msgcache mc;
    memset(&mc, 0, sizeof mc);
    char mem[3][512];
    for (int i = 0; i < 3; i++) buf_init_static(&mc.r[i], mem[i], sizeof mem[i]);
    pthread_rwlock_rdlock(&reg_lock);
    pnode *p = pmap_find(&maps[sharded ? K_SHARD : K_CHANNEL], channel, name_hash(channel));
    if (p) {
        sv parts[2] = {channel, msg};
        deliver(p, &mc, sharded ? "smessage" : "message", parts, 2);
        receivers += p->nsubs;
    }
    if (!sharded && maps[K_PATTERN].count) {
        pmap *m = &maps[K_PATTERN];
        for (size_t b = 0; b < m->size; b++)
            for (pnode *q = m->tab[b]; q; q = q->next) {
                if (!util_glob_match(q->name, q->n, channel.p, channel.n, false)) continue;
                msgcache pc;
                memset(&pc, 0, sizeof pc);
                char pmem[3][512];
                for (int i = 0; i < 3; i++) buf_init_static(&pc.r[i], pmem[i], sizeof pmem[i]);
                sv parts[3] = {{q->name, q->n}, channel, msg};
                deliver(q, &pc, "pmessage", parts, 3);
                receivers += q->nsubs;
                for (int i = 0; i < 3; i++) buf_free(&pc.r[i]);
            }
    }
    pthread_rwlock_unlock(&reg_lock);
    for (int i = 0; i < 3; i++) buf_free(&mc.r[i]);
    return receivers;
}

/* ---------------------------------------------------------------- client side */

static void set_poll(client *c, psstate *ps)
{
    if (ps_total(ps) > 0 && !ps->poll_set) {
        conn_wake_init(c);
        atomic_fetch_or(&c->flags, CLIENT_POLL);
        ps->poll_set = true;
    } else if (ps_total(ps) == 0 && ps->poll_set) {
        atomic_fetch_and(&c->flags, ~CLIENT_POLL);
        ps->poll_set = false;
    }
}

/* Under the registry write lock, no message can be queued for c: what is
 * queued was published before this (un)subscription, and goes before its
 * reply, as in Redis. Not in the middle of EXEC's reply. */
static void take_async(client *c)
{
    if (!multi_in_exec(c)) conn_take_async(c);
}

static const char *const sub_names[3] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_names[3] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* Under CLIENT REPLY OFF|SKIP what a command replies is dropped (conn.c
 * cuts the buffer back to c->reply_keep after it), but Redis still sends
 * what it pushes: (un)subscribe confirmations and the messages taken
 * before them. The bytes from start on are such pushes: they move down to
 * reply_keep, over the command's dropped replies before them (an EXEC's
 * header and earlier results), and reply_keep passes them. */
static void keep_push(client *c, size_t start)
{
    if (!(c->reply_flags & (REPLY_OFF | REPLY_SKIP))) return;
    size_t n = c->obuf.len - start;
    if (c->proto != PROTO_TEXT && start > c->reply_keep) {
        memmove(c->obuf.p + c->reply_keep, c->obuf.p + start, n);
        c->obuf.len = c->reply_keep + n;
    }
    c->reply_keep = c->obuf.len;
}

static void reply_sub(client *c, const char *what, const char *p, size_t n, long count, size_t start)
{
    reply_push(c, 3);
    reply_bulk_cstr(c, what);
    if (p) reply_bulk(c, p, n);
    else reply_null(c);
    reply_int(c, count);
    keep_push(c, start);
}

static void subscribe_generic(client *c, int kind)
{
    psstate *ps = ps_get(c);
    for (int j = 1; j < c->argc; j++) {
        pthread_rwlock_wrlock(&reg_lock);
        sub_add(c, ps, kind, c->argv[j]);
        int count = ps_count(ps, kind);
        size_t start = c->obuf.len;
        take_async(c); /* messages published before this reply go first */
        pthread_rwlock_unlock(&reg_lock);
        reply_sub(c, sub_names[kind], c->argv[j].p, c->argv[j].n, count, start);
    }
    set_poll(c, ps);
}

static void unsubscribe_generic(client *c, int kind)
{
    psstate *ps = c->ext[1];
    if (c->argc == 1) {
        if (!ps || ps->n[kind] == 0) {
            reply_sub(c, unsub_names[kind], NULL, 0, ps_count(ps, kind), c->obuf.len);
            return;
        }
        while (ps->n[kind] > 0) {
            int i = ps->n[kind] - 1;
            pthread_rwlock_wrlock(&reg_lock);
            pnode *p = ps->subs[kind][i];
            /* the name outlives the node only in our copy */
            size_t n = p->n;
            char tmp[256];
            char *name = n <= sizeof tmp ? tmp : malloc(n);
            if (!name) abort();
            memcpy(name, p->name, n);
            sub_remove_at(c, ps, kind, i);
            int count = ps_count(ps, kind);
            size_t start = c->obuf.len;
            take_async(c);
            pthread_rwlock_unlock(&reg_lock);
            reply_sub(c, unsub_names[kind], name, n, count, start);
            if (name != tmp) free(name);
        }
    } else {
        for (int j = 1; j < c->argc; j++) {
            pthread_rwlock_wrlock(&reg_lock);
            int i = sub_index(ps, kind, c->argv[j]);
            if (i >= 0) sub_remove_at(c, ps, kind, i);
            int count = ps_count(ps, kind);
            size_t start = c->obuf.len;
            take_async(c);
            pthread_rwlock_unlock(&reg_lock);
            reply_sub(c, unsub_names[kind], c->argv[j].p, c->argv[j].n, count, start);
        }
    }
    if (ps) set_poll(c, ps);
}

static void subscribe_command(client *c) { subscribe_generic(c, K_CHANNEL); }
static void psubscribe_command(client *c) { subscribe_generic(c, K_PATTERN); }
static void ssubscribe_command(client *c) { subscribe_generic(c, K_SHARD); }
static void unsubscribe_command(client *c) { unsubscribe_generic(c, K_CHANNEL); }
static void punsubscribe_command(client *c) { unsubscribe_generic(c, K_PATTERN); }
static void sunsubscribe_command(client *c) { unsubscribe_generic(c, K_SHARD); }

void pubsub_reset_client(client *c)
{
    psstate *ps = c->ext[1];
    if (!ps) return;
    pthread_rwlock_wrlock(&reg_lock);
    for (int k = 0; k < 3; k++)
        while (ps->n[k] > 0) sub_remove_at(c, ps, k, ps->n[k] - 1);
    pthread_rwlock_unlock(&reg_lock);
    set_poll(c, ps);
    /* publishers that still hold a deferred wake-up for c finish it at the
     * end of their current batch; our own are flushed here */
    pubsub_flush_wakes();
    while (atomic_load_explicit(&ps->wake_refs, memory_order_acquire) > 0) sched_yield();
    for (int k = 0; k < 3; k++) free(ps->subs[k]);
    free(ps);
    c->ext[1] = NULL;
}

/* The end of this thread's batch of PUBLISHes: each subscriber it queued
 * messages for is sent them (or woken) once, by the last batch that queued
 * for it (conn_send_or_wake). */
void pubsub_flush_wakes(void)
{
    if (tl_nwakes == 0) return;
    for (int i = 0; i < tl_nwakes; i++) {
        conn_send_or_wake(tl_wakes[i].c);
        atomic_fetch_sub_explicit(&tl_wakes[i].ps->wake_refs, 1, memory_order_release);
    }
    tl_nwakes = 0;
    if (++tl_gen == 0) { /* wrapped: old marks would look current */
        memset(tl_set, 0, sizeof *tl_set * tl_setcap);
        tl_gen = 1;
    }
    if (tl_capwakes > 1024) {
        free(tl_wakes);
        tl_wakes = NULL;
        tl_capwakes = 0;
        free(tl_set);
        tl_set = NULL;
        tl_setcap = 0;
    }
}

static void publish_generic(client *c, bool sharded)
{
    tl_defer = true;
    long n = pubsub_publish(c->argv[1], c->argv[2], sharded);
    tl_defer = false;
    /* a RESP3 publisher subscribed to its own channel gets the message
     * before the count, as from Redis */
    take_async(c);
    reply_int(c, n);
}

static void publish_command(client *c) { publish_generic(c, false); }
static void spublish_command(client *c) { publish_generic(c, true); }

/* PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP */
static void pubsub_command(client *c)
{
    sv sub = c->argv[1];
    bool chans = sv_eqci(sub, "channels"), schans = sv_eqci(sub, "shardchannels");
    bool numsub = sv_eqci(sub, "numsub"), snumsub = sv_eqci(sub, "shardnumsub");
    if (sv_eqci(sub, "help")) { /* the subcommands' arities: pubsub_subs */
        static const char *const help[] = {
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
            NULL};
        int n = 0;
        while (help[n]) n++;
        reply_array(c, n);
        for (int i = 0; i < n; i++) reply_status(c, help[i]);
    } else if ((chans || schans) && c->argc <= 3) {
        int kind = chans ? K_CHANNEL : K_SHARD;
        bool all = c->argc == 2;
        sv pat = all ? sv_of("*") : c->argv[2];
        buf names;
        buf_init_static(&names, NULL, 0);
        long n = 0;
        pthread_rwlock_rdlock(&reg_lock);
        pmap *m = &maps[kind];
        for (size_t b = 0; b < m->size; b++)
            for (pnode *p = m->tab[b]; p; p = p->next) {
                if (!all && !util_glob_match(pat.p, pat.n, p->name, p->n, false)) continue;
                uint32_t l = (uint32_t)p->n;
                buf_append(&names, &l, sizeof l);
                buf_append(&names, p->name, p->n);
                n++;
            }
        pthread_rwlock_unlock(&reg_lock);
        reply_array(c, n);
        for (size_t off = 0; off < names.len;) {
            uint32_t l;
            memcpy(&l, names.p + off, sizeof l);
            reply_bulk(c, names.p + off + sizeof l, l);
            off += sizeof l + l;
        }
        buf_free(&names);
    } else if (numsub || snumsub) {
        int kind = numsub ? K_CHANNEL : K_SHARD;
        reply_array(c, (long)(c->argc - 2) * 2);
        for (int j = 2; j < c->argc; j++) {
            pthread_rwlock_rdlock(&reg_lock);
            pnode *p = pmap_find(&maps[kind], c->argv[j], name_hash(c->argv[j]));
            long cnt = p ? p->nsubs : 0;
            pthread_rwlock_unlock(&reg_lock);
            reply_bulk_sv(c, c->argv[j]);
            reply_int(c, cnt);
        }
    } else if (sv_eqci(sub, "numpat")) {
        reply_int(c, atomic_load_explicit(&reg_counts[K_PATTERN], memory_order_relaxed));
    } else { /* CHANNELS with more than one pattern: its arity (-2) let it by */
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
                     (int)(sub.n > 128 ? 128 : sub.n), sub.p);
    }
}

/* ---------------------------------------------------------------- context filter */

static bool allowed_subscribed(command *cmd)
{
    static const char *const ok[] = {"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                                     "psubscribe", "punsubscribe", "quit", "reset", NULL};
    for (int i = 0; ok[i]; i++)
        if (strcmp(cmd->name, ok[i]) == 0) return true;
    return false;
}

/* In RESP2 (and the text protocol) a subscribed connection accepts only the
 * subscribe family, PING (answered as ["pong", arg]), QUIT and RESET. */
bool cmd_filter_hook(client *c, command *cmd)
{
    psstate *ps = c->ext[1];
    if (!ps || ps_total(ps) == 0 || c->proto == PROTO_RESP3) return true;
    if (!allowed_subscribed(cmd)) {
        char full[160];
        if (cmd->subs && c->argc > 1) { /* a container: "name|sub", as Redis names it */
            int n = snprintf(full, sizeof full, "%s|", cmd->name);
            size_t m = c->argv[1].n;
            if (m > sizeof full - (size_t)n - 1) m = sizeof full - (size_t)n - 1;
            for (size_t i = 0; i < m; i++) {
                char ch = c->argv[1].p[i];
                full[(size_t)n + i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
            }
            full[(size_t)n + m] = '\0';
        } else {
            snprintf(full, sizeof full, "%s", cmd->name);
        }
        c->cmd = cmd;
        reply_errorf(c,
                     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                     "are allowed in this context",
                     full);
        c->cmd = NULL;
        multi_queue_hook(c, NULL);
        return false;
    }
    if (strcmp(cmd->name, "ping") == 0 && c->argc <= 2) {
        reply_array(c, 2);
        reply_bulk_cstr(c, "pong");
        if (c->argc == 2) reply_bulk_sv(c, c->argv[1]);
        else reply_bulk(c, "", 0);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- keyspace events */

static _Atomic int notify_flags;

int notify_flags_parse(const char *s)
{
    int f = 0;
    for (; *s; s++) {
        switch (*s) {
        case 'A': f |= NOTIFY_ALL; break;
        case 'g': f |= NOTIFY_GENERIC; break;
        case '$': f |= NOTIFY_STRING; break;
        case 'l': f |= NOTIFY_LIST; break;
        case 's': f |= NOTIFY_SET; break;
        case 'h': f |= NOTIFY_HASH; break;
        case 'z': f |= NOTIFY_ZSET; break;
        case 'x': f |= NOTIFY_EXPIRED; break;
        case 'e': f |= NOTIFY_EVICTED; break;
        case 'K': f |= NOTIFY_KEYSPACE; break;
        case 'E': f |= NOTIFY_KEYEVENT; break;
        case 't': f |= NOTIFY_STREAM; break;
        case 'm': f |= NOTIFY_KEY_MISS; break;
        case 'd': f |= NOTIFY_MODULE; break;
        case 'n': f |= NOTIFY_NEW; break;
        default: return -1;
        }
    }
    return f;
}

/* As Redis prints it (CONFIG GET): "A" for all classes, then K E m. */
void notify_flags_string(int f, char *out)
{
    char *o = out;
    if ((f & NOTIFY_ALL) == NOTIFY_ALL) {
        *o++ = 'A';
    } else {
        static const struct { int f; char ch; } order[] = {
            {NOTIFY_GENERIC, 'g'}, {NOTIFY_STRING, '$'}, {NOTIFY_LIST, 'l'}, {NOTIFY_SET, 's'},
            {NOTIFY_HASH, 'h'},    {NOTIFY_ZSET, 'z'},   {NOTIFY_EXPIRED, 'x'}, {NOTIFY_EVICTED, 'e'},
            {NOTIFY_STREAM, 't'},  {NOTIFY_MODULE, 'd'}, {NOTIFY_NEW, 'n'}};
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
            if (f & order[i].f) *o++ = order[i].ch;
    }
    if (f & NOTIFY_KEYSPACE) *o++ = 'K';
    if (f & NOTIFY_KEYEVENT) *o++ = 'E';
    if (f & NOTIFY_KEY_MISS) *o++ = 'm';
    *o = '\0';
}

void notify_set_flags(int flags) { atomic_store(&notify_flags, flags); }

/* Redis's events of a type write: event on key, then "del" when it left
 * the key empty (deleted). Shard write-locked. */
static bool notify_wanted(int type_flag)
{
    int f = atomic_load_explicit(&notify_flags, memory_order_relaxed);
    if (!(f & type_flag) || !(f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT))) return false;
    return atomic_load_explicit(&reg_counts[K_CHANNEL], memory_order_relaxed) != 0 ||
           atomic_load_explicit(&reg_counts[K_PATTERN], memory_order_relaxed) != 0;
}

void notify_write(int type_flag, const char *event, db *d, sv key)
{
    notify_keyspace_event(type_flag, event, d, key);
    if (!notify_wanted(NOTIFY_GENERIC)) return;
    uint64_t h = store_hash(key);
    if (!store_find(&d->shards[store_shard_index(h)], key, h))
        notify_keyspace_event(NOTIFY_GENERIC, "del", d, key);
}

void notify_keyspace_event(int type_flag, const char *event, db *d, sv key)
{
    if (!notify_wanted(type_flag)) return;
    int f = atomic_load_explicit(&notify_flags, memory_order_relaxed);
    char mem[256];
    buf ch;
    buf_init_static(&ch, mem, sizeof mem);
    sv ev = sv_of(event);
    if (f & NOTIFY_KEYSPACE) {
        buf_printf(&ch, "__keyspace@%d__:", d->id);
        buf_append(&ch, key.p, key.n);
        sv chan = {ch.p, ch.len};
        pubsub_publish(chan, ev, false);
    }
    if (f & NOTIFY_KEYEVENT) {
        ch.len = 0;
        buf_printf(&ch, "__keyevent@%d__:%s", d->id, event);
        sv chan = {ch.p, ch.len};
        pubsub_publish(chan, key, false);
    }
    buf_free(&ch);
}

/* ---------------------------------------------------------------- table */

/* checked by cmd_dispatch (unknown subcommand, arity) before the
 * subscribed-context filter, as Redis does */
static const subcommand pubsub_subs[] = {
    {"channels", -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, "@pubsub @slow", "",
     "List active channels", "2.8.0"},
    {"numpat", 2, CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, "@pubsub @slow", "",
     "Get the count of unique patterns pattern subscriptions", "2.8.0"},
    {"numsub", -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, "@pubsub @slow", "",
     "Get the count of subscribers for channels", "2.8.0"},
    {"shardchannels", -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, "@pubsub @slow", "",
     "List active shard channels", "7.0.0"},
    {"shardnumsub", -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE, 0, 0, 0, "@pubsub @slow", "",
     "Get the count of subscribers for shard channels", "7.0.0"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@slow", "",
     "Show helpful text about the different subcommands", "6.2.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};

command cmds_pubsub[] = {
    {"subscribe", subscribe_command, -2, CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "pubsub", "Listens for messages published to channels.", "2.0.0", 0, 0, 0, 0},
    {"unsubscribe", unsubscribe_command, -1, CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "pubsub", "Stops listening to messages posted to channels.", "2.0.0", 0, 0, 0, 0},
    {"psubscribe", psubscribe_command, -2, CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "pubsub", "Listens for messages published to channels that match one or more patterns.", "2.0.0", 0, 0, 0, 0},
    {"punsubscribe", punsubscribe_command, -1, CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "pubsub", "Stops listening to messages published to channels that match one or more patterns.", "2.0.0", 0, 0, 0, 0},
    {"ssubscribe", ssubscribe_command, -2, CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 1, -1, 1, NULL, "pubsub", "Listens for messages published to shard channels.", "7.0.0", 0, 0, 0, 0},
    {"sunsubscribe", sunsubscribe_command, -1, CMD_PUBSUB | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 1, -1, 1, NULL, "pubsub", "Stops listening to messages posted to shard channels.", "7.0.0", 0, 0, 0, 0},
    {"publish", publish_command, 3, CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "pubsub", "Posts a message to a channel.", "2.0.0", 0, 0, 0, 0},
    {"spublish", spublish_command, 3, CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK, 1, 1, 1, NULL, "pubsub", "Post a message to a shard channel", "7.0.0", 0, 0, 0, 0},
    {"pubsub", pubsub_command, -2, CMD_PUBSUB | CMD_LOADING | CMD_STALE | CMD_NOLOCK, 0, 0, 0, NULL, "pubsub", "A container for Pub/Sub commands.", "2.8.0", 0, 0, 0, 0, pubsub_subs},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
