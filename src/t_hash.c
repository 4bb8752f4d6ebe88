/* t_hash.c — the hash type and its commands (HSET ... HSCAN). A hash starts
 * as a listpack of field, value pairs in insertion order and becomes a
 * chained hash table once it has more than hash-max-listpack-entries
 * fields or meets a field or value longer than hash-max-listpack-value
 * bytes; it never converts back (as Redis). Handlers run with the key's
 * shard locked by cmd.c. */
#include "kvd.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { HENC_LP = 1, HENC_HT = 2 };

typedef struct hfield {
    struct hfield *next;
    uint32_t hash;
    uint32_t flen, vlen;
    char data[];         /* field bytes, then value bytes */
} hfield;

typedef struct hdict {
    uint8_t enc;         /* HENC_HT */
    uint64_t count;
    uint64_t size;       /* buckets: power of two */
    uint64_t bytes;      /* memory estimate of the nodes */
    hfield **table;
} hdict;

static inline int henc(const void *h) { return *(const uint8_t *)h; }
static inline sv hf_field(const hfield *f) { sv v = {f->data, f->flen}; return v; }
static inline sv hf_value(const hfield *f) { sv v = {f->data + f->flen, f->vlen}; return v; }
static inline bool sveq(sv a, sv b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) abort();
    return p;
}

/* ---------------------------------------------------------------- table */

static hfield *hf_new(sv f, sv v, uint32_t hash)
{
    hfield *n = malloc(sizeof(hfield) + f.n + v.n);
    if (!n) abort();
    n->next = NULL;
    n->hash = hash;
    n->flen = (uint32_t)f.n;
    n->vlen = (uint32_t)v.n;
    memcpy(n->data, f.p, f.n);
    memcpy(n->data + f.n, v.p, v.n);
    return n;
}

static size_t hf_size(const hfield *f) { return sizeof(hfield) + f->flen + f->vlen; }

static hdict *ht_new(void)
{
    hdict *d = xcalloc(1, sizeof *d);
    d->enc = HENC_HT;
    d->size = 4;
    d->table = xcalloc(4, sizeof(hfield *));
    return d;
}

static void ht_resize(hdict *d, uint64_t nsize)
{
    hfield **nt = calloc(nsize, sizeof(hfield *));
    if (!nt) return;
    /* every field is a cache miss and the key's shard is locked: fetch the
     * chain heads a few buckets ahead so the misses overlap */
    enum { AHEAD = 8 };
    for (uint64_t i = 0; i < d->size; i++) {
        if (i + AHEAD < d->size && d->table[i + AHEAD]) __builtin_prefetch(d->table[i + AHEAD], 1);
        hfield *f = d->table[i];
        while (f) {
            hfield *next = f->next;
            uint64_t b = f->hash & (nsize - 1);
            f->next = nt[b];
            nt[b] = f;
            f = next;
        }
    }
    free(d->table);
    d->table = nt;
    d->size = nsize;
}

