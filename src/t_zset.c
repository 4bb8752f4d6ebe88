/* t_zset.c — the sorted set type and its commands (ZADD … ZSCAN, ZMPOP,
 * and BZPOPMIN, BZPOPMAX, BZMPOP, which wait through block.c when nothing
 * is there) with Redis 7 semantics, replies and errors. A sorted set value
 * is one of two encodings, told apart by its first byte:
 *   pack      (OBJECT ENCODING "listpack") entries sorted by (score,
 *             member) in one allocation (pack.c) while there are at most
 *             zset-max-listpack-entries, none longer than
 *             zset-max-listpack-value bytes; O(n), n small;
 *   skiplist  a skip list with spans (skiplist.c) whose nodes are also the
 *             nodes of a member dict (mdict.c): member lookups O(1), rank,
 *             score and lex queries O(log n), one allocation per member.
 * A sorted set converts up when it outgrows the pack; results built by a
 * command (ZUNIONSTORE, ZRANGESTORE…) take the smallest encoding that
 * fits. Handlers run with their keys' shard locks held by cmd.c. */
#include "kvd.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

entry *lookup_typed(client *c, sv key, int type, bool write, bool *wrong);
bool arg_long_range(client *c, sv a, long long min, long long max, long long *out, const char *msg);
bool arg_positive(client *c, sv a, long long *out, const char *msg);

typedef struct zsk {
    uint8_t tag;            /* ZSET_ENC_SKIP */
    mdict d;
    zsl l;
    size_t bytes;           /* node allocations */
} zsk;

/* A member with its score; m points into the value (or a copy). */
typedef struct zel {
    sv m;
    double score;
} zel;

typedef struct zvec {
    zel *v;
    uint64_t n, cap;
} zvec;

static void zv_push(zvec *z, sv m, double score)
{
    if (z->n == z->cap) {
        z->cap = z->cap ? z->cap * 2 : 16;
        z->v = realloc(z->v, sizeof(zel) * z->cap);
        if (!z->v) abort();
    }
    z->v[z->n].m = m;
    z->v[z->n].score = score;
    z->n++;
}

static inline int enc_of(const void *z) { return *(const uint8_t *)z; }
static const char *ERR_NAN = "ERR resulting score is not a number (NaN)";
static const char *ERR_MINMAX = "ERR min or max is not a float";
static const char *ERR_LEXRANGE = "ERR min or max not valid string range item";

/* ---------------------------------------------------------------- the value */

static uint32_t zpk_entry(const pack *pk, uint32_t off, zel *e)
{
    uint32_t l = pk_member(pk, off, &e->m);
    return l + pk_score_get(pk->data + off + l, &e->score);
}

static zsk *zsk_new(uint64_t hint)
{
    zsk *z = malloc(sizeof *z);
    if (!z) abort();
    z->tag = ZSET_ENC_SKIP;
    md_init(&z->d, zn_keyp);
    zsl_init(&z->l);
    z->bytes = 0;
    if (hint > 1) md_reserve(&z->d, hint);
    return z;
}

static pack *zpk_new(void)
{
    pack *pk = pack_new();
    pk->tag = ZSET_ENC_PACK;
    return pk;
}

static uint64_t zs_len(const void *z)
{
    return enc_of(z) == ZSET_ENC_PACK ? ((const pack *)z)->count : ((const zsk *)z)->l.length;
}

static size_t zs_mem(const void *z)
{
    if (enc_of(z) == ZSET_ENC_PACK) return pack_bytes(z);
    const zsk *s = z;
    return sizeof(zsk) + md_table_bytes(&s->d) + s->bytes + sizeof(znode) + ZSL_MAXLEVEL * sizeof(zlevel);
}

static const char *zs_encoding(const void *z) { return enc_of(z) == ZSET_ENC_PACK ? "listpack" : "skiplist"; }

static void zs_free(void *z)
{
    if (enc_of(z) == ZSET_ENC_SKIP) {
        zsk *s = z;
        md_clear(&s->d, NULL);
        zsl_free_nodes(&s->l);
    }
    free(z);
}

static bool zfits_pack(uint64_t count, size_t maxlen)
{
    return count <= (uint64_t)CFG(zset_max_listpack_entries) && (long long)maxlen <= CFG(zset_max_listpack_value);
}

/* Offset of member p/n in the pack, -1 if absent; *sc its score. */
static int64_t zpk_find(const pack *pk, const char *p, size_t n, double *sc)
{
    uint32_t off = 0;
    while (off < pk->used) {
        zel e;
        uint32_t l = zpk_entry(pk, off, &e);
        if (e.m.n == n && (n == 0 || memcmp(e.m.p, p, n) == 0)) {
            if (sc) *sc = e.score;
            return off;
        }
        off += l;
    }
    return -1;
}

/* Writes the entry p/n, score at byte off (the caller keeps the order). A
 * packed zero has no sign, as in Redis's listpack. */
static void zpk_put_at(pack **pkp, uint32_t off, const char *p, size_t n, double score)
{
    if (score == 0) score = 0.0;
    uint32_t hl = pk_varint_len((uint32_t)n), sl = pk_score_len(score);
    char *dst = pack_open(pkp, off, hl + (uint32_t)n + sl);
    pk_varint_put(dst, (uint32_t)n);
    memcpy(dst + hl, p, n);
    pk_score_put(dst + hl + n, score);
    (*pkp)->count++;
}

/* Inserts at its sorted place (member absent). */
static void zpk_insert(pack **pkp, const char *p, size_t n, double score)
{
    pack *pk = *pkp;
    uint32_t off = 0;
    while (off < pk->used) {
        zel e;
        uint32_t l = zpk_entry(pk, off, &e);
        if (e.score > score || (e.score == score && sv_cmp(e.m.p, e.m.n, p, n) > 0)) break;
        off += l;
    }
    zpk_put_at(pkp, off, p, n, score);
}

static void zpk_delete_at(pack **pkp, uint32_t off)
{
    zel e;
    uint32_t l = zpk_entry(*pkp, off, &e);
    pack_close(pkp, off, l);
    (*pkp)->count--;
}

static void zsk_insert_new(zsk *s, double score, const char *p, size_t n)
{
    znode *x = zsl_node_new(score, p, n);
    zsl_insert(&s->l, x);
    md_insert(&s->d, &x->h);
    s->bytes += zn_size(x);
}

static void zsk_remove_node(zsk *s, znode *x)
{
    md_unlink(&s->d, &x->h);
    zsl_unlink(&s->l, x);
    s->bytes -= zn_size(x);
    free(x);
}

static zsk *zpk_to_skip(pack *pk)
{
    zsk *s = zsk_new(pk->count);
    uint32_t off = 0;
    while (off < pk->used) {
        zel e;
        off += zpk_entry(pk, off, &e);
        zsk_insert_new(s, e.score, e.m.p, e.m.n);
    }
    free(pk);
    return s;
}

static bool zs_score(const void *z, const char *p, size_t n, double *sc)
{
    if (enc_of(z) == ZSET_ENC_PACK) return zpk_find(z, p, n, sc) >= 0;
    mnode *x = md_find(&((const zsk *)z)->d, p, n, md_hash(p, n));
    if (x && sc) *sc = ((znode *)x)->score;
    return x != NULL;
}

#define ZADD_NX 1
#define ZADD_XX 2
#define ZADD_GT 4
#define ZADD_LT 8
#define ZADD_INCR 16
#define ZOUT_NOP 1
#define ZOUT_ADDED 2
#define ZOUT_UPDATED 4

/* Adds or updates member p/n per ZADD's flags; *out gets ZOUT_*, *newscore
 * the resulting score. Returns false (nothing changed) when an increment
 * gives NaN. May convert the value (hence void **). */
static bool zs_add(void **zp, double score, const char *p, size_t n, int in, int *out, double *newscore)
{
    *out = 0;
    void *z = *zp;
    double cur;
    bool exists;
    int64_t off = -1;
    znode *x = NULL;
    if (enc_of(z) == ZSET_ENC_PACK) {
        off = zpk_find(z, p, n, &cur);
        exists = off >= 0;
    } else {
        x = (znode *)md_find(&((zsk *)z)->d, p, n, md_hash(p, n));
        exists = x != NULL;
        if (x) cur = x->score;
    }
    if (exists) {
        if (in & ZADD_NX) {
            *out = ZOUT_NOP;
            return true;
        }
        if (in & ZADD_INCR) {
            score += cur;
            if (isnan(score)) return false;
        }
        if (((in & ZADD_LT) && score >= cur) || ((in & ZADD_GT) && score <= cur)) {
            *out = ZOUT_NOP;
            return true;
        }
        *newscore = score;
        if (score != cur) {
            if (x) {
                zsl_update_score(&((zsk *)z)->l, x, score);
            } else {
                pack *pk = z;
                zpk_delete_at(&pk, (uint32_t)off);
                zpk_insert(&pk, p, n, score);
                *zp = pk;
            }
            *out = ZOUT_UPDATED;
        }
        return true;
    }
    if (in & ZADD_XX) {
        *out = ZOUT_NOP;
        return true;
    }
    if (enc_of(z) == ZSET_ENC_PACK) {
        pack *pk = z;
        if (!zfits_pack((uint64_t)pk->count + 1, n)) {
            z = zpk_to_skip(pk);
            *zp = z;
            zsk_insert_new(z, score, p, n);
        } else {
            zpk_insert(&pk, p, n, score);
            *zp = pk;
        }
    } else {
        zsk_insert_new(z, score, p, n);
    }
    *newscore = score;
    *out = ZOUT_ADDED;
    return true;
}

