/* text.c — the human text protocol: a line splitter with redis-cli's
 * quoting rules (also used for Redis inline requests), and a renderer that
 * prints replies the way redis-cli does in a terminal. */
#include "kvd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void argv_reserve(sv **argv, int *cap, int need)
{
    if (need <= *cap) return;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    sv *na = realloc(*argv, (size_t)ncap * sizeof(sv));
    if (!na) abort();
    *argv = na;
    *cap = ncap;
}

/* Splits a line into words: blanks separate; "..." accepts \n \r \t \b \a
 * \" \\ and \xHH; '...' is literal but for \'; a closing quote must be
 * followed by a blank or the end of the line. Returns the word count, or -1
 * for unbalanced quotes. Words are copied into scratch. */
int text_split(const char *line, size_t n, buf *scratch, sv **argv, int *cap)
{
    size_t i = 0;
    int argc = 0;
    /* like a C string, the line ends at a NUL byte (as Redis splits it) */
    const char *nul = memchr(line, '\0', n);
    if (nul) n = (size_t)(nul - line);
    for (;;) {
        while (i < n && isspace((unsigned char)line[i])) i++;
        if (i >= n) break;
        size_t wstart = scratch->len;
        bool inq = false, insq = false, done = false;
        while (!done) {
            if (inq) {
                if (i >= n) return -1;
                char ch = line[i];
                if (ch == '\\' && i + 3 < n && line[i + 1] == 'x' && hexval(line[i + 2]) >= 0 &&
                    hexval(line[i + 3]) >= 0) {
                    buf_appendc(scratch, (char)(hexval(line[i + 2]) * 16 + hexval(line[i + 3])));
                    i += 3;
                } else if (ch == '\\' && i + 1 < n) {
                    char e = line[++i];
                    switch (e) {
                    case 'n': e = '\n'; break;
                    case 'r': e = '\r'; break;
                    case 't': e = '\t'; break;
                    case 'b': e = '\b'; break;
                    case 'a': e = '\a'; break;
                    default: break;
                    }
                    buf_appendc(scratch, e);
                } else if (ch == '"') {
                    if (i + 1 < n && !isspace((unsigned char)line[i + 1])) return -1;
                    done = true;
                } else {
                    buf_appendc(scratch, ch);
                }
            } else if (insq) {
                if (i >= n) return -1;
                char ch = line[i];
                if (ch == '\\' && i + 1 < n && line[i + 1] == '\'') {
                    i++;
                    buf_appendc(scratch, '\'');
                } else if (ch == '\'') {
                    if (i + 1 < n && !isspace((unsigned char)line[i + 1])) return -1;
                    done = true;
                } else {
                    buf_appendc(scratch, ch);
                }
            } else {
                if (i >= n) {
                    done = true;
                    break;
                }
                char ch = line[i];
                switch (ch) {
                case ' ': case '\n': case '\r': case '\t':
                    done = true;
                    break;
                case '"': inq = true; break;
                case '\'': insq = true; break;
                default: buf_appendc(scratch, ch); break;
                }
                if (done) break;
            }
            if (i < n) i++;
        }
        argv_reserve(argv, cap, argc + 1);
        (*argv)[argc].p = (const char *)(uintptr_t)wstart;
        (*argv)[argc].n = scratch->len - wstart;
        argc++;
    }
    /* (only empty words, as in `""`, leave scratch unallocated: no NULL + 0,
     * found by fuzz_resp) */
    for (int k = 0; k < argc; k++)
        (*argv)[k].p = scratch->p ? scratch->p + (uintptr_t)(*argv)[k].p : "";
    return argc;
}

/* Parses one line-terminated request (a Redis inline request or a text
 * protocol line) from qb[*pos..len). As in Redis, the newline search stops
 * at a NUL byte, so such a request only ends in the "too big" error once
 * 64 KiB have arrived. The line is consumed even when its quotes are
 * unbalanced (PARSE_ERR): the text protocol carries on after the error. */
