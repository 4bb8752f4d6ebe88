/* skiplist.c — the ordered half of the large sorted set encoding: a skip
 * list (Pugh, p = 1/4, at most 32 levels) ordered by (score, member bytes),
 * whose links carry spans so rank <-> node is O(log n) both ways, with a
 * backward link at level 0 for reverse walks. Its nodes start with an
 * mnode header so that the same allocation is also the node of the member
 * dict (mdict.c): one allocation per member, found by name in O(1) through
 * the dict and by score or rank in O(log n) through the list. Also here:
 * score and lex range specifications and their tests, shared with the
 * packed encoding. No locks: the key's shard lock covers it. */
#include "kvd.h"

#include <stdlib.h>

int sv_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = an && bn ? memcmp(a, b, an < bn ? an : bn) : 0;
    if (r) return r;
    return an < bn ? -1 : an > bn;
}

const char *zn_keyp(const mnode *n) { return zn_member((znode *)(uintptr_t)n); }

static int random_level(void)
{
    int level = 1;
    while (level < ZSL_MAXLEVEL && (util_rand64() & 0xFFFF) < 0x4000) level++;
    return level;
}

static znode *node_alloc(int level, size_t n)
{
    znode *x = malloc(sizeof(znode) + (size_t)level * sizeof(zlevel) + n);
    if (!x) abort();
    x->level = (uint32_t)level;
    x->spare = 0;
    x->back = NULL;
    for (int i = 0; i < level; i++) {
        x->lv[i].fwd = NULL;
        x->lv[i].span = 0;
    }
    return x;
}

znode *zsl_node_new(double score, const char *p, size_t n)
{
    znode *x = node_alloc(random_level(), n);
    x->score = score;
    x->h.next = NULL;
    x->h.len = (uint32_t)n;
    x->h.hash = md_hash(p, n);
    memcpy(zn_member(x), p, n);
    return x;
}

size_t zn_size(const znode *x) { return sizeof(znode) + x->level * sizeof(zlevel) + x->h.len; }

void zsl_init(zsl *l)
{
    l->header = node_alloc(ZSL_MAXLEVEL, 0);
    l->header->h.len = 0;
    l->header->score = 0;
    l->tail = NULL;
    l->length = 0;
    l->level = 1;
}

void zsl_free_nodes(zsl *l)
{
    znode *x = l->header->lv[0].fwd;
    while (x) {
        znode *next = x->lv[0].fwd;
        free(x);
        x = next;
    }
    free(l->header);
    l->header = l->tail = NULL;
    l->length = 0;
}

/* Is node x ordered before (score, p/n)? */
static inline bool node_lt(const znode *x, double score, const char *p, size_t n)
{
    return x->score < score || (x->score == score && sv_cmp(zn_member((znode *)(uintptr_t)x), x->h.len, p, n) < 0);
}

/* Links x in after update[i] on each level i, rank[i] being update[i]'s
 * rank (0 for the header), for every level below l->level. */