static hfield **ht_link(hdict *d, sv f, uint32_t hash)
{
    hfield **pp = &d->table[hash & (d->size - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == hash && sveq(hf_field(*pp), f)) return pp;
    return pp;
}

static uint32_t fhash(sv f) { return (uint32_t)util_hash(f.p, f.n); }

/* Returns 1 if the field is new. */
static int ht_set(hdict *d, sv f, sv v)
{
    uint32_t h = fhash(f);
    hfield **pp = ht_link(d, f, h);
    hfield *old = *pp;
    if (old && old->vlen == v.n) { /* same size: overwrite in place */
        memmove(old->data + old->flen, v.p, v.n);
        return 0;
    }
    hfield *n = hf_new(f, v, h);
    if (old) {
        n->next = old->next;
        *pp = n;
        d->bytes -= hf_size(old);
        d->bytes += hf_size(n);
        free(old);
        return 0;
    }
    *pp = n;
    d->count++;
    d->bytes += hf_size(n);
    if (d->count > d->size) ht_resize(d, d->size * 2);
    return 1;
}

static hfield *ht_find(hdict *d, sv f)
{
    return *ht_link(d, f, fhash(f));
}

static bool ht_del(hdict *d, sv f)
{
    hfield **pp = ht_link(d, f, fhash(f));
    hfield *x = *pp;
    if (!x) return false;
    *pp = x->next;
    d->count--;
    d->bytes -= hf_size(x);
    free(x);
    if (d->size > 4 && d->count < d->size / 8) ht_resize(d, d->size / 4 < 4 ? 4 : d->size / 4);
    return true;
}

static void ht_free(hdict *d)
{
    for (uint64_t i = 0; i < d->size; i++) {
        hfield *f = d->table[i];
        while (f) {
            hfield *next = f->next;
            free(f);
            f = next;
        }
    }
    free(d->table);
    free(d);
}

static hfield *ht_random(hdict *d)
{
    hfield *f = NULL;
    for (int tries = 0; !f; tries++) {
        if (tries > 1000) {
            for (uint64_t i = 0; i < d->size && !f; i++) f = d->table[i];
            break;
        }
        f = d->table[util_rand64() & (d->size - 1)];
    }
    uint64_t len = 0;
    for (hfield *x = f; x; x = x->next) len++;
    uint64_t k = util_rand64() % len;
    while (k--) f = f->next;
    return f;
}

/* ---------------------------------------------------------------- generic */

/* Calls fn for every pair, in order for a listpack. */
typedef void pairfn(void *ctx, sv f, sv v);

static void hash_foreach(const void *h, pairfn *fn, void *ctx)
{
    if (henc(h) == HENC_LP) {
        const lpack *lp = h;
        uint32_t off = 0;
        for (uint32_t i = 0; i < lp->count; i += 2) {
            sv f, v;
            off = lp_get(lp, off, &f);
            off = lp_get(lp, off, &v);
            fn(ctx, f, v);
        }
    } else {
        const hdict *d = h;
        for (uint64_t i = 0; i < d->size; i++)
            for (hfield *f = d->table[i]; f; f = f->next) fn(ctx, hf_field(f), hf_value(f));
    }
}

static uint64_t hash_len(const void *h)
{
    if (henc(h) == HENC_LP) return ((const lpack *)h)->count / 2;
    return ((const hdict *)h)->count;
}

/* Byte offset of field f's entry in a listpack hash, or UINT32_MAX. */
static uint32_t lp_find_field(const lpack *lp, sv f, sv *val)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < lp->count; i += 2) {
        sv k, v;
        uint32_t at = off;
        off = lp_get(lp, off, &k);
        off = lp_get(lp, off, &v);
        if (sveq(k, f)) {
            if (val) *val = v;
            return at;
        }
    }
    return UINT32_MAX;
}

static bool hash_get(void *h, sv f, sv *val)
{
    if (henc(h) == HENC_LP) return lp_find_field(h, f, val) != UINT32_MAX;
    hfield *x = ht_find(h, f);
    if (x && val) *val = hf_value(x);
    return x != NULL;
}

static void conv_cb(void *ctx, sv f, sv v) { ht_set(ctx, f, v); }

static hdict *hash_to_table(lpack *lp)
{
    hdict *d = ht_new();
    uint64_t want = 4;
    while (want < lp->count / 2) want *= 2;
    if (want > d->size) ht_resize(d, want);
    hash_foreach(lp, conv_cb, d);
    free(lp);
    return d;
}

static bool too_long(size_t n)
{
    return (long long)n > CFG(hash_max_listpack_value);
}

/* Sets f to v; returns 1 for a new field. *hp may change. */
static int hash_set(void **hp, sv f, sv v)
{
    void *h = *hp;
    if (henc(h) == HENC_LP && (too_long(f.n) || too_long(v.n) || ((lpack *)h)->bytes > (1u << 30)))
        h = hash_to_table(h);
    int added;
    if (henc(h) == HENC_LP) {
        lpack *lp = h;
        uint32_t at = lp_find_field(lp, f, NULL);
        if (at != UINT32_MAX) {
            sv tmp;
            uint32_t voff = lp_get(lp, at, &tmp);
            lp = lp_replace(lp, voff, v);
            added = 0;
        } else {
            sv pair[2] = {f, v};
            lp = lp_insert(lp, lp->bytes, pair, 2);
            added = 1;
        }
        h = lp;
        if ((long long)(lp->count / 2) > CFG(hash_max_listpack_entries)) h = hash_to_table(lp);
    } else {
        added = ht_set(h, f, v);
    }
    *hp = h;
    return added;
}

