/* t_keys.c — keyspace commands that work on any type: DEL, EXISTS, TYPE,
 * KEYS, SCAN, RENAME, COPY, MOVE, SWAPDB, FLUSHDB…, and the TTL commands
 * (EXPIRE family, TTL, PERSIST). Whole-database commands take their own
 * locks (CMD_NOLOCK) shard by shard or all together in the global order. */
#include "kvd.h"

#include <ctype.h>

#include <errno.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

bool expire_arg(client *c, sv arg, long long unit_ms, bool absolute, const char *cmdname, int64_t *when,
                bool allow_nonpositive);

static bool parse_dbid(client *c, sv a, int *out)
{
    long long v;
    if (!util_str2ll(a.p, a.n, &v)) {
        reply_err_int(c);
        return false;
    }
    if (v < 0 || v >= cfg.databases) {
        reply_error(c, "ERR DB index is out of range");
        return false;
    }
    *out = (int)v;
    return true;
}

static void del_generic(client *c, int style)
{
    long n = 0;
    for (int j = 1; j < c->argc; j++) {
        if (store_delete_written(c, c->db, c->argv[j])) n++;
    }
    if (style == 0) reply_int(c, n);
    else if (n) reply_ok(c);
    else reply_null(c);
}

static void del_command(client *c) { del_generic(c, 0); }
/* kvd: DELETE replies OK when a key was removed and (nil) when none was. */
static void delete_command(client *c) { del_generic(c, 1); }

static void exists_command(client *c)
{
    long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (store_lookup_counted(c, c->argv[j], true)) n++;
    reply_int(c, n);
}

static void type_command(client *c)
{
    entry *e = store_lookup_counted(c, c->argv[1], true);
    reply_status(c, e ? obj_type_name(e->type) : "none");
}

/* ---------------------------------------------------------------- KEYS, SCAN */

typedef struct keycollect {
    client *c;
    sv pat;
    bool all;
    int64_t now;
    long n;
    int type;        /* -1: any */
    buf *store;      /* SCAN: keys copied out, length-prefixed */
} keycollect;

static void keys_cb(void *ctx, entry *e)
{
    keycollect *k = ctx;
    if (store_expired(e, k->now)) return;
    if (k->type >= 0 && e->type != k->type) return;
    if (!k->all && !util_glob_match(k->pat.p, k->pat.n, ent_key(e), e->klen, false)) return;
    if (k->store) {
        uint32_t l = e->klen;
        buf_append(k->store, &l, sizeof l);
        buf_append(k->store, ent_key(e), e->klen);
    } else {
        reply_bulk(k->c, ent_key(e), e->klen);
    }
    k->n++;
}

static void keys_command(client *c)
{
    keycollect k = {c, c->argv[1], false, util_mstime(), 0, -1, NULL};
    k.all = c->argv[1].n == 1 && c->argv[1].p[0] == '*';
    long h = reply_defer(c);
    for (int i = 0; i < cfg.shards; i++) {
        shard *s = &c->db->shards[i];
        shard_rdlock(s);
        for (uint64_t b = 0; b < s->size; b++)
            for (entry *e = s->table[b]; e; e = e->next) keys_cb(&k, e);
        shard_unlock(s);
    }
    reply_defer_array(c, h, k.n);
}

static int type_by_name(sv n)
{
    for (int t = 0; t < OBJ_NTYPES; t++)
        if (sv_eqci(n, obj_type_name(t))) return t;
    return -2;
}

/* SCAN-family cursors are parsed as Redis's strtoul: a leading '+', a '-'
 * (which wraps) and the empty string are accepted; leading space, junk
 * and values past 2^64 are "invalid cursor". Replies and returns false on
 * a bad cursor. Shared by SCAN, HSCAN, SSCAN and ZSCAN. */
bool scan_cursor_arg(client *c, sv a, uint64_t *out)
{
    char tmp[64];
    if (a.n >= sizeof tmp || (a.n && isspace((unsigned char)a.p[0]))) goto bad;
    memcpy(tmp, a.p, a.n);
    tmp[a.n] = '\0';
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (*end || errno == ERANGE) goto bad;
    *out = v;
    return true;
bad:
    reply_error(c, "ERR invalid cursor");
    return false;
}

/* [MATCH pattern] [COUNT n] (and [TYPE t] when type is not NULL) from
 * argv[start..]. use_pat is false for a lone "*". Replies and returns
 * false on an error, with Redis's wording. */
