/* reply.c — the typed reply API. Handlers describe replies (status, error,
 * integer, bulk, null, aggregates, doubles, booleans) and never see a wire
 * format: RESP2 and RESP3 are appended straight to the client's output
 * buffer here, and text-protocol clients get a small tree that text.c
 * renders the way redis-cli prints replies. */
#include "kvd.h"

#include <stdio.h>
#include <stdlib.h>

const char *ERR_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const char *ERR_NOTINT = "ERR value is not an integer or out of range";
const char *ERR_SYNTAX = "ERR syntax error";
const char *ERR_NOTFLOAT = "ERR value is not a valid float";

/* Appends "<type><n>\r\n" without printf. */
void resp_write_len(buf *b, char type, long long n)
{
    char tmp[32];
    tmp[0] = type;
    int l = util_ll2str(tmp + 1, sizeof tmp - 3, n);
    tmp[l + 1] = '\r';
    tmp[l + 2] = '\n';
    buf_append(b, tmp, (size_t)l + 3);
}

static tnode *tn(int type)
{
    tnode *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->type = type;
    return n;
}

static void tn_str(client *c, int type, const char *p, size_t len)
{
    tnode *n = tn(type);
    n->str = kvd_strndup(p, len);
    n->len = len;
    text_add(c, n);
}

static void tn_agg(client *c, long count)
{
    tnode *n = tn(TN_ARRAY);
    n->expect = count;
    text_add(c, n);
}

void reply_status(client *c, const char *s)
{
    if (c->proto == PROTO_TEXT) {
        tn_str(c, TN_STATUS, s, strlen(s));
        return;
    }
    buf_appendc(&c->obuf, '+');
    buf_appendstr(&c->obuf, s);
    buf_append(&c->obuf, "\r\n", 2);
}

void reply_ok(client *c)
{
    if (c->proto == PROTO_TEXT) reply_status(c, "OK");
    else buf_append(&c->obuf, "+OK\r\n", 5);
}

void reply_error(client *c, const char *msg)
{
    server_stat_error(msg); /* total_error_replies and errorstats */
    if (c->cmd) atomic_fetch_add_explicit(&cmd_stat_target(c, c->cmd)->failed, 1, memory_order_relaxed);
    size_t n = strlen(msg);
    if (c->proto == PROTO_TEXT) {
        tn_str(c, TN_ERROR, msg, n);
        return;
    }
    buf_appendc(&c->obuf, '-');
    size_t start = c->obuf.len;
    buf_append(&c->obuf, msg, n);
    /* an error is one line: newlines inside would break the protocol */
    for (size_t i = start; i < c->obuf.len; i++)
        if (c->obuf.p[i] == '\r' || c->obuf.p[i] == '\n') c->obuf.p[i] = ' ';
    buf_append(&c->obuf, "\r\n", 2);
}

void reply_errorf(client *c, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    reply_error(c, tmp);
}

void reply_int(client *c, long long v)
{
    if (c->proto == PROTO_TEXT) {
        tnode *n = tn(TN_INT);
        n->num = v;
        text_add(c, n);
        return;
    }
    resp_write_len(&c->obuf, ':', v);
}

void reply_bulk(client *c, const void *p, size_t n)
{
    if (c->proto == PROTO_TEXT) {
        tn_str(c, TN_BULK, p, n);
        return;
    }
    buf_reserve(&c->obuf, n + 32);
    resp_write_len(&c->obuf, '$', (long long)n);
    buf_append(&c->obuf, p, n);
    buf_append(&c->obuf, "\r\n", 2);
}

void reply_bulk_sv(client *c, sv v) { reply_bulk(c, v.p, v.n); }
void reply_bulk_cstr(client *c, const char *s) { reply_bulk(c, s, strlen(s)); }

void reply_bulk_ll(client *c, long long v)
{
    char tmp[32];
    int n = util_ll2str(tmp, sizeof tmp, v);
    reply_bulk(c, tmp, (size_t)n);
}

void reply_bulk_ld(client *c, long double v)
{
    char tmp[5 * 1024];
    int n = util_ld2str(tmp, sizeof tmp, v, true);
    reply_bulk(c, tmp, (size_t)n);
}