static bool hash_del(void **hp, sv f)
{
    void *h = *hp;
    if (henc(h) == HENC_LP) {
        uint32_t at = lp_find_field(h, f, NULL);
        if (at == UINT32_MAX) return false;
        *hp = lp_delete(h, at, 2);
        return true;
    }
    return ht_del(h, f);
}

static size_t hash_mem(const void *h)
{
    if (henc(h) == HENC_LP) return lp_mem(h);
    const hdict *d = h;
    return sizeof *d + d->size * sizeof(hfield *) + d->bytes;
}

/* ---------------------------------------------------------------- objtype */

static void hash_free(void *h)
{
    if (henc(h) == HENC_LP) free(h);
    else ht_free(h);
}

static void *hash_dup(const void *h)
{
    if (henc(h) == HENC_LP) return lp_dup(h);
    const hdict *s = h;
    hdict *d = ht_new();
    ht_resize(d, s->size);
    for (uint64_t i = 0; i < s->size; i++)
        for (hfield *f = s->table[i]; f; f = f->next) ht_set(d, hf_field(f), hf_value(f));
    return d;
}

static const char *hash_encoding(const void *h) { return henc(h) == HENC_LP ? "listpack" : "hashtable"; }

/* Snapshot layout of a hash value (all integers little-endian):
 *   u32 nfields, then per field: u32 flen, field bytes, u32 vlen, value bytes.
 * The encoding is not stored: loading picks it from the current limits.
 * Changing this changes the snapshot format: bump the version. */
static void put_u32(buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, t, 4);
}

static bool get_u32(const char **p, const char *end, uint32_t *v)
{
    if (end - *p < 4) return false;
    const unsigned char *u = (const unsigned char *)*p;
    *v = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    *p += 4;
    return true;
}

static void save_cb(void *ctx, sv f, sv v)
{
    buf *b = ctx;
    put_u32(b, (uint32_t)f.n);
    buf_append(b, f.p, f.n);
    put_u32(b, (uint32_t)v.n);
    buf_append(b, v.p, v.n);
}

static void hash_save(buf *b, const void *h)
{
    put_u32(b, (uint32_t)hash_len(h));
    hash_foreach(h, save_cb, b);
}

static void *hash_load(const char *p, size_t n, const char **err)
{
    const char *end = p + n;
    uint32_t cnt;
    if (!get_u32(&p, end, &cnt) || cnt == 0) {
        *err = "bad hash header";
        return NULL;
    }
    void *h = lp_new(HENC_LP);
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t fl, vl;
        sv f, v;
        if (!get_u32(&p, end, &fl) || (size_t)(end - p) < fl) goto bad;
        f.p = p;
        f.n = fl;
        p += fl;
        if (!get_u32(&p, end, &vl) || (size_t)(end - p) < vl) goto bad;
        v.p = p;
        v.n = vl;
        p += vl;
        if (!hash_set(&h, f, v)) goto bad; /* duplicate field */
    }
    if (p != end) goto bad;
    return h;
bad:
    hash_free(h);
    *err = "malformed hash";
    return NULL;
}

static const objtype hash_type = {"hash", hash_free, hash_dup, hash_mem, hash_encoding, hash_save, hash_load};

__attribute__((constructor)) static void hash_register(void) { obj_register(OBJ_HASH, &hash_type); }

/* ---------------------------------------------------------------- lookups */

/* Read lookup: NULL (nothing replied) when missing; false after a
 * WRONGTYPE reply. */
static bool lookup_read(client *c, sv key, entry **out)
{
    entry *e = store_lookup_counted(c, key, true);
    if (e && e->type != OBJ_HASH) {
        reply_err_wrongtype(c);
        return false;
    }
    *out = e;
    return true;
}

static bool lookup_write(client *c, sv key, entry **out)
{
    entry *e = store_lookup_write(c->db, key);
    if (e && e->type != OBJ_HASH) {
        reply_err_wrongtype(c);
        return false;
    }
    *out = e;
    return true;
}