static bool zs_del(void **zp, const char *p, size_t n)
{
    void *z = *zp;
    if (enc_of(z) == ZSET_ENC_PACK) {
        pack *pk = z;
        int64_t off = zpk_find(pk, p, n, NULL);
        if (off < 0) return false;
        zpk_delete_at(&pk, (uint32_t)off);
        *zp = pk;
        return true;
    }
    zsk *s = z;
    mnode *x = md_find(&s->d, p, n, md_hash(p, n));
    if (!x) return false;
    zsk_remove_node(s, (znode *)x);
    return true;
}

/* 0-based rank (from the top when rev) of member p/n. */
static bool zs_rank(const void *z, const char *p, size_t n, bool rev, uint64_t *rank, double *sc)
{
    uint64_t len = zs_len(z), r;
    if (enc_of(z) == ZSET_ENC_PACK) {
        const pack *pk = z;
        uint32_t off = 0;
        r = 0;
        for (; off < pk->used; r++) {
            zel e;
            off += zpk_entry(pk, off, &e);
            if (e.m.n == n && memcmp(e.m.p, p, n) == 0) {
                *sc = e.score;
                goto found;
            }
        }
        return false;
    } else {
        const zsk *s = z;
        znode *x = (znode *)md_find(&s->d, p, n, md_hash(p, n));
        if (!x) return false;
        *sc = x->score;
        r = zsl_rank(&s->l, x) - 1;
    }
found:
    *rank = rev ? len - 1 - r : r;
    return true;
}

/* Every entry of a pack, in order, as views. */
static zel *zpk_all(const pack *pk)
{
    zel *all = malloc(sizeof(zel) * (pk->count + 1));
    if (!all) abort();
    uint32_t off = 0;
    for (uint32_t i = 0; off < pk->used; i++) off += zpk_entry(pk, off, &all[i]);
    return all;
}

typedef struct ziter {
    const void *z;
    uint32_t off;
    znode *x;
} ziter;

static void zi_init(ziter *it, const void *z)
{
    it->z = z;
    it->off = 0;
    it->x = enc_of(z) == ZSET_ENC_SKIP ? ((const zsk *)z)->l.header->lv[0].fwd : NULL;
}

static bool zi_next(ziter *it, zel *e)
{
    if (enc_of(it->z) == ZSET_ENC_PACK) {
        const pack *pk = it->z;
        if (it->off >= pk->used) return false;
        it->off += zpk_entry(pk, it->off, e);
        return true;
    }
    if (!it->x) return false;
    e->m.p = zn_member(it->x);
    e->m.n = it->x->h.len;
    e->score = it->x->score;
    it->x = it->x->lv[0].fwd;
    return true;
}

static void *zs_dup(const void *z)
{
    if (enc_of(z) == ZSET_ENC_PACK) return pack_dup(z);
    zsk *s = zsk_new(zs_len(z));
    ziter it;
    zel e;
    zi_init(&it, z);
    while (zi_next(&it, &e)) zsk_insert_new(s, e.score, e.m.p, e.m.n);
    return s;
}

/* A new sorted set holding arr[0..n) (distinct members), in the smallest
 * encoding that fits, or a skip list whatever fits when skiplist. */
static void *zs_build_as(const zel *arr, uint64_t n, bool skiplist)
{
    size_t maxlen = 0;
    for (uint64_t i = 0; i < n; i++)
        if (arr[i].m.n > maxlen) maxlen = arr[i].m.n;
    if (!skiplist && zfits_pack(n, maxlen)) {
        pack *pk = zpk_new();
        for (uint64_t i = 0; i < n; i++) zpk_insert(&pk, arr[i].m.p, arr[i].m.n, arr[i].score);
        return pk;
    }
    zsk *s = zsk_new(n);
    for (uint64_t i = 0; i < n; i++) zsk_insert_new(s, arr[i].score, arr[i].m.p, arr[i].m.n);
    return s;
}

static void *zs_build(const zel *arr, uint64_t n) { return zs_build_as(arr, n, false); }

/* ---------------------------------------------------------------- ranges */

enum { ZQ_RANK, ZQ_SCORE, ZQ_LEX };

typedef struct zq {
    int kind;
    bool rev;
    int64_t start, end;     /* ZQ_RANK: sanitized, 0-based, inclusive */
    zrange r;
    zlex lx;
    int64_t offset, limit;  /* limit < 0: no limit */
} zq;

static bool zq_in_lo(const zq *q, const zel *e)
{
    return q->kind == ZQ_SCORE ? zr_gte_min(e->score, &q->r) : zl_gte_min(e->m, &q->lx);
}
static bool zq_in_hi(const zq *q, const zel *e)
{
    return q->kind == ZQ_SCORE ? zr_lte_max(e->score, &q->r) : zl_lte_max(e->m, &q->lx);
}

static void node_zel(znode *x, zel *e)
{
    e->m.p = zn_member(x);
    e->m.n = x->h.len;
    e->score = x->score;
}

/* Appends to out the entries q selects, in reply order (views into z). */
static void zs_collect(const void *z, const zq *q, zvec *out)
{
    uint64_t len = zs_len(z);
    if (q->kind == ZQ_RANK) {
        if (q->start > q->end || (uint64_t)q->start >= len) return;
        uint64_t cnt = (uint64_t)(q->end - q->start + 1);
        if (enc_of(z) == ZSET_ENC_PACK) {
            zel *all = zpk_all(z);
            for (uint64_t i = 0; i < cnt; i++) {
                uint64_t k = q->rev ? len - 1 - ((uint64_t)q->start + i) : (uint64_t)q->start + i;
                zv_push(out, all[k].m, all[k].score);
            }
            free(all);
        } else {
            const zsk *s = z;
            znode *x = zsl_by_rank(&s->l, q->rev ? len - (uint64_t)q->start : (uint64_t)q->start + 1);
            for (uint64_t i = 0; i < cnt && x; i++) {
                zel e;
                node_zel(x, &e);
                zv_push(out, e.m, e.score);
                x = q->rev ? x->back : x->lv[0].fwd;
            }
        }
        return;
    }
    if (q->offset < 0) return;
    int64_t offset = q->offset, limit = q->limit;
    if (enc_of(z) == ZSET_ENC_PACK) {
        zel *all = zpk_all(z);
        int64_t n = (int64_t)len, i = -1, step = q->rev ? -1 : 1;
        /* as Redis's zzlFirstIn(Lex)Range / zzlLastIn(Lex)Range: nothing
         * when the range is empty, the last entry is below it or the first
         * above it; else the first entry (walking) on the near side of the
         * range, if it is also on the near side of the far end. With the
         * scores of a lex query not all equal this decides the reply. */
        bool empty = q->kind == ZQ_SCORE ? zr_empty(&q->r) : zl_empty(&q->lx);
        if (n && !empty && zq_in_lo(q, &all[n - 1]) && zq_in_hi(q, &all[0])) {
            for (int64_t k = q->rev ? n - 1 : 0; k >= 0 && k < n; k += step) {
                if (!(q->rev ? zq_in_hi(q, &all[k]) : zq_in_lo(q, &all[k]))) continue;
                if (q->rev ? zq_in_lo(q, &all[k]) : zq_in_hi(q, &all[k])) i = k;
                break;
            }
        }
        while (i >= 0 && i < n && offset) {
            i += step;
            offset--;
        }
        for (; i >= 0 && i < n && limit; i += step, limit--) {
            if (!(q->rev ? zq_in_lo(q, &all[i]) : zq_in_hi(q, &all[i]))) break;
            zv_push(out, all[i].m, all[i].score);
        }
        free(all);
        return;
    }
    const zsk *s = z;
    znode *x;
    if (q->kind == ZQ_SCORE) x = q->rev ? zsl_last_in_range(&s->l, &q->r) : zsl_first_in_range(&s->l, &q->r);
    else x = q->rev ? zsl_last_in_lex(&s->l, &q->lx) : zsl_first_in_lex(&s->l, &q->lx);
    while (x && offset) {
        x = q->rev ? x->back : x->lv[0].fwd;
        offset--;
    }
    for (; x && limit; limit--) {
        zel e;
        node_zel(x, &e);
        if (!(q->rev ? zq_in_lo(q, &e) : zq_in_hi(q, &e))) break;
        zv_push(out, e.m, e.score);
        x = q->rev ? x->back : x->lv[0].fwd;
    }
}

/* Range parsing as Redis's zslParseRange: strtod on the text after an
 * optional '(' (so leading blanks, hex and "" -> 0 pass), NaN refused. */
static bool parse_score_bound(sv a, double *v, bool *ex)
{
    char small[128];
    char *b = a.n < sizeof small ? small : malloc(a.n + 1);
    if (!b) abort();
    memcpy(b, a.p, a.n);
    b[a.n] = '\0';
    char *s = b, *end;
    *ex = false;
    if (s[0] == '(') {
        *ex = true;
        s++;
    }
    *v = strtod(s, &end);
    bool ok = end[0] == '\0' && !isnan(*v);
    if (b != small) free(b);
    return ok;
}

static bool parse_zrange(sv min, sv max, zrange *r)
{
    return parse_score_bound(min, &r->min, &r->minex) && parse_score_bound(max, &r->max, &r->maxex);
}

static bool parse_lex_item(sv a, sv *v, int *inf, bool *ex)
{
    *inf = 0;
    *ex = false;
    if (a.n == 0) return false;
    switch (a.p[0]) {
    case '+':
    case '-':
        if (a.n != 1) return false;
        *inf = a.p[0] == '+' ? 1 : -1;
        v->p = NULL;
        v->n = 0;
        return true;
    case '(':
    case '[':
        *ex = a.p[0] == '(';
        v->p = a.p + 1;
        v->n = a.n - 1;
        return true;
    default: return false;
    }
}

