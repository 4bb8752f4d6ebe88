/* t_list.c — the list type and its commands (LPUSH ... LMPOP, and the
 * blocking BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, which wait through
 * block.c when nothing is there). A list is a listpack while it fits
 * list-max-listpack-size and a ring of element pointers beyond: O(1) at
 * both ends and by index. It converts back when it shrinks to half the
 * limit (as Redis 7.2 does), so a queue that drains does not stay big.
 * Handlers run with their keys' shards write- or read-locked by cmd.c. */
#include "kvd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

enum { LENC_LP = 1, LENC_RING = 3 };

typedef struct lelem {
    uint32_t len;
    char data[];
} lelem;

typedef struct lring {
    uint8_t enc;         /* LENC_RING */
    uint64_t head, count, cap; /* cap: power of two */
    uint64_t bytes;      /* sum of element allocations (sizeof(lelem) + len) */
    lelem **slot;
} lring;

static inline int lenc(const void *l) { return *(const uint8_t *)l; }
static inline bool sveq(sv a, sv b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }
#define RAT(r, i) ((r)->slot[((r)->head + (i)) & ((r)->cap - 1)])

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

/* ---------------------------------------------------------------- ring */

static lelem *el_new(sv v)
{
    lelem *e = xmalloc(sizeof(lelem) + v.n);
    e->len = (uint32_t)v.n;
    memcpy(e->data, v.p, v.n);
    return e;
}

static inline sv el_sv(const lelem *e) { sv v = {e->data, e->len}; return v; }

static lring *ring_new(uint64_t cap)
{
    lring *r = xmalloc(sizeof *r);
    r->enc = LENC_RING;
    r->head = r->count = r->bytes = 0;
    uint64_t c = 8;
    while (c < cap) c *= 2;
    r->cap = c;
    r->slot = xmalloc(sizeof(lelem *) * c);
    return r;
}

static void ring_resize(lring *r, uint64_t ncap)
{
    lelem **ns = xmalloc(sizeof(lelem *) * ncap);
    for (uint64_t i = 0; i < r->count; i++) ns[i] = RAT(r, i);
    free(r->slot);
    r->slot = ns;
    r->cap = ncap;
    r->head = 0;
}

static void ring_maybe_shrink(lring *r)
{
    if (r->cap > 8 && r->count < r->cap / 4) ring_resize(r, r->cap / 2);
}

static void ring_push(lring *r, bool left, lelem *e)
{
    if (r->count == r->cap) ring_resize(r, r->cap * 2);
    if (left) {
        r->head = (r->head - 1) & (r->cap - 1);
        r->slot[r->head] = e;
    } else {
        RAT(r, r->count) = e;
    }
    r->count++;
    r->bytes += sizeof(lelem) + e->len;
}

/* Detaches and returns the end element (caller frees). */
static lelem *ring_pop(lring *r, bool left)
{
    lelem *e;
    if (left) {
        e = r->slot[r->head];
        r->head = (r->head + 1) & (r->cap - 1);
    } else {
        e = RAT(r, r->count - 1);
    }
    r->count--;
    r->bytes -= sizeof(lelem) + e->len;
    /* the next pops from this end (the rest of a pipelined batch of LPOPs,
     * or of this LPOP's count) take the elements beside it: each is its own
     * allocation, long cold on a big list, so start loading two of them */
    for (uint64_t k = 0; k < 2 && k < r->count; k++)
        __builtin_prefetch(left ? RAT(r, k) : RAT(r, r->count - 1 - k));
    return e;
}

static void ring_insert(lring *r, uint64_t i, lelem *e)
{
    if (r->count == r->cap) ring_resize(r, r->cap * 2);
    if (i < r->count / 2) {
        r->head = (r->head - 1) & (r->cap - 1);
        for (uint64_t k = 0; k < i; k++) RAT(r, k) = RAT(r, k + 1);
    } else {
        for (uint64_t k = r->count; k > i; k--) RAT(r, k) = RAT(r, k - 1);
    }
    RAT(r, i) = e;
    r->count++;
    r->bytes += sizeof(lelem) + e->len;
}

/* Drops NULL slots (elements already freed and uncounted in bytes). */
static void ring_compact(lring *r)
{
    uint64_t w = 0;
    for (uint64_t i = 0; i < r->count; i++) {
        lelem *e = RAT(r, i);
        if (e) RAT(r, w++) = e;
    }
    r->count = w;
    ring_maybe_shrink(r);
}

static void ring_free(lring *r)
{
    for (uint64_t i = 0; i < r->count; i++) free(RAT(r, i));
    free(r->slot);
    free(r);
}

/* ---------------------------------------------------------------- encoding limits */

/* The listpack limits from list-max-listpack-size: a positive value
 * counts elements (with an 8 KiB safety limit), a negative one picks a
 * size: -1 4 KiB ... -5 64 KiB. */