/* Write context: the entry (created on demand) and its memory before. */
typedef struct hwrite {
    client *c;
    shard *s;
    entry *e;
    void *h;
    size_t mem0;
} hwrite;

static void hw_begin(hwrite *w, client *c, entry *e)
{
    w->c = c;
    w->s = store_shard_of(c->db, c->argv[1]);
    w->e = e;
    w->h = e ? ent_ptr(e) : lp_new(HENC_LP);
    w->mem0 = e ? hash_mem(w->h) : 0;
}

/* Stores the (possibly moved) value back, creates the key if it was new,
 * deletes it if it emptied. Returns whether the key still exists. */
static bool hw_end(hwrite *w)
{
    if (w->e) {
        ent_setptr(w->e, w->h);
        store_value_mem_changed(w->s, w->e, (ssize_t)hash_mem(w->h) - (ssize_t)w->mem0);
    }
    if (hash_len(w->h) == 0) {
        if (w->e) store_delete_entry(w->s, w->e);
        else hash_free(w->h);
        return false;
    }
    if (!w->e) store_add_ptr(w->c->db, w->c->argv[1], OBJ_HASH, w->h, -1);
    return true;
}

/* ---------------------------------------------------------------- commands */

static void hset_generic(client *c, bool hmset)
{
    if (c->argc % 2 == 1) {
        reply_err_arity(c, hmset ? "hmset" : "hset");
        return;
    }
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    hwrite w;
    hw_begin(&w, c, e);
    long added = 0;
    for (int j = 2; j < c->argc; j += 2) added += hash_set(&w.h, c->argv[j], c->argv[j + 1]);
    hw_end(&w);
    notify_keyspace_event(NOTIFY_HASH, "hset", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    if (hmset) reply_ok(c);
    else reply_int(c, added);
}

static void hset_command(client *c) { hset_generic(c, false); }
static void hmset_command(client *c) { hset_generic(c, true); }

static void hsetnx_command(client *c)
{
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (e && hash_get(ent_ptr(e), c->argv[2], NULL)) {
        reply_int(c, 0);
        return;
    }
    hwrite w;
    hw_begin(&w, c, e);
    hash_set(&w.h, c->argv[2], c->argv[3]);
    hw_end(&w);
    notify_keyspace_event(NOTIFY_HASH, "hset", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    reply_int(c, 1);
}

static void hget_command(client *c)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    sv v;
    if (e && hash_get(ent_ptr(e), c->argv[2], &v)) reply_bulk_sv(c, v);
    else reply_null(c);
}

static void hmget_command(client *c)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        sv v;
        if (e && hash_get(ent_ptr(e), c->argv[j], &v)) reply_bulk_sv(c, v);
        else reply_null(c);
    }
}

static void hdel_command(client *c)
{
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    hwrite w;
    hw_begin(&w, c, e);
    long n = 0;
    for (int j = 2; j < c->argc && hash_len(w.h); j++) n += hash_del(&w.h, c->argv[j]);
    hw_end(&w);
    if (n) {
        notify_write(NOTIFY_HASH, "hdel", c->db, c->argv[1]);
        store_written(c, c->db, c->argv[1]);
    }
    reply_int(c, n);
}

static void hlen_command(client *c)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    reply_int(c, e ? (long long)hash_len(ent_ptr(e)) : 0);
}

static void hstrlen_command(client *c)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    sv v;
    reply_int(c, e && hash_get(ent_ptr(e), c->argv[2], &v) ? (long long)v.n : 0);
}

static void hexists_command(client *c)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    reply_int(c, e && hash_get(ent_ptr(e), c->argv[2], NULL) ? 1 : 0);
}

enum { GET_KEYS = 1, GET_VALS = 2 };
typedef struct getall_ctx {
    client *c;
    int what;
} getall_ctx;

static void getall_cb(void *ctx, sv f, sv v)
{
    getall_ctx *g = ctx;
    if (g->what & GET_KEYS) reply_bulk_sv(g->c, f);
    if (g->what & GET_VALS) reply_bulk_sv(g->c, v);
}

