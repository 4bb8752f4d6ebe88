/* resp.c — the RESP request parser: multibulk and inline requests, parsed
 * incrementally so a request that arrives in many reads is never re-parsed
 * from its start, and no length is allocated before its bytes arrive. */
#include "kvd.h"

#include <stdio.h>
#include <stdlib.h>

static _Thread_local char errbuf[128];

/* argv grows with the arguments that have actually arrived. */
static void argv_push(client *c, size_t off, size_t n)
{
    if (c->argc == c->argv_cap) {
        int ncap = c->argv_cap ? c->argv_cap * 2 : 16;
        sv *na = realloc(c->argv, (size_t)ncap * sizeof(sv));
        if (!na) abort();
        c->argv = na;
        c->argv_cap = ncap;
    }
    /* while a request is incomplete, p holds an offset from its start: the
     * buffer may move between reads */
    c->argv[c->argc].p = (const char *)(uintptr_t)off;
    c->argv[c->argc].n = n;
    c->argc++;
}

/* As Redis's authRequired(): a password is set and c has not given it.
 * (Clients made inside the server — AOF replay — are never limited.) */
static bool auth_required(const client *c)
{
    if (c->authenticated) return false;
    const char *pw = __atomic_load_n(&cfg.requirepass, __ATOMIC_ACQUIRE);
    return pw && pw[0];
}

int resp_parse(client *c, const char *qb, size_t len, size_t *pos, const char **err)
{
    reqparser *ps = &c->ps;
    size_t start = *pos;
    if (ps->state == 0) {
        if (start >= len) return PARSE_MORE;
        if (qb[start] != '*') {
            c->argc = 0;
            return text_parse(c, qb, len, pos, err);
        }
        /* the multibulk count line */
        const char *cr = memchr(qb + start, '\r', len - start);
        if (!cr || (size_t)(cr - qb) + 1 >= len) {
            if (len - start > KVD_INLINE_MAX) {
                *err = "Protocol error: too big mbulk count string";
                return PARSE_ERR;
            }
            return PARSE_MORE;
        }
        long long n;
        if (!util_str2ll(qb + start + 1, (size_t)(cr - (qb + start + 1)), &n) || n > KVD_MAX_ARGS_DEFAULT) {
            *err = "Protocol error: invalid multibulk length";
            return PARSE_ERR;
        }
        /* Before AUTH a request has at most UNAUTH_MAX_ARGS arguments
         * (Redis after CVE-2021-32675): a few bytes from a stranger must not
         * make us reserve anything big. The caller closes the connection. */
        if (n > UNAUTH_MAX_ARGS && auth_required(c)) {
            *err = "Protocol error: unauthenticated multibulk length";
            return PARSE_ERR;
        }
        size_t p = (size_t)(cr - qb) + 2;
        c->argc = 0;
        if (n <= 0) { /* as Redis: an empty request, skipped */
            *pos = p;
            return PARSE_OK;
        }
        ps->state = 1;
        ps->multibulk = (long)n;
        ps->bulklen = -1;
        ps->pos = p - start;
    }

    size_t p = start + ps->pos;
    while (ps->multibulk > 0) {
        if (ps->bulklen == -1) {
            if (p >= len) break;
            if (qb[p] != '$') {
                snprintf(errbuf, sizeof errbuf, "Protocol error: expected '$', got '%c'", qb[p]);
                *err = errbuf;
                goto fail;
            }
            const char *cr = memchr(qb + p, '\r', len - p);
            if (!cr || (size_t)(cr - qb) + 1 >= len) {
                if (len - p > KVD_INLINE_MAX) {
                    *err = "Protocol error: too big bulk count string";
                    goto fail;
                }
                break;
            }
            long long l;
            if (!util_str2ll(qb + p + 1, (size_t)(cr - (qb + p + 1)), &l) || l < 0 ||
                l > CFG(proto_max_bulk_len)) {
                *err = "Protocol error: invalid bulk length";
                goto fail;
            }
            /* ... and each argument at most UNAUTH_MAX_BULK bytes */
            if (l > UNAUTH_MAX_BULK && auth_required(c)) {
                *err = "Protocol error: unauthenticated bulk length";
                goto fail;
            }
            ps->bulklen = l;
            p = (size_t)(cr - qb) + 2;
        }
        if (len - p < (size_t)ps->bulklen + 2) break;
        argv_push(c, p - start, (size_t)ps->bulklen);
        p += (size_t)ps->bulklen + 2;
        ps->bulklen = -1;
        ps->multibulk--;
    }
    if (ps->multibulk > 0) {
        ps->pos = p - start;
        return PARSE_MORE;
    }
    for (int i = 0; i < c->argc; i++) c->argv[i].p = qb + start + (uintptr_t)c->argv[i].p;
    ps->state = 0;
    *pos = p;
    return PARSE_OK;
fail:
    ps->state = 0;
    c->argc = 0;
    return PARSE_ERR;
}

/* Bytes still needed to complete the bulk argument being read (0 if not
 * inside one): lets the reader size its next read. */
size_t resp_bulk_pending(client *c, size_t avail);
size_t resp_bulk_pending(client *c, size_t avail)
{
    if (c->ps.state != 1 || c->ps.bulklen < 0) return 0;
    size_t need = (size_t)c->ps.bulklen + 2;
    size_t have = avail > c->ps.pos ? avail - c->ps.pos : 0;
    return need > have ? need - have : 0;
}