static void limits(uint64_t *maxcount, uint64_t *maxbytes)
{
    int fill = CFG(list_max_listpack_size);
    if (fill >= 0) {
        *maxcount = fill == 0 ? 1 : (uint64_t)fill;
        *maxbytes = 8192;
    } else {
        int lvl = -fill - 1;
        if (lvl > 4) lvl = 4;
        *maxcount = UINT64_MAX;
        *maxbytes = (uint64_t)4096 << lvl;
    }
}

static bool lp_fits(uint64_t count, uint64_t bytes)
{
    uint64_t mc, mb;
    limits(&mc, &mb);
    return count <= mc && bytes <= mb;
}

static lring *lp_to_ring(lpack *lp)
{
    lring *r = ring_new(lp->count * 2);
    uint32_t off = 0;
    for (uint32_t i = 0; i < lp->count; i++) {
        sv v;
        off = lp_get(lp, off, &v);
        ring_push(r, false, el_new(v));
    }
    free(lp);
    return r;
}

static lpack *ring_to_lp(lring *r)
{
    lpack *lp = lp_new(LENC_LP);
    for (uint64_t i = 0; i < r->count; i++) {
        sv v = el_sv(RAT(r, i));
        lp = lp_insert(lp, lp->bytes, &v, 1);
    }
    ring_free(r);
    return lp;
}

/* After a shrink: back to a listpack below half the limits. */
static void *maybe_compact(void *l)
{
    if (lenc(l) != LENC_RING) return l;
    lring *r = l;
    uint64_t mc, mb;
    limits(&mc, &mb);
    if (r->count > mc / 2 || r->count > 1024) return l;
    uint64_t payload = 0;
    for (uint64_t i = 0; i < r->count; i++) payload += lp_enclen(RAT(r, i)->len) + RAT(r, i)->len;
    if (payload > mb / 2) return l;
    return ring_to_lp(r);
}

/* ---------------------------------------------------------------- generic list */

static uint64_t llen(const void *l)
{
    return lenc(l) == LENC_LP ? ((const lpack *)l)->count : ((const lring *)l)->count;
}

static size_t lmem(const void *l)
{
    if (lenc(l) == LENC_LP) return lp_mem(l);
    const lring *r = l;
    return sizeof *r + r->cap * sizeof(lelem *) + r->bytes;
}

/* Pushes n values one by one at the head (left) or tail. */
static void *lpush_vals(void *l, bool left, const sv *vals, int n)
{
    if (lenc(l) == LENC_LP) {
        lpack *lp = l;
        size_t add = 0;
        for (int i = 0; i < n; i++) add += lp_enclen(vals[i].n) + vals[i].n;
        if (lp_fits(lp->count + (uint64_t)n, lp->bytes + add)) {
            if (!left) return lp_insert(lp, lp->bytes, vals, n);
            for (int i = 0; i < n; i++) lp = lp_insert(lp, 0, &vals[i], 1);
            return lp;
        }
        l = lp_to_ring(lp);
    }
    lring *r = l;
    for (int i = 0; i < n; i++) ring_push(r, left, el_new(vals[i]));
    return r;
}

/* Element idx (0-based from the head; the caller checked the range). */
static sv lindex(const void *l, uint64_t idx)
{
    sv v;
    if (lenc(l) == LENC_LP) lp_get(l, lp_seek(l, (uint32_t)idx), &v);
    else v = el_sv(RAT((const lring *)l, idx));
    return v;
}

/* Iterates elements [start, start+n) in order. */
typedef void elemfn(void *ctx, sv v, uint64_t idx);
static void lrange_each(const void *l, uint64_t start, uint64_t n, elemfn *fn, void *ctx)
{
    if (lenc(l) == LENC_LP) {
        const lpack *lp = l;
        uint32_t off = lp_seek(lp, (uint32_t)start);
        for (uint64_t i = 0; i < n; i++) {
            sv v;
            off = lp_get(lp, off, &v);
            fn(ctx, v, start + i);
        }
    } else {
        const lring *r = l;
        for (uint64_t i = 0; i < n; i++) fn(ctx, el_sv(RAT(r, start + i)), start + i);
    }
}

/* Removes up to n elements from one end, handing each to fn first. */
static void *lpop_n(void *l, bool left, uint64_t n, void (*fn)(void *ctx, sv v), void *ctx)
{
    uint64_t len = llen(l);
    if (n > len) n = len;
    if (lenc(l) == LENC_LP) {
        lpack *lp = l;
        uint32_t start = left ? 0 : (uint32_t)(len - n);
        uint32_t off0 = lp_seek(lp, start), off = off0;
        for (uint64_t i = 0; i < n; i++) {
            sv v;
            uint32_t at;
            if (left) {
                off = lp_get(lp, off, &v);
            } else {
                /* tail pops come out last element first */
                at = lp_seek(lp, (uint32_t)(len - 1 - i));
                lp_get(lp, at, &v);
            }
            if (fn) fn(ctx, v);
        }
        return lp_delete(lp, off0, (uint32_t)n);
    }
    lring *r = l;
    for (uint64_t i = 0; i < n; i++) {
        lelem *e = ring_pop(r, left);
        if (fn) fn(ctx, el_sv(e));
        free(e);
    }
    ring_maybe_shrink(r);
    return maybe_compact(r);
}

