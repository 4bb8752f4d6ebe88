/* pack.c — the packed encoding of small sets and sorted sets (what OBJECT
 * ENCODING calls "listpack"): one allocation holding a header and a run of
 * entries, searched linearly. An entry is a member — a varint length (7
 * bits per byte, low group first, high bit = more) then the bytes — and,
 * for sorted sets, a score right after it: one tag byte then an int8,
 * int16, int32 or a double (host order), the narrowest that keeps the
 * value exactly (-0.0, fractions and big values take the double). Byte 0 of
 * the header (tag) belongs to the owner and is preserved. */
#include "kvd.h"

#include <math.h>
#include <stdlib.h>

pack *pack_new(void)
{
    pack *p = malloc(sizeof(pack));
    if (!p) abort();
    memset(p, 0, sizeof *p);
    return p;
}

size_t pack_bytes(const pack *p) { return sizeof(pack) + p->used; }

pack *pack_dup(const pack *p)
{
    pack *c = malloc(pack_bytes(p));
    if (!c) abort();
    memcpy(c, p, pack_bytes(p));
    return c;
}

char *pack_open(pack **pp, uint32_t off, uint32_t n)
{
    pack *p = *pp;
    kvd_assert(off <= p->used);
    p = realloc(p, sizeof(pack) + p->used + n);
    if (!p) abort();
    memmove(p->data + off + n, p->data + off, p->used - off);
    p->used += n;
    *pp = p;
    return p->data + off;
}

void pack_close(pack **pp, uint32_t off, uint32_t n)
{
    pack *p = *pp;
    kvd_assert(off + n <= p->used);
    memmove(p->data + off, p->data + off + n, p->used - off - n);
    p->used -= n;
    pack *q = realloc(p, sizeof(pack) + p->used);
    if (q) *pp = q;
}

uint32_t pk_varint_len(uint32_t v)
{
    uint32_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

uint32_t pk_varint_put(char *p, uint32_t v)
{
    uint32_t n = 0;
    while (v >= 0x80) {
        p[n++] = (char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    p[n++] = (char)v;
    return n;
}

uint32_t pk_varint_get(const char *p, uint32_t *v)
{
    uint32_t x = 0, n = 0;
    int shift = 0;
    for (;;) {
        unsigned char b = (unsigned char)p[n++];
        x |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *v = x;
    return n;
}

uint32_t pk_member(const pack *pk, uint32_t off, sv *m)
{
    uint32_t len;
    uint32_t h = pk_varint_get(pk->data + off, &len);
    m->p = pk->data + off + h;
    m->n = len;
    return h + len;
}

enum { SC_I8 = 0, SC_I16 = 1, SC_I32 = 2, SC_DBL = 3 };

static int score_kind(double v)
{
    if (!(v >= -2147483648.0 && v <= 2147483647.0)) return SC_DBL; /* also NaN, inf */
    int32_t i = (int32_t)v;
    if ((double)i != v || (v == 0 && signbit(v))) return SC_DBL;
    if (i >= INT8_MIN && i <= INT8_MAX) return SC_I8;
    if (i >= INT16_MIN && i <= INT16_MAX) return SC_I16;
    return SC_I32;
}

static const uint32_t kind_len[] = {2, 3, 5, 9};

uint32_t pk_score_len(double v) { return kind_len[score_kind(v)]; }

uint32_t pk_score_put(char *p, double v)
{
    int k = score_kind(v);
    p[0] = (char)k;
    if (k == SC_I8) {
        p[1] = (char)(int8_t)v;
    } else if (k == SC_I16) {
        int16_t x = (int16_t)v;
        memcpy(p + 1, &x, 2);
    } else if (k == SC_I32) {
        int32_t x = (int32_t)v;
        memcpy(p + 1, &x, 4);
    } else {
        memcpy(p + 1, &v, 8);
    }
    return kind_len[k];
}

uint32_t pk_score_get(const char *p, double *v)
{
    int k = (unsigned char)p[0];
    if (k == SC_I8) {
        *v = (int8_t)p[1];
    } else if (k == SC_I16) {
        int16_t x;
        memcpy(&x, p + 1, 2);
        *v = x;
    } else if (k == SC_I32) {
        int32_t x;
        memcpy(&x, p + 1, 4);
        *v = x;
    } else {
        memcpy(v, p + 1, 8);
    }
    return kind_len[k];
}
