/* t_string.c — string commands. Strings live inline in their entry
 * (store.c); SET and friends are thin wrappers over set_generic(), the
 * INCR family over incr_generic(). */
#include "kvd.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Read lookup of a string key: NULL when missing (a miss) or of another
 * type (*wrong set). Counts keyspace hits and misses. */
entry *lookup_string(client *c, sv key, bool *wrong);
entry *lookup_string(client *c, sv key, bool *wrong)
{
    entry *e = store_lookup_counted(c, key, true);
    *wrong = false;
    if (!e) return NULL;
    if (e->type != OBJ_STRING) {
        *wrong = true;
        return NULL;
    }
    return e;
}

static bool check_string_size(client *c, long long total)
{
    if (total > CFG(proto_max_bulk_len)) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    return true;
}

/* Converts a relative or absolute TTL argument to an absolute ms deadline.
 * unit_ms: 1000 for seconds, 1 for ms; absolute: EXAT/PXAT style. Returns
 * false (after replying) on a bad value. */
bool expire_arg(client *c, sv arg, long long unit_ms, bool absolute, const char *cmdname, int64_t *when,
                bool allow_nonpositive);
bool expire_arg(client *c, sv arg, long long unit_ms, bool absolute, const char *cmdname, int64_t *when,
                bool allow_nonpositive)
{
    long long v;
    if (!util_str2ll(arg.p, arg.n, &v)) {
        reply_err_int(c);
        return false;
    }
    if (!allow_nonpositive && v <= 0) goto invalid;
    if (unit_ms > 1 && (v > LLONG_MAX / unit_ms || v < LLONG_MIN / unit_ms)) goto invalid;
    v *= unit_ms;
    if (!absolute) {
        int64_t now = util_cmd_now();
        if ((v > 0 && now > LLONG_MAX - v) || (v < 0 && now < LLONG_MIN - v)) goto invalid;
        v += now;
    }
    *when = v;
    return true;
invalid:
    reply_errorf(c, "ERR invalid expire time in '%s' command", cmdname);
    return false;
}

#define SET_NX 1
#define SET_XX 2
#define SET_GET 4
#define SET_KEEPTTL 8
#define SET_PERSIST 16
#define SET_EX 32   /* the TTL kinds: at most one of them, repeatable */
#define SET_PX 64
#define SET_EXAT 128
#define SET_PXAT 256
#define SET_TTLS (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Parses SET's (getex false) or GETEX's options from argv[from] on, as
 * Redis does: an option may repeat (the last TTL value wins) but not meet
 * a conflicting one (NX/XX, two TTL kinds, a TTL with KEEPTTL/PERSIST).
 * The TTL value is not checked here (Redis reports syntax errors, then a
 * missing key / WRONGTYPE for GETEX, then a bad TTL). *ttl is the value
 * argument, or NULL. Replies and returns false on a syntax error. */
static bool parse_set_options(client *c, int from, bool getex, int *flags, sv **ttl)
{
    *flags = 0;
    *ttl = NULL;
    for (int j = from; j < c->argc; j++) {
        sv a = c->argv[j];
        bool more = j + 1 < c->argc;
        int f = *flags;
        int kind = sv_eqci(a, "ex") ? SET_EX : sv_eqci(a, "px") ? SET_PX : sv_eqci(a, "exat") ? SET_EXAT
                   : sv_eqci(a, "pxat") ? SET_PXAT : 0;
        if (!getex && sv_eqci(a, "nx") && !(f & SET_XX)) {
            *flags |= SET_NX;
        } else if (!getex && sv_eqci(a, "xx") && !(f & SET_NX)) {
            *flags |= SET_XX;
        } else if (!getex && sv_eqci(a, "get")) {
            *flags |= SET_GET;
        } else if (!getex && sv_eqci(a, "keepttl") && !(f & SET_TTLS)) {
            *flags |= SET_KEEPTTL;
        } else if (getex && sv_eqci(a, "persist") && !(f & SET_TTLS)) {
            *flags |= SET_PERSIST;
        } else if (kind && more && !(f & (SET_KEEPTTL | SET_PERSIST)) && !(f & SET_TTLS & ~kind)) {
            *flags |= kind;
            *ttl = &c->argv[++j];
        } else {
            long long v;
            /* kvd: SET's bare integer right after the value is a TTL in
             * seconds (the text protocol's `SET key value ttl`) */
            if (!getex && j == 3 && !(f & SET_TTLS) && util_str2ll(a.p, a.n, &v)) {
                *flags |= SET_EX;
                *ttl = &c->argv[j];
                continue;
            }
            reply_err_syntax(c);
            return false;
        }
    }
    return true;
}