int text_parse(client *c, const char *qb, size_t len, size_t *pos, const char **err)
{
    size_t start = *pos;
    const char *nul = memchr(qb + start, '\0', len - start);
    size_t scan = nul ? (size_t)(nul - (qb + start)) : len - start;
    const char *nl = memchr(qb + start, '\n', scan);
    if (!nl) {
        if (len - start > KVD_INLINE_MAX) {
            *err = "Protocol error: too big inline request";
            return PARSE_ERR;
        }
        return PARSE_MORE;
    }
    size_t end = (size_t)(nl - qb);
    size_t linelen = end - start;
    if (linelen && qb[start + linelen - 1] == '\r') linelen--;
    *pos = end + 1;
    c->scratch.len = 0;
    int n = text_split(qb + start, linelen, &c->scratch, &c->argv, &c->argv_cap);
    if (n < 0) {
        c->argc = 0;
        *err = "Protocol error: unbalanced quotes in request";
        return PARSE_ERR;
    }
    c->argc = n;
    return PARSE_OK;
}

/* ---------------------------------------------------------------- replies */

void tnode_free(tnode *n)
{
    if (!n) return;
    for (long i = 0; i < n->nchild; i++) tnode_free(n->child[i]);
    free(n->child);
    free(n->str);
    free(n);
}

/* Adds a node to the reply being built; renders into the output buffer as
 * soon as the top-level reply is complete. */
void text_add(client *c, tnode *n)
{
    c->text_nodes++; /* reply size guard (conn_reply_too_big) */
    tnode *p = c->tcur;
    n->parent = p;
    if (!p) {
        c->troot = n;
    } else {
        if (p->nchild == p->cap) {
            long ncap = p->cap ? p->cap * 2 : 4;
            tnode **nc = realloc(p->child, (size_t)ncap * sizeof(tnode *));
            if (!nc) abort();
            p->child = nc;
            p->cap = ncap;
        }
        p->child[p->nchild++] = n;
    }
    if (n->type == TN_ARRAY && n->expect != 0) {
        c->tcur = n;
        return;
    }
    while (p && p->expect >= 0 && p->nchild >= p->expect) p = p->parent;
    c->tcur = p;
    if (!p) {
        text_render(&c->obuf, c->troot);
        tnode_free(c->troot);
        c->troot = NULL;
        c->text_nodes = 0;
    }
}

static void render(buf *out, tnode *n, const char *prefix, size_t plen)
{
    switch (n->type) {
    case TN_STATUS:
        buf_append(out, n->str, n->len);
        break;
    case TN_ERROR:
        buf_appendstr(out, "(error) ");
        buf_append(out, n->str, n->len);
        break;
    case TN_INT:
        buf_printf(out, "(integer) %lld", n->num);
        break;
    case TN_BULK:
        buf_append_repr(out, n->str, n->len);
        break;
    case TN_NIL:
        buf_appendstr(out, "(nil)");
        break;
    case TN_ARRAY: {
        if (n->nchild == 0) {
            buf_appendstr(out, "(empty array)\n");
            return;
        }
        int idxlen = 0;
        long v = n->nchild;
        do {
            idxlen++;
            v /= 10;
        } while (v);
        size_t nplen = plen + (size_t)idxlen + 2;
        char *np = malloc(nplen + 1);
        if (!np) abort();
        memcpy(np, prefix, plen);
        memset(np + plen, ' ', (size_t)idxlen + 2);
        np[nplen] = '\0';
        for (long i = 0; i < n->nchild; i++) {
            if (i) buf_append(out, prefix, plen);
            buf_printf(out, "%*ld) ", idxlen, i + 1);
            render(out, n->child[i], np, nplen);
        }
        free(np);
        return;
    }
    default:
        break;
    }
    buf_appendc(out, '\n');
}

void text_render(buf *out, tnode *n) { render(out, n, "", 0); }