static void free_list(void *l)
{
    if (lenc(l) == LENC_LP) free(l);
    else ring_free(l);
}

/* ---------------------------------------------------------------- objtype */

static void *dup_list(const void *l)
{
    if (lenc(l) == LENC_LP) return lp_dup(l);
    const lring *r = l;
    lring *n = ring_new(r->count);
    for (uint64_t i = 0; i < r->count; i++) ring_push(n, false, el_new(el_sv(RAT(r, i))));
    return n;
}

static const char *list_encoding(const void *l) { return lenc(l) == LENC_LP ? "listpack" : "quicklist"; }

/* Snapshot layout of a list value (integers little-endian):
 *   u32 count, then per element: u32 length, bytes; head first.
 * The encoding is not stored: loading picks it from the current limits.
 * Changing this changes the snapshot format: bump the version. */
static void put_u32(buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, t, 4);
}

static void save_cb(void *ctx, sv v, uint64_t idx)
{
    UNUSED(idx);
    put_u32(ctx, (uint32_t)v.n);
    buf_append(ctx, v.p, v.n);
}

static void save_list(buf *b, const void *l)
{
    put_u32(b, (uint32_t)llen(l));
    lrange_each(l, 0, llen(l), save_cb, b);
}

static void *load_list(const char *p, size_t n, const char **err)
{
    const char *end = p + n;
    if (n < 4) goto bad0;
    const unsigned char *u = (const unsigned char *)p;
    uint32_t cnt = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    p += 4;
    if (cnt == 0) goto bad0;
    void *l = lp_new(LENC_LP);
    for (uint32_t i = 0; i < cnt; i++) {
        if (end - p < 4) goto bad;
        u = (const unsigned char *)p;
        uint32_t len = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
        p += 4;
        if ((size_t)(end - p) < len) goto bad;
        sv v = {p, len};
        p += len;
        l = lpush_vals(l, false, &v, 1);
    }
    if (p != end) goto bad;
    return l;
bad:
    free_list(l);
bad0:
    *err = "malformed list";
    return NULL;
}

static const objtype list_type = {"list", free_list, dup_list, lmem, list_encoding, save_list, load_list};

__attribute__((constructor)) static void list_register(void) { obj_register(OBJ_LIST, &list_type); }

/* ---------------------------------------------------------------- write context */

/* A list being changed: creates the key at the end if it was missing,
 * deletes it if it emptied, and keeps the shard's memory count. */
typedef struct lwrite {
    db *d;
    shard *s;
    sv key;
    entry *e;
    void *l;
    size_t mem0;
} lwrite;

static void lw_begin(lwrite *w, db *d, sv key, entry *e)
{
    w->d = d;
    w->s = store_shard_of(d, key);
    w->key = key;
    w->e = e;
    w->l = e ? ent_ptr(e) : lp_new(LENC_LP);
    w->mem0 = e ? lmem(w->l) : 0;
}

static void lw_end(lwrite *w)
{
    if (w->e) {
        ent_setptr(w->e, w->l);
        store_value_mem_changed(w->s, w->e, (ssize_t)lmem(w->l) - (ssize_t)w->mem0);
    }
    if (llen(w->l) == 0) {
        if (w->e) store_delete_entry(w->s, w->e);
        else free_list(w->l);
        w->e = NULL;
        return;
    }
    if (!w->e) w->e = store_add_ptr(w->d, w->key, OBJ_LIST, w->l, -1);
}

long list_len(entry *e) { return (long)llen(ent_ptr(e)); }

void list_pop(db *d, entry *e, bool left, long n, void (*fn)(void *ctx, sv v), void *ctx)
{
    lwrite w;
    lw_begin(&w, d, ent_keysv(e), e);
    w.l = lpop_n(w.l, left, (uint64_t)n, fn, ctx);
    lw_end(&w);
}

void list_push(db *d, sv key, entry *e, bool left, sv v)
{
    lwrite w;
    lw_begin(&w, d, key, e);
    w.l = lpush_vals(w.l, left, &v, 1);
    lw_end(&w);
}

/* ---------------------------------------------------------------- helpers */

static bool lookup_write(client *c, sv key, entry **out)
{
    entry *e = store_lookup_write(c->db, key);
    if (e && e->type != OBJ_LIST) {
        reply_err_wrongtype(c);
        return false;
    }
    *out = e;
    return true;
}

static bool lookup_read(client *c, sv key, entry **out)
{
    entry *e = store_lookup_counted(c, key, true);
    if (e && e->type != OBJ_LIST) {
        reply_err_wrongtype(c);
        return false;
    }
    *out = e;
    return true;
}

static bool parse_where(client *c, sv a, bool *left)
{
    if (sv_eqci(a, "left")) *left = true;
    else if (sv_eqci(a, "right")) *left = false;
    else {
        reply_err_syntax(c);
        return false;
    }
    return true;
}