/* The absolute deadline for a parsed TTL option (-1 when none), or false
 * after replying "invalid expire time" / "not an integer". */
static bool set_options_deadline(client *c, int flags, sv *ttl, const char *cmdname, int64_t *when)
{
    *when = -1;
    if (!ttl) return true;
    bool secs = flags & (SET_EX | SET_EXAT);
    bool abs = flags & (SET_EXAT | SET_PXAT);
    return expire_arg(c, *ttl, secs ? 1000 : 1, abs, cmdname, when, false);
}

/* The worker behind SET, SETNX, SETEX, PSETEX, GETSET. expire is an
 * absolute ms deadline or -1. Replies per flags and returns whether the
 * value was stored. ok_reply: 0 for "OK", 1 for :1/:0 (SETNX). */
static bool set_generic(client *c, sv key, sv val, int flags, int64_t expire, int ok_reply)
{
    entry *old = store_lookup_write(c->db, key);
    if (flags & SET_GET) store_count_lookup(c, key, old != NULL, true); /* as Redis: a read */
    if ((flags & SET_GET) && old && old->type != OBJ_STRING) {
        reply_err_wrongtype(c);
        return false;
    }
    bool stored = !((flags & SET_NX) && old) && !((flags & SET_XX) && !old);
    if (flags & SET_GET) {
        if (old) reply_bulk_sv(c, ent_strsv(old));
        else reply_null(c);
    }
    if (!stored) {
        if (!(flags & SET_GET)) {
            if (ok_reply) reply_int(c, 0);
            else reply_null(c);
        }
        return false;
    }
    store_set_string(c->db, key, val, expire, (flags & SET_KEEPTTL) != 0);
    store_written(c, c->db, key);
    notify_keyspace_event(NOTIFY_STRING, "set", c->db, key);
    if (expire >= 0) {
        notify_keyspace_event(NOTIFY_GENERIC, "expire", c->db, key);
        /* a deadline already past (EXAT/PXAT): as in Redis the key is set
         * and then expires — counted in expired_keys, "expired" event */
        if (expire <= util_cmd_now()) store_lookup_write(c->db, key);
    }
    if (!(flags & SET_GET)) {
        if (ok_reply) reply_int(c, 1);
        else reply_ok(c);
    }
    return true;
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] [ttl-seconds] */
static void set_command(client *c)
{
    int flags;
    sv *ttl;
    int64_t expire;
    if (!parse_set_options(c, 3, false, &flags, &ttl)) return;
    if (!set_options_deadline(c, flags, ttl, "set", &expire)) return;
    set_generic(c, c->argv[1], c->argv[2], flags, expire, 0);
}

static void setnx_command(client *c) { set_generic(c, c->argv[1], c->argv[3 - 1], SET_NX, -1, 1); }

static void setex_command(client *c)
{
    int64_t when;
    if (!expire_arg(c, c->argv[2], 1000, false, "setex", &when, false)) return;
    set_generic(c, c->argv[1], c->argv[3], 0, when, 0);
}

static void psetex_command(client *c)
{
    int64_t when;
    if (!expire_arg(c, c->argv[2], 1, false, "psetex", &when, false)) return;
    set_generic(c, c->argv[1], c->argv[3], 0, when, 0);
}

static void getset_command(client *c) { set_generic(c, c->argv[1], c->argv[2], SET_GET, -1, 0); }

static void get_command(client *c)
{
    bool wrong;
    entry *e = lookup_string(c, c->argv[1], &wrong);
    if (wrong) reply_err_wrongtype(c);
    else if (!e) reply_null(c);
    else reply_bulk_sv(c, ent_strsv(e));
}

static void getdel_command(client *c)
{
    entry *e = store_lookup_write(c->db, c->argv[1]);
    store_count_lookup(c, c->argv[1], e != NULL, true);
    if (!e) {
        reply_null(c);
        return;
    }
    if (e->type != OBJ_STRING) {
        reply_err_wrongtype(c);
        return;
    }
    reply_bulk_sv(c, ent_strsv(e));
    store_delete_written(c, c->db, c->argv[1]);
}

/* GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] */
static void getex_command(client *c)
{
    int flags;
    sv *ttl;
    int64_t when;
    if (!parse_set_options(c, 2, true, &flags, &ttl)) return;
    entry *e = store_lookup_write(c->db, c->argv[1]);
    store_count_lookup(c, c->argv[1], e != NULL, true);
    if (!e) {
        reply_null(c);
        return;
    }
    if (e->type != OBJ_STRING) {
        reply_err_wrongtype(c);
        return;
    }
    if (!set_options_deadline(c, flags, ttl, "getex", &when)) return;
    reply_bulk_sv(c, ent_strsv(e));
    shard *s = store_shard_of(c->db, c->argv[1]);
    if (when >= 0) {
        bool del = when <= util_cmd_now();
        if (del) store_delete(c->db, c->argv[1]);
        else store_set_expire(s, e, when);
        store_written(c, c->db, c->argv[1]);
        notify_keyspace_event(NOTIFY_GENERIC, del ? "del" : "expire", c->db, c->argv[1]);
    } else if ((flags & SET_PERSIST) && (e->flags & ENT_EXPIRE)) {
        store_set_expire(s, e, -1);
        store_written(c, c->db, c->argv[1]);
        notify_keyspace_event(NOTIFY_GENERIC, "persist", c->db, c->argv[1]);
    }
}

static void mget_command(client *c)
{
    reply_array(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        bool wrong;
        entry *e = lookup_string(c, c->argv[j], &wrong);
        if (e) reply_bulk_sv(c, ent_strsv(e));
        else reply_null(c);
    }
}

static void mset_generic(client *c, bool nx)
{
    if (c->argc % 2 == 0) {
        reply_err_arity(c, nx ? "msetnx" : "mset");
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2)
            if (store_lookup_write(c->db, c->argv[j])) {
                reply_int(c, 0);
                return;
            }
    }
    for (int j = 1; j < c->argc; j += 2) {
        store_set_string(c->db, c->argv[j], c->argv[j + 1], -1, false);
        store_written(c, c->db, c->argv[j]);
        notify_keyspace_event(NOTIFY_STRING, "set", c->db, c->argv[j]);
    }
    if (nx) reply_int(c, 1);
    else reply_ok(c);
}

static void mset_command(client *c) { mset_generic(c, false); }
static void msetnx_command(client *c) { mset_generic(c, true); }

static void incr_generic(client *c, long long by)
{
    entry *e = store_lookup_write(c->db, c->argv[1]);
    long long v = 0;
    if (e) {
        if (e->type != OBJ_STRING) {
            reply_err_wrongtype(c);
            return;
        }
        if (!util_str2ll(ent_val(e), e->vlen, &v)) {
            reply_err_int(c);
            return;
        }
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        reply_error(c, "ERR increment or decrement would overflow");
        return;
    }
    v += by;
    char tmp[32];
    int n = util_ll2str(tmp, sizeof tmp, v);
    sv nv = {tmp, (size_t)n};
    store_set_string(c->db, c->argv[1], nv, -1, true);
    store_written(c, c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_STRING, "incrby", c->db, c->argv[1]);
    reply_int(c, v);
}

static void incr_command(client *c) { incr_generic(c, 1); }
static void decr_command(client *c) { incr_generic(c, -1); }

static void incrby_command(client *c)
{
    long long by;
    if (!util_str2ll(c->argv[2].p, c->argv[2].n, &by)) {
        reply_err_int(c);
        return;
    }
    incr_generic(c, by);
}

static void decrby_command(client *c)
{
    long long by;
    if (!util_str2ll(c->argv[2].p, c->argv[2].n, &by)) {
        reply_err_int(c);
        return;
    }
    if (by == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -by);
}

static void incrbyfloat_command(client *c)
{
    long double by, v = 0;
    /* Redis's order: the key's type, its value, then the increment */
    entry *e = store_lookup_write(c->db, c->argv[1]);
    if (e) {
        if (e->type != OBJ_STRING) {
            reply_err_wrongtype(c);
            return;
        }
        if (!util_str2ld(ent_val(e), e->vlen, &v)) {
            reply_error(c, ERR_NOTFLOAT);
            return;
        }
    }
    if (!util_str2ld(c->argv[2].p, c->argv[2].n, &by)) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char tmp[5 * 1024];
    int n = util_ld2str(tmp, sizeof tmp, v, true);
    sv nv = {tmp, (size_t)n};
    store_set_string(c->db, c->argv[1], nv, -1, true);
    store_written(c, c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_STRING, "incrbyfloat", c->db, c->argv[1]);
    reply_bulk(c, tmp, (size_t)n);
}

static void append_command(client *c)
{
    entry *e = store_lookup_write(c->db, c->argv[1]);
    sv add = c->argv[2];
    if (!e) {
        e = store_set_string(c->db, c->argv[1], add, -1, false);
    } else {
        if (e->type != OBJ_STRING) {
            reply_err_wrongtype(c);
            return;
        }
        if (!check_string_size(c, (long long)e->vlen + (long long)add.n)) return;
        size_t old = e->vlen;
        e = store_resize_string(c->db, e, old + add.n);
        memcpy(ent_val(e) + old, add.p, add.n);
    }
    store_written(c, c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_STRING, "append", c->db, c->argv[1]);
    reply_int(c, e->vlen);
}