static void getall_generic(client *c, int what)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    if (!e) {
        if (what == (GET_KEYS | GET_VALS)) reply_map(c, 0);
        else reply_empty_array(c);
        return;
    }
    void *h = ent_ptr(e);
    long n = (long)hash_len(h);
    if (what == (GET_KEYS | GET_VALS)) reply_map(c, n);
    else reply_array(c, n);
    getall_ctx g = {c, what};
    hash_foreach(h, getall_cb, &g);
}

static void hkeys_command(client *c) { getall_generic(c, GET_KEYS); }
static void hvals_command(client *c) { getall_generic(c, GET_VALS); }
static void hgetall_command(client *c) { getall_generic(c, GET_KEYS | GET_VALS); }

static void hincrby_command(client *c)
{
    long long incr, cur = 0;
    if (!util_str2ll(c->argv[3].p, c->argv[3].n, &incr)) {
        reply_err_int(c);
        return;
    }
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    sv v;
    if (e && hash_get(ent_ptr(e), c->argv[2], &v)) {
        if (!util_str2ll(v.p, v.n, &cur)) {
            reply_error(c, "ERR hash value is not an integer");
            return;
        }
    }
    if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) || (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
        reply_error(c, "ERR increment or decrement would overflow");
        return;
    }
    cur += incr;
    char tmp[32];
    int n = util_ll2str(tmp, sizeof tmp, cur);
    sv nv = {tmp, (size_t)n};
    hwrite w;
    hw_begin(&w, c, e);
    hash_set(&w.h, c->argv[2], nv);
    hw_end(&w);
    notify_keyspace_event(NOTIFY_HASH, "hincrby", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    reply_int(c, cur);
}