bool scan_opts(client *c, int start, sv *pat, bool *use_pat, long long *count, sv *type)
{
    *use_pat = false;
    *count = 10;
    for (int j = start; j < c->argc; j++) {
        bool more = j + 1 < c->argc;
        if (sv_eqci(c->argv[j], "count") && more) {
            long long v;
            if (!util_str2ll(c->argv[j + 1].p, c->argv[j + 1].n, &v)) {
                reply_err_int(c);
                return false;
            }
            if (v < 1) {
                reply_err_syntax(c);
                return false;
            }
            *count = v;
            j++;
        } else if (sv_eqci(c->argv[j], "match") && more) {
            *pat = c->argv[++j];
            *use_pat = !(pat->n == 1 && pat->p[0] == '*');
        } else if (type && sv_eqci(c->argv[j], "type") && more) {
            *type = c->argv[++j];
        } else {
            reply_err_syntax(c);
            return false;
        }
    }
    return true;
}

/* The cursor is (bucket cursor << shard bits) | shard: a pass visits the
 * shards in order, each with Redis's reverse-binary bucket cursor. */
static void scan_command(client *c)
{
    uint64_t cur;
    if (!scan_cursor_arg(c, c->argv[1], &cur)) return;
    sv pat = {NULL, 0}, type = {NULL, 0};
    bool use_pat;
    long long cnt;
    if (!scan_opts(c, 2, &pat, &use_pat, &cnt, &type)) return;
    long count = cnt > 1000000 ? 1000000 : (long)cnt;
    keycollect k = {c, pat, !use_pat, util_mstime(), 0, -1, NULL};
    if (type.p) {
        k.type = type_by_name(type);
        if (k.type == -2) k.type = 99; /* unknown type: matches nothing, as Redis */
    }
    buf keys;
    buf_init_static(&keys, NULL, 0);
    k.store = &keys;
    int bits = server.shard_bits;
    uint64_t sidx = cur & (((uint64_t)1 << bits) - 1);
    uint64_t bcur = bits >= 64 ? 0 : cur >> bits;
    uint64_t next = 0;
    int guard = 0;
    while (sidx < (uint64_t)cfg.shards && k.n < count && guard++ < 4 * cfg.shards + 64) {
        shard *s = &c->db->shards[sidx];
        shard_rdlock(s);
        bcur = store_scan_shard(s, bcur, count, keys_cb, &k);
        shard_unlock(s);
        if (bcur == 0) sidx++;
    }
    if (sidx < (uint64_t)cfg.shards) next = (bcur << bits) | sidx;
    reply_array(c, 2);
    reply_bulk_ll(c, (long long)next);
    reply_array(c, k.n);
    size_t off = 0;
    while (off < keys.len) {
        uint32_t l;
        memcpy(&l, keys.p + off, sizeof l);
        reply_bulk(c, keys.p + off + sizeof l, l);
        off += sizeof l + l;
    }
    buf_free(&keys);
}

static void randomkey_command(client *c)
{
    int64_t now = util_mstime();
    for (int tries = 0; tries < 100; tries++) {
        /* pick a shard weighted by its key count */
        uint64_t total = 0;
        uint64_t counts[64];
        int ns = cfg.shards;
        uint64_t pick_shard = 0;
        if (ns <= 64) {
            for (int i = 0; i < ns; i++) {
                shard *s = &c->db->shards[i];
                shard_rdlock(s);
                counts[i] = s->count;
                shard_unlock(s);
                total += counts[i];
            }
            if (!total) break;
            uint64_t r = util_rand64() % total;
            for (int i = 0; i < ns; i++) {
                if (r < counts[i]) {
                    pick_shard = (uint64_t)i;
                    break;
                }
                r -= counts[i];
            }
        } else {
            pick_shard = util_rand64() & (uint64_t)(ns - 1);
        }
        shard *s = &c->db->shards[pick_shard];
        shard_rdlock(s);
        entry *e = store_random_entry(s);
        if (e && !store_expired(e, now)) {
            reply_bulk(c, ent_key(e), e->klen);
            shard_unlock(s);
            return;
        }
        shard_unlock(s);
        if (ns > 64 && tries > 90 && store_db_keys(c->db) == 0) break;
    }
    reply_null(c);
}

/* ---------------------------------------------------------------- rename, copy, move */

