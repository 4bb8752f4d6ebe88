/* buf.c — growable byte buffers and string views. A buf can begin life on
 * memory its owner provides (a connection thread's stack) and moves to the
 * heap only when it must grow, so the common small request allocates nothing. */
#include "kvd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q && n) {
        log_warning("out of memory allocating %zu bytes", n);
        abort();
    }
    return q;
}

void buf_init_static(buf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->len = 0;
    b->cap = mem ? cap : 0;
    b->heap = false;
}

/* Makes room for extra more bytes; never shrinks. Aborts on OOM, like every
 * allocation in kvd (maxmemory is the policy that prevents it). */
void buf_reserve(buf *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need <= b->cap) return;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) ncap = ncap < (1u << 20) ? ncap * 2 : ncap + ncap / 2;
    if (b->heap) {
        b->p = xrealloc(b->p, ncap);
    } else {
        char *np = xrealloc(NULL, ncap);
        if (b->len) memcpy(np, b->p, b->len);
        b->p = np;
        b->heap = true;
    }
    b->cap = ncap;
}

void buf_append(buf *b, const void *p, size_t n)
{
    if (!n) return;
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void buf_appendc(buf *b, char c)
{
    buf_reserve(b, 1);
    b->p[b->len++] = c;
}

void buf_appendstr(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, cp);
    va_end(cp);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_consume(buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

void buf_reset(buf *b, char *mem, size_t cap)
{
    if (b->heap) free(b->p);
    buf_init_static(b, mem, cap);
}

void buf_free(buf *b) { buf_reset(b, NULL, 0); }

/* Quotes p as redis-cli prints a bulk string: "..." with \n \r \t \a \b,
 * \" and \\ escaped and other non-printable bytes as \xHH. */
void buf_append_repr(buf *b, const char *p, size_t n)
{
    buf_appendc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\': buf_append(b, "\\\\", 2); break;
        case '"': buf_append(b, "\\\"", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        case '\a': buf_append(b, "\\a", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        default:
            if (isprint(ch)) buf_appendc(b, (char)ch);
            else buf_printf(b, "\\x%02x", ch);
        }
    }
    buf_appendc(b, '"');
}

bool sv_eqci(sv a, const char *lit)
{
    size_t n = strlen(lit);
    if (a.n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a.p[i]) != tolower((unsigned char)lit[i])) return false;
    return true;
}

char *kvd_strndup(const char *p, size_t n)
{
    char *s = xrealloc(NULL, n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