static bool parse_ll(client *c, sv a, long long *v)
{
    if (!util_str2ll(a.p, a.n, v)) {
        reply_err_int(c);
        return false;
    }
    return true;
}

static void reply_elem_cb(void *ctx, sv v) { reply_bulk_sv(ctx, v); }
static void reply_elem_idx_cb(void *ctx, sv v, uint64_t idx)
{
    UNUSED(idx);
    reply_bulk_sv(ctx, v);
}

static void propagate_pop(client *c, sv key, bool left, long count)
{
    char tmp[32];
    int n = util_ll2str(tmp, sizeof tmp, count);
    sv args[3] = {sv_of(left ? "LPOP" : "RPOP"), key, {tmp, (size_t)n}};
    cmd_propagate(c, count >= 0 ? 3 : 2, args);
}

static void propagate_move(client *c, sv src, sv dst, bool from_left, bool to_left, bool rpoplpush)
{
    if (rpoplpush) {
        sv args[3] = {sv_of("RPOPLPUSH"), src, dst};
        cmd_propagate(c, 3, args);
    } else {
        sv args[5] = {sv_of("LMOVE"), src, dst, sv_of(from_left ? "LEFT" : "RIGHT"),
                      sv_of(to_left ? "LEFT" : "RIGHT")};
        cmd_propagate(c, 5, args);
    }
}

/* ---------------------------------------------------------------- push, pop */

static void push_generic(client *c, bool left, bool xx)
{
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (!e && xx) {
        reply_int(c, 0);
        return;
    }
    lwrite w;
    lw_begin(&w, c->db, c->argv[1], e);
    w.l = lpush_vals(w.l, left, c->argv + 2, c->argc - 2);
    long long len = (long long)llen(w.l);
    lw_end(&w);
    reply_int(c, len);
    notify_keyspace_event(NOTIFY_LIST, left ? "lpush" : "rpush", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]); /* may serve blocked clients: last */
}

static void lpush_command(client *c) { push_generic(c, true, false); }
static void rpush_command(client *c) { push_generic(c, false, false); }
static void lpushx_command(client *c) { push_generic(c, true, true); }
static void rpushx_command(client *c) { push_generic(c, false, true); }