static void rename_generic(client *c, bool nx)
{
    entry *src = store_lookup_write(c->db, c->argv[1]);
    if (!src) {
        reply_error(c, "ERR no such key");
        return;
    }
    sv a = c->argv[1], b = c->argv[2];
    if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0) {
        if (nx) reply_int(c, 0);
        else reply_ok(c);
        return;
    }
    if (store_lookup_write(c->db, b)) {
        if (nx) {
            reply_int(c, 0);
            return;
        }
    }
    store_move(c->db, src, c->db, b);
    store_written(c, c->db, a);
    store_written(c, c->db, b);
    notify_keyspace_event(NOTIFY_GENERIC, "rename_from", c->db, a);
    notify_keyspace_event(NOTIFY_GENERIC, "rename_to", c->db, b);
    if (nx) reply_int(c, 1);
    else reply_ok(c);
}

static void rename_command(client *c) { rename_generic(c, false); }
static void renamenx_command(client *c) { rename_generic(c, true); }

static void move_command(client *c)
{
    int dbid;
    if (!parse_dbid(c, c->argv[2], &dbid)) return;
    db *dst = &server_dbs[dbid];
    if (dst == c->db) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    shard *sa, *sb;
    store_lock2(c->db, c->argv[1], dst, c->argv[1], &sa, &sb);
    entry *e = store_lookup_write(c->db, c->argv[1]);
    if (!e || store_lookup_write(dst, c->argv[1])) {
        store_unlock2(sa, sb);
        reply_int(c, 0);
        return;
    }
    store_move(c->db, e, dst, c->argv[1]);
    /* its events before those of the waiters it serves (as Redis) */
    notify_keyspace_event(NOTIFY_GENERIC, "move_from", c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_GENERIC, "move_to", dst, c->argv[1]);
    store_written(c, c->db, c->argv[1]);
    store_written(c, dst, c->argv[1]);
    store_unlock2(sa, sb);
    reply_int(c, 1);
}

static void copy_command(client *c)
{
    db *dst = c->db;
    bool replace = false;
    for (int j = 3; j < c->argc; j++) {
        if (sv_eqci(c->argv[j], "replace")) {
            replace = true;
        } else if (sv_eqci(c->argv[j], "db") && j + 1 < c->argc) {
            int dbid;
            if (!parse_dbid(c, c->argv[++j], &dbid)) return;
            dst = &server_dbs[dbid];
        } else {
            reply_err_syntax(c);
            return;
        }
    }
    sv a = c->argv[1], b = c->argv[2];
    if (dst == c->db && a.n == b.n && memcmp(a.p, b.p, a.n) == 0) {
        reply_error(c, "ERR source and destination objects are the same");
        return;
    }
    shard *sa, *sb;
    store_lock2(c->db, a, dst, b, &sa, &sb);
    entry *e = store_lookup_write(c->db, a);
    store_count_lookup(c, a, e != NULL, true); /* a read, as Redis's */
    if (!e) {
        store_unlock2(sa, sb);
        reply_int(c, 0);
        return;
    }
    if (store_lookup_write(dst, b) && !replace) {
        store_unlock2(sa, sb);
        reply_int(c, 0);
        return;
    }
    store_copy(e, dst, b);
    notify_keyspace_event(NOTIFY_GENERIC, "copy_to", dst, b); /* (before its waiters' events) */
    store_written(c, dst, b);
    store_unlock2(sa, sb);
    reply_int(c, 1);
}

/* ---------------------------------------------------------------- whole dbs */

static void dbsize_command(client *c) { reply_int(c, (long long)store_db_keys(c->db)); }

/* Detaches the tables of every shard of the given dbs under their locks,
 * then frees them after unlocking, so the stall is as short as a swap. */
static void flush_dbs(client *c, int *ids, int n)
{
    shard *old = calloc((size_t)n * (size_t)cfg.shards, sizeof(shard));
    store_lock_dbs(ids, n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (i && ids[i] == ids[i - 1]) continue;
        /* before emptying: WATCH touches only keys that existed */
        sv none = {NULL, 0};
        store_written(c, &server_dbs[ids[i]], none);
        for (int j = 0; j < cfg.shards; j++) {
            shard *s = &server_dbs[ids[i]].shards[j];
            if (s->count) {
                store_swap_shards(s, &old[k++]);
            }
        }
    }
    store_unlock_dbs(ids, n);
    for (int i = 0; i < k; i++) store_flush_shard(&old[i]);
    free(old);
}

static bool flush_opts(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !sv_eqci(c->argv[1], "async") && !sv_eqci(c->argv[1], "sync"))) {
        reply_err_syntax(c);
        return false;
    }
    return true;
}

static void flushdb_command(client *c)
{
    if (!flush_opts(c)) return;
    int id = c->db->id;
    flush_dbs(c, &id, 1);
    reply_ok(c);
}