static void insert_at(zsl *l, znode *x, znode **update, uint64_t *rank)
{
    int lvl = (int)x->level;
    if (lvl > l->level) {
        for (int i = l->level; i < lvl; i++) {
            rank[i] = 0;
            update[i] = l->header;
            update[i]->lv[i].span = l->length;
        }
        l->level = lvl;
    }
    for (int i = 0; i < lvl; i++) {
        x->lv[i].fwd = update[i]->lv[i].fwd;
        update[i]->lv[i].fwd = x;
        x->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
        update[i]->lv[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = lvl; i < l->level; i++) update[i]->lv[i].span++;
    x->back = update[0] == l->header ? NULL : update[0];
    if (x->lv[0].fwd) x->lv[0].fwd->back = x;
    else l->tail = x;
    l->length++;
}

void zsl_insert(zsl *l, znode *x)
{
    znode *update[ZSL_MAXLEVEL];
    uint64_t rank[ZSL_MAXLEVEL];
    const char *m = zn_member(x);
    znode *y = l->header;
    update[0] = y;
    rank[0] = 0;
    for (int i = l->level - 1; i >= 0; i--) {
        rank[i] = i == l->level - 1 ? 0 : rank[i + 1];
        while (y->lv[i].fwd && node_lt(y->lv[i].fwd, x->score, m, x->h.len)) {
            rank[i] += y->lv[i].span;
            y = y->lv[i].fwd;
        }
        update[i] = y;
    }
    insert_at(l, x, update, rank);
}

/* Unlinks x, update[i] being its predecessor on each level i (or the
 * last node before it on levels above x's). */
static void unlink_at(zsl *l, znode *x, znode **update)
{
    kvd_assert(update[0]->lv[0].fwd == x);
    for (int i = 0; i < l->level; i++) {
        if (update[i]->lv[i].fwd == x) {
            update[i]->lv[i].span += x->lv[i].span - 1;
            update[i]->lv[i].fwd = x->lv[i].fwd;
        } else {
            update[i]->lv[i].span -= 1;
        }
    }
    if (x->lv[0].fwd) x->lv[0].fwd->back = x->back;
    else l->tail = x->back;
    while (l->level > 1 && !l->header->lv[l->level - 1].fwd) l->level--;
    l->length--;
}

void zsl_unlink(zsl *l, znode *x)
{
    znode *update[ZSL_MAXLEVEL];
    const char *m = zn_member(x);
    znode *y = l->header;
    update[0] = y;
    if (y->lv[0].fwd == x) {
        /* the first node (ZPOPMIN): the header precedes it on every level,
         * no search (which would touch a node per level) */
        for (int i = 1; i < l->level; i++) update[i] = y;
    } else {
        for (int i = l->level - 1; i >= 0; i--) {
            while (y->lv[i].fwd && node_lt(y->lv[i].fwd, x->score, m, x->h.len)) y = y->lv[i].fwd;
            update[i] = y;
        }
    }
    unlink_at(l, x, update);
}

/* Moves x to score. Unless it keeps its place, it is unlinked and linked
 * in again, which needs two searches from the top: for its old position
 * and for its new one. They run in one loop, a step of each per turn, so
 * that their cache misses (a node per step, in a list larger than the
 * caches) are in flight together rather than one after the other. The
 * second search sees x at its old score; its result is then corrected
 * for x's removal: where it stopped at x it takes x's predecessor, and
 * ranks past x drop by one. */
void zsl_update_score(zsl *l, znode *x, double score)
{
    if ((!x->back || x->back->score < score) && (!x->lv[0].fwd || x->lv[0].fwd->score > score)) {
        x->score = score;
        return;
    }
    znode *ud[ZSL_MAXLEVEL], *ui[ZSL_MAXLEVEL];
    uint64_t rd[ZSL_MAXLEVEL], ri[ZSL_MAXLEVEL];
    const char *m = zn_member(x);
    size_t n = x->h.len;
    double old = x->score;
    znode *yd = l->header, *yi = l->header;
    uint64_t a = 0, b = 0;
    int top = l->level;
    for (int i = top - 1; i >= 0; i--) {
        for (;;) {
            znode *nd = yd->lv[i].fwd, *ni = yi->lv[i].fwd;
            bool sd = nd && node_lt(nd, old, m, n);
            bool si = ni && node_lt(ni, score, m, n);
            if (!sd && !si) break;
            if (sd) {
                a += yd->lv[i].span;
                yd = nd;
            }
            if (si) {
                b += yi->lv[i].span;
                yi = ni;
            }
        }
        ud[i] = yd;
        rd[i] = a;
        ui[i] = yi;
        ri[i] = b;
    }
    uint64_t rx = rd[0] + 1; /* x's rank */
    for (int i = 0; i < top; i++) {
        if (ui[i] == x) {
            ui[i] = ud[i];
            ri[i] = rd[i];
        } else if (ri[i] > rx) {
            ri[i]--;
        }
    }
    unlink_at(l, x, ud);
    x->score = score;
    insert_at(l, x, ui, ri);
}

uint64_t zsl_rank(const zsl *l, const znode *x)
{
    const char *m = zn_member((znode *)(uintptr_t)x);
    uint64_t rank = 0;
    znode *y = l->header;
    for (int i = l->level - 1; i >= 0; i--) {
        while (y->lv[i].fwd && (y->lv[i].fwd == x || node_lt(y->lv[i].fwd, x->score, m, x->h.len))) {
            rank += y->lv[i].span;
            y = y->lv[i].fwd;
        }
        if (y == x) return rank;
    }
    return 0;
}

znode *zsl_by_rank(const zsl *l, uint64_t rank)
{
    uint64_t seen = 0;
    znode *y = l->header;
    for (int i = l->level - 1; i >= 0; i--) {
        while (y->lv[i].fwd && seen + y->lv[i].span <= rank) {
            seen += y->lv[i].span;
            y = y->lv[i].fwd;
        }
        if (seen == rank) return y == l->header ? NULL : y;
    }
    return NULL;
}

/* ---------------------------------------------------------------- ranges */

bool zr_empty(const zrange *r) { return r->min > r->max || (r->min == r->max && (r->minex || r->maxex)); }
bool zr_gte_min(double v, const zrange *r) { return r->minex ? v > r->min : v >= r->min; }
bool zr_lte_max(double v, const zrange *r) { return r->maxex ? v < r->max : v <= r->max; }

bool zl_gte_min(sv m, const zlex *r)
{
    if (r->mininf) return r->mininf < 0;
    int c = sv_cmp(m.p, m.n, r->min.p, r->min.n);
    return r->minex ? c > 0 : c >= 0;
}

bool zl_lte_max(sv m, const zlex *r)
{
    if (r->maxinf) return r->maxinf > 0;
    int c = sv_cmp(m.p, m.n, r->max.p, r->max.n);
    return r->maxex ? c < 0 : c <= 0;
}

bool zl_empty(const zlex *r)
{
    if (r->mininf > 0 || r->maxinf < 0) return true;
    if (r->mininf < 0 || r->maxinf > 0) return false;
    int c = sv_cmp(r->min.p, r->min.n, r->max.p, r->max.n);
    return c > 0 || (c == 0 && (r->minex || r->maxex));
}

static inline sv zn_sv(const znode *x)
{
    sv v = {zn_member((znode *)(uintptr_t)x), x->h.len};
    return v;
}

/* The four below answer as Redis's zslFirstIn(Lex)Range and
 * zslLastIn(Lex)Range: nothing when the range is empty, the tail is below
 * it or the first node above it (which matters for a lex range over
 * scores that are not all equal). */
znode *zsl_first_in_range(const zsl *l, const zrange *r)
{
    const znode *first = l->header->lv[0].fwd;
    if (zr_empty(r) || !l->tail || !zr_gte_min(l->tail->score, r) || !zr_lte_max(first->score, r)) return NULL;
    znode *y = l->header;
    for (int i = l->level - 1; i >= 0; i--)
        while (y->lv[i].fwd && !zr_gte_min(y->lv[i].fwd->score, r)) y = y->lv[i].fwd;
    y = y->lv[0].fwd;
    return y && zr_lte_max(y->score, r) ? y : NULL;
}

znode *zsl_last_in_range(const zsl *l, const zrange *r)
{
    znode *first = l->header->lv[0].fwd;
    if (zr_empty(r) || !first || !zr_lte_max(first->score, r) || !zr_gte_min(l->tail->score, r)) return NULL;
    znode *y = l->header;
    for (int i = l->level - 1; i >= 0; i--)
        while (y->lv[i].fwd && zr_lte_max(y->lv[i].fwd->score, r)) y = y->lv[i].fwd;
    return y != l->header && zr_gte_min(y->score, r) ? y : NULL;
}

znode *zsl_first_in_lex(const zsl *l, const zlex *r)
{
    const znode *first = l->header->lv[0].fwd;
    if (zl_empty(r) || !l->tail || !zl_gte_min(zn_sv(l->tail), r) || !zl_lte_max(zn_sv(first), r)) return NULL;
    znode *y = l->header;
    for (int i = l->level - 1; i >= 0; i--)
        while (y->lv[i].fwd && !zl_gte_min(zn_sv(y->lv[i].fwd), r)) y = y->lv[i].fwd;
    y = y->lv[0].fwd;
    return y && zl_lte_max(zn_sv(y), r) ? y : NULL;
}

znode *zsl_last_in_lex(const zsl *l, const zlex *r)
{
    znode *first = l->header->lv[0].fwd;
    if (zl_empty(r) || !first || !zl_lte_max(zn_sv(first), r) || !zl_gte_min(zn_sv(l->tail), r)) return NULL;
    znode *y = l->header;
    for (int i = l->level - 1; i >= 0; i--)
        while (y->lv[i].fwd && zl_lte_max(zn_sv(y->lv[i].fwd), r)) y = y->lv[i].fwd;
    return y != l->header && zl_gte_min(zn_sv(y), r) ? y : NULL;
}