static void pop_generic(client *c, bool left)
{
    long long count = -1;
    if (c->argc > 3) {
        reply_err_arity(c, left ? "lpop" : "rpop");
        return;
    }
    if (c->argc == 3) {
        if (!util_str2ll(c->argv[2].p, c->argv[2].n, &count) || count < 0) {
            reply_error(c, "ERR value is out of range, must be positive");
            return;
        }
    }
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (!e) {
        if (count >= 0) reply_null_array(c);
        else reply_null(c);
        return;
    }
    if (count == 0) {
        reply_empty_array(c);
        return;
    }
    if (count > 0) {
        uint64_t len = llen(ent_ptr(e));
        reply_array(c, (long)((uint64_t)count < len ? (uint64_t)count : len));
    }
    list_pop(c->db, e, left, count > 0 ? count : 1, reply_elem_cb, c);
    notify_write(NOTIFY_LIST, left ? "lpop" : "rpop", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
}

static void lpop_command(client *c) { pop_generic(c, true); }
static void rpop_command(client *c) { pop_generic(c, false); }

static void llen_command(client *c)
{
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    reply_int(c, e ? list_len(e) : 0);
}

static void lindex_command(client *c)
{
    long long idx;
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return; /* the key first, as Redis */
    if (!e) {
        reply_null(c);
        return;
    }
    if (!parse_ll(c, c->argv[2], &idx)) return;
    void *l = ent_ptr(e);
    long long len = (long long)llen(l);
    if (idx < 0) idx += len;
    if (idx < 0 || idx >= len) reply_null(c);
    else reply_bulk_sv(c, lindex(l, (uint64_t)idx));
}

static void lset_command(client *c)
{
    long long idx;
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return; /* the key first, as Redis */
    if (!e) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (!parse_ll(c, c->argv[2], &idx)) return;
    long long len = list_len(e);
    if (idx < 0) idx += len;
    if (idx < 0 || idx >= len) {
        reply_error(c, "ERR index out of range");
        return;
    }
    lwrite w;
    lw_begin(&w, c->db, c->argv[1], e);
    sv v = c->argv[3];
    if (lenc(w.l) == LENC_LP) {
        lpack *lp = w.l;
        sv old;
        uint32_t off = lp_seek(lp, (uint32_t)idx);
        lp_get(lp, off, &old);
        if (lp_fits(lp->count, lp->bytes - old.n + v.n + lp_enclen(v.n))) {
            w.l = lp_replace(lp, off, v);
        } else {
            lring *r = lp_to_ring(lp);
            w.l = r;
        }
    }
    if (lenc(w.l) == LENC_RING) {
        lring *r = w.l;
        lelem *old = RAT(r, (uint64_t)idx);
        r->bytes -= old->len;
        r->bytes += v.n;
        free(old);
        RAT(r, (uint64_t)idx) = el_new(v);
    }
    lw_end(&w);
    notify_keyspace_event(NOTIFY_LIST, "lset", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    reply_ok(c);
}

/* Clamps Redis-style start/end (negative from the end) to [0, len); false
 * when the range is empty. */
static bool clamp_range(long long start, long long end, long long len, long long *s, long long *e)
{
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) return false;
    if (end >= len) end = len - 1;
    *s = start;
    *e = end;
    return true;
}

static void lrange_command(client *c)
{
    long long start, end;
    if (!parse_ll(c, c->argv[2], &start) || !parse_ll(c, c->argv[3], &end)) return;
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    if (!e) {
        reply_empty_array(c);
        return;
    }
    void *l = ent_ptr(e);
    long long s, t;
    if (!clamp_range(start, end, (long long)llen(l), &s, &t)) {
        reply_empty_array(c);
        return;
    }
    reply_array(c, (long)(t - s + 1));
    lrange_each(l, (uint64_t)s, (uint64_t)(t - s + 1), reply_elem_idx_cb, c);
}

static void ltrim_command(client *c)
{
    long long start, end;
    if (!parse_ll(c, c->argv[2], &start) || !parse_ll(c, c->argv[3], &end)) return;
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (!e) {
        reply_ok(c);
        return;
    }
    lwrite w;
    lw_begin(&w, c->db, c->argv[1], e);
    long long len = (long long)llen(w.l), s, t;
    uint64_t ltrim, rtrim;
    if (!clamp_range(start, end, len, &s, &t)) {
        ltrim = (uint64_t)len;
        rtrim = 0;
    } else {
        ltrim = (uint64_t)s;
        rtrim = (uint64_t)(len - 1 - t);
    }
    w.l = lpop_n(w.l, true, ltrim, NULL, NULL);
    if (rtrim) w.l = lpop_n(w.l, false, rtrim, NULL, NULL);
    lw_end(&w);
    notify_write(NOTIFY_LIST, "ltrim", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    reply_ok(c);
}

static void lrem_command(client *c)
{
    long long count;
    if (!parse_ll(c, c->argv[2], &count)) return;
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    sv target = c->argv[3];
    lwrite w;
    lw_begin(&w, c->db, c->argv[1], e);
    uint64_t len = llen(w.l);
    uint64_t limit = count == 0 ? UINT64_MAX : count < 0 ? (uint64_t)(-(count + 1)) + 1 : (uint64_t)count;
    bool fromtail = count < 0;
    long removed = 0;
    if (lenc(w.l) == LENC_LP) {
        lpack *lp = w.l;
        /* mark the matches, then rebuild without them */
        uint8_t *kill = calloc(len ? len : 1, 1);
        if (!kill) abort();
        uint32_t off = 0;
        sv *vals = xmalloc(sizeof(sv) * (len ? len : 1));
        for (uint64_t i = 0; i < len; i++) off = lp_get(lp, off, &vals[i]);
        for (uint64_t k = 0; k < len && (uint64_t)removed < limit; k++) {
            uint64_t i = fromtail ? len - 1 - k : k;
            if (sveq(vals[i], target)) {
                kill[i] = 1;
                removed++;
            }
        }
        if (removed) {
            lpack *n = lp_new(LENC_LP);
            for (uint64_t i = 0; i < len; i++)
                if (!kill[i]) n = lp_insert(n, n->bytes, &vals[i], 1);
            free(lp);
            w.l = n;
        }
        free(vals);
        free(kill);
    } else {
        lring *r = w.l;
        for (uint64_t k = 0; k < len && (uint64_t)removed < limit; k++) {
            uint64_t i = fromtail ? len - 1 - k : k;
            lelem *x = RAT(r, i);
            if (sveq(el_sv(x), target)) {
                r->bytes -= sizeof(lelem) + x->len;
                free(x);
                RAT(r, i) = NULL;
                removed++;
            }
        }
        if (removed) {
            ring_compact(r);
            w.l = maybe_compact(r);
        }
    }
    lw_end(&w);
    if (removed) {
        notify_write(NOTIFY_LIST, "lrem", c->db, c->argv[1]);
        store_written(c, c->db, c->argv[1]);
    }
    reply_int(c, removed);
}

static void linsert_command(client *c)
{
    bool before;
    if (sv_eqci(c->argv[2], "before")) before = true;
    else if (sv_eqci(c->argv[2], "after")) before = false;
    else {
        reply_err_syntax(c);
        return;
    }
    entry *e;
    if (!lookup_write(c, c->argv[1], &e)) return;
    if (!e) {
        reply_int(c, 0);
        return;
    }
    sv pivot = c->argv[3], v = c->argv[4];
    void *l = ent_ptr(e);
    uint64_t len = llen(l), at = UINT64_MAX;
    if (lenc(l) == LENC_LP) {
        uint32_t off = 0;
        for (uint64_t i = 0; i < len; i++) {
            sv x;
            off = lp_get(l, off, &x);
            if (sveq(x, pivot)) {
                at = i;
                break;
            }
        }
    } else {
        lring *r = l;
        for (uint64_t i = 0; i < len; i++)
            if (sveq(el_sv(RAT(r, i)), pivot)) {
                at = i;
                break;
            }
    }
    if (at == UINT64_MAX) {
        reply_int(c, -1);
        return;
    }
    if (!before) at++;
    lwrite w;
    lw_begin(&w, c->db, c->argv[1], e);
    if (lenc(w.l) == LENC_LP) {
        lpack *lp = w.l;
        if (lp_fits(lp->count + 1, lp->bytes + lp_enclen(v.n) + v.n))
            w.l = lp_insert(lp, lp_seek(lp, (uint32_t)at), &v, 1);
        else
            w.l = lp_to_ring(lp);
    }
    if (lenc(w.l) == LENC_RING && llen(w.l) == len) ring_insert(w.l, at, el_new(v));
    long long n = (long long)llen(w.l);
    lw_end(&w);
    reply_int(c, n);
    notify_keyspace_event(NOTIFY_LIST, "linsert", c->db, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static void lpos_command(client *c)
{
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < c->argc; j++) {
        bool more = j + 1 < c->argc;
        sv o = c->argv[j];
        if (sv_eqci(o, "rank") && more) {
            if (!parse_ll(c, c->argv[++j], &rank)) return;
            if (rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                               "second ... or use negative to start from the end of the list");
                return;
            }
        } else if (sv_eqci(o, "count") && more) {
            /* Redis gives this one message for any bad COUNT or MAXLEN */
            sv a = c->argv[++j];
            if (!util_str2ll(a.p, a.n, &count) || count < 0) {
                reply_error(c, "ERR COUNT can't be negative");
                return;
            }
        } else if (sv_eqci(o, "maxlen") && more) {
            sv a = c->argv[++j];
            if (!util_str2ll(a.p, a.n, &maxlen) || maxlen < 0) {
                reply_error(c, "ERR MAXLEN can't be negative");
                return;
            }
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    if (rank == LLONG_MIN) rank = -1; /* Redis 7.0 behaves so (its negation wraps) */
    entry *e;
    if (!lookup_read(c, c->argv[1], &e)) return;
    if (!e) {
        if (count >= 0) reply_empty_array(c);
        else reply_null(c);
        return;
    }
    void *l = ent_ptr(e);
    uint64_t len = llen(l);
    bool fromtail = rank < 0;
    uint64_t skip = (uint64_t)(fromtail ? -rank : rank) - 1;
    uint64_t want = count < 0 ? 1 : count == 0 ? UINT64_MAX : (uint64_t)count;
    uint64_t scan = maxlen == 0 || (uint64_t)maxlen > len ? len : (uint64_t)maxlen;
    long h = count >= 0 ? reply_defer(c) : 0;
    long found = 0;
    uint64_t matches = 0;
    /* a listpack is walked forward; from the tail, its offsets first */
    uint32_t *offs = NULL;
    if (lenc(l) == LENC_LP && fromtail) {
        offs = xmalloc(sizeof(uint32_t) * (len ? len : 1));
        uint32_t off = 0;
        sv tmp;
        for (uint64_t i = 0; i < len; i++) {
            offs[i] = off;
            off = lp_get(l, off, &tmp);
        }
    }
    uint32_t off = 0;
    for (uint64_t k = 0; k < scan && (uint64_t)found < want; k++) {
        uint64_t i = fromtail ? len - 1 - k : k;
        sv x;
        if (lenc(l) == LENC_LP) {
            if (fromtail) lp_get(l, offs[i], &x);
            else off = lp_get(l, off, &x);
        } else {
            x = el_sv(RAT((lring *)l, i));
        }
        if (!sveq(x, c->argv[2])) continue;
        if (matches++ < skip) continue;
        found++;
        reply_int(c, (long long)i);
    }
    free(offs);
    if (count >= 0) reply_defer_array(c, h, found);
    else if (!found) reply_null(c);
}

/* ---------------------------------------------------------------- moves */

/* LMOVE's work (see kvd.h): the element is copied out first, since the
 * push may be into the same list. */
typedef struct copyout {
    char *p;
    size_t n;
} copyout;

static void copy_cb(void *ctx, sv v)
{
    copyout *o = ctx;
    o->p = xmalloc(v.n ? v.n : 1);
    memcpy(o->p, v.p, v.n);
    o->n = v.n;
}

char *list_move(client *c, db *d, entry *src, sv srckey, sv dstkey, bool from_left, bool to_left, size_t *n)
{
    copyout o = {NULL, 0};
    lwrite ws;
    lw_begin(&ws, d, srckey, src);
    ws.l = lpop_n(ws.l, from_left, 1, copy_cb, &o);
    sv v = {o.p, o.n};
    bool same = sveq(srckey, dstkey);
    if (same) {
        ws.l = lpush_vals(ws.l, to_left, &v, 1);
        lw_end(&ws);
    } else {
        lw_end(&ws);
        entry *de = store_lookup_write(d, dstkey);
        list_push(d, dstkey, de, to_left, v);
    }
    notify_keyspace_event(NOTIFY_LIST, to_left ? "lpush" : "rpush", d, dstkey);
    notify_write(NOTIFY_LIST, from_left ? "lpop" : "rpop", d, srckey);
    store_written(c, d, srckey);
    if (!same) store_written(c, d, dstkey);
    *n = o.n;
    return o.p;
}

static void lmove_generic(client *c, bool from_left, bool to_left, bool rpoplpush)
{
    entry *src;
    if (!lookup_write(c, c->argv[1], &src)) return;
    if (!src) {
        reply_null(c);
        return;
    }
    entry *dst;
    if (!lookup_write(c, c->argv[2], &dst)) return;
    propagate_move(c, c->argv[1], c->argv[2], from_left, to_left, rpoplpush);
    size_t n;
    char *v = list_move(c, c->db, src, c->argv[1], c->argv[2], from_left, to_left, &n);
    reply_bulk(c, v, n);
    free(v);
}

static void lmove_command(client *c)
{
    bool from, to;
    if (!parse_where(c, c->argv[3], &from) || !parse_where(c, c->argv[4], &to)) return;
    lmove_generic(c, from, to, false);
}

static void rpoplpush_command(client *c) { lmove_generic(c, false, true, true); }

/* ---------------------------------------------------------------- multi-key pops */

/* Pops from the first non-empty list of keys[0..n): replies
 * [key, elem] (mpop false) or [key, [elems...]] and propagates the pop.
 * Returns 1 when served, 0 when every list was empty, -1 after an error. */
static int pop_first(client *c, const sv *keys, int n, bool left, long count, bool mpop)
{
    for (int j = 0; j < n; j++) {
        entry *e;
        if (!lookup_write(c, keys[j], &e)) return -1;
        if (!e) continue;
        long len = list_len(e);
        if (len == 0) continue;
        long take = mpop ? (count < len ? count : len) : 1;
        reply_array(c, 2);
        reply_bulk_sv(c, keys[j]);
        if (mpop) reply_array(c, take);
        propagate_pop(c, keys[j], left, mpop ? take : -1);
        list_pop(c->db, e, left, take, reply_elem_cb, c);
        notify_write(NOTIFY_LIST, left ? "lpop" : "rpop", c->db, keys[j]);
        store_written(c, c->db, keys[j]);
        return 1;
    }
    return 0;
}

/* [B]LMPOP: numkeys at argv[ni]; fills keys, where and count. */
static bool parse_mpop(client *c, int ni, int *nkeys, bool *left, long *count)
{
    long long nk;
    if (!util_str2ll(c->argv[ni].p, c->argv[ni].n, &nk) || nk < 1) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return false;
    }
    long long wi = ni + nk + 1;
    if (wi >= c->argc) {
        reply_err_syntax(c);
        return false;
    }
    if (!parse_where(c, c->argv[wi], left)) return false;
    long long cnt = -1;
    for (long long j = wi + 1; j < c->argc; j++) {
        bool more = j + 1 < c->argc;
        if (cnt == -1 && sv_eqci(c->argv[j], "count") && more) {
            j++;
            long long v;
            if (!util_str2ll(c->argv[j].p, c->argv[j].n, &v) || v < 1) {
                reply_error(c, "ERR count should be greater than 0");
                return false;
            }
            cnt = v;
        } else {
            reply_err_syntax(c);
            return false;
        }
    }
    *nkeys = (int)nk;
    *count = cnt == -1 ? 1 : (long)cnt;
    return true;
}

static int lmpop_getkeys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 1, 0); }
static int blmpop_getkeys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 2, 0); }