/* Each database is flushed atomically (all its shards held together);
 * databases one after another, so no thread ever holds more than one
 * database's shard locks. */
static void flushall_command(client *c)
{
    if (!flush_opts(c)) return;
    for (int i = 0; i < cfg.databases; i++) flush_dbs(c, &i, 1);
    reply_ok(c);
}

static void swapdb_command(client *c)
{
    long long a, b;
    if (!util_str2ll(c->argv[1].p, c->argv[1].n, &a)) {
        reply_error(c, "ERR invalid first DB index");
        return;
    }
    if (!util_str2ll(c->argv[2].p, c->argv[2].n, &b)) {
        reply_error(c, "ERR invalid second DB index");
        return;
    }
    if (a < 0 || a >= cfg.databases || b < 0 || b >= cfg.databases) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    if (a != b) {
        /* both databases whole, under all their shards' locks: the AOF
         * logs the swap as one record (its LSN taken under those locks, see
         * aof.c), so every write to either database is wholly before or
         * wholly after it. (Swapping shard pair by shard pair let a write
         * fall between two pairs: it would replay on the wrong side.) */
        int ids[2] = {(int)a, (int)b};
        db *lo = &server_dbs[a < b ? a : b], *hi = &server_dbs[a < b ? b : a];
        sv none = {NULL, 0};
        store_lock_dbs(ids, 2);
        /* WATCH: keys that exist in either db before the swap */
        watch_key_written(c, lo, none);
        watch_key_written(c, hi, none);
        for (int j = 0; j < cfg.shards; j++) store_swap_shards(&lo->shards[j], &hi->shards[j]);
        store_written(c, lo, none);
        store_written(c, hi, none);
        store_unlock_dbs(ids, 2);
    }
    reply_ok(c);
}

static void select_command(client *c)
{
    int id;
    if (!parse_dbid(c, c->argv[1], &id)) return;
    pthread_mutex_lock(&c->lock);
    c->dbid = id;
    c->db = &server_dbs[id];
    pthread_mutex_unlock(&c->lock);
    reply_ok(c);
}

static void touch_command(client *c)
{
    long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (store_lookup_counted(c, c->argv[j], true)) n++;
    reply_int(c, n);
}

/* ---------------------------------------------------------------- OBJECT */

static const char *string_encoding(entry *e)
{
    long long v;
    if (e->vlen <= 20 && util_str2ll(ent_val(e), e->vlen, &v)) return "int";
    return e->vlen <= 44 ? "embstr" : "raw";
}

static void object_command(client *c)
{
    sv sub = c->argv[1];
    if (sv_eqci(sub, "help")) {
        static const char *help[] = {
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Print this help.",
        };
        reply_array(c, sizeof help / sizeof help[0]);
        for (size_t i = 0; i < sizeof help / sizeof help[0]; i++) reply_status(c, help[i]);
        return;
    }
    if (c->argc != 3 || !(sv_eqci(sub, "encoding") || sv_eqci(sub, "freq") || sv_eqci(sub, "idletime") ||
                          sv_eqci(sub, "refcount"))) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try OBJECT HELP.",
                     (int)sub.n, sub.p);
        return;
    }
    shard *s = store_shard_of(c->db, c->argv[2]);
    shard_rdlock(s);
    entry *e = store_lookup_counted(c, c->argv[2], false);
    if (!e) {
        shard_unlock(s);
        reply_null(c);
        return;
    }
    if (sv_eqci(sub, "encoding")) {
        const char *enc = e->type == OBJ_STRING ? string_encoding(e)
                          : obj_types[e->type]->encoding ? obj_types[e->type]->encoding(ent_ptr(e))
                                                         : "unknown";
        shard_unlock(s);
        reply_bulk_cstr(c, enc);
    } else if (sv_eqci(sub, "refcount")) {
        shard_unlock(s);
        reply_int(c, 1);
    } else if (sv_eqci(sub, "idletime")) {
        shard_unlock(s);
        reply_int(c, 0);
    } else {
        shard_unlock(s);
        reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                       "that when switching between policies at runtime LRU and LFU data will take some time to "
                       "adjust.");
    }
}

/* ---------------------------------------------------------------- TTLs */

#define EXP_NX 1
#define EXP_XX 2
#define EXP_GT 4
#define EXP_LT 8