static bool parse_zlex(sv min, sv max, zlex *r)
{
    return parse_lex_item(min, &r->min, &r->mininf, &r->minex) && parse_lex_item(max, &r->max, &r->maxinf, &r->maxex);
}

/* ---------------------------------------------------------------- snapshot encoding */

/* Snapshot layout of a sorted set value (little endian):
 *   u8  format: 0 packed, 1 skip list (snapshot version 5; 4 wrote 0)
 *   u32 count
 *   count x { u32 length, member bytes, u64 score (IEEE 754 bits) }
 *       in ascending (score, member) order
 * A skip list loads as a skip list. A packed set (or any set of version 4)
 * takes the smallest encoding that fits the current limits. The encoding
 * is kept because it is data: a zero added to a packed set loses its sign
 * (as in Redis's listpack), to a skip list it keeps it, so a set that
 * changed encoding at the restart would answer ZSCORE after a later ZADD
 * -0 differently from the same history without a restart (Redis's loader
 * repacks small sets; its AOF replay after a restart can differ so).
 * Changing this changes the snapshot format: bump the version. */
static void put_u32(buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, t, 4);
}

static uint64_t get_le(const char *p, int n)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | u[i];
    return v;
}

static void zs_save(buf *b, const void *z)
{
    buf_appendc(b, enc_of(z) == ZSET_ENC_PACK ? 0 : 1);
    put_u32(b, (uint32_t)zs_len(z));
    ziter it;
    zel e;
    zi_init(&it, z);
    while (zi_next(&it, &e)) {
        put_u32(b, (uint32_t)e.m.n);
        buf_append(b, e.m.p, e.m.n);
        uint64_t bits;
        memcpy(&bits, &e.score, 8);
        unsigned char t[8];
        for (int i = 0; i < 8; i++) t[i] = (unsigned char)(bits >> (8 * i));
        buf_append(b, t, 8);
    }
}

static void *zs_load(const char *p, size_t n, const char **err)
{
    if (n < 5 || (p[0] != 0 && p[0] != 1)) {
        *err = "bad sorted set header";
        return NULL;
    }
    uint32_t count = (uint32_t)get_le(p + 1, 4);
    size_t off = 5;
    zvec v = {NULL, 0, 0};
    for (uint32_t i = 0; i < count; i++) {
        if (n - off < 4) goto trunc;
        uint32_t l = (uint32_t)get_le(p + off, 4);
        off += 4;
        if (n - off < (size_t)l + 8) goto trunc;
        sv m = {p + off, l};
        off += l;
        uint64_t bits = get_le(p + off, 8);
        off += 8;
        double sc;
        memcpy(&sc, &bits, 8);
        if (isnan(sc)) {
            *err = "NaN score in sorted set";
            free(v.v);
            return NULL;
        }
        zv_push(&v, m, sc);
    }
    if (off != n || count == 0) {
        *err = count == 0 ? "empty sorted set" : "trailing bytes after sorted set";
        free(v.v);
        return NULL;
    }
    void *z = zs_build_as(v.v, v.n, p[0] == 1);
    free(v.v);
    if (zs_len(z) != count) {
        *err = "duplicate sorted set member";
        zs_free(z);
        return NULL;
    }
    return z;
trunc:
    *err = "truncated sorted set";
    free(v.v);
    return NULL;
}

static const objtype zset_type = {"zset", zs_free, zs_dup, zs_mem, zs_encoding, zs_save, zs_load};

__attribute__((constructor)) static void zset_register(void) { obj_register(OBJ_ZSET, &zset_type); }

/* ---------------------------------------------------------------- command helpers */

static void value_update(client *c, sv key, entry *e, void *v, size_t before)
{
    ent_setptr(e, v);
    store_value_mem_changed(store_shard_of(c->db, key), e, (ssize_t)zs_mem(v) - (ssize_t)before);
}

/* Deletes key's entry when its sorted set became empty, else records the
 * (possibly moved) value. */
static void value_done(client *c, sv key, entry *e, void *z, size_t before)
{
    value_update(c, key, e, z, before);
    if (!zs_len(z)) store_delete_entry(store_shard_of(c->db, key), e);
}

/* Replies with members (and scores): RESP2 and text flat, RESP3 pairs. */
static void reply_zels(client *c, const zel *v, uint64_t n, bool withscores)
{
    bool pairs = withscores && c->proto == PROTO_RESP3;
    reply_array(c, (long)(withscores && !pairs ? n * 2 : n));
    for (uint64_t i = 0; i < n; i++) {
        if (pairs) reply_array(c, 2);
        reply_bulk(c, v[i].m.p, v[i].m.n);
        if (withscores) reply_double(c, v[i].score);
    }
}

/* Logs ZREM key m... for removed members, 1024 per record. */
static void propagate_zrem(client *c, sv key, const zel *v, uint64_t n)
{
    sv argv[2 + 1024];
    argv[0] = sv_of("ZREM");
    argv[1] = key;
    uint64_t i = 0;
    while (i < n) {
        int k = 2;
        for (; k < 2 + 1024 && i < n; k++, i++) argv[k] = v[i].m;
        cmd_propagate(c, k, argv);
    }
}

/* Copies the members of v into b (so they survive changes to the value);
 * rewrites v's views to point into b. */
static void zv_own(zvec *v, buf *b)
{
    static const char empty[1] = "";
    for (uint64_t i = 0; i < v->n; i++) buf_append(b, v->v[i].m.p, v->v[i].m.n);
    size_t off = 0;
    for (uint64_t i = 0; i < v->n; i++) {
        /* only empty members: nothing was copied and b->p is still NULL */
        v->v[i].m.p = b->p ? b->p + off : empty;
        off += v->v[i].m.n;
    }
}

/* ---------------------------------------------------------------- ZADD, ZINCRBY, ZREM */