static void lmpop_command(client *c)
{
    int nk;
    bool left;
    long count;
    if (!parse_mpop(c, 1, &nk, &left, &count)) return;
    if (pop_first(c, c->argv + 2, nk, left, count, true) == 0) reply_null_array(c);
}

/* ---------------------------------------------------------------- blocking */

/* t_multi.c says whether EXEC is running c's queued commands: a blocking
 * command there answers at once as if it timed out (weak default: no
 * transactions linked in). */
bool multi_in_exec(client *c);
__attribute__((weak)) bool multi_in_exec(client *c)
{
    UNUSED(c);
    return false;
}

static bool in_exec(client *c) { return multi_in_exec(c); }

static void bpop_generic(client *c, bool left)
{
    int64_t deadline;
    if (!block_parse_timeout(c, c->argv[c->argc - 1], &deadline)) return;
    int r = pop_first(c, c->argv + 1, c->argc - 2, left, 1, false);
    if (r != 0) return;
    if (in_exec(c)) {
        reply_null_array(c);
        return;
    }
    block_req q = {BLOCK_POP, left, false, false, 1, deadline, c->argv + 1, c->argc - 2, {NULL, 0}};
    block_client(c, &q);
}

static void blpop_command(client *c) { bpop_generic(c, true); }
static void brpop_command(client *c) { bpop_generic(c, false); }

