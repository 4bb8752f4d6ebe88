/* fuzz_resp.c — libFuzzer target for the RESP request parser (resp.c).
 *
 * The first input byte picks the mode: bit 0 = client authenticated (the
 * pre-AUTH limits apply otherwise), bits 1-7 seed the chunk sizes. The rest
 * is a byte stream from a client. It is parsed twice — all at once, and in
 * chunks as successive read()s would deliver it, consuming parsed bytes the
 * way conn.c does — and both runs must yield the same requests and stop at
 * the same protocol error: the incremental parser may not depend on how the
 * bytes were split. */
#include "fuzz_common.h"

#include <stdio.h>

#define MAXREQ 256

typedef struct {
    buf out;      /* requests flattened: argc, then len+bytes per argument */
    int nreq;
    int err;      /* 1 if a protocol error ended the stream */
    const char *errmsg;
} result;

static void record(result *r, client *c)
{
    uint32_t n = (uint32_t)c->argc;
    buf_append(&r->out, &n, sizeof n);
    for (int i = 0; i < c->argc; i++) {
        uint32_t l = (uint32_t)c->argv[i].n;
        buf_append(&r->out, &l, sizeof l);
        buf_append(&r->out, c->argv[i].p, c->argv[i].n);
    }
    r->nreq++;
}

/* Feeds data in chunks (chunk sizes from seed; seed 0 = one chunk) through
 * a query buffer managed as conn.c does. */
static void run(const uint8_t *data, size_t size, bool auth, unsigned seed, result *r)
{
    client *c = fuzz_client(PROTO_RESP2, auth);
    buf *q = &c->qbuf;
    buf_init_static(q, NULL, 0);
    size_t fed = 0;
    unsigned x = seed * 2654435761u + 1;
    while (fed < size && !r->err && r->nreq < MAXREQ) {
        size_t chunk = size - fed;
        if (seed) {
            x = x * 1103515245u + 12345u;
            chunk = 1 + (x >> 16) % 7;
            if ((x >> 8) % 5 == 0) chunk = 1 + (x >> 12) % 97;
            if (chunk > size - fed) chunk = size - fed;
        }
        buf_append(q, data + fed, chunk);
        fed += chunk;
        size_t pos = 0;
        for (;;) {
            const char *err = NULL;
            int rc = resp_parse(c, q->p, q->len, &pos, &err);
            if (rc == PARSE_MORE) break;
            if (rc == PARSE_ERR) {
                if (!err) abort();
                r->err = 1;
                r->errmsg = err;
                break;
            }
            if (pos > q->len) abort();
            /* multibulk arguments point into the query buffer, inline
             * ones into the scratch buffer that holds unescaped words */
            for (int i = 0; i < c->argc; i++) {
                const char *lo = c->argv[i].p, *hi = lo + c->argv[i].n;
                bool inq = lo >= q->p && hi <= q->p + q->len;
                bool insc = c->scratch.p && lo >= c->scratch.p && hi <= c->scratch.p + c->scratch.len;
                if (c->argv[i].n && !inq && !insc) abort();
            }
            if (c->argc) record(r, c);
            if (r->nreq >= MAXREQ) break;
        }
        buf_consume(q, pos);
    }
    fuzz_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_once();
    if (size < 1 || size > 60000) return 0; /* longer lines hit the 64 KiB inline limit, which depends on read sizes (as in Redis) */
    bool auth = data[0] & 1;
    static char *nopass; /* the default "", kept referenced */
    if (!nopass) nopass = cfg.requirepass;
    cfg.requirepass = auth ? nopass : "secret"; /* the pre-AUTH limits apply only with a password set */
    unsigned seed = (data[0] >> 1) + 1;
    data++, size--;

    result a = {0}, b = {0};
    run(data, size, auth, 0, &a);
    run(data, size, auth, seed, &b);
    /* The chunked run can stop earlier only by the request cap. */
    size_t n = a.out.len < b.out.len ? a.out.len : b.out.len;
    if (n && memcmp(a.out.p, b.out.p, n) != 0) {
        fprintf(stderr, "whole and chunked parses disagree\n");
        abort();
    }
    if (a.nreq < MAXREQ && b.nreq < MAXREQ) {
        if (a.nreq != b.nreq || a.err != b.err || a.out.len != b.out.len) {
            fprintf(stderr, "whole: %d requests err=%d (%s); chunked: %d requests err=%d (%s)\n",
                    a.nreq, a.err, a.errmsg ? a.errmsg : "", b.nreq, b.err, b.errmsg ? b.errmsg : "");
            abort();
        }
    }
    buf_free(&a.out);
    buf_free(&b.out);
    return 0;
}