void reply_double(client *c, double d)
{
    char tmp[128];
    int n = util_d2str(tmp, sizeof tmp, d);
    if (c->proto == PROTO_RESP3) {
        buf_appendc(&c->obuf, ',');
        buf_append(&c->obuf, tmp, (size_t)n);
        buf_append(&c->obuf, "\r\n", 2);
    } else {
        reply_bulk(c, tmp, (size_t)n);
    }
}

void reply_bool(client *c, bool v)
{
    if (c->proto == PROTO_RESP3) buf_append(&c->obuf, v ? "#t\r\n" : "#f\r\n", 4);
    else reply_int(c, v ? 1 : 0);
}

void reply_null(client *c)
{
    if (c->proto == PROTO_TEXT) text_add(c, tn(TN_NIL));
    else if (c->proto == PROTO_RESP3) buf_append(&c->obuf, "_\r\n", 3);
    else buf_append(&c->obuf, "$-1\r\n", 5);
}

void reply_null_array(client *c)
{
    if (c->proto == PROTO_TEXT) text_add(c, tn(TN_NIL));
    else if (c->proto == PROTO_RESP3) buf_append(&c->obuf, "_\r\n", 3);
    else buf_append(&c->obuf, "*-1\r\n", 5);
}

static void agg(client *c, char t3, long n, long n2)
{
    if (c->proto == PROTO_TEXT) tn_agg(c, n2);
    else if (c->proto == PROTO_RESP3) resp_write_len(&c->obuf, t3, n);
    else resp_write_len(&c->obuf, '*', n2);
}

void reply_array(client *c, long n) { agg(c, '*', n, n); }
void reply_map(client *c, long n) { agg(c, '%', n, n * 2); }
void reply_set(client *c, long n) { agg(c, '~', n, n); }
void reply_push(client *c, long n) { agg(c, '>', n, n); }
void reply_empty_array(client *c) { reply_array(c, 0); }

void reply_verbatim(client *c, const char *p, size_t n, const char *ext)
{
    if (c->proto != PROTO_RESP3) {
        reply_bulk(c, p, n);
        return;
    }
    resp_write_len(&c->obuf, '=', (long long)n + 4);
    buf_append(&c->obuf, ext, 3);
    buf_appendc(&c->obuf, ':');
    buf_append(&c->obuf, p, n);
    buf_append(&c->obuf, "\r\n", 2);
}

/* Deferred lengths. RESP: remember the offset and insert the header later.
 * Text: an aggregate node left open until it is closed. */
long reply_defer(client *c)
{
    if (c->proto == PROTO_TEXT) {
        tn_agg(c, -1);
        return 0;
    }
    return (long)c->obuf.len;
}

static void defer_close(client *c, long h, char t3, long n, long n2)
{
    if (c->proto == PROTO_TEXT) {
        tnode *d = c->tcur;
        while (d && d->expect != -1) d = d->parent;
        if (!d) return;
        d->expect = n2;
        c->tcur = d;
        /* pop every aggregate that is now complete */
        tnode *p = d;
        while (p && p->expect >= 0 && p->nchild >= p->expect) p = p->parent;
        c->tcur = p;
        if (!p) {
            text_render(&c->obuf, c->troot);
            tnode_free(c->troot);
            c->troot = NULL;
        }
        return;
    }
    buf hdr;
    char mem[32];
    buf_init_static(&hdr, mem, sizeof mem);
    resp_write_len(&hdr, c->proto == PROTO_RESP3 ? t3 : '*', c->proto == PROTO_RESP3 ? n : n2);
    buf_reserve(&c->obuf, hdr.len);
    size_t off = (size_t)h;
    memmove(c->obuf.p + off + hdr.len, c->obuf.p + off, c->obuf.len - off);
    memcpy(c->obuf.p + off, hdr.p, hdr.len);
    c->obuf.len += hdr.len;
    buf_free(&hdr);
}

void reply_defer_array(client *c, long h, long n) { defer_close(c, h, '*', n, n); }
void reply_defer_map(client *c, long h, long n) { defer_close(c, h, '%', n, n * 2); }
void reply_defer_set(client *c, long h, long n) { defer_close(c, h, '~', n, n); }

void reply_err_syntax(client *c) { reply_error(c, ERR_SYNTAX); }
void reply_err_int(client *c) { reply_error(c, ERR_NOTINT); }
void reply_err_wrongtype(client *c) { reply_error(c, ERR_WRONGTYPE); }
void reply_err_arity(client *c, const char *name)
{
    reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
}