static void zadd_generic(client *c, int in)
{
    sv key = c->argv[1];
    int idx = 2;
    for (; idx < c->argc; idx++) {
        sv o = c->argv[idx];
        if (sv_eqci(o, "nx")) in |= ZADD_NX;
        else if (sv_eqci(o, "xx")) in |= ZADD_XX;
        else if (sv_eqci(o, "ch")) in |= 32;
        else if (sv_eqci(o, "incr")) in |= ZADD_INCR;
        else if (sv_eqci(o, "gt")) in |= ZADD_GT;
        else if (sv_eqci(o, "lt")) in |= ZADD_LT;
        else break;
    }
    bool ch = in & 32;
    in &= ~32;
    int elements = c->argc - idx;
    if (elements % 2 || !elements) {
        reply_err_syntax(c);
        return;
    }
    elements /= 2;
    if ((in & ZADD_NX) && (in & ZADD_XX)) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if (((in & ZADD_GT) && (in & ZADD_NX)) || ((in & ZADD_LT) && (in & ZADD_NX)) ||
        ((in & ZADD_GT) && (in & ZADD_LT))) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if ((in & ZADD_INCR) && elements > 1) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double sbuf[16];
    double *scores = elements <= 16 ? sbuf : malloc(sizeof(double) * (size_t)elements);
    if (!scores) abort();
    for (int j = 0; j < elements; j++) {
        sv a = c->argv[idx + 2 * j];
        if (!util_str2d(a.p, a.n, &scores[j])) {
            reply_error(c, ERR_NOTFLOAT);
            goto out;
        }
    }
    bool wrong;
    entry *e = lookup_typed(c, key, OBJ_ZSET, true, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        goto out;
    }
    long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (!e && !(in & ZADD_XX)) {
        /* as Redis 7.0: the first member decides (no size hint) */
        void *z = zfits_pack(1, c->argv[idx + 1].n) ? (void *)zpk_new() : (void *)zsk_new((uint64_t)elements);
        e = store_add_ptr(c->db, key, OBJ_ZSET, z, -1);
    }
    if (e) {
        void *z = ent_ptr(e);
        size_t before = zs_mem(z);
        bool nan = false;
        for (int j = 0; j < elements; j++) {
            sv m = c->argv[idx + 2 * j + 1];
            int out;
            double ns = 0;
            if (!zs_add(&z, scores[j], m.p, m.n, in, &out, &ns)) {
                nan = true;
                break;
            }
            if (out & ZOUT_ADDED) added++;
            if (out & ZOUT_UPDATED) updated++;
            if (!(out & ZOUT_NOP)) processed++;
            score = ns;
        }
        value_done(c, key, e, z, before);
        if (added || updated) {
            notify_keyspace_event(NOTIFY_ZSET, (in & ZADD_INCR) ? "zincr" : "zadd", c->db, key);
            store_written(c, c->db, key);
        }
        if (nan) {
            reply_error(c, ERR_NAN);
            goto out;
        }
    }
    if (in & ZADD_INCR) {
        if (processed) reply_double(c, score);
        else reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
out:
    if (scores != sbuf) free(scores);
}

static void zadd_command(client *c) { zadd_generic(c, 0); }
static void zincrby_command(client *c) { zadd_generic(c, ZADD_INCR); }

static void zrem_command(client *c)
{
    sv key = c->argv[1];
    bool wrong;
    entry *e = lookup_typed(c, key, OBJ_ZSET, true, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    if (!e) {
        reply_int(c, 0);
        return;
    }
    void *z = ent_ptr(e);
    size_t before = zs_mem(z);
    long n = 0;
    for (int j = 2; j < c->argc && zs_len(z); j++) n += zs_del(&z, c->argv[j].p, c->argv[j].n);
    value_done(c, key, e, z, before);
    if (n) {
        notify_write(NOTIFY_ZSET, "zrem", c->db, key);
        store_written(c, c->db, key);
    }
    reply_int(c, n);
}

/* ---------------------------------------------------------------- simple reads */

static entry *zread(client *c, sv key, bool *wrong)
{
    entry *e = lookup_typed(c, key, OBJ_ZSET, false, wrong);
    if (*wrong) reply_err_wrongtype(c);
    return e;
}

static void zcard_command(client *c)
{
    bool wrong;
    entry *e = zread(c, c->argv[1], &wrong);
    if (!wrong) reply_int(c, e ? (long long)zs_len(ent_ptr(e)) : 0);
}

static void zscore_command(client *c)
{
    bool wrong;
    entry *e = zread(c, c->argv[1], &wrong);
    if (wrong) return;
    double sc;
    if (e && zs_score(ent_ptr(e), c->argv[2].p, c->argv[2].n, &sc)) reply_double(c, sc);
    else reply_null(c);
}

static void zmscore_command(client *c)
{
    bool wrong;
    entry *e = zread(c, c->argv[1], &wrong);
    if (wrong) return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double sc;
        if (e && zs_score(ent_ptr(e), c->argv[j].p, c->argv[j].n, &sc)) reply_double(c, sc);
        else reply_null(c);
    }
}

static void zrank_generic(client *c, bool rev)
{
    bool withscore = false;
    if (c->argc > 4) {
        reply_err_arity(c, rev ? "zrevrank" : "zrank");
        return;
    }
    if (c->argc == 4) {
        if (!sv_eqci(c->argv[3], "withscore")) {
            reply_err_syntax(c);
            return;
        }
        withscore = true;
    }
    bool wrong;
    entry *e = zread(c, c->argv[1], &wrong);
    if (wrong) return;
    uint64_t rank;
    double sc;
    if (e && zs_rank(ent_ptr(e), c->argv[2].p, c->argv[2].n, rev, &rank, &sc)) {
        if (withscore) reply_array(c, 2);
        reply_int(c, (long long)rank);
        if (withscore) reply_double(c, sc);
    } else if (withscore) {
        reply_null_array(c);
    } else {
        reply_null(c);
    }
}

static void zrank_command(client *c) { zrank_generic(c, false); }
static void zrevrank_command(client *c) { zrank_generic(c, true); }

static uint64_t zs_count(const void *z, const zq *q)
{
    if (enc_of(z) == ZSET_ENC_SKIP) {
        const zsk *s = z;
        znode *a, *b;
        if (q->kind == ZQ_SCORE) {
            a = zsl_first_in_range(&s->l, &q->r);
            b = a ? zsl_last_in_range(&s->l, &q->r) : NULL;
        } else {
            a = zsl_first_in_lex(&s->l, &q->lx);
            b = a ? zsl_last_in_lex(&s->l, &q->lx) : NULL;
        }
        return a && b ? zsl_rank(&s->l, b) - zsl_rank(&s->l, a) + 1 : 0;
    }
    zvec v = {NULL, 0, 0};
    zs_collect(z, q, &v);
    free(v.v);
    return v.n;
}

static void zcount_generic(client *c, int kind)
{
    zq q;
    memset(&q, 0, sizeof q);
    q.kind = kind;
    q.limit = -1;
    if (kind == ZQ_SCORE && !parse_zrange(c->argv[2], c->argv[3], &q.r)) {
        reply_error(c, ERR_MINMAX);
        return;
    }
    if (kind == ZQ_LEX && !parse_zlex(c->argv[2], c->argv[3], &q.lx)) {
        reply_error(c, ERR_LEXRANGE);
        return;
    }
    bool wrong;
    entry *e = zread(c, c->argv[1], &wrong);
    if (!wrong) reply_int(c, e ? (long long)zs_count(ent_ptr(e), &q) : 0);
}

static void zcount_command(client *c) { zcount_generic(c, ZQ_SCORE); }
static void zlexcount_command(client *c) { zcount_generic(c, ZQ_LEX); }

/* ---------------------------------------------------------------- ZRANGE family */

/* Clamps a rank range to [0, len) as Redis does; false when empty. */
static bool rank_clamp(int64_t *start, int64_t *end, uint64_t len)
{
    int64_t l = (int64_t)len;
    if (*start < 0) *start += l;
    if (*end < 0) *end += l;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= l) return false;
    if (*end >= l) *end = l - 1;
    return true;
}

/* The worker of ZRANGE, ZRANGESTORE, ZREVRANGE, ZRANGEBYSCORE,
 * ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX. src is the index of the
 * source key (dst is argv[1] when store); kind/rev fixed by the legacy
 * commands, -1/false for ZRANGE and ZRANGESTORE. */