static void strlen_command(client *c)
{
    bool wrong;
    entry *e = lookup_string(c, c->argv[1], &wrong);
    if (wrong) reply_err_wrongtype(c);
    else reply_int(c, e ? e->vlen : 0);
}

static void getrange_command(client *c)
{
    long long start, end;
    if (!util_str2ll(c->argv[2].p, c->argv[2].n, &start) || !util_str2ll(c->argv[3].p, c->argv[3].n, &end)) {
        reply_err_int(c);
        return;
    }
    bool wrong;
    entry *e = lookup_string(c, c->argv[1], &wrong);
    if (wrong) {
        reply_err_wrongtype(c);
        return;
    }
    long long len = e ? e->vlen : 0;
    if (!e || (start < 0 && end < 0 && start > end)) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0) {
        reply_bulk(c, "", 0);
        return;
    }
    reply_bulk(c, ent_val(e) + start, (size_t)(end - start + 1));
}

static void setrange_command(client *c)
{
    long long off;
    if (!util_str2ll(c->argv[2].p, c->argv[2].n, &off)) {
        reply_err_int(c);
        return;
    }
    if (off < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    sv val = c->argv[3];
    entry *e = store_lookup_write(c->db, c->argv[1]);
    if (e && e->type != OBJ_STRING) {
        reply_err_wrongtype(c);
        return;
    }
    if (val.n == 0) {
        reply_int(c, e ? e->vlen : 0);
        return;
    }
    /* off + len could overflow: an offset near LLONG_MAX once passed this
     * check wrapped and aborted the server (test_badinput overflow test) */
    if (!check_string_size(c, off > LLONG_MAX - (long long)val.n ? LLONG_MAX : off + (long long)val.n)) return;
    size_t need = (size_t)off + val.n;
    if (!e) {
        sv empty = {"", 0};
        e = store_set_string(c->db, c->argv[1], empty, -1, false);
    }
    size_t old = e->vlen;
    if (need > old) {
        e = store_resize_string(c->db, e, need);
        memset(ent_val(e) + old, 0, need - old);
    }
    memcpy(ent_val(e) + off, val.p, val.n);
    store_written(c, c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_STRING, "setrange", c->db, c->argv[1]);
    reply_int(c, e->vlen);
}

/* One run of the common subsequence: a[as..ae] == b[bs..be]. */
typedef struct lcs_run {
    size_t as, ae, bs, be;
} lcs_run;

/* LCS a b [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN], as Redis 7.0: the
 * keys' types are checked before the options. The table is the classic
 * dynamic program; walking it back from the ends (up when the cell above
 * is larger, else left, as Redis walks it) yields the subsequence from its
 * last byte to its first, and the runs IDX reports are its maximal
 * diagonal stretches, last one first. */
static void lcs_command(client *c)
{
    bool w1, w2;
    entry *ea = lookup_string(c, c->argv[1], &w1);
    entry *eb = lookup_string(c, c->argv[2], &w2);
    if (w1 || w2) {
        reply_error(c, "ERR The specified keys must contain string values");
        return;
    }
    bool getlen = false, getidx = false, withlen = false;
    long long minlen = 0;
    for (int j = 3; j < c->argc; j++) {
        sv o = c->argv[j];
        if (sv_eqci(o, "len")) {
            getlen = true;
        } else if (sv_eqci(o, "idx")) {
            getidx = true;
        } else if (sv_eqci(o, "withmatchlen")) {
            withlen = true;
        } else if (sv_eqci(o, "minmatchlen") && j + 1 < c->argc) {
            sv v = c->argv[++j];
            if (!util_str2ll(v.p, v.n, &minlen)) {
                reply_err_int(c);
                return;
            }
            if (minlen < 0) minlen = 0;
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    if (getidx && getlen) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    sv a = ea ? ent_strsv(ea) : (sv){"", 0};
    sv b = eb ? ent_strsv(eb) : (sv){"", 0};
    if ((double)(a.n + 1) * (double)(b.n + 1) * sizeof(uint32_t) > (double)CFG(proto_max_bulk_len)) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    size_t W = b.n + 1;
    uint32_t *t = calloc((a.n + 1) * W, sizeof(uint32_t));
    if (!t) {
        reply_error(c, "ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
#define LCS(i, j) t[(i) * W + (j)]
    for (size_t i = 1; i <= a.n; i++)
        for (size_t j = 1; j <= b.n; j++)
            LCS(i, j) = a.p[i - 1] == b.p[j - 1] ? LCS(i - 1, j - 1) + 1
                                                : (LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1));
    uint32_t len = LCS(a.n, b.n);
    if (getlen) {
        reply_int(c, len);
        free(t);
        return;
    }
    char *res = malloc(len + 1);
    lcs_run *runs = getidx ? malloc(sizeof(lcs_run) * (len ? len : 1)) : NULL;
    if (!res || (getidx && !runs)) abort();
    size_t nruns = 0, i = a.n, j = b.n, k = len;
    bool open = false;
    lcs_run cur = {0, 0, 0, 0};
    while (i > 0 && j > 0) {
        if (a.p[i - 1] == b.p[j - 1]) {
            res[--k] = a.p[i - 1];
            if (!open) {
                cur.ae = i - 1;
                cur.be = j - 1;
                open = true;
            }
            cur.as = i - 1;
            cur.bs = j - 1;
            i--;
            j--;
            if (i > 0 && j > 0) continue; /* the run may go on */
        } else if (LCS(i - 1, j) > LCS(i, j - 1)) {
            i--;
        } else {
            j--;
        }
        if (open) { /* the run ended: a step off the diagonal, or an edge */
            if (getidx && cur.ae - cur.as + 1 >= (size_t)minlen) runs[nruns++] = cur;
            open = false;
        }
    }
    free(t);
#undef LCS
    if (!getidx) {
        reply_bulk(c, res, len);
    } else {
        reply_map(c, 2);
        reply_bulk(c, "matches", 7);
        reply_array(c, (long)nruns);
        for (size_t r = 0; r < nruns; r++) {
            reply_array(c, withlen ? 3 : 2);
            reply_array(c, 2);
            reply_int(c, (long long)runs[r].as);
            reply_int(c, (long long)runs[r].ae);
            reply_array(c, 2);
            reply_int(c, (long long)runs[r].bs);
            reply_int(c, (long long)runs[r].be);
            if (withlen) reply_int(c, (long long)(runs[r].ae - runs[r].as + 1));
        }
        reply_bulk(c, "len", 3);
        reply_int(c, len);
    }
    free(runs);
    free(res);
}

command cmds_string[] = {
    {"get", get_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "string", "Returns the string value of a key.", "1.0.0", 0, 0, 0, 0},
    {"set", set_command, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, NULL, "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"setnx", setnx_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Set the string value of a key only when the key doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"setex", setex_command, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, NULL, "string", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "2.0.0", 0, 0, 0, 0},
    {"psetex", psetex_command, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, NULL, "string", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "2.6.0", 0, 0, 0, 0},
    {"getset", getset_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Returns the previous string value of a key after setting it to a new value.", "1.0.0", 0, 0, 0, 0},
    {"getdel", getdel_command, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "string", "Returns the string value of a key after deleting the key.", "6.2.0", 0, 0, 0, 0},
    {"getex", getex_command, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "string", "Returns the string value of a key after setting its expiration time.", "6.2.0", 0, 0, 0, 0},
    {"mget", mget_command, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, NULL, "string", "Atomically returns the string values of one or more keys.", "1.0.0", 0, 0, 0, 0},
    {"mset", mset_command, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, NULL, "string", "Atomically creates or modifies the string values of one or more keys.", "1.0.1", 0, 0, 0, 0},
    {"msetnx", msetnx_command, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2, NULL, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "1.0.1", 0, 0, 0, 0},
    {"incr", incr_command, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"decr", decr_command, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"incrby", incrby_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"decrby", decrby_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"incrbyfloat", incrbyfloat_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "2.6.0", 0, 0, 0, 0},
    {"append", append_command, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, NULL, "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0", 0, 0, 0, 0},
    {"strlen", strlen_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "string", "Returns the length of a string value.", "2.2.0", 0, 0, 0, 0},
    {"getrange", getrange_command, 4, CMD_READONLY, 1, 1, 1, NULL, "string", "Returns a substring of the string stored at a key.", "2.4.0", 0, 0, 0, 0},
    {"substr", getrange_command, 4, CMD_READONLY, 1, 1, 1, NULL, "string", "Returns a substring from a string value.", "1.0.0", 0, 0, 0, 0},
    {"setrange", setrange_command, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, NULL, "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "2.2.0", 0, 0, 0, 0},
    {"lcs", lcs_command, -3, CMD_READONLY, 1, 2, 1, NULL, "string", "Finds the longest common substring.", "7.0.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
