/* fuzz_text.c — libFuzzer target for the text protocol (text.c):
 * text_parse over a byte stream, fed whole and in chunks (the results must
 * agree, as for RESP), and text_split on the raw input as one line, whose
 * words are checked against a simple model: the word count is -1 or at
 * most the number of bytes, and every word lies inside the scratch buffer.
 * A protocol error in the text protocol answers and goes on, so errors are
 * recorded in the request stream instead of ending it. */
#include "fuzz_common.h"

#include <stdio.h>

#define MAXREQ 256

static void record(buf *out, client *c, int err)
{
    uint32_t n = err ? 0xffffffffu : (uint32_t)c->argc;
    buf_append(out, &n, sizeof n);
    if (err) return;
    for (int i = 0; i < c->argc; i++) {
        uint32_t l = (uint32_t)c->argv[i].n;
        buf_append(out, &l, sizeof l);
        buf_append(out, c->argv[i].p, c->argv[i].n);
    }
}

static int run(const uint8_t *data, size_t size, unsigned seed, buf *out)
{
    client *c = fuzz_client(PROTO_TEXT, true);
    buf *q = &c->qbuf;
    size_t fed = 0;
    int nreq = 0;
    unsigned x = seed * 2654435761u + 7;
    while (fed < size && nreq < MAXREQ) {
        size_t chunk = size - fed;
        if (seed) {
            x = x * 1103515245u + 12345u;
            chunk = 1 + (x >> 16) % 5;
            if (chunk > size - fed) chunk = size - fed;
        }
        buf_append(q, data + fed, chunk);
        fed += chunk;
        size_t pos = 0;
        while (nreq < MAXREQ) {
            const char *err = NULL;
            size_t before = pos;
            int rc = text_parse(c, q->p, q->len, &pos, &err);
            if (rc == PARSE_MORE) break;
            if (pos <= before || pos > q->len) abort(); /* progress, in bounds */
            if (rc == PARSE_ERR && !err) abort();
            for (int i = 0; rc == PARSE_OK && i < c->argc; i++)
                if (c->argv[i].n && (c->argv[i].p < c->scratch.p || c->argv[i].p + c->argv[i].n > c->scratch.p + c->scratch.len))
                    abort();
            record(out, c, rc == PARSE_ERR);
            nreq++;
        }
        buf_consume(q, pos);
    }
    fuzz_client_free(c);
    return nreq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_once();
    if (size < 1 || size > 60000) return 0; /* the 64 KiB line limit depends on read sizes */
    unsigned seed = data[0] + 1u;
    data++, size--;

    buf a, b;
    buf_init_static(&a, NULL, 0);
    buf_init_static(&b, NULL, 0);
    int na = run(data, size, 0, &a);
    int nb = run(data, size, seed, &b);
    size_t n = a.len < b.len ? a.len : b.len;
    if ((n && memcmp(a.p, b.p, n) != 0) || (na < MAXREQ && nb < MAXREQ && (na != nb || a.len != b.len))) {
        fprintf(stderr, "whole (%d) and chunked (%d) text parses disagree\n", na, nb);
        abort();
    }
    buf_free(&a);
    buf_free(&b);

    /* the splitter alone, on the whole input as one line */
    buf scratch;
    buf_init_static(&scratch, NULL, 0);
    sv *argv = NULL;
    int cap = 0;
    int argc = text_split((const char *)data, size, &scratch, &argv, &cap);
    if (argc < -1 || (argc > 0 && (size_t)argc > size) || argc > cap) abort();
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i].n && (argv[i].p < scratch.p || argv[i].p + argv[i].n > scratch.p + scratch.len)) abort();
        total += argv[i].n;
    }
    if (argc > 0 && total > scratch.len) abort();
    free(argv);
    buf_free(&scratch);
    return 0;
}