static void expire_generic(client *c, long long unit, bool absolute, const char *name)
{
    int flags = 0;
    for (int j = 3; j < c->argc; j++) {
        sv a = c->argv[j];
        if (sv_eqci(a, "nx")) flags |= EXP_NX;
        else if (sv_eqci(a, "xx")) flags |= EXP_XX;
        else if (sv_eqci(a, "gt")) flags |= EXP_GT;
        else if (sv_eqci(a, "lt")) flags |= EXP_LT;
        else {
            reply_errorf(c, "ERR Unsupported option %.*s", (int)a.n, a.p);
            return;
        }
    }
    if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & EXP_GT) && (flags & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    int64_t when;
    if (!expire_arg(c, c->argv[2], unit, absolute, name, &when, true)) return;
    entry *e = store_lookup_write(c->db, c->argv[1]);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    int64_t cur = ent_expire(e);
    if (flags) {
        if ((flags & EXP_NX) && cur >= 0) goto no;
        if ((flags & EXP_XX) && cur < 0) goto no;
        if ((flags & EXP_GT) && (cur < 0 || when <= cur)) goto no;
        if ((flags & EXP_LT) && cur >= 0 && when >= cur) goto no;
    }
    bool del = when <= util_cmd_now();
    if (del) {
        store_delete(c->db, c->argv[1]);
    } else {
        store_set_expire(store_shard_of(c->db, c->argv[1]), e, when);
    }
    store_written(c, c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_GENERIC, del ? "del" : "expire", c->db, c->argv[1]);
    reply_int(c, 1);
    return;
no:
    reply_int(c, 0);
}

static void expire_command(client *c) { expire_generic(c, 1000, false, "expire"); }
static void pexpire_command(client *c) { expire_generic(c, 1, false, "pexpire"); }
static void expireat_command(client *c) { expire_generic(c, 1000, true, "expireat"); }
static void pexpireat_command(client *c) { expire_generic(c, 1, true, "pexpireat"); }

static void ttl_generic(client *c, bool ms, bool abs)
{
    entry *e = store_lookup_counted(c, c->argv[1], true);
    if (!e) {
        reply_int(c, -2);
        return;
    }
    int64_t when = ent_expire(e);
    if (when < 0) {
        reply_int(c, -1);
        return;
    }
    if (abs) {
        /* EXPIRETIME rounds to the nearest second, as TTL does */
        reply_int(c, ms ? when : when / 1000 + (when % 1000 >= 500));
        return;
    }
    int64_t ttl = when - util_cmd_now();
    if (ttl < 0) ttl = 0;
    reply_int(c, ms ? ttl : (ttl + 500) / 1000);
}

static void ttl_command(client *c) { ttl_generic(c, false, false); }
static void pttl_command(client *c) { ttl_generic(c, true, false); }
static void expiretime_command(client *c) { ttl_generic(c, false, true); }
static void pexpiretime_command(client *c) { ttl_generic(c, true, true); }

static void persist_command(client *c)
{
    entry *e = store_lookup_write(c->db, c->argv[1]);
    if (!e || !(e->flags & ENT_EXPIRE)) {
        reply_int(c, 0);
        return;
    }
    store_set_expire(store_shard_of(c->db, c->argv[1]), e, -1);
    store_written(c, c->db, c->argv[1]);
    notify_keyspace_event(NOTIFY_GENERIC, "persist", c->db, c->argv[1]);
    reply_int(c, 1);
}

