/* intset.c — a sorted array of distinct 64-bit integers stored at the
 * narrowest width (2, 4 or 8 bytes) that holds all of them: the compact
 * encoding of small sets of integers. One allocation; operations that
 * change the size may move it (they take intset **). Byte 0 of the header
 * (tag) belongs to the owner and is preserved. Little endian is not
 * assumed: values are copied with memcpy in host order. */
#include "kvd.h"

#include <stdlib.h>

static int width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static int64_t get_w(const intset *is, int w, uint32_t i)
{
    const char *p = is->data + (size_t)i * (size_t)w;
    if (w == 2) {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (w == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void set_w(intset *is, int w, uint32_t i, int64_t v)
{
    char *p = is->data + (size_t)i * (size_t)w;
    if (w == 2) {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } else if (w == 4) {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

intset *intset_new(void)
{
    intset *is = malloc(sizeof(intset));
    if (!is) abort();
    is->tag = 0;
    is->width = 2;
    is->spare = 0;
    is->count = 0;
    return is;
}

int64_t intset_get(const intset *is, uint32_t i) { return get_w(is, is->width, i); }

size_t intset_bytes(const intset *is) { return sizeof(intset) + (size_t)is->count * is->width; }

/* Binary search: true and *pos = index when found, else *pos = insertion
 * point. */
static bool search(const intset *is, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = is->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t x = get_w(is, is->width, mid);
        if (x == v) {
            *pos = mid;
            return true;
        }
        if (x < v) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return false;
}

bool intset_find(const intset *is, int64_t v)
{
    uint32_t pos;
    if (width_for(v) > is->width) return false;
    return search(is, v, &pos);
}

static intset *resize(intset *is, uint32_t count, int w)
{
    intset *n = realloc(is, sizeof(intset) + (size_t)count * (size_t)w);
    if (!n) abort();
    return n;
}

bool intset_add(intset **isp, int64_t v)
{
    intset *is = *isp;
    int w = width_for(v);
    if (w > is->width) {
        /* widen: v is beyond every present value, so it goes at one end */
        int ow = is->width;
        uint32_t n = is->count;
        is = resize(is, n + 1, w);
        bool front = v < 0;
        for (uint32_t i = n; i-- > 0;) set_w(is, w, i + (front ? 1 : 0), get_w(is, ow, i));
        is->width = (uint8_t)w;
        set_w(is, w, front ? 0 : n, v);
        is->count = n + 1;
        *isp = is;
        return true;
    }
    uint32_t pos;
    if (search(is, v, &pos)) return false;
    is = resize(is, is->count + 1, is->width);
    memmove(is->data + (size_t)(pos + 1) * is->width, is->data + (size_t)pos * is->width,
            (size_t)(is->count - pos) * is->width);
    set_w(is, is->width, pos, v);
    is->count++;
    *isp = is;
    return true;
}

bool intset_remove(intset **isp, int64_t v)
{
    intset *is = *isp;
    uint32_t pos;
    if (width_for(v) > is->width || !search(is, v, &pos)) return false;
    memmove(is->data + (size_t)pos * is->width, is->data + (size_t)(pos + 1) * is->width,
            (size_t)(is->count - pos - 1) * is->width);
    is->count--;
    *isp = resize(is, is->count, is->width);
    return true;
}

intset *intset_dup(const intset *is)
{
    size_t n = intset_bytes(is);
    intset *c = malloc(n);
    if (!c) abort();
    memcpy(c, is, n);
    return c;
}