static void zrange_generic(client *c, int src, bool store, int kind, int dir)
{
    int minidx = src + 1, maxidx = src + 2;
    bool withscores = false;
    long long offset = 0, limit = -1;
    bool have_limit = false;
    for (int j = src + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        sv a = c->argv[j];
        if (!store && sv_eqci(a, "withscores")) {
            withscores = true;
        } else if (sv_eqci(a, "limit") && left >= 2) {
            long long o, l;
            if (!util_str2ll(c->argv[j + 1].p, c->argv[j + 1].n, &o) ||
                !util_str2ll(c->argv[j + 2].p, c->argv[j + 2].n, &l)) {
                reply_err_int(c);
                return;
            }
            offset = o;
            limit = l;
            have_limit = true;
            j += 2;
        } else if (dir < 0 && sv_eqci(a, "rev")) {
            dir = 1;
        } else if (kind < 0 && sv_eqci(a, "bylex")) {
            kind = ZQ_LEX;
        } else if (kind < 0 && sv_eqci(a, "byscore")) {
            kind = ZQ_SCORE;
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    if (dir < 0) dir = 0;
    if (kind < 0) kind = ZQ_RANK;
    if (have_limit && limit != -1 && kind == ZQ_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && kind == ZQ_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    if (dir && kind != ZQ_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    zq q;
    memset(&q, 0, sizeof q);
    q.kind = kind;
    q.rev = dir == 1;
    q.offset = offset;
    q.limit = limit;
    if (kind == ZQ_RANK) {
        long long a, b;
        if (!util_str2ll(c->argv[minidx].p, c->argv[minidx].n, &a) ||
            !util_str2ll(c->argv[maxidx].p, c->argv[maxidx].n, &b)) {
            reply_err_int(c);
            return;
        }
        q.start = a;
        q.end = b;
    } else if (kind == ZQ_SCORE) {
        if (!parse_zrange(c->argv[minidx], c->argv[maxidx], &q.r)) {
            reply_error(c, ERR_MINMAX);
            return;
        }
    } else if (!parse_zlex(c->argv[minidx], c->argv[maxidx], &q.lx)) {
        reply_error(c, ERR_LEXRANGE);
        return;
    }
    bool wrong;
    entry *e = lookup_typed(c, c->argv[src], OBJ_ZSET, false, &wrong); /* a read, as Redis's */
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    zvec v = {NULL, 0, 0};
    if (e) {
        const void *z = ent_ptr(e);
        if (kind != ZQ_RANK || rank_clamp(&q.start, &q.end, zs_len(z))) zs_collect(z, &q, &v);
    }
    if (store) {
        sv dst = c->argv[1];
        if (v.n) {
            /* as Redis's ZRANGESTORE: the destination starts packed when the
             * count fits, takes the range in its order and turns into a
             * skip list at the first member too long to pack; zeros stored
             * while packed lose their sign */
            if (v.n <= (uint64_t)CFG(zset_max_listpack_entries))
                for (uint64_t i = 0; i < v.n && (long long)v.v[i].m.n <= CFG(zset_max_listpack_value); i++)
                    if (v.v[i].score == 0) v.v[i].score = 0.0;
            void *nz = zs_build(v.v, v.n);
            store_add_ptr(c->db, dst, OBJ_ZSET, nz, -1);
            notify_keyspace_event(NOTIFY_ZSET, "zrangestore", c->db, dst);
            store_written(c, c->db, dst);
        } else {
            store_delete_written(c, c->db, dst);
        }
        reply_int(c, (long long)v.n);
    } else {
        reply_zels(c, v.v, v.n, withscores);
    }
    free(v.v);
}

static void zrange_command(client *c) { zrange_generic(c, 1, false, -1, -1); }
static void zrangestore_command(client *c) { zrange_generic(c, 2, true, -1, -1); }
static void zrevrange_command(client *c) { zrange_generic(c, 1, false, ZQ_RANK, 1); }
static void zrangebyscore_command(client *c) { zrange_generic(c, 1, false, ZQ_SCORE, 0); }
static void zrevrangebyscore_command(client *c) { zrange_generic(c, 1, false, ZQ_SCORE, 1); }
static void zrangebylex_command(client *c) { zrange_generic(c, 1, false, ZQ_LEX, 0); }
static void zrevrangebylex_command(client *c) { zrange_generic(c, 1, false, ZQ_LEX, 1); }

/* ---------------------------------------------------------------- ZREMRANGEBY* */

static void zremrange_generic(client *c, int kind)
{
    sv key = c->argv[1];
    zq q;
    memset(&q, 0, sizeof q);
    q.kind = kind;
    q.limit = -1;
    if (kind == ZQ_RANK) {
        long long a, b;
        if (!util_str2ll(c->argv[2].p, c->argv[2].n, &a) || !util_str2ll(c->argv[3].p, c->argv[3].n, &b)) {
            reply_err_int(c);
            return;
        }
        q.start = a;
        q.end = b;
    } else if (kind == ZQ_SCORE) {
        if (!parse_zrange(c->argv[2], c->argv[3], &q.r)) {
            reply_error(c, ERR_MINMAX);
            return;
        }
    } else if (!parse_zlex(c->argv[2], c->argv[3], &q.lx)) {
        reply_error(c, ERR_LEXRANGE);
        return;
    }
    bool wrong;
    entry *e = lookup_typed(c, key, OBJ_ZSET, true, &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    if (!e) {
        reply_int(c, 0);
        return;
    }
    void *z = ent_ptr(e);
    if (kind == ZQ_RANK && !rank_clamp(&q.start, &q.end, zs_len(z))) {
        reply_int(c, 0);
        return;
    }
    zvec v = {NULL, 0, 0};
    zs_collect(z, &q, &v);
    buf own;
    buf_init_static(&own, NULL, 0);
    zv_own(&v, &own);
    /* a lex range over differing scores is unspecified: a skip list's walk
     * depends on its random levels, which replay would not reproduce; the
     * AOF gets what was removed */
    if (kind == ZQ_LEX && v.n) propagate_zrem(c, key, v.v, v.n);
    size_t before = zs_mem(z);
    for (uint64_t i = 0; i < v.n; i++) zs_del(&z, v.v[i].m.p, v.v[i].m.n);
    value_done(c, key, e, z, before);
    if (v.n) {
        notify_write(NOTIFY_ZSET, kind == ZQ_RANK ? "zremrangebyrank" : kind == ZQ_SCORE ? "zremrangebyscore" : "zremrangebylex",
                     c->db, key);
        store_written(c, c->db, key);
    }
    reply_int(c, (long long)v.n);
    buf_free(&own);
    free(v.v);
}

static void zremrangebyrank_command(client *c) { zremrange_generic(c, ZQ_RANK); }
static void zremrangebyscore_command(client *c) { zremrange_generic(c, ZQ_SCORE); }
static void zremrangebylex_command(client *c) { zremrange_generic(c, ZQ_LEX); }

/* ---------------------------------------------------------------- pops */

/* The n members at one end of a sorted set (its lowest first, or its
 * highest with max), for ZPOPMIN and friends and for blocked clients
 * served by a pusher: views in v, valid until ends_delete. A skip list's
 * end nodes are also kept, to be unlinked where they are (deleting by
 * member, as ZREM, would hash each one, walk its bucket and search the
 * list for it). */
typedef struct zends {
    zvec v;
    znode **nodes, *nb[16];
} zends;

static void ends_take(void *z, bool max, uint64_t n, zends *t)
{
    t->v = (zvec){NULL, 0, 0};
    t->nodes = NULL;
    if (enc_of(z) == ZSET_ENC_SKIP) {
        t->nodes = n <= 16 ? t->nb : malloc(sizeof(znode *) * n);
        if (!t->nodes) abort();
        zsk *sk = z;
        znode *x = max ? sk->l.tail : sk->l.header->lv[0].fwd;
        for (uint64_t i = 0; i < n && x; i++, x = max ? x->back : x->lv[0].fwd) {
            zel el;
            node_zel(x, &el);
            zv_push(&t->v, el.m, el.score);
            t->nodes[i] = x;
        }
        return;
    }
    zq q;
    memset(&q, 0, sizeof q);
    q.kind = ZQ_RANK;
    q.rev = max;
    q.start = 0;
    q.end = (int64_t)n - 1;
    zs_collect(z, &q, &t->v);
}

/* Deletes what ends_take took from *zp and frees t. */
static void ends_delete(void **zp, zends *t)
{
    if (t->nodes) {
        for (uint64_t i = 0; i < t->v.n; i++) zsk_remove_node(*zp, t->nodes[i]);
        if (t->nodes != t->nb) free(t->nodes);
    } else {
        buf own; /* (a pack's members move as it shrinks) */
        buf_init_static(&own, NULL, 0);
        zv_own(&t->v, &own);
        for (uint64_t i = 0; i < t->v.n; i++) zs_del(zp, t->v.v[i].m.p, t->v.v[i].m.n);
        buf_free(&own);
    }
    free(t->v.v);
}

/* Pops up to count (>= 1) entries from the min or max end of the first
 * non-empty sorted set among keys[0..nkeys). Reply shapes:
 *   emitkey=false, nested=false   flat [m, s, m, s…]      (ZPOPMIN, RESP2 or no count)
 *   emitkey=false, nested=true    [[m, s], …]             (ZPOPMIN count, RESP3)
 *   emitkey=true,  nested=false   [key, m, s]             (BZPOPMIN)
 *   emitkey=true,  nested=true    [key, [[m, s], …]]      (ZMPOP, BZMPOP)
 * Returns false when every key was missing (nothing replied), true after
 * replying (or after WRONGTYPE). Logs ZREM of the popped members. */
bool zset_pop(client *c, const sv *keys, int nkeys, bool max, uint64_t count, bool emitkey, bool nested);
bool zset_pop(client *c, const sv *keys, int nkeys, bool max, uint64_t count, bool emitkey, bool nested)
{
    entry *e = NULL;
    sv key = {NULL, 0};
    for (int i = 0; i < nkeys; i++) {
        bool wrong;
        e = lookup_typed(c, keys[i], OBJ_ZSET, true, &wrong);
        if (wrong) {
            reply_err_wrongtype(c);
            cmd_propagate_none(c);
            return true;
        }
        if (e) {
            key = keys[i];
            break;
        }
    }
    if (!e) return false;
    void *z = ent_ptr(e);
    uint64_t len = zs_len(z);
    if (count > len) count = len;
    zends t;
    ends_take(z, max, count, &t);
    const zvec v = t.v;
    if (!emitkey && !nested) {
        reply_array(c, (long)v.n * 2);
    } else if (!emitkey) {
        reply_array(c, (long)v.n);
    } else if (!nested) {
        reply_array(c, (long)v.n * 2 + 1);
        reply_bulk_sv(c, key);
    } else {
        reply_array(c, 2);
        reply_bulk_sv(c, key);
        reply_array(c, (long)v.n);
    }
    for (uint64_t i = 0; i < v.n; i++) {
        if (nested) reply_array(c, 2);
        reply_bulk_sv(c, v.v[i].m);
        reply_double(c, v.v[i].score);
    }
    propagate_zrem(c, key, v.v, v.n);
    size_t before = zs_mem(z);
    ends_delete(&z, &t);
    value_done(c, key, e, z, before);
    notify_write(NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", c->db, key);
    store_written(c, c->db, key);
    return true;
}

static void zpop_generic(client *c, bool max)
{
    if (c->argc > 3) {
        reply_err_syntax(c);
        return;
    }
    long long count = -1;
    if (c->argc == 3 && !arg_positive(c, c->argv[2], &count, NULL)) return;
    if (count == 0) { /* as Redis: the key's type is still checked */
        bool wrong;
        lookup_typed(c, c->argv[1], OBJ_ZSET, true, &wrong); /* (a write lookup: not counted) */
        if (wrong) {
            reply_err_wrongtype(c);
            cmd_propagate_none(c);
            return;
        }
        reply_array(c, 0);
        cmd_propagate_none(c);
        return;
    }
    bool nested = c->proto == PROTO_RESP3 && count != -1;
    if (!zset_pop(c, &c->argv[1], 1, max, count < 0 ? 1 : (uint64_t)count, false, nested)) {
        reply_array(c, 0);
        cmd_propagate_none(c);
    }
}

static void zpopmin_command(client *c) { zpop_generic(c, false); }
static void zpopmax_command(client *c) { zpop_generic(c, true); }

/* Parses "numkeys key... MIN|MAX [COUNT n]" from argv[nkidx]; false after
 * replying. */
bool zmpop_parse(client *c, int nkidx, long long *numkeys, bool *max, long long *count);
bool zmpop_parse(client *c, int nkidx, long long *numkeys, bool *max, long long *count)
{
    if (!arg_long_range(c, c->argv[nkidx], 1, LLONG_MAX, numkeys, "ERR numkeys should be greater than 0")) return false;
    long long where = nkidx + *numkeys + 1;
    if (*numkeys > c->argc || where >= c->argc) {
        reply_err_syntax(c);
        return false;
    }
    if (sv_eqci(c->argv[where], "min")) *max = false;
    else if (sv_eqci(c->argv[where], "max")) *max = true;
    else {
        reply_err_syntax(c);
        return false;
    }
    *count = -1;
    for (int j = (int)where + 1; j < c->argc; j++) {
        if (*count == -1 && sv_eqci(c->argv[j], "count") && j + 1 < c->argc) {
            j++;
            if (!arg_long_range(c, c->argv[j], 1, LLONG_MAX, count, "ERR count should be greater than 0")) return false;
        } else {
            reply_err_syntax(c);
            return false;
        }
    }
    if (*count == -1) *count = 1;
    return true;
}

static void zmpop_command(client *c)
{
    long long numkeys, count;
    bool max;
    if (!zmpop_parse(c, 1, &numkeys, &max, &count)) return;
    if (!zset_pop(c, &c->argv[2], (int)numkeys, max, (uint64_t)count, true, true)) {
        reply_null_array(c);
        cmd_propagate_none(c);
    }
}

static int zmpop_keys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 1, 0); }

/* ---------------------------------------------------------------- blocking pops */

/* For block.c: a pusher serving a waiter, the key's shard write-locked. */
uint64_t zset_len(entry *e) { return zs_len(ent_ptr(e)); }

void zset_pop_n(db *d, entry *e, bool max, uint64_t n, void (*fn)(void *ctx, sv m, double score), void *ctx)
{
    void *z = ent_ptr(e);
    zends t;
    ends_take(z, max, n, &t);
    for (uint64_t i = 0; i < t.v.n; i++) fn(ctx, t.v.v[i].m, t.v.v[i].score);
    shard *s = store_shard_of(d, ent_keysv(e));
    size_t before = zs_mem(z);
    ends_delete(&z, &t);
    ent_setptr(e, z);
    store_value_mem_changed(s, e, (ssize_t)zs_mem(z) - (ssize_t)before);
    if (!zs_len(z)) store_delete_entry(s, e);
}

/* BZPOPMIN/BZPOPMAX key... timeout, BZMPOP timeout numkeys key... MIN|MAX
 * [COUNT n]: pop at once when a key holds members, else wait in block.c
 * (not inside EXEC: there they answer as timed out). */
static void bzpop_generic(client *c, bool max)
{
    int64_t deadline;
    if (!block_parse_timeout(c, c->argv[c->argc - 1], &deadline)) return;
    if (zset_pop(c, &c->argv[1], c->argc - 2, max, 1, true, false)) return;
    if (multi_in_exec(c)) {
        reply_null_array(c);
        cmd_propagate_none(c);
        return;
    }
    block_req q = {BLOCK_ZPOP, !max, false, false, 1, deadline, c->argv + 1, c->argc - 2, {NULL, 0}};
    block_client(c, &q);
}

static void bzpopmin_command(client *c) { bzpop_generic(c, false); }
static void bzpopmax_command(client *c) { bzpop_generic(c, true); }

static void bzmpop_command(client *c)
{
    long long numkeys, count;
    bool max;
    if (!zmpop_parse(c, 2, &numkeys, &max, &count)) return;
    int64_t deadline;
    if (!block_parse_timeout(c, c->argv[1], &deadline)) return;
    if (zset_pop(c, &c->argv[3], (int)numkeys, max, (uint64_t)count, true, true)) return;
    if (multi_in_exec(c)) {
        reply_null_array(c);
        cmd_propagate_none(c);
        return;
    }
    block_req q = {BLOCK_ZMPOP, !max, false, false, (long)count, deadline, c->argv + 3, (int)numkeys, {NULL, 0}};
    block_client(c, &q);
}

static int bzmpop_keys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 2, 0); }

/* ---------------------------------------------------------------- ZRANDMEMBER */

static void zs_random(const void *z, zel *e)
{
    if (enc_of(z) == ZSET_ENC_PACK) {
        const pack *pk = z;
        uint64_t k = util_rand64() % pk->count;
        uint32_t off = 0;
        for (;;) {
            uint32_t l = zpk_entry(pk, off, e);
            if (!k--) return;
            off += l;
        }
    }
    node_zel((znode *)md_random(&((const zsk *)z)->d), e);
}

static void zrandmember_command(client *c)
{
    bool wrong;
    if (c->argc == 2) {
        entry *e = zread(c, c->argv[1], &wrong);
        if (wrong) return;
        if (!e) {
            reply_null(c);
            return;
        }
        zel x;
        zs_random(ent_ptr(e), &x);
        reply_bulk_sv(c, x.m);
        return;
    }
    long long l;
    bool withscores = false;
    if (!arg_long_range(c, c->argv[2], -LLONG_MAX, LLONG_MAX, &l, NULL)) return;
    if (c->argc > 4 || (c->argc == 4 && !sv_eqci(c->argv[3], "withscores"))) {
        reply_err_syntax(c);
        return;
    }
    if (c->argc == 4) {
        withscores = true;
        if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
            reply_error(c, "ERR value is out of range");
            return;
        }
    }
    entry *e = zread(c, c->argv[1], &wrong);
    if (wrong) return;
    if (!e || l == 0) {
        reply_array(c, 0);
        return;
    }
    const void *z = ent_ptr(e);
    uint64_t size = zs_len(z);
    uint64_t count = l < 0 ? (uint64_t)-l : (uint64_t)l;
    bool pairs = withscores && c->proto == PROTO_RESP3;
    if (l < 0 || count == 1) {
        reply_array(c, (long)(withscores && !pairs ? count * 2 : count));
        for (uint64_t i = 0; i < count; i++) {
            zel x;
            zs_random(z, &x);
            if (pairs) reply_array(c, 2);
            reply_bulk_sv(c, x.m);
            if (withscores) reply_double(c, x.score);
            /* a huge negative count: see srandmember in t_set.c */
            if ((i & 1023) == 1023 && conn_reply_too_big(c)) break;
        }
        return;
    }
    zvec v = {NULL, 0, 0};
    if (count >= size) {
        zq q;
        memset(&q, 0, sizeof q);
        q.kind = ZQ_RANK;
        q.end = (int64_t)size - 1;
        zs_collect(z, &q, &v);
    } else if (enc_of(z) == ZSET_ENC_PACK || count * 3 > size) {
        zq q;
        memset(&q, 0, sizeof q);
        q.kind = ZQ_RANK;
        q.end = (int64_t)size - 1;
        zs_collect(z, &q, &v);
        for (uint64_t i = 0; i < count; i++) {
            uint64_t j = i + util_rand64() % (size - i);
            zel t = v.v[i];
            v.v[i] = v.v[j];
            v.v[j] = t;
        }
        v.n = count;
    } else {
        const zsk *s = z;
        uint64_t cap = 16;
        while (cap < count * 2) cap *= 2;
        mnode **seen = calloc(cap, sizeof(mnode *));
        if (!seen) abort();
        while (v.n < count) {
            mnode *x = md_random(&s->d);
            uint64_t b = ((uintptr_t)x >> 4) * 0x9E3779B97F4A7C15ULL & (cap - 1);
            while (seen[b] && seen[b] != x) b = (b + 1) & (cap - 1);
            if (seen[b]) continue;
            seen[b] = x;
            zel e2;
            node_zel((znode *)x, &e2);
            zv_push(&v, e2.m, e2.score);
        }
        free(seen);
    }
    reply_zels(c, v.v, v.n, withscores);
    free(v.v);
}

/* ---------------------------------------------------------------- ZUNION, ZINTER, ZDIFF */

enum { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct zsrc {
    const void *v;          /* NULL: missing key (empty) */
    int type;               /* OBJ_SET or OBJ_ZSET */
    double weight;
} zsrc;

static uint64_t src_len(const zsrc *s)
{
    if (!s->v) return 0;
    return s->type == OBJ_ZSET ? zs_len(s->v) : set_size(s->v);
}

static bool src_score(const zsrc *s, sv m, double *sc)
{
    if (!s->v) return false;
    if (s->type == OBJ_SET) {
        *sc = 1.0;
        return set_contains(s->v, m.p, m.n);
    }
    return zs_score(s->v, m.p, m.n, sc);
}

/* Calls fn for every member of s with its (unweighted) score. */
static void src_each(const zsrc *s, void (*fn)(void *ctx, sv m, double sc), void *ctx)
{
    if (!s->v) return;
    if (s->type == OBJ_ZSET) {
        ziter it;
        zel e;
        zi_init(&it, s->v);
        while (zi_next(&it, &e)) fn(ctx, e.m, e.score);
    } else {
        setiter it;
        selem e;
        char tmp[24];
        set_iter_init(&it, s->v);
        while (set_iter_next(&it, &e)) fn(ctx, selem_sv(&e, tmp), 1.0);
    }
}

static int cmp_src_len(const void *a, const void *b)
{
    uint64_t x = src_len(a), y = src_len(b);
    return x < y ? -1 : x > y;
}

static inline double aggregate(int agg, double acc, double v)
{
    if (agg == AGG_SUM) {
        acc += v;
        return isnan(acc) ? 0.0 : acc; /* inf + -inf */
    }
    if (agg == AGG_MIN) return v < acc ? v : acc;
    return v > acc ? v : acc;
}

/* The accumulating result: a dict of skip list nodes (not linked yet). */
typedef struct zacc {
    mdict d;
    int agg;
    double weight;
    const zsrc *srcs;       /* inter/diff: the sources to check */
    int nsrc;
    int op;
} zacc;

static void acc_put(zacc *a, sv m, double sc)
{
    uint32_t h = md_hash(m.p, m.n);
    znode *x = (znode *)md_find(&a->d, m.p, m.n, h);
    if (x) {
        x->score = aggregate(a->agg, x->score, sc);
    } else {
        x = zsl_node_new(sc, m.p, m.n);
        md_insert(&a->d, &x->h);
    }
}

static void union_cb(void *ctx, sv m, double sc)
{
    zacc *a = ctx;
    double v = sc * a->weight;
    if (isnan(v)) v = 0;
    acc_put(a, m, v);
}

static void inter_cb(void *ctx, sv m, double sc)
{
    zacc *a = ctx;
    double v = sc * a->srcs[0].weight;
    if (isnan(v)) v = 0;
    for (int j = 1; j < a->nsrc; j++) {
        double o;
        if (a->srcs[j].v == a->srcs[0].v) {
            o = sc;
        } else if (!src_score(&a->srcs[j], m, &o)) {
            return;
        }
        /* a NaN product (inf x 0) is not reset here, as Redis: SUM turns
         * the total to 0, MIN and MAX keep what they had */
        v = aggregate(a->agg, v, o * a->srcs[j].weight);
    }
    acc_put(a, m, v);
}

static void diff_cb(void *ctx, sv m, double sc)
{
    zacc *a = ctx;
    for (int j = 1; j < a->nsrc; j++) {
        double o;
        if (a->srcs[j].v && (a->srcs[j].v == a->srcs[0].v || src_score(&a->srcs[j], m, &o))) return;
    }
    acc_put(a, m, sc);
}

static int cmp_znode(const void *a, const void *b)
{
    const znode *x = *(znode *const *)a, *y = *(znode *const *)b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    return sv_cmp(zn_member((znode *)(uintptr_t)x), x->h.len, zn_member((znode *)(uintptr_t)y), y->h.len);
}

static void free_mnode(mnode *x) { free(x); }

/* ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD: numkeys at argv[nkidx], dst
 * argv[1] when store. */
static const char *zop_event(int op)
{
    return op == ZOP_UNION ? "zunionstore" : op == ZOP_INTER ? "zinterstore" : "zdiffstore";
}

static void zsetop_generic(client *c, int nkidx, bool store, int op, bool card)
{
    long long setnum;
    const char *cmdname = c->cmd ? c->cmd->name : "zunion";
    if (!util_str2ll(c->argv[nkidx].p, c->argv[nkidx].n, &setnum)) {
        reply_err_int(c);
        return;
    }
    if (setnum < 1) {
        reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", cmdname);
        return;
    }
    if (setnum > c->argc - nkidx - 1) {
        reply_err_syntax(c);
        return;
    }
    int n = (int)setnum;
    zsrc *srcs = calloc((size_t)n, sizeof(zsrc));
    if (!srcs) abort();
    int j = nkidx + 1;
    for (int i = 0; i < n; i++, j++) {
        entry *e = store_lookup_counted(c, c->argv[j], true); /* a read, as Redis's */
        if (e && e->type != OBJ_ZSET && e->type != OBJ_SET) {
            free(srcs);
            reply_err_wrongtype(c);
            return;
        }
        srcs[i].v = e ? ent_ptr(e) : NULL;
        srcs[i].type = e ? e->type : OBJ_ZSET;
        srcs[i].weight = 1.0;
    }
    int agg = AGG_SUM;
    bool withscores = false;
    long long limit = 0;
    int remaining = c->argc - j;
    while (remaining) {
        if (op != ZOP_DIFF && !card && remaining >= n + 1 && sv_eqci(c->argv[j], "weights")) {
            j++;
            remaining--;
            for (int i = 0; i < n; i++, j++, remaining--) {
                if (!util_str2d(c->argv[j].p, c->argv[j].n, &srcs[i].weight)) {
                    free(srcs);
                    reply_error(c, "ERR weight value is not a float");
                    return;
                }
            }
        } else if (op != ZOP_DIFF && !card && remaining >= 2 && sv_eqci(c->argv[j], "aggregate")) {
            sv a = c->argv[j + 1];
            if (sv_eqci(a, "sum")) agg = AGG_SUM;
            else if (sv_eqci(a, "min")) agg = AGG_MIN;
            else if (sv_eqci(a, "max")) agg = AGG_MAX;
            else {
                free(srcs);
                reply_err_syntax(c);
                return;
            }
            j += 2;
            remaining -= 2;
        } else if (remaining >= 1 && !store && !card && sv_eqci(c->argv[j], "withscores")) {
            j++;
            remaining--;
            withscores = true;
        } else if (card && remaining >= 2 && sv_eqci(c->argv[j], "limit")) {
            if (!arg_positive(c, c->argv[j + 1], &limit, "ERR LIMIT can't be negative")) {
                free(srcs);
                return;
            }
            j += 2;
            remaining -= 2;
        } else {
            free(srcs);
            reply_err_syntax(c);
            return;
        }
    }
    zacc a;
    md_init(&a.d, zn_keyp);
    a.agg = agg;
    a.srcs = srcs;
    a.nsrc = n;
    a.op = op;
    if (op == ZOP_UNION) {
        /* smallest first, as Redis: a SUM's rounding (0.1 + 0.2 + 0.3) and
         * where inf + -inf resets to 0 depend on the order */
        qsort(srcs, (size_t)n, sizeof(zsrc), cmp_src_len);
        for (int i = 0; i < n; i++) {
            a.weight = srcs[i].weight;
            src_each(&srcs[i], union_cb, &a);
        }
    } else if (op == ZOP_INTER) {
        bool any_empty = false;
        for (int i = 0; i < n; i++)
            if (!src_len(&srcs[i])) any_empty = true;
        if (!any_empty) {
            qsort(srcs, (size_t)n, sizeof(zsrc), cmp_src_len);
            if (card) {
                /* count only, stopping at the limit */
                uint64_t cnt = 0;
                zvec all = {NULL, 0, 0};
                if (srcs[0].type == OBJ_ZSET) {
                    zq q;
                    memset(&q, 0, sizeof q);
                    q.end = (int64_t)zs_len(srcs[0].v) - 1;
                    zs_collect(srcs[0].v, &q, &all);
                    for (uint64_t i = 0; i < all.n && (!limit || cnt < (uint64_t)limit); i++) {
                        int k = 1;
                        double o;
                        for (; k < n; k++)
                            if (srcs[k].v != srcs[0].v && !src_score(&srcs[k], all.v[i].m, &o)) break;
                        if (k == n) cnt++;
                    }
                } else {
                    setiter it;
                    selem e;
                    char tmp[24];
                    set_iter_init(&it, srcs[0].v);
                    while ((!limit || cnt < (uint64_t)limit) && set_iter_next(&it, &e)) {
                        sv m = selem_sv(&e, tmp);
                        int k = 1;
                        double o;
                        for (; k < n; k++)
                            if (srcs[k].v != srcs[0].v && !src_score(&srcs[k], m, &o)) break;
                        if (k == n) cnt++;
                    }
                }
                free(all.v);
                free(srcs);
                reply_int(c, (long long)cnt);
                return;
            }
            src_each(&srcs[0], inter_cb, &a);
        }
    } else {
        src_each(&srcs[0], diff_cb, &a);
    }
    free(srcs);
    if (card) {
        md_clear(&a.d, free_mnode);
        reply_int(c, 0);
        return;
    }
    /* sort the result */
    uint64_t cnt = a.d.count;
    znode **nodes = malloc(sizeof(znode *) * (cnt + 1));
    if (!nodes) abort();
    uint64_t k = 0;
    size_t maxlen = 0;
    for (uint64_t b = 0; b < a.d.size; b++)
        for (mnode *x = a.d.t[b]; x; x = x->next) {
            nodes[k++] = (znode *)x;
            if (x->len > maxlen) maxlen = x->len;
        }
    qsort(nodes, (size_t)cnt, sizeof(znode *), cmp_znode);
    if (store) {
        sv dst = c->argv[1];
        if (cnt == 0) {
            md_clear(&a.d, NULL);
            store_delete_written(c, c->db, dst);
        } else if (zfits_pack(cnt, maxlen)) {
            pack *pk = zpk_new();
            for (uint64_t i = 0; i < cnt; i++) /* sorted already: appended */
                zpk_put_at(&pk, pk->used, zn_member(nodes[i]), nodes[i]->h.len, nodes[i]->score);
            md_clear(&a.d, free_mnode);
            store_add_ptr(c->db, dst, OBJ_ZSET, pk, -1);
            notify_keyspace_event(NOTIFY_ZSET, zop_event(op), c->db, dst);
            store_written(c, c->db, dst);
        } else {
            zsk *s = zsk_new(0);
            md_clear(&s->d, NULL);
            s->d = a.d; /* the nodes move over with their dict */
            for (uint64_t i = 0; i < cnt; i++) {
                zsl_insert(&s->l, nodes[i]);
                s->bytes += zn_size(nodes[i]);
            }
            store_add_ptr(c->db, dst, OBJ_ZSET, s, -1);
            notify_keyspace_event(NOTIFY_ZSET, zop_event(op), c->db, dst);
            store_written(c, c->db, dst);
        }
        reply_int(c, (long long)cnt);
    } else {
        bool pairs = withscores && c->proto == PROTO_RESP3;
        reply_array(c, (long)(withscores && !pairs ? cnt * 2 : cnt));
        for (uint64_t i = 0; i < cnt; i++) {
            if (pairs) reply_array(c, 2);
            reply_bulk(c, zn_member(nodes[i]), nodes[i]->h.len);
            if (withscores) reply_double(c, nodes[i]->score);
        }
        md_clear(&a.d, free_mnode);
    }
    free(nodes);
}

static void zunion_command(client *c) { zsetop_generic(c, 1, false, ZOP_UNION, false); }
static void zinter_command(client *c) { zsetop_generic(c, 1, false, ZOP_INTER, false); }
static void zdiff_command(client *c) { zsetop_generic(c, 1, false, ZOP_DIFF, false); }
static void zunionstore_command(client *c) { zsetop_generic(c, 2, true, ZOP_UNION, false); }
static void zinterstore_command(client *c) { zsetop_generic(c, 2, true, ZOP_INTER, false); }
static void zdiffstore_command(client *c) { zsetop_generic(c, 2, true, ZOP_DIFF, false); }
static void zintercard_command(client *c) { zsetop_generic(c, 1, false, ZOP_INTER, true); }

static int numkeys1_keys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 1, 0); }
static int numkeys2_store_keys(client *c, int *keys, int max) { return keys_numkeys(c, keys, max, 2, 1); }