static const subcommand object_subs[] = {
    {"encoding", 3, CMD_READONLY, 2, 2, 1, "@keyspace @read @slow", "nondeterministic_output",
     "Inspect the internal encoding of a Redis object", "2.2.3"},
    {"freq", 3, CMD_READONLY, 2, 2, 1, "@keyspace @read @slow", "nondeterministic_output",
     "Get the logarithmic access frequency counter of a Redis object", "4.0.0"},
    {"idletime", 3, CMD_READONLY, 2, 2, 1, "@keyspace @read @slow", "nondeterministic_output",
     "Get the time since a Redis object was last accessed", "2.2.3"},
    {"refcount", 3, CMD_READONLY, 2, 2, 1, "@keyspace @read @slow", "nondeterministic_output",
     "Get the number of references to the value of the key", "2.2.3"},
    {"help", 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "@keyspace @slow", "",
     "Show helpful text about the different subcommands", "6.2.0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL}};

command cmds_keys[] = {
    {"del", del_command, -2, CMD_WRITE, 1, -1, 1, NULL, "generic", "Deletes one or more keys.", "1.0.0", 0, 0, 0, 0},
    {"unlink", del_command, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, NULL, "generic", "Asynchronously deletes one or more keys.", "4.0.0", 0, 0, 0, 0},
    {"delete", delete_command, -2, CMD_WRITE, 1, -1, 1, NULL, "generic", "kvd: deletes keys; replies OK when one was removed, nil when none existed.", "kvd", 0, 0, 0, 0},
    {"exists", exists_command, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, NULL, "generic", "Determines whether one or more keys exist.", "1.0.0", 0, 0, 0, 0},
    {"type", type_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "generic", "Determines the type of value stored at a key.", "1.0.0", 0, 0, 0, 0},
    {"keys", keys_command, 2, CMD_READONLY | CMD_NOLOCK, 0, 0, 0, NULL, "generic", "Returns all key names that match a pattern.", "1.0.0", 0, 0, 0, 0},
    {"scan", scan_command, -2, CMD_READONLY | CMD_NOLOCK, 0, 0, 0, NULL, "generic", "Iterates over the key names in the database.", "2.8.0", 0, 0, 0, 0},
    {"randomkey", randomkey_command, 1, CMD_READONLY | CMD_NOLOCK, 0, 0, 0, NULL, "generic", "Returns a random key name from the database.", "1.0.0", 0, 0, 0, 0},
    {"rename", rename_command, 3, CMD_WRITE, 1, 2, 1, NULL, "generic", "Renames a key and overwrites the destination.", "1.0.0", 0, 0, 0, 0},
    {"renamenx", renamenx_command, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, NULL, "generic", "Renames a key only when the target key name doesn't exist.", "1.0.0", 0, 0, 0, 0},
    {"copy", copy_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOLOCK, 1, 2, 1, NULL, "generic", "Copies the value of a key to a new key.", "6.2.0", 0, 0, 0, 0},
    {"move", move_command, 3, CMD_WRITE | CMD_FAST | CMD_NOLOCK, 1, 1, 1, NULL, "generic", "Moves a key to another database.", "1.0.0", 0, 0, 0, 0},
    {"swapdb", swapdb_command, 3, CMD_WRITE | CMD_FAST | CMD_NOLOCK | CMD_ALLDBS, 0, 0, 0, NULL, "server", "Swaps two Redis databases.", "4.0.0", 0, 0, 0, 0},
    {"dbsize", dbsize_command, 1, CMD_READONLY | CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Returns the number of keys in the database.", "1.0.0", 0, 0, 0, 0},
    {"flushdb", flushdb_command, -1, CMD_WRITE | CMD_NOLOCK, 0, 0, 0, NULL, "server", "Remove all keys from the current database.", "1.0.0", 0, 0, 0, 0},
    {"flushall", flushall_command, -1, CMD_WRITE | CMD_NOLOCK | CMD_ALLDBS, 0, 0, 0, NULL, "server", "Removes all keys from all databases.", "1.0.0", 0, 0, 0, 0},
    {"select", select_command, 2, CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOLOCK, 0, 0, 0, NULL, "connection", "Changes the selected database.", "1.0.0", 0, 0, 0, 0},
    {"touch", touch_command, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, NULL, "generic", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "3.2.1", 0, 0, 0, 0},
    {"object", object_command, -2, CMD_READONLY | CMD_NOLOCK, 2, 2, 1, NULL, "generic", "A container for object introspection commands.", "2.2.3", 0, 0, 0, 0, object_subs},
    {"expire", expire_command, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "generic", "Sets the expiration time of a key in seconds.", "1.0.0", 0, 0, 0, 0},
    {"pexpire", pexpire_command, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "generic", "Sets the expiration time of a key in milliseconds.", "2.6.0", 0, 0, 0, 0},
    {"expireat", expireat_command, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "generic", "Sets the expiration time of a key to a Unix timestamp.", "1.2.0", 0, 0, 0, 0},
    {"pexpireat", pexpireat_command, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0", 0, 0, 0, 0},
    {"ttl", ttl_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "generic", "Returns the expiration time in seconds of a key.", "1.0.0", 0, 0, 0, 0},
    {"pttl", pttl_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "generic", "Returns the expiration time in milliseconds of a key.", "2.6.0", 0, 0, 0, 0},
    {"expiretime", expiretime_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "generic", "Returns the expiration time of a key as a Unix timestamp.", "7.0.0", 0, 0, 0, 0},
    {"pexpiretime", pexpiretime_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, NULL, "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0", 0, 0, 0, 0},
    {"persist", persist_command, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, NULL, "generic", "Removes the expiration time of a key.", "2.2.0", 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
