/* listpack.c — the compact encoding of small hashes and lists: one
 * allocation holding a short header and the elements back to back, each as
 * a LEB128 length followed by its bytes. Walking is forward only; the
 * owners keep these small (hash-max-listpack-*, list-max-listpack-size), so
 * a linear scan is a few cache lines. No locks: the owner's shard lock
 * covers it. */
#include "kvd.h"

#include <stdlib.h>

static lpack *lp_realloc(lpack *lp, size_t bytes)
{
    lpack *n = realloc(lp, sizeof(lpack) + bytes);
    if (!n) {
        log_warning("out of memory growing a listpack to %zu bytes", bytes);
        abort();
    }
    return n;
}

lpack *lp_new(uint8_t enc)
{
    lpack *lp = lp_realloc(NULL, 0);
    lp->enc = enc;
    memset(lp->spare, 0, sizeof lp->spare);
    lp->count = 0;
    lp->bytes = 0;
    return lp;
}

size_t lp_enclen(size_t n)
{
    size_t h = 1;
    while (n >= 0x80) {
        n >>= 7;
        h++;
    }
    return h;
}

static size_t put_len(char *p, size_t n)
{
    size_t i = 0;
    while (n >= 0x80) {
        p[i++] = (char)(0x80 | (n & 0x7f));
        n >>= 7;
    }
    p[i++] = (char)n;
    return i;
}

uint32_t lp_get(const lpack *lp, uint32_t off, sv *out)
{
    const unsigned char *p = (const unsigned char *)lp->data + off;
    size_t n = 0;
    int shift = 0;
    size_t i = 0;
    for (;;) {
        unsigned char b = p[i++];
        n |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    out->p = (const char *)p + i;
    out->n = n;
    return off + (uint32_t)(i + n);
}

uint32_t lp_seek(const lpack *lp, uint32_t idx)
{
    uint32_t off = 0;
    sv tmp;
    for (uint32_t i = 0; i < idx && i < lp->count; i++) off = lp_get(lp, off, &tmp);
    return off;
}

lpack *lp_insert(lpack *lp, uint32_t off, const sv *elems, int n)
{
    size_t add = 0;
    for (int i = 0; i < n; i++) add += lp_enclen(elems[i].n) + elems[i].n;
    lp = lp_realloc(lp, lp->bytes + add);
    memmove(lp->data + off + add, lp->data + off, lp->bytes - off);
    char *w = lp->data + off;
    for (int i = 0; i < n; i++) {
        w += put_len(w, elems[i].n);
        memcpy(w, elems[i].p, elems[i].n);
        w += elems[i].n;
    }
    lp->bytes += (uint32_t)add;
    lp->count += (uint32_t)n;
    return lp;
}

lpack *lp_delete(lpack *lp, uint32_t off, uint32_t nelem)
{
    uint32_t end = off;
    sv tmp;
    uint32_t k = 0;
    for (; k < nelem && end < lp->bytes; k++) end = lp_get(lp, end, &tmp);
    memmove(lp->data + off, lp->data + end, lp->bytes - end);
    lp->bytes -= end - off;
    lp->count -= k;
    return lp_realloc(lp, lp->bytes);
}

lpack *lp_replace(lpack *lp, uint32_t off, sv v)
{
    sv old;
    uint32_t end = lp_get(lp, off, &old);
    size_t oldsz = end - off, newsz = lp_enclen(v.n) + v.n;
    if (newsz > oldsz) lp = lp_realloc(lp, lp->bytes + (newsz - oldsz));
    memmove(lp->data + off + newsz, lp->data + end, lp->bytes - end);
    char *w = lp->data + off;
    w += put_len(w, v.n);
    memcpy(w, v.p, v.n);
    lp->bytes = (uint32_t)(lp->bytes - oldsz + newsz);
    if (newsz < oldsz) lp = lp_realloc(lp, lp->bytes);
    return lp;
}

lpack *lp_dup(const lpack *lp)
{
    lpack *n = lp_realloc(NULL, lp->bytes);
    memcpy(n, lp, sizeof(lpack) + lp->bytes);
    return n;
}

size_t lp_mem(const lpack *lp) { return sizeof(lpack) + lp->bytes; }

/* Checks that [data, data+bytes) holds exactly count well-formed
 * elements (snapshot loading). */
bool lp_valid(const lpack *lp)
{
    uint32_t off = 0, k = 0;
    const unsigned char *p = (const unsigned char *)lp->data;
    while (off < lp->bytes) {
        size_t n = 0;
        int shift = 0;
        for (;;) {
            if (off >= lp->bytes || shift > 28) return false;
            unsigned char b = p[off++];
            n |= (size_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) break;
            shift += 7;
        }
        if (n > lp->bytes - off) return false;
        off += (uint32_t)n;
        k++;
    }
    return k == lp->count;
}