static void blmpop_command(client *c)
{
    int nk;
    bool left;
    long count;
    if (!parse_mpop(c, 2, &nk, &left, &count)) return;
    int64_t deadline;
    if (!block_parse_timeout(c, c->argv[1], &deadline)) return;
    int r = pop_first(c, c->argv + 3, nk, left, count, true);
    if (r != 0) return;
    if (in_exec(c)) {
        reply_null_array(c);
        return;
    }
    block_req q = {BLOCK_MPOP, left, false, false, count, deadline, c->argv + 3, nk, {NULL, 0}};
    block_client(c, &q);
}

static void bmove_generic(client *c, bool from_left, bool to_left, bool rpoplpush, sv timeout)
{
    int64_t deadline;
    if (!block_parse_timeout(c, timeout, &deadline)) return;
    entry *src;
    if (!lookup_write(c, c->argv[1], &src)) return;
    if (src) {
        lmove_generic(c, from_left, to_left, rpoplpush);
        return;
    }
    if (in_exec(c)) {
        reply_null(c);
        return;
    }
    block_req q = {BLOCK_MOVE, from_left, to_left, rpoplpush, 1, deadline, c->argv + 1, 1, c->argv[2]};
    block_client(c, &q);
}

static void blmove_command(client *c)
{
    bool from, to;
    if (!parse_where(c, c->argv[3], &from) || !parse_where(c, c->argv[4], &to)) return;
    bmove_generic(c, from, to, false, c->argv[5]);
}