static void hincrbyfloat_command(client *c)
{
    long double incr, cur = 0;
    if (!util_str2ld(c->argv[3].p, c->argv[3].n, &incr)) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    sv v;
    if (e && hash_get(ent_ptr(e), c->argv[2], &v)) {
        if (!util_str2ld(v.p, v.n, &cur)) {
            reply_error(c, "ERR hash value is not a float");
            return;
        }
    }
    cur += incr;
    if (isnan(cur) || isinf(cur)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char tmp[5 * 1024];
    int n = util_ld2str(tmp, sizeof tmp, cur, true);
    sv nv = {tmp, (size_t)n};
    hwrite w;
    hw_begin(&w, c, e);
    hash_set(&w.h, c->argv[2], nv);
    hw_end(&w);
    /* replicas and the AOF get the result, not the float arithmetic */
    sv prop[4] = {sv_of("HSET"), c->argv[1], c->argv[2], nv};
    cmd_propagate(c, 4, prop);
    notify_keyspace_event(NOTIFY_HASH, "hincrbyfloat", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    reply_bulk(c, tmp, (size_t)n);
}

/* ---------------------------------------------------------------- HRANDFIELD */

typedef struct pair {
    sv f, v;
} pair;

static void collect_cb(void *ctx, sv f, sv v)
{
    pair **p = ctx;
    (*p)->f = f;
    (*p)->v = v;
    (*p)++;
}

static void reply_pair(client *c, sv f, sv v, bool withvalues)
{
    if (withvalues && c->proto == PROTO_RESP3) reply_array(c, 2);
    reply_bulk_sv(c, f);
    if (withvalues) reply_bulk_sv(c, v);
}

/* A pointer set for distinct sampling (open addressing). */
typedef struct pset {
    const void **slot;
    size_t mask;
} pset;

static bool pset_add(pset *s, const void *p)
{
    size_t i = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL & s->mask;
    while (s->slot[i]) {
        if (s->slot[i] == p) return false;
        i = (i + 1) & s->mask;
    }
    s->slot[i] = p;
    return true;
}

static void hrandfield_command(client *c)
{
    bool withvalues = false;
    long long l = 0;
    bool has_count = c->argc >= 3;
    if (has_count) {
        if (!util_str2ll(c->argv[2].p, c->argv[2].n, &l)) {
            reply_err_int(c);
            return;
        }
        if (l == LLONG_MIN) {
            reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and "
                           "9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !sv_eqci(c->argv[3], "withvalues"))) {
            reply_err_syntax(c);
            return;
        }
        if (c->argc == 4) {
            withvalues = true;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
                reply_error(c, "ERR value is out of range");
                return;
            }
        }
    }
    entry *e = store_lookup_counted(c, c->argv[1], true);
    if (!e) {
        if (has_count) reply_empty_array(c);
        else reply_null(c);
        return;
    }
    if (e->type != OBJ_HASH) {
        reply_err_wrongtype(c);
        return;
    }
    void *h = ent_ptr(e);
    uint64_t size = hash_len(h);
    if (!has_count) {
        if (henc(h) == HENC_LP) {
            uint32_t idx = (uint32_t)(util_rand64() % size);
            sv f;
            lp_get(h, lp_seek(h, idx * 2), &f);
            reply_bulk_sv(c, f);
        } else {
            reply_bulk_sv(c, hf_field(ht_random(h)));
        }
        return;
    }
    if (l == 0) {
        reply_empty_array(c);
        return;
    }
    bool uniq = l > 0;
    uint64_t count = uniq ? (uint64_t)l : (uint64_t)(-l);
    long arr = (long)count;
    if (uniq && count >= size) arr = (long)size;
    if (withvalues && c->proto != PROTO_RESP3) reply_array(c, arr * 2);
    else reply_array(c, arr);

    if (henc(h) == HENC_LP || (uniq && count * 3 > size)) {
        /* gather every pair; then sample with repetition or shuffle */
        pair *all = malloc(sizeof(pair) * size), *w = all;
        if (!all) abort();
        hash_foreach(h, collect_cb, &w);
        if (!uniq) {
            for (uint64_t i = 0; i < count; i++) {
                pair *p = &all[util_rand64() % size];
                reply_pair(c, p->f, p->v, withvalues);
                /* a count near -LLONG_MAX would build replies until memory
                 * ran out under the shard lock: close the client instead */
                if ((i & 1023) == 1023 && conn_reply_too_big(c)) break;
            }
        } else {
            uint64_t n = count < size ? count : size;
            for (uint64_t i = 0; i < n; i++) {
                uint64_t j = i + util_rand64() % (size - i);
                pair t = all[i];
                all[i] = all[j];
                all[j] = t;
                reply_pair(c, all[i].f, all[i].v, withvalues);
            }
        }
        free(all);
        return;
    }
    if (!uniq) {
        for (uint64_t i = 0; i < count; i++) {
            hfield *f = ht_random(h);
            reply_pair(c, hf_field(f), hf_value(f), withvalues);
            if ((i & 1023) == 1023 && conn_reply_too_big(c)) break;
        }
        return;
    }
    /* few distinct fields from a big table: random picks, deduplicated */
    size_t cap = 16;
    while (cap < count * 2) cap *= 2;
    pset ps = {xcalloc(cap, sizeof(void *)), cap - 1};
    for (uint64_t got = 0; got < count;) {
        hfield *f = ht_random(h);
        if (!pset_add(&ps, f)) continue;
        reply_pair(c, hf_field(f), hf_value(f), withvalues);
        got++;
    }
    free(ps.slot);
}

/* ---------------------------------------------------------------- HSCAN */

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

typedef struct scan_ctx {
    client *c;
    sv pat;
    bool all;
    long n;
} scan_ctx;

static void scan_cb(void *ctx, sv f, sv v)
{
    scan_ctx *s = ctx;
    if (!s->all && !util_glob_match(s->pat.p, s->pat.n, f.p, f.n, false)) return;
    reply_bulk_sv(s->c, f);
    reply_bulk_sv(s->c, v);
    s->n += 2;
}

/* HSCAN key cursor [MATCH pattern] [COUNT count]: arguments parsed by the
 * SCAN family's shared parsers (t_keys.c). */
static void hscan_command(client *c)
{
    uint64_t cur;
    if (!scan_cursor_arg(c, c->argv[2], &cur)) return;
    entry *e;
    /* Redis's order: the cursor, the key, then the options */
    if (!lookup_read(c, c->argv[1], &e)) return;
    if (!e) {
        reply_array(c, 2);
        reply_bulk_cstr(c, "0");
        reply_empty_array(c);
        return;
    }
    sv pat = {NULL, 0};
    bool use_pat;
    long long cnt;
    if (!scan_opts(c, 3, &pat, &use_pat, &cnt, NULL)) return;
    long count = cnt > 1000000 ? 1000000 : (long)cnt;
    scan_ctx sc = {c, pat, !use_pat, 0};
    reply_array(c, 2);
    void *h = ent_ptr(e);
    if (henc(h) == HENC_LP) {
        reply_bulk_cstr(c, "0");
        long hd = reply_defer(c);
        hash_foreach(h, scan_cb, &sc);
        reply_defer_array(c, hd, sc.n);
        return;
    }
    hdict *d = h;
    uint64_t m = d->size - 1;
    long maxiter = count * 10;
    /* collect first, reply after: the cursor comes before the elements */
    buf out;
    buf_init_static(&out, NULL, 0);
    uint64_t v = cur;
    do {
        for (hfield *f = d->table[v & m]; f; f = f->next) {
            sv fs = hf_field(f), vs = hf_value(f);
            if (!sc.all && !util_glob_match(sc.pat.p, sc.pat.n, fs.p, fs.n, false)) continue;
            uint32_t l = (uint32_t)fs.n;
            buf_append(&out, &l, sizeof l);
            buf_append(&out, fs.p, fs.n);
            l = (uint32_t)vs.n;
            buf_append(&out, &l, sizeof l);
            buf_append(&out, vs.p, vs.n);
            sc.n += 2;
        }
        v |= ~m;
        v = rev64(v);
        v++;
        v = rev64(v);
    } while (v && --maxiter > 0 && sc.n < count);
    reply_bulk_ll(c, (long long)v);
    reply_array(c, sc.n);
    size_t off = 0;
    while (off < out.len) {
        uint32_t l;
        memcpy(&l, out.p + off, sizeof l);
        reply_bulk(c, out.p + off + sizeof l, l);
        off += sizeof l + l;
    }
    buf_free(&out);
}

/* ---------------------------------------------------------------- table */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define D CMD_DENYOOM
command cmds_hash[] = {
    {"hset", hset_command, -4, W | D | F, 1, 1, 1, NULL, "hash", "Creates or modifies the value of a field in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hmset", hmset_command, -4, W | D | F, 1, 1, 1, NULL, "hash", "Sets the values of multiple fields.", "2.0.0", 0, 0, 0, 0},
    {"hsetnx", hsetnx_command, 4, W | D | F, 1, 1, 1, NULL, "hash", "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0", 0, 0, 0, 0},
    {"hget", hget_command, 3, R | F, 1, 1, 1, NULL, "hash", "Returns the value of a field in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hmget", hmget_command, -3, R | F, 1, 1, 1, NULL, "hash", "Returns the values of all fields in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hdel", hdel_command, -3, W | F, 1, 1, 1, NULL, "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "2.0.0", 0, 0, 0, 0},
    {"hlen", hlen_command, 2, R | F, 1, 1, 1, NULL, "hash", "Returns the number of fields in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hstrlen", hstrlen_command, 3, R | F, 1, 1, 1, NULL, "hash", "Returns the length of the value of a field.", "3.2.0", 0, 0, 0, 0},
    {"hexists", hexists_command, 3, R | F, 1, 1, 1, NULL, "hash", "Determines whether a field exists in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hkeys", hkeys_command, 2, R, 1, 1, 1, NULL, "hash", "Returns all fields in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hvals", hvals_command, 2, R, 1, 1, 1, NULL, "hash", "Returns all values in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hgetall", hgetall_command, 2, R, 1, 1, 1, NULL, "hash", "Returns all fields and values in a hash.", "2.0.0", 0, 0, 0, 0},
    {"hincrby", hincrby_command, 4, W | D | F, 1, 1, 1, NULL, "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "2.0.0", 0, 0, 0, 0},
    {"hincrbyfloat", hincrbyfloat_command, 4, W | D | F, 1, 1, 1, NULL, "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "2.6.0", 0, 0, 0, 0},
    {"hrandfield", hrandfield_command, -2, R, 1, 1, 1, NULL, "hash", "Returns one or more random fields from a hash.", "6.2.0", 0, 0, 0, 0},
    {"hscan", hscan_command, -3, R, 1, 1, 1, NULL, "hash", "Iterates over fields and values of a hash.", "2.8.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
