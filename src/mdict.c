/* mdict.c — an intrusive chained hash table of byte-string members, used
 * by the large set encoding (each member a node of its own) and the large
 * sorted set encoding (the skip list nodes double as the table's nodes).
 * Nodes start with an mnode header; where the member's bytes live is the
 * owner's business (a keyp function). No locks: the shard lock of the key
 * holding the value covers it. Resizes are whole (power-of-two tables, load
 * factor between 1/8 and 1); SCAN uses Redis's reverse-binary cursor so a
 * full pass sees every member present throughout, across resizes. */
#include "kvd.h"

#include <stdlib.h>

#define MD_MIN 4

uint32_t md_hash(const char *p, size_t n) { return (uint32_t)util_hash(p, n); }

void md_init(mdict *d, const char *(*keyp)(const mnode *n))
{
    d->t = NULL;
    d->size = 0;
    d->count = 0;
    d->keyp = keyp;
}

static void md_resize(mdict *d, uint64_t nsize)
{
    mnode **nt = calloc(nsize, sizeof(mnode *));
    if (!nt) {
        if (d->t) return; /* keep the old table: longer chains, still correct */
        abort();
    }
    enum { AHEAD = 8 }; /* chain heads fetched ahead: the misses overlap */
    for (uint64_t i = 0; i < d->size; i++) {
        if (i + AHEAD < d->size && d->t[i + AHEAD]) __builtin_prefetch(d->t[i + AHEAD], 1);
        mnode *n = d->t[i];
        while (n) {
            mnode *next = n->next;
            uint64_t b = n->hash & (nsize - 1);
            n->next = nt[b];
            nt[b] = n;
            n = next;
        }
    }
    free(d->t);
    d->t = nt;
    d->size = nsize;
}

void md_reserve(mdict *d, uint64_t n)
{
    uint64_t s = MD_MIN;
    while (s < n && s < (1ULL << 32)) s *= 2;
    if (s > d->size) md_resize(d, s);
}

mnode *md_find(const mdict *d, const char *p, size_t n, uint32_t h)
{
    if (!d->size) return NULL;
    for (mnode *x = d->t[h & (d->size - 1)]; x; x = x->next)
        if (x->hash == h && x->len == n && memcmp(d->keyp(x), p, n) == 0) return x;
    return NULL;
}

void md_insert(mdict *d, mnode *x)
{
    if (!d->size) md_resize(d, MD_MIN);
    else if (d->count >= d->size && d->size < (1ULL << 32)) md_resize(d, d->size * 2);
    uint64_t b = x->hash & (d->size - 1);
    x->next = d->t[b];
    d->t[b] = x;
    d->count++;
}

static void md_maybe_shrink(mdict *d)
{
    if (d->count == 0) {
        free(d->t);
        d->t = NULL;
        d->size = 0;
        return;
    }
    if (d->size > MD_MIN && d->count < d->size / 8) {
        uint64_t s = d->size;
        while (s > MD_MIN && d->count < s / 4) s /= 2;
        md_resize(d, s);
    }
}

void md_unlink(mdict *d, mnode *x)
{
    mnode **pp = &d->t[x->hash & (d->size - 1)];
    while (*pp != x) {
        kvd_assert(*pp);
        pp = &(*pp)->next;
    }
    *pp = x->next;
    d->count--;
    md_maybe_shrink(d);
}

mnode *md_remove(mdict *d, const char *p, size_t n, uint32_t h)
{
    mnode *x = md_find(d, p, n, h);
    if (x) md_unlink(d, x);
    return x;
}

mnode *md_random(const mdict *d)
{
    if (!d->count) return NULL;
    mnode *x = NULL;
    uint64_t m = d->size - 1;
    for (int tries = 0; !x; tries++) {
        if (tries > 256) {
            /* very sparse table: walk from a random bucket */
            uint64_t b = util_rand64() & m;
            for (uint64_t i = 0; i <= m && !x; i++) x = d->t[(b + i) & m];
            break;
        }
        x = d->t[util_rand64() & m];
    }
    uint64_t len = 0;
    for (mnode *y = x; y; y = y->next) len++;
    for (uint64_t k = util_rand64() % len; k; k--) x = x->next;
    return x;
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

uint64_t md_scan(const mdict *d, uint64_t cursor, void (*fn)(void *ctx, mnode *x), void *ctx)
{
    if (!d->size) return 0;
    uint64_t m = d->size - 1;
    for (mnode *x = d->t[cursor & m]; x; x = x->next) fn(ctx, x);
    cursor |= ~m;
    cursor = rev64(cursor);
    cursor++;
    return rev64(cursor);
}

void md_clear(mdict *d, void (*freefn)(mnode *x))
{
    for (uint64_t i = 0; i < d->size; i++) {
        mnode *x = d->t[i];
        while (x) {
            mnode *next = x->next;
            if (freefn) freefn(x);
            x = next;
        }
    }
    free(d->t);
    d->t = NULL;
    d->size = d->count = 0;
}

size_t md_table_bytes(const mdict *d) { return d->size * sizeof(mnode *); }