static void brpoplpush_command(client *c) { bmove_generic(c, false, true, true, c->argv[3]); }

/* ---------------------------------------------------------------- table */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define D CMD_DENYOOM
#define B (CMD_BLOCKING | CMD_NOSCRIPT)
command cmds_list[] = {
    {"lpush", lpush_command, -3, W | D | F, 1, 1, 1, NULL, "list", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"rpush", rpush_command, -3, W | D | F, 1, 1, 1, NULL, "list", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"lpushx", lpushx_command, -3, W | D | F, 1, 1, 1, NULL, "list", "Prepends one or more elements to a list only when the list exists.", "2.2.0", 0, 0, 0, 0},
    {"rpushx", rpushx_command, -3, W | D | F, 1, 1, 1, NULL, "list", "Appends an element to a list only when the list exists.", "2.2.0", 0, 0, 0, 0},
    {"lpop", lpop_command, -2, W | F, 1, 1, 1, NULL, "list", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "1.0.0", 0, 0, 0, 0},
    {"rpop", rpop_command, -2, W | F, 1, 1, 1, NULL, "list", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "1.0.0", 0, 0, 0, 0},
    {"llen", llen_command, 2, R | F, 1, 1, 1, NULL, "list", "Returns the length of a list.", "1.0.0", 0, 0, 0, 0},
    {"lindex", lindex_command, 3, R, 1, 1, 1, NULL, "list", "Returns an element from a list by its index.", "1.0.0", 0, 0, 0, 0},
    {"lset", lset_command, 4, W | D, 1, 1, 1, NULL, "list", "Sets the value of an element in a list by its index.", "1.0.0", 0, 0, 0, 0},
    {"lrange", lrange_command, 4, R, 1, 1, 1, NULL, "list", "Returns a range of elements from a list.", "1.0.0", 0, 0, 0, 0},
    {"ltrim", ltrim_command, 4, W, 1, 1, 1, NULL, "list", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "1.0.0", 0, 0, 0, 0},
    {"lrem", lrem_command, 4, W, 1, 1, 1, NULL, "list", "Removes elements from a list. Deletes the list if the last element was removed.", "1.0.0", 0, 0, 0, 0},
    {"linsert", linsert_command, 5, W | D, 1, 1, 1, NULL, "list", "Inserts an element before or after another element in a list.", "2.2.0", 0, 0, 0, 0},
    {"lpos", lpos_command, -3, R, 1, 1, 1, NULL, "list", "Returns the index of matching elements in a list.", "6.0.6", 0, 0, 0, 0},
    {"lmove", lmove_command, 5, W | D, 1, 2, 1, NULL, "list", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "6.2.0", 0, 0, 0, 0},
    {"rpoplpush", rpoplpush_command, 3, W | D, 1, 2, 1, NULL, "list", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "1.2.0", 0, 0, 0, 0},
    {"lmpop", lmpop_command, -4, W, 0, 0, 0, lmpop_getkeys, "list", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "7.0.0", 0, 0, 0, 0},
    {"blpop", blpop_command, -3, W | B, 1, -2, 1, NULL, "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0", 0, 0, 0, 0},
    {"brpop", brpop_command, -3, W | B, 1, -2, 1, NULL, "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0", 0, 0, 0, 0},
    {"blmove", blmove_command, 6, W | D | B, 1, 2, 1, NULL, "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "6.2.0", 0, 0, 0, 0},
    {"brpoplpush", brpoplpush_command, 4, W | D | B, 1, 2, 1, NULL, "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "2.2.0", 0, 0, 0, 0},
    {"blmpop", blmpop_command, -5, W | CMD_BLOCKING, 0, 0, 0, blmpop_getkeys, "list", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "7.0.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