/* ---------------------------------------------------------------- ZSCAN */

typedef struct zscanacc {
    buf out;    /* u32 len + member, u32 len + score text */
    long long n;
} zscanacc;

/* packed: the score as Redis 7.0's listpack gives it back, an integral
 * score within +-2^62 as an integer (ZSCAN alone shows the difference:
 * 123456789012345680, not 1.2345678901234568e+17). */
static void zscan_put(zscanacc *a, sv m, double sc, bool packed)
{
    uint32_t l = (uint32_t)m.n;
    buf_append(&a->out, &l, 4);
    buf_append(&a->out, m.p, m.n);
    char tmp[64];
    if (packed && sc >= -4611686018427387904.0 && sc <= 4611686018427387904.0 && sc == (double)(long long)sc)
        l = (uint32_t)util_ll2str(tmp, sizeof tmp, (long long)sc);
    else
        l = (uint32_t)util_d2str(tmp, sizeof tmp, sc);
    buf_append(&a->out, &l, 4);
    buf_append(&a->out, tmp, l);
    a->n++;
}

static void zscan_node(void *ctx, mnode *x)
{
    znode *z = (znode *)x;
    sv m = {zn_member(z), z->h.len};
    zscan_put(ctx, m, z->score, false);
}

static void zscan_command(client *c)
{
    uint64_t cursor;
    if (!scan_cursor_arg(c, c->argv[2], &cursor)) return;
    bool wrong;
    entry *e = zread(c, c->argv[1], &wrong);
    if (wrong) return;
    if (!e) {
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        reply_array(c, 0);
        return;
    }
    sv pat = {NULL, 0};
    bool use_pat;
    long long count;
    if (!scan_opts(c, 3, &pat, &use_pat, &count, NULL)) return;
    const void *z = ent_ptr(e);
    zscanacc a;
    buf_init_static(&a.out, NULL, 0);
    a.n = 0;
    if (enc_of(z) == ZSET_ENC_SKIP) {
        const zsk *s = z;
        long long maxiter = count * 10;
        do {
            cursor = md_scan(&s->d, cursor, zscan_node, &a);
        } while (cursor && maxiter-- && a.n < count);
    } else {
        ziter it;
        zel x;
        zi_init(&it, z);
        while (zi_next(&it, &x)) zscan_put(&a, x.m, x.score, true);
        cursor = 0;
    }
    long keep = 0;
    for (size_t off = 0; off < a.out.len;) {
        uint32_t l, l2;
        memcpy(&l, a.out.p + off, 4);
        memcpy(&l2, a.out.p + off + 4 + l, 4);
        if (!use_pat || util_glob_match(pat.p, pat.n, a.out.p + off + 4, l, false)) keep += 2;
        off += 8 + l + l2;
    }
    reply_array(c, 2);
    reply_bulk_ll(c, (long long)cursor);
    reply_array(c, keep);
    for (size_t off = 0; off < a.out.len;) {
        uint32_t l, l2;
        memcpy(&l, a.out.p + off, 4);
        memcpy(&l2, a.out.p + off + 4 + l, 4);
        if (!use_pat || util_glob_match(pat.p, pat.n, a.out.p + off + 4, l, false)) {
            reply_bulk(c, a.out.p + off + 4, l);
            reply_bulk(c, a.out.p + off + 8 + l, l2);
        }
        off += 8 + l + l2;
    }
    buf_free(&a.out);
}

/* ---------------------------------------------------------------- table */

#define W CMD_WRITE
#define R CMD_READONLY
#define F CMD_FAST
#define D CMD_DENYOOM
#define B (CMD_BLOCKING | CMD_NOSCRIPT)
command cmds_zset[] = {
    {"zadd", zadd_command, -4, W | D | F, 1, 1, 1, NULL, "sorted-set", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "1.2.0", 0, 0, 0, 0},
    {"zincrby", zincrby_command, 4, W | D | F, 1, 1, 1, NULL, "sorted-set", "Increments the score of a member in a sorted set.", "1.2.0", 0, 0, 0, 0},
    {"zrem", zrem_command, -3, W | F, 1, 1, 1, NULL, "sorted-set", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "1.2.0", 0, 0, 0, 0},
    {"zcard", zcard_command, 2, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the number of members in a sorted set.", "1.2.0", 0, 0, 0, 0},
    {"zcount", zcount_command, 4, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the count of members in a sorted set that have scores within a range.", "2.0.0", 0, 0, 0, 0},
    {"zlexcount", zlexcount_command, 4, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the number of members in a sorted set within a lexicographical range.", "2.8.9", 0, 0, 0, 0},
    {"zscore", zscore_command, 3, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the score of a member in a sorted set.", "1.2.0", 0, 0, 0, 0},
    {"zmscore", zmscore_command, -3, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the score of one or more members in a sorted set.", "6.2.0", 0, 0, 0, 0},
    {"zrank", zrank_command, -3, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0", 0, 0, 0, 0},
    {"zrevrank", zrevrank_command, -3, R | F, 1, 1, 1, NULL, "sorted-set", "Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0", 0, 0, 0, 0},
    {"zrange", zrange_command, -4, R, 1, 1, 1, NULL, "sorted-set", "Returns members in a sorted set within a range of indexes.", "1.2.0", 0, 0, 0, 0},
    {"zrangestore", zrangestore_command, -5, W | D, 1, 2, 1, NULL, "sorted-set", "Stores a range of members from sorted set in a key.", "6.2.0", 0, 0, 0, 0},
    {"zrevrange", zrevrange_command, -4, R, 1, 1, 1, NULL, "sorted-set", "Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0", 0, 0, 0, 0},
    {"zrangebyscore", zrangebyscore_command, -4, R, 1, 1, 1, NULL, "sorted-set", "Returns members in a sorted set within a range of scores.", "1.0.5", 0, 0, 0, 0},
    {"zrevrangebyscore", zrevrangebyscore_command, -4, R, 1, 1, 1, NULL, "sorted-set", "Returns members in a sorted set within a range of scores in reverse order.", "2.2.0", 0, 0, 0, 0},
    {"zrangebylex", zrangebylex_command, -4, R, 1, 1, 1, NULL, "sorted-set", "Returns members in a sorted set within a lexicographical range.", "2.8.9", 0, 0, 0, 0},
    {"zrevrangebylex", zrevrangebylex_command, -4, R, 1, 1, 1, NULL, "sorted-set", "Returns members in a sorted set within a lexicographical range in reverse order.", "2.8.9", 0, 0, 0, 0},
    {"zremrangebyrank", zremrangebyrank_command, 4, W, 1, 1, 1, NULL, "sorted-set", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "2.0.0", 0, 0, 0, 0},
    {"zremrangebyscore", zremrangebyscore_command, 4, W, 1, 1, 1, NULL, "sorted-set", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "1.2.0", 0, 0, 0, 0},
    {"zremrangebylex", zremrangebylex_command, 4, W, 1, 1, 1, NULL, "sorted-set", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "2.8.9", 0, 0, 0, 0},
    {"zpopmin", zpopmin_command, -2, W | F, 1, 1, 1, NULL, "sorted-set", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "5.0.0", 0, 0, 0, 0},
    {"zpopmax", zpopmax_command, -2, W | F, 1, 1, 1, NULL, "sorted-set", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "5.0.0", 0, 0, 0, 0},
    {"zmpop", zmpop_command, -4, W, 0, 0, 0, zmpop_keys, "sorted-set", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", "7.0.0", 0, 0, 0, 0},
    {"bzpopmin", bzpopmin_command, -3, W | B | F, 1, -2, 1, NULL, "sorted-set", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "5.0.0", 0, 0, 0, 0},
    {"bzpopmax", bzpopmax_command, -3, W | B | F, 1, -2, 1, NULL, "sorted-set", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "5.0.0", 0, 0, 0, 0},
    {"bzmpop", bzmpop_command, -5, W | CMD_BLOCKING, 0, 0, 0, bzmpop_keys, "sorted-set", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "7.0.0", 0, 0, 0, 0},
    {"zrandmember", zrandmember_command, -2, R, 1, 1, 1, NULL, "sorted-set", "Returns one or more random members from a sorted set.", "6.2.0", 0, 0, 0, 0},
    {"zunion", zunion_command, -3, R, 0, 0, 0, numkeys1_keys, "sorted-set", "Returns the union of multiple sorted sets.", "6.2.0", 0, 0, 0, 0},
    {"zinter", zinter_command, -3, R, 0, 0, 0, numkeys1_keys, "sorted-set", "Returns the intersect of multiple sorted sets.", "6.2.0", 0, 0, 0, 0},
    {"zintercard", zintercard_command, -3, R, 0, 0, 0, numkeys1_keys, "sorted-set", "Returns the number of members of the intersect of multiple sorted sets.", "7.0.0", 0, 0, 0, 0},
    {"zdiff", zdiff_command, -3, R, 0, 0, 0, numkeys1_keys, "sorted-set", "Returns the difference between multiple sorted sets.", "6.2.0", 0, 0, 0, 0},
    {"zunionstore", zunionstore_command, -4, W | D, 1, 1, 1, numkeys2_store_keys, "sorted-set", "Stores the union of multiple sorted sets in a key.", "2.0.0", 0, 0, 0, 0},
    {"zinterstore", zinterstore_command, -4, W | D, 1, 1, 1, numkeys2_store_keys, "sorted-set", "Stores the intersect of multiple sorted sets in a key.", "2.0.0", 0, 0, 0, 0},
    {"zdiffstore", zdiffstore_command, -4, W | D, 1, 1, 1, numkeys2_store_keys, "sorted-set", "Stores the difference of multiple sorted sets in a key.", "6.2.0", 0, 0, 0, 0},
    {"zscan", zscan_command, -3, R, 1, 1, 1, NULL, "sorted-set", "Iterates over members and scores of a sorted set.", "2.8.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
