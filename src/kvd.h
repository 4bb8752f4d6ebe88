/* kvd.h — the map of kvd: shared types and every cross-file prototype,
 * grouped under the file that defines them. Read this first; the lock
 * order is written at the top of store.c. */
#ifndef KVD_H
#define KVD_H

#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "util.h"

#define KVD_VERSION "0.1.0"
#define KVD_REDIS_VERSION "7.0.15" /* the Redis whose behaviour we follow */

#define KVD_MAX_ARGS_DEFAULT 1048576    /* multibulk length limit */
#define KVD_INLINE_MAX (64 * 1024)      /* inline request / length line limit */
#define KVD_STRING_MAX (512LL * 1024 * 1024)
/* Limits on a connection that has not authenticated yet (requirepass set),
 * as Redis after CVE-2021-32675 and CVE-2025-21605: requests of at most 10
 * arguments of at most 16 KiB, and at most UNAUTH_MAX_OUTPUT bytes of
 * replies the client has not read before it is disconnected. */
#define UNAUTH_MAX_ARGS 10
#define UNAUTH_MAX_BULK 16384
#define UNAUTH_MAX_OUTPUT (16 * 1024 + 1024)

#ifdef KVD_DEBUG
#include <assert.h>
#define kvd_assert(x) assert(x)
#else
#define kvd_assert(x) ((void)0)
#endif

#define UNUSED(x) ((void)(x))

struct client;
struct command;

/* ------------------------------------------------------------------------
 * buf.c — growable byte buffers
 * A buf may start on caller-provided memory (stack); it moves to the heap
 * the first time it must grow. */
typedef struct buf {
    char *p;
    size_t len, cap;
    bool heap;   /* p was malloc'd by us */
} buf;

/* A string view: bytes owned by someone else. */
typedef struct sv {
    const char *p;
    size_t n;
} sv;

void buf_init_static(buf *b, char *mem, size_t cap);
void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_appendc(buf *b, char c);
void buf_appendstr(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
void buf_consume(buf *b, size_t n);          /* drop n bytes from the front */
void buf_reset(buf *b, char *mem, size_t cap);/* free heap memory, back to mem */
void buf_free(buf *b);
void buf_append_repr(buf *b, const char *p, size_t n); /* "quoted", escaped as redis-cli */
static inline sv sv_of(const char *s) { sv v = {s, strlen(s)}; return v; }
bool sv_eqci(sv a, const char *lit);           /* ASCII case-insensitive equality */
char *kvd_strndup(const char *p, size_t n);

/* ------------------------------------------------------------------------
 * obj.c — value types
 * Every key's value is one of these types. Strings live inline in the
 * entry; the others are a pointer to a structure owned by t_<type>.c, which
 * registers its operations in obj_types[]. */
enum { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4, OBJ_NTYPES = 5 };

typedef struct objtype {
    const char *name;                          /* TYPE reply: "hash" */
    void (*free)(void *v);
    void *(*dup)(const void *v);               /* deep copy for COPY */
    size_t (*mem)(const void *v);              /* bytes estimate */
    const char *(*encoding)(const void *v);    /* OBJECT ENCODING */
    /* Persistence hooks: serialize into b / parse from [p, p+n); load returns
     * NULL and sets *err on malformed input. Changing either changes the
     * snapshot format: bump its version. */
    void (*save)(buf *b, const void *v);
    void *(*load)(const char *p, size_t n, const char **err);
} objtype;

extern const objtype *obj_types[OBJ_NTYPES];
void obj_register(int type, const objtype *t);
const char *obj_type_name(int type);

/* ------------------------------------------------------------------------
 * listpack.c — packed arrays of byte strings: the compact encoding of small
 * hashes (field, value, field, value...) and lists. One allocation; each
 * element is a LEB128 length then its bytes; offsets are byte positions in
 * data[]. Functions that change the size may move it: use the result. */
typedef struct lpack {
    uint8_t enc;        /* the owner's encoding tag (first byte of every value) */
    uint8_t spare[3];
    uint32_t count;     /* elements */
    uint32_t bytes;     /* bytes used in data[] */
    char data[];
} lpack;

lpack *lp_new(uint8_t enc);
size_t lp_enclen(size_t n);                      /* header bytes for length n */
uint32_t lp_get(const lpack *lp, uint32_t off, sv *out); /* returns the next offset */
uint32_t lp_seek(const lpack *lp, uint32_t idx); /* offset of element idx (count: end) */
lpack *lp_insert(lpack *lp, uint32_t off, const sv *elems, int n);
lpack *lp_delete(lpack *lp, uint32_t off, uint32_t nelem);
lpack *lp_replace(lpack *lp, uint32_t off, sv v);
lpack *lp_dup(const lpack *lp);
size_t lp_mem(const lpack *lp);
bool lp_valid(const lpack *lp);

/* ------------------------------------------------------------------------
 * store.c — databases, shards, rwlocks, entries, lookups
 * Everything named store_* that takes a shard or db expects the caller to
 * hold the right lock (the command layer takes it; see cmd.c). */

/* One key. Layout of data[]: [int64 expire, uint32 heap index, pad] when
 * ENT_EXPIRE is set, then the key bytes, then the value: string bytes
 * (vlen of them) for OBJ_STRING, else a void* at the next 8-byte boundary
 * (use ent_ptr / ent_setptr). */
typedef struct entry {
    struct entry *next;
    uint32_t hash;      /* high 32 bits of the key's keyed hash */
    uint8_t type;       /* OBJ_* */
    uint8_t flags;      /* ENT_* */
    uint16_t lru;       /* reserved for eviction */
    uint32_t klen;
    uint32_t vlen;      /* string length (OBJ_STRING only) */
    char data[];
} entry;

#define ENT_EXPIRE 1
#define ENT_EXPSZ 16

static inline size_t ent_expoff(const entry *e) { return (e->flags & ENT_EXPIRE) ? ENT_EXPSZ : 0; }
static inline char *ent_key(entry *e) { return e->data + ent_expoff(e); }
static inline sv ent_keysv(entry *e) { sv v = {ent_key(e), e->klen}; return v; }
static inline char *ent_val(entry *e) { return ent_key(e) + e->klen; }
static inline sv ent_strsv(entry *e) { sv v = {ent_val(e), e->vlen}; return v; }
/* Non-string values: the pointer sits 8-aligned after the key (aligned
 * loads, and leak checkers can see it). */
static inline size_t ent_keypad(size_t klen) { return (klen + 7) & ~(size_t)7; }
static inline char *ent_ptrpos(entry *e) { return ent_key(e) + ent_keypad(e->klen); }
static inline void *ent_ptr(entry *e) { void *p; memcpy(&p, ent_ptrpos(e), sizeof p); return p; }
static inline void ent_setptr(entry *e, void *p) { memcpy(ent_ptrpos(e), &p, sizeof p); }
static inline int64_t ent_expire(const entry *e)
{
    int64_t t = -1;
    if (e->flags & ENT_EXPIRE) memcpy(&t, e->data, sizeof t);
    return t;
}

/* A due-time heap slot (expire.c). */
typedef struct expslot {
    int64_t when;
    entry *e;
} expslot;

typedef struct shard {
    pthread_rwlock_t lock;
    entry **table;          /* NULL until the first key */
    uint64_t size;          /* buckets, power of two or 0 */
    uint64_t count;         /* keys */
    uint64_t mem;           /* bytes held by entries and values (estimate) */
    expslot *heap;          /* min-heap of deadlines (expire.c) */
    uint32_t heap_len, heap_cap;
    __int128 exp_sum;       /* sum of the heap's deadlines (INFO avg_ttl) */
    /* heap[0].when, INT64_MAX when the heap is empty: written under the
     * write lock, read without any lock by the reaper to skip shards with
     * nothing due (expire.c) */
    _Atomic int64_t next_due;
    uint64_t lsn;           /* last log sequence number applied here (aof) */
    struct snapslice *snap; /* set while the snapshot serializes this shard in
                               slices (snapshot.c); under the shard lock */
    uint32_t id;            /* index within its db */
    uint32_t dbid;
    /* batches handed to this shard's write-lock holder by threads that
     * found it held (cmd.c, delegation); pushed by anyone, taken only by a
     * thread holding the write lock */
    _Atomic(struct dreq *) dq;
    char pad[64];           /* keep neighbours' locks off this cache line */
} shard;

typedef struct db {
    int id;
    shard *shards;
} db;

extern db *server_dbs;   /* [server.databases] */

void store_init(void);
void store_free_all(void);
uint64_t store_hash(sv key);
static inline uint32_t store_shard_index(uint64_t h);
shard *store_shard_of(db *d, sv key);
/* Read lookup: NULL when missing or logically expired (does not delete). */
entry *store_find(shard *s, sv key, uint64_t h);
entry *store_lookup_read(db *d, sv key);
/* A command's read lookup (Redis's lookupKeyRead): also counts the keyspace
 * hit or miss and publishes "keymiss" on a miss (unless !notify). */
entry *store_lookup_counted(struct client *c, sv key, bool notify);
/* The same accounting for a write command's read of key (GETSET, GETDEL...) */
void store_count_lookup(struct client *c, sv key, bool hit, bool notify);
/* Deletes the keys that readers on this thread found expired; call with no
 * shard lock held (cmd.c does after every command). */
void store_expire_pending(void);
bool store_expire_has_pending(void);
/* Write lookup: deletes the key first if it has expired. Write lock held. */
entry *store_lookup_write(db *d, sv key);
/* Create or replace key with a string value. keepttl keeps the old expiry;
 * expire >= 0 sets an absolute ms deadline, -1 none. Returns the entry. */
entry *store_set_string(db *d, sv key, sv val, int64_t expire, bool keepttl);
/* Replace an entry's string value in place (realloc), keeping its expiry. */
entry *store_resize_string(db *d, entry *e, size_t newlen);
/* Create key with a pointer value of type t (key must not exist). */
entry *store_add_ptr(db *d, sv key, int type, void *v, int64_t expire);
bool store_delete(db *d, sv key);           /* frees the value */
/* A command's deletion of key (DEL, GETDEL, a STORE of nothing): the
 * write (WATCH, the AOF...) and the "del" event; false if it was missing. */
bool store_delete_written(struct client *c, db *d, sv key);
void store_delete_entry(shard *s, entry *e);
/* The reaper's delete (expire.c): e was already popped off the deadline
 * heap; unlinks it (found by address) and updates the counts, leaving the
 * caller to free it (store_entry_free). */
void store_unlink_popped(shard *s, entry *e);
static inline void store_prefetch_bucket(shard *s, const entry *e)
{
    if (s->size) __builtin_prefetch(&s->table[e->hash & (s->size - 1)], 1);
}
/* then (bucket loaded) the head of e's chain, which the unlink walks */
static inline void store_prefetch_chain(shard *s, const entry *e)
{
    if (!s->size) return;
    const entry *h = s->table[e->hash & (s->size - 1)];
    if (h && h != e) __builtin_prefetch(h, 1);
}
/* Detach without freeing the value; returns the value pointer or string copy owner. */
entry *store_set_expire(shard *s, entry *e, int64_t when); /* -1 removes; returns the (moved) entry */
bool store_expired(const entry *e, int64_t now);
void store_flush_shard(shard *s);
void store_shrink_sparse(shard *s);         /* reaper: table under half full */
uint64_t store_db_keys(db *d);              /* locks shards one by one */
uint64_t store_db_expires(db *d);
/* Iterate shard s from bucket cursor; calls fn for entries of up to `count`
 * buckets; returns next cursor (0 = done). Reverse-binary as Redis. */
uint64_t store_scan_shard(shard *s, uint64_t cursor, long count,
                          void (*fn)(void *ctx, entry *e), void *ctx);
entry *store_random_entry(shard *s);
void store_swap_shards(shard *a, shard *b);
void store_entry_free(entry *e);
/* Grows s's table to hold n keys without resizing (a loader that knows its
 * count up front). Write lock held. */
void store_reserve(shard *s, uint64_t n);
size_t store_entry_mem(entry *e);
void store_value_mem_changed(shard *s, entry *e, ssize_t delta);

/* Every write handler calls this once per key it changed (after the
 * change, lock still held): counts the change for the snapshot rules and
 * is where WATCH, blocked clients and keyspace notifications hook in. */
void store_written(struct client *c, db *d, sv key);
void watch_key_written(struct client *c, db *d, sv key);  /* weak hook */
void block_key_written(struct client *c, db *d, sv key);  /* weak hook */
/* After a command that wrote whole databases (SWAPDB...), with no lock
 * held: serves the clients waiting on their keys (block.c; weak hook). */
void block_serve_pending(struct client *c);
bool block_call_begin(bool can);
bool block_call_end(bool was);
void block_wait_retries(void);
void block_thread_exit(void);
enum { REPLY_OFF = 1, REPLY_SKIP_NEXT = 2, REPLY_SKIP = 4 };
void block_defer_begin(void);
void block_defer_end(struct client *c);
int block_txn_begin(void);
void block_txn_end(struct client *c, struct command *cmd, int was);
/* Moves e (in sd) to newkey in dd with its value and deadline, replacing
 * what newkey held. Both shards write-locked. Returns the new entry. */
entry *store_move(db *sd, entry *e, db *dd, sv newkey);
/* Copies e's value (deep) to newkey in dd; replaces. Returns new entry. */
entry *store_copy(entry *e, db *dd, sv newkey);
/* Locks the shards of two keys (possibly in different dbs) in the global
 * order; unlock with store_unlock2. */
void store_lock2(db *a, sv ka, db *b, sv kb, shard **sa, shard **sb);
void store_unlock2(shard *sa, shard *sb);
/* Whole databases: lock every shard of the given dbs in order. */
void store_lock_dbs(int *dbids, int n);
void store_unlock_dbs(int *dbids, int n);

/* Locking from outside the command layer: take one shard's lock. */
void shard_rdlock(shard *s);
void shard_wrlock(shard *s);
bool store_write_held(shard *s); /* write-locked by this thread (shard_wrlock) */
void shard_unlock(shard *s);
/* EXEC of a transaction with whole-db commands: every shard of every db,
 * write-locked in the global order. While held, this thread's shard_*lock
 * calls are no-ops and store_locks_held() is true. */
void store_lock_all(void);
void store_unlock_all(void);
bool store_locks_held(struct client *c);
/* A key was deleted because it expired (write lock held): WATCH, the
 * "expired" keyspace event. */
void store_key_expired(db *d, sv key);

/* ------------------------------------------------------------------------
 * t_hash.c — hashes: listpack while small, then a chained hash table.
 * t_list.c — lists: listpack while small, then a ring of element pointers
 * (OBJECT ENCODING says "quicklist", Redis's name for its large encoding).
 * Both write paths call store_written() last and never touch the entry
 * after it: it may serve blocked clients, which can empty and delete it. */
/* t_list.c, for block.c: the caller holds the key's shard write lock.
 * list_pop removes up to n elements from the head (left) or tail, calling
 * fn for each, and deletes the key when it empties. list_push adds one
 * element, creating the list if e is NULL. */
long list_len(entry *e);
void list_pop(db *d, entry *e, bool left, long n, void (*fn)(void *ctx, sv v), void *ctx);
void list_push(db *d, sv key, entry *e, bool left, sv v);
/* LMOVE: pops from src (a non-empty list at srckey), pushes to dstkey (a
 * list or missing: the caller checked), deletes src if it emptied, then
 * calls store_written(c, ...) for both keys. Returns the moved element
 * (malloc'd, *n bytes; the caller frees). Both shards write-locked. */
char *list_move(struct client *c, db *d, entry *src, sv srckey, sv dstkey, bool from_left, bool to_left,
                size_t *n);

/* t_zset.c, for block.c: the caller holds the key's shard write lock.
 * zset_pop_n removes the n lowest (or highest, max) members, calling fn
 * with each and its score before removal, and deletes the key when it
 * empties. */
uint64_t zset_len(entry *e);
void zset_pop_n(db *d, entry *e, bool max, uint64_t n, void (*fn)(void *ctx, sv m, double score), void *ctx);

/* ------------------------------------------------------------------------
 * block.c — blocking pops: the registry of clients waiting on list and
 * sorted-set keys.
 * Lock order: shard locks, then the registry mutex, then a client's
 * outlock (conn_wake). A pusher serves waiters first-come first-served from
 * inside store_written(), while it still holds the key's write lock. */
/* BLOCK_ZPOP (BZPOPMIN/MAX) and BLOCK_ZMPOP (BZMPOP) wait for sorted
 * sets; the others for lists. */
enum { BLOCK_POP = 0, BLOCK_MPOP = 1, BLOCK_MOVE = 2, BLOCK_ZPOP = 3, BLOCK_ZMPOP = 4 };
typedef struct block_req {
    int kind;            /* BLOCK_* */
    bool left;           /* pop from the head; sorted sets: MIN */
    bool to_left;        /* BLOCK_MOVE: push at the head of dst */
    bool rpoplpush;      /* BLOCK_MOVE: propagate as RPOPLPUSH */
    long count;          /* BLOCK_MPOP, BLOCK_ZMPOP */
    int64_t deadline;    /* absolute ms, -1 forever */
    const sv *keys;      /* BLOCK_MOVE: keys[0] src, dst below */
    int nkeys;
    sv dst;
} block_req;
/* Parses a blocking timeout (seconds, fractions allowed) into an absolute
 * deadline in ms (-1: forever); replies the error and returns false. */
bool block_parse_timeout(struct client *c, sv arg, int64_t *deadline);
/* Registers c (its command's shards write-locked) and flags it blocked;
 * conn.c then calls block_wait(). */
void block_client(struct client *c, const block_req *r);
/* CLIENT UNBLOCK: 1 if the client was blocked and is now released. */
int block_unblock(uint64_t id, bool error);
long info_blocked_clients(void);
long info_timed_clients(void);  /* blocked with a timeout */

/* ------------------------------------------------------------------------
 * expire.c — the deadline heap and the reaper thread */
void expire_heap_add(shard *s, entry *e);      /* e has ENT_EXPIRE */
void expire_heap_update(shard *s, entry *e);   /* deadline changed */
void expire_heap_remove(shard *s, entry *e);
void expire_heap_moved(shard *s, entry *e);    /* e was reallocated */
void expire_heap_reset(shard *s);             /* heap emptied or swapped in */
void expire_heap_free(shard *s);              /* drop the heap (flush) */
/* the heap is 4-ary: slot i's parent is (i - 1) / EXPIRE_HEAP_ARITY */
#define EXPIRE_HEAP_ARITY 4
int expire_reaper_start(void);
void expire_reaper_stop(void);
void expire_reaper_wake(void);                 /* DEBUG JUMP-CLOCK: run a cycle now */
void expire_set_active(bool on);               /* DEBUG SET-ACTIVE-EXPIRE 0|1 */
/* Deletes up to `budget` due keys of s (write lock held), adding them to
 * *reaped; returns whether due keys remain. */
bool expire_reap_shard(shard *s, int64_t now, long budget, long *reaped);
/* INFO's expiry figures over shards (read lock held for each call):
 * keys with a TTL, how many of them are logically expired but not yet
 * reclaimed (exact up to a walk of 256 heap nodes per shard, sampled
 * beyond), and the summed remaining TTL of the live ones. */
typedef struct expstats {
    uint64_t ttl_keys;
    double stale;
    double live, live_ttl_sum;
} expstats;
void expire_shard_stats(shard *s, int64_t now, expstats *st);
/* Keys the reaper deletes per shard lock hold (expire.c; tests) */
#define REAP_BATCH 64

/* ------------------------------------------------------------------------
 * reply.c — the typed reply API handlers use; the codec renders it */
enum { PROTO_RESP2 = 2, PROTO_RESP3 = 3, PROTO_TEXT = 0 };

void reply_status(struct client *c, const char *s);
void reply_ok(struct client *c);
void reply_error(struct client *c, const char *msg);   /* full text: "ERR ..." */
void reply_errorf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(struct client *c, long long v);
void reply_bulk(struct client *c, const void *p, size_t n);
void reply_bulk_sv(struct client *c, sv v);
void reply_bulk_cstr(struct client *c, const char *s);
void reply_bulk_ll(struct client *c, long long v);
void reply_bulk_ld(struct client *c, long double v);  /* human-friendly */
void reply_double(struct client *c, double d);         /* RESP3 double, RESP2 bulk */
void reply_bool(struct client *c, bool v);
void reply_null(struct client *c);                     /* missing bulk */
void reply_null_array(struct client *c);               /* missing multibulk */
void reply_array(struct client *c, long n);
void reply_map(struct client *c, long n);
void reply_set(struct client *c, long n);
void reply_push(struct client *c, long n);
void reply_verbatim(struct client *c, const char *p, size_t n, const char *ext);
void reply_empty_array(struct client *c);
/* Deferred aggregate length: open, add elements, then close with the count. */
long reply_defer(struct client *c);
void reply_defer_array(struct client *c, long h, long n);
void reply_defer_map(struct client *c, long h, long n);
void reply_defer_set(struct client *c, long h, long n);
/* Canned errors */
void reply_err_syntax(struct client *c);
void reply_err_int(struct client *c);
void reply_err_wrongtype(struct client *c);
void reply_err_arity(struct client *c, const char *name);
extern const char *ERR_WRONGTYPE;
extern const char *ERR_NOTINT;
extern const char *ERR_SYNTAX;
extern const char *ERR_NOTFLOAT;

/* ------------------------------------------------------------------------
 * resp.c — RESP request parser and RESP2/RESP3 writers */
typedef struct reqparser {
    int state;          /* 0 idle, 1 multibulk, 2 inline */
    long multibulk;     /* args still expected */
    long long bulklen;  /* -1: need a length line */
    size_t pos;         /* parse position in the buffer */
    int argc;
} reqparser;

enum { PARSE_OK = 0, PARSE_MORE = 1, PARSE_ERR = -1 };
/* Parse one request from qb[*pos..len). On PARSE_OK argv/argc hold views
 * into qb. On PARSE_ERR *err is set to Redis's message. */
int resp_parse(struct client *c, const char *qb, size_t len, size_t *pos, const char **err);
void resp_write_len(buf *b, char type, long long n);

/* ------------------------------------------------------------------------
 * text.c — the human text protocol: line tokenizer and redis-cli renderer */
int text_parse(struct client *c, const char *qb, size_t len, size_t *pos, const char **err);
/* Split a line as redis-cli does; returns argc or -1 on unbalanced quotes.
 * Output views point into *scratch (a buf that owns unescaped bytes). */
int text_split(const char *line, size_t n, buf *scratch, sv **argv, int *cap);

/* Text reply tree (only for text-protocol clients). */
typedef struct tnode {
    int type;               /* TN_* */
    long long num;
    char *str;
    size_t len;
    long expect;            /* aggregates: children expected, -1 deferred */
    long nchild, cap;
    struct tnode **child;
    struct tnode *parent;
} tnode;
enum { TN_STATUS, TN_ERROR, TN_INT, TN_BULK, TN_NIL, TN_ARRAY, TN_DOUBLE, TN_BOOL };
void text_add(struct client *c, tnode *n);
void text_render(buf *out, tnode *n);
void tnode_free(tnode *n);

/* ------------------------------------------------------------------------
 * cmd.c — the command table, lookup, arity, flags, shard locking */
typedef void cmdproc(struct client *c);
/* Returns key argument indexes for commands whose keys can't be described
 * by first/last/step (ZUNIONSTORE, LMPOP...). Fills keys[], returns count. */
typedef int cmdkeys(struct client *c, int *keys, int max);
/* Set by a cmdkeys function whose numkeys argument is missing, not a
 * number, below 1 or beyond the arguments (it then lists no source keys):
 * COMMAND GETKEYS answers Redis's "Invalid arguments" for it. */
extern _Thread_local bool cmd_keys_invalid;

enum {
    CMD_WRITE = 1 << 0,      /* may modify the keyspace: write locks, AOF */
    CMD_READONLY = 1 << 1,
    CMD_ADMIN = 1 << 2,
    CMD_FAST = 1 << 3,
    CMD_NOLOCK = 1 << 4,     /* the handler takes its own locks (whole-db commands) */
    CMD_NOAUTH = 1 << 5,     /* allowed before AUTH */
    CMD_LOADING = 1 << 6,    /* allowed while loading */
    CMD_PUBSUB = 1 << 7,
    CMD_BLOCKING = 1 << 8,
    CMD_DENYOOM = 1 << 9,
    CMD_STALE = 1 << 10,
    CMD_NOSCRIPT = 1 << 11,
    CMD_NOMULTI = 1 << 12,   /* not allowed inside MULTI */
    CMD_SKIP_MONITOR = 1 << 13,
    CMD_ALLOW_BUSY = 1 << 14,
    CMD_SENTINEL = 1 << 15,
    CMD_ALLDBS = 1 << 16,    /* with NOLOCK: touches every db (FLUSHALL, SWAPDB) */
    CMD_SKIP_SLOWLOG = 1 << 17,     /* not in the slowlog (EXEC: its commands are) */
    CMD_NO_ASYNC_LOADING = 1 << 18, /* Redis's flag, shown by COMMAND INFO */
};

/* A container command's subcommands (CLIENT SETNAME...): arity counts the
 * container's name too, as Redis does ("client setname x" is 3). */
typedef struct subcommand {
    const char *name;
    int arity;
    /* what COMMAND INFO, DOCS and LIST show of it, as Redis 7 does
     * ("container|name"); dispatch checks the container's flags */
    int flags;           /* CMD_* */
    int firstkey, lastkey, step;
    const char *acl;     /* ACL categories, space-separated */
    const char *tips;    /* command tips, space-separated ("" none) */
    const char *summary;
    const char *since;
} subcommand;

typedef struct command {
    const char *name;    /* lower case */
    cmdproc *proc;
    int arity;           /* N: exactly N args incl. name; -N: at least N */
    int flags;           /* CMD_* */
    int firstkey;        /* first key argument index, 0 = no keys */
    int lastkey;         /* last key index; -1 = last argument, -2 = second to last */
    int step;            /* distance between keys (MSET: 2) */
    cmdkeys *getkeys;    /* overrides first/last/step when set */
    const char *group;   /* "string", "generic", "server", "connection", ... */
    const char *summary; /* one line, for COMMAND DOCS */
    const char *since;   /* Redis version that introduced it */
    /* filled at start-up */
    _Atomic uint64_t calls, usec, rejected, failed;
    const subcommand *subs;  /* container commands: NULL-terminated list */
    struct command *substats; /* per subcommand, "container|sub": their
                                 statistics, as Redis 7's commandstats */
} command;

/* Each t_*.c exports a table terminated by a row with name == NULL. */
extern command cmds_string[], cmds_keys[], cmds_server[];

void cmd_init(void);
/* cmdmeta.c: a Redis command's ACL categories and tips (space-separated
 * words, "" none), or NULL for a command Redis does not have */
struct cmd_meta {
    const char *name, *acl, *tips;
};
const struct cmd_meta *cmd_meta_find(const char *name);
command *cmd_lookup(const char *name, size_t n);
/* Where a call of cmd by c counts: a container's subcommand has its own
 * statistics ("config|get"), as in Redis 7 */
command *cmd_stat_target(struct client *c, command *cmd);
void cmd_coalesce(bool on);
bool monitor_active(void);
void cmd_release_held(void);
/* A thread about to let go of a shard lock while r is listed for it tells
 * r's owner to take the lock (delegation, cmd.c). */
struct dreq;
void cmd_deleg_kick(struct dreq *r);
/* The owner of a handed batch (c->dr) told to take the lock, or tired of
 * waiting: takes it (blocking: wait true) and runs what is listed, its own
 * batch included; false if the lock was busy. */
bool cmd_deleg_take(struct client *c, bool wait);
/* For the thread that ran c's handed batch, no lock held: sends what c's
 * socket takes of the replies at once; true if some are left for the
 * owner, to be woken with conn_wake_handed(c->dr.efd) once c->dr is done
 * (conn.c). */
bool conn_send_handed(struct client *c);
void conn_wake_handed(int efd);
void cmd_dispatch(struct client *c);        /* run c->argv: checks, locking, call */
void cmd_call(struct client *c, command *cmd);         /* lock, run, AOF, unlock */
void cmd_call_locked(struct client *c, command *cmd, bool fresh); /* locks already held (EXEC) */
/* Weak hooks, see cmd.c */
bool cmd_filter_hook(struct client *c, command *cmd);
bool multi_queue_hook(struct client *c, command *cmd);  /* cmd NULL: flag an error */
void monitor_feed(struct client *c);
void aof_feed(struct client *c, command *cmd, const uint32_t *idx, int n);
void slowlog_feed(struct client *c, command *cmd, int64_t usec);
/* AOF: by default a write command is logged as received. A handler whose
 * effect differs (SET EX -> SET PXAT, SPOP -> SREM, BLPOP -> LPOP,
 * INCRBYFLOAT -> SET KEEPTTL...) calls cmd_propagate one or more times to
 * log these commands instead; cmd_propagate_none() logs nothing. */
void cmd_propagate(struct client *c, int argc, const sv *argv);
void cmd_propagate_none(struct client *c);
int cmd_getkeys(struct client *c, command *cmd, int *keys, int max);
/* Argument indexes first..last by step (last < 0: from the end) of argc
 * arguments; at most max. */
int cmd_range_keys(int argc, int first, int last, int step, int *keys, int max);
/* A container's subcommand called name (any case), or NULL. */
const subcommand *cmd_sub_find(const command *cmd, sv name);
/* Keys of "numkeys key [key ...]" (t_set.c): numkeys at nkidx, plus a
 * destination key at dstidx when > 0; an invalid numkeys lists no source
 * keys and sets cmd_keys_invalid. */
int keys_numkeys(struct client *c, int *keys, int max, int nkidx, int dstidx);
int cmd_count(void);
void cmd_foreach(void (*fn)(command *cmd, void *ctx), void *ctx);
int cmd_rename(const char *from, const char *to);  /* rename-command */
const char **cmd_flag_names(int flags, int *n);

/* ------------------------------------------------------------------------
 * Sets and sorted sets: their data structures (mdict.c, intset.c, pack.c,
 * skiplist.c) and what t_set.c / t_zset.c share. None take locks: the
 * shard lock of the key that holds the value covers them. */

/* mdict.c — intrusive chained hash table of byte-string members. A node
 * starts with an mnode; keyp tells where its member bytes are. */
typedef struct mnode {
    struct mnode *next;
    uint32_t hash;          /* md_hash(member) */
    uint32_t len;           /* member length */
} mnode;
typedef struct mdict {
    mnode **t;
    uint64_t size, count;
    const char *(*keyp)(const mnode *n);
} mdict;
uint32_t md_hash(const char *p, size_t n);
void md_init(mdict *d, const char *(*keyp)(const mnode *n));
void md_reserve(mdict *d, uint64_t n);
mnode *md_find(const mdict *d, const char *p, size_t n, uint32_t h);
void md_insert(mdict *d, mnode *x);               /* x->hash set, not present */
void md_unlink(mdict *d, mnode *x);
mnode *md_remove(mdict *d, const char *p, size_t n, uint32_t h);
mnode *md_random(const mdict *d);
/* Visits one bucket (every node in it) and returns the next reverse-binary
 * cursor, 0 at the end of a pass. */
uint64_t md_scan(const mdict *d, uint64_t cursor, void (*fn)(void *ctx, mnode *x), void *ctx);
void md_clear(mdict *d, void (*freefn)(mnode *x));
size_t md_table_bytes(const mdict *d);

/* intset.c — sorted distinct int64s at 2, 4 or 8 bytes each. Byte 0 (tag)
 * is the owner's. Functions taking intset ** may move it. */
typedef struct intset {
    uint8_t tag;
    uint8_t width;
    uint16_t spare;
    uint32_t count;
    char data[];
} intset;
intset *intset_new(void);
intset *intset_dup(const intset *is);
bool intset_add(intset **isp, int64_t v);         /* false if present */
bool intset_remove(intset **isp, int64_t v);      /* false if absent */
bool intset_find(const intset *is, int64_t v);
int64_t intset_get(const intset *is, uint32_t i);
size_t intset_bytes(const intset *is);

/* pack.c — packed entries: [varint len][member bytes] (+ [score] in sorted
 * sets). Byte 0 (tag) is the owner's; count is the owner's to keep. */
typedef struct pack {
    uint8_t tag;
    uint8_t spare;
    uint16_t spare2;
    uint32_t count;         /* entries */
    uint32_t used;          /* bytes of data[] */
    char data[];
} pack;
pack *pack_new(void);
pack *pack_dup(const pack *p);
size_t pack_bytes(const pack *p);
char *pack_open(pack **pp, uint32_t off, uint32_t n);  /* gap of n bytes at off */
void pack_close(pack **pp, uint32_t off, uint32_t n);  /* remove n bytes at off */
uint32_t pk_varint_len(uint32_t v);
uint32_t pk_varint_put(char *p, uint32_t v);
uint32_t pk_varint_get(const char *p, uint32_t *v);
uint32_t pk_member(const pack *pk, uint32_t off, sv *m); /* returns bytes used */
uint32_t pk_score_len(double v);
uint32_t pk_score_put(char *p, double v);
uint32_t pk_score_get(const char *p, double *v);

/* skiplist.c — skip list with spans, nodes shared with an mdict. */
#define ZSL_MAXLEVEL 32
typedef struct zlevel {
    struct znode *fwd;
    uint64_t span;
} zlevel;
typedef struct znode {
    mnode h;                /* dict link, hash, member length */
    double score;
    struct znode *back;
    uint32_t level, spare;
    zlevel lv[];            /* then the member bytes */
} znode;
typedef struct zsl {
    znode *header, *tail;
    uint64_t length;
    int level;
} zsl;
static inline char *zn_member(znode *x) { return (char *)&x->lv[x->level]; }
const char *zn_keyp(const mnode *n);
int sv_cmp(const char *a, size_t an, const char *b, size_t bn); /* memcmp order, shorter first */
znode *zsl_node_new(double score, const char *p, size_t n);
size_t zn_size(const znode *x);
void zsl_init(zsl *l);
void zsl_free_nodes(zsl *l);
void zsl_insert(zsl *l, znode *x);
void zsl_unlink(zsl *l, znode *x);                /* does not free */
void zsl_update_score(zsl *l, znode *x, double score);
uint64_t zsl_rank(const zsl *l, const znode *x);  /* 1-based */
znode *zsl_by_rank(const zsl *l, uint64_t rank);  /* 1-based */
/* Score range [min, max], either end exclusive; lex range of members where
 * *inf = -1 is "-", +1 is "+", 0 a string bound. */
typedef struct zrange {
    double min, max;
    bool minex, maxex;
} zrange;
typedef struct zlex {
    sv min, max;
    int mininf, maxinf;
    bool minex, maxex;
} zlex;
bool zr_empty(const zrange *r);
bool zr_gte_min(double v, const zrange *r);
bool zr_lte_max(double v, const zrange *r);
bool zl_empty(const zlex *r);
bool zl_gte_min(sv m, const zlex *r);
bool zl_lte_max(sv m, const zlex *r);
znode *zsl_first_in_range(const zsl *l, const zrange *r);
znode *zsl_last_in_range(const zsl *l, const zrange *r);
znode *zsl_first_in_lex(const zsl *l, const zlex *r);
znode *zsl_last_in_lex(const zsl *l, const zlex *r);

/* t_set.c — set values and commands. A set value starts with its encoding
 * byte (SET_ENC_*). Iteration yields selem: an integer when p is NULL. */
enum { SET_ENC_INTSET = 1, SET_ENC_PACK = 2, SET_ENC_HT = 3 };
typedef struct selem {
    const char *p;
    size_t n;
    int64_t ll;
} selem;
typedef struct setiter {
    const void *set;
    uint64_t i, off;
    mnode *node;
} setiter;
uint64_t set_size(const void *set);
bool set_contains(const void *set, const char *p, size_t n);
void set_iter_init(setiter *it, const void *set);
bool set_iter_next(setiter *it, selem *e);
sv selem_sv(const selem *e, char *tmp /* [24] */);
void *set_new_for(const char *p, size_t n);        /* empty set suited to a first member */
bool set_add(void **setp, const char *p, size_t n); /* may convert / move */

/* t_zset.c — sorted set values and commands */
enum { ZSET_ENC_PACK = 1, ZSET_ENC_SKIP = 2 };

/* ------------------------------------------------------------------------
 * t_keys.c — shared by the SCAN family (SCAN, HSCAN, SSCAN, ZSCAN) */
bool scan_cursor_arg(struct client *c, sv a, uint64_t *out);
bool scan_opts(struct client *c, int start, sv *pat, bool *use_pat, long long *count, sv *type);

/* ------------------------------------------------------------------------
 * conn.c — the connection thread and the client structure */
#define CLIENT_CLOSE_AFTER_REPLY (1 << 0)
#define CLIENT_CLOSE_ASAP (1 << 1)
#define CLIENT_TEXT (1 << 2)
#define CLIENT_PROTOCOL_ERROR (1 << 3)
#define CLIENT_UNIX (1 << 4)
#define CLIENT_POLL (1 << 5)       /* wait in poll() on socket + wake fd (subscribers) */
#define CLIENT_BLOCKED (1 << 6)    /* a blocking command is waiting (block.c) */
#define CLIENT_NO_EVICT (1 << 7)   /* CLIENT NO-EVICT on: flag 'e' (for maxmemory-clients) */
#define CLIENT_REPLY_OFF (1 << 8)  /* CLIENT REPLY OFF (reply_flags' REPLY_OFF, seen by other threads: MONITOR's feed) */

/* A connection's batch handed to the holder of its shard's write lock
 * (delegation, cmd.c). Pushed on shard.dq by its owner; taken from there
 * and run only by a thread holding that write lock. */
enum {
    DREQ_WAITING = 0,
    DREQ_DONE = 1,
    DREQ_KICKED = 2,  /* still listed when a holder let go: the owner takes the lock */
    DREQ_ASLEEP = 3   /* more input waiting: the owner sleeps on the word, not its socket */
};
typedef struct dreq {
    struct dreq *next;
    struct client *c;
    struct command *cmd;    /* the command parsed in c->argv, not yet run */
    uint32_t idx;           /* its shard in c->db */
    int efd;                /* the owner thread's eventfd: woken to go on, or to take the lock */
    struct dreq *sendnext;  /* the runner's list of replies to send */
    _Atomic uint32_t state; /* DREQ_*: DONE is the runner's last touch */
} dreq;

typedef struct client {
    uint64_t id;
    int fd;
    int proto;              /* PROTO_RESP2, PROTO_RESP3, PROTO_TEXT */
    _Atomic int flags;      /* CLIENT_* */
    int dbid;
    db *db;
    int argc;
    sv *argv;
    int argv_cap;
    command *cmd;           /* command being executed */
    command *lastcmd;
    reqparser ps;
    buf qbuf;               /* unparsed input (heap, lazily) */
    buf obuf;               /* replies not yet written */
    buf scratch;            /* text protocol unescaped arguments */
    tnode *troot;           /* text reply being built */
    tnode *tcur;            /* open aggregate */
    pthread_mutex_t lock;   /* name, fields read by CLIENT LIST */
    char *name;
    char *lib_name, *lib_ver;
    char addr[64], laddr[64];
    int64_t ctime, last_interaction;  /* ms */
    int64_t cmd_start_us;
    uint64_t commands;      /* processed */
    size_t *parse_pos;      /* the owner's parse position in qbuf while it
                               runs a batch (NULL otherwise): a shard's lock
                               holder may run the batch on (cmd.c) */
    dreq dr;                /* its handed batch (delegation, cmd.c) */
    bool handed;            /* cmd_call handed dr over: conn.c waits for it */
    /* copies for CLIENT LIST, written under lock once per batch */
    size_t info_qbuf, info_qbuf_free;
    command *info_cmd;
    char lastsub[24], info_sub[24];  /* subcommand of the last container command */
    _Atomic int info_nsub[3];  /* channels, patterns, shard channels (t_pubsub.c) */
    _Atomic int info_multi;    /* in MULTI: 1 + commands queued; 0 not (t_multi.c) */
    bool authenticated;
    uint8_t reply_flags;    /* CLIENT REPLY: REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP (conn.c) */
    size_t reply_keep;      /* CLIENT REPLY OFF|SKIP: obuf bytes up to here are kept (pub/sub pushes, t_pubsub.c) */
    int64_t obuf_soft_since;   /* ms (monotonic) output passed the soft limit, 0 not (conn.c) */
    size_t text_nodes;         /* text protocol: nodes in the reply being built (text.c) */
    int resp_nest;          /* text: depth of open aggregates */
    /* Output from other threads (pub/sub messages, a blocked pop served by
     * a pusher): appended under outlock with conn_push(), then the owning
     * thread is woken through wakefd (an eventfd, made on first need). */
    int wakefd;
    pthread_mutex_t outlock;
    buf async;
    /* under outlock: the owning thread waits in conn_wait() with nothing of
     * its own to write, so another thread holding outlock may write
     * c->async to the socket itself (conn_send_or_wake, conn.c) */
    bool out_parked;
    bool out_sending;       /* under outlock: another thread is writing c->async to the socket */
    int out_pushers;        /* under outlock: publishers whose batch queued output here, not yet flushed */
    bool obuf_foreign;      /* owner only: obuf holds output of other threads (conn_take_async) */
    /* AOF: what the current command logs (see cmd_propagate) */
    buf prop;
    int prop_count;
    bool prop_custom;
    void *ext[4];           /* per-feature state: [0] multi, [1] pubsub, [2] blocking, [3] spare */
    struct client *prev, *next;
} client;

void conn_start(int fd, int kind, const char *addr, const char *laddr);
void conn_reset(client *c);
void conn_kill_all(void);
int conn_count(void);
uint64_t conn_total(void);
client *conn_by_id(uint64_t id);
/* Walk the client list under its lock. */
void conn_foreach(void (*fn)(client *c, void *ctx), void *ctx);
int conn_kill(uint64_t id, const char *addr, const char *laddr, int skipme, client *me);
void conn_shutdown_wait(int ms);
void conn_pool_drain(void);
void conn_timeout_sweep(void);            /* close clients idle past `timeout` (accept thread) */
/* For handlers whose reply grows with an argument, not with the data (the
 * repeats of SRANDMEMBER/ZRANDMEMBER/HRANDFIELD with a negative count):
 * true once the reply being built passes the client's output limit
 * (client-output-buffer-limit hard, or REPLY_CAP when that is 0); c is
 * then marked to close (its partial reply is dropped) and the handler
 * must stop producing. */
bool conn_reply_too_big(struct client *c);
#define REPLY_CAP (512LL * 1024 * 1024)
enum { CONN_WOKEN = 1, CONN_READABLE = 2, CONN_CLOSED = 3, CONN_TIMEOUT = 4 };
int conn_wake_init(client *c);            /* make c->wakefd; 0 or -1 */
void conn_wake(client *c);                /* any thread */
/* Appends bytes to c's async output from any thread and wakes c. Returns
 * false if c is closing. */
bool conn_push(client *c, const void *p, size_t n);
/* Same; returns the bytes now pending in c's async output, or -1 if c is
 * closing (nothing appended). */
long conn_push_n(client *c, const void *p, size_t n);
/* Appends without waking. reg: the caller's batch has not queued output
 * for c yet; it then owes c one conn_send_or_wake() at the end of its
 * batch (t_pubsub.c batches them). Returns as conn_push_n (-1: nothing
 * appended and nothing owed); with try, -2 (nothing done) when c's outlock
 * is busy. */
long conn_push_defer(client *c, const void *p, size_t n, bool reg, bool try);
/* The end of a batch that registered with conn_push_defer: unless other
 * batches that also queued output for c are still running (the last one
 * sends it all, unless SEND_CHUNK bytes are waiting), writes c's pending
 * async output to its socket from the calling thread when c's thread is
 * parked (what does not fit is left for it), else wakes c's thread. The
 * caller must keep c alive (t_pubsub.c: wake_refs). */
void conn_send_or_wake(client *c);
/* Owning thread: waits until woken, the socket is readable (or closed), or
 * the absolute deadline (ms, -1 none) passes. watch_socket=false ignores
 * the socket (a blocked client whose peer sent more requests). */
int conn_wait(client *c, int64_t deadline_ms, bool watch_socket);
bool conn_flush_async(client *c);         /* owning thread: write c->async */
/* Owning thread: moves what other threads queued in c->async to the end of
 * c->obuf, so that it goes out before the replies that follow (messages
 * published before a command ran precede its reply, as in Redis). */
void conn_take_async(client *c);
/* Per-feature client cleanup (weak hooks, called on disconnect and RESET). */
void multi_reset_client(client *c);
void pubsub_reset_client(client *c);
void block_reset_client(client *c);
/* After a command leaves c CLIENT_BLOCKED, conn.c calls this (block.c) to
 * wait and finish it; returns false if the connection must close. */
bool block_wait(client *c);
extern pthread_mutex_t conn_list_lock;

/* ------------------------------------------------------------------------
 * t_multi.c — MULTI/EXEC/DISCARD/WATCH/UNWATCH
 * WATCH is tracked per key in a table per shard, guarded by the shard's
 * lock; watch_key_written (above, from store_written) marks the watchers
 * of a written key dirty. */
bool multi_in_exec(struct client *c);     /* running queued commands (BLPOP: don't block) */
bool multi_is_exec(const command *cmd);
bool multi_queued_writes(struct client *c);  /* in MULTI with a write queued */
void multi_exec_abort(struct client *c, const char *why); /* EXECABORT ... because of: why */
bool multi_active(struct client *c);      /* between MULTI and EXEC/DISCARD */
/* Weak hooks (no-op defaults in t_multi.c) that the AOF defines to write a
 * transaction's records as one unit: called around EXEC's commands, with
 * all the transaction's shard locks held. */

/* ------------------------------------------------------------------------
 * t_pubsub.c — pub/sub registry and commands, keyspace notifications
 * Lock order: shard locks -> registry lock -> a subscriber's outlock. */
enum {
    NOTIFY_KEYSPACE = 1 << 0,  /* K */
    NOTIFY_KEYEVENT = 1 << 1,  /* E */
    NOTIFY_GENERIC = 1 << 2,   /* g */
    NOTIFY_STRING = 1 << 3,    /* $ */
    NOTIFY_LIST = 1 << 4,      /* l */
    NOTIFY_SET = 1 << 5,       /* s */
    NOTIFY_HASH = 1 << 6,      /* h */
    NOTIFY_ZSET = 1 << 7,      /* z */
    NOTIFY_EXPIRED = 1 << 8,   /* x */
    NOTIFY_EVICTED = 1 << 9,   /* e */
    NOTIFY_STREAM = 1 << 10,   /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m (not in A) */
    NOTIFY_LOADED = 1 << 12,   /* module only */
    NOTIFY_MODULE = 1 << 13,   /* d */
    NOTIFY_NEW = 1 << 14,      /* n (not in A) */
    NOTIFY_ALL = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH |
                 NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE,
};
/* Publishes __keyspace@<db>__:<key> / __keyevent@<db>__:<event> when the
 * notify-keyspace-events classes include type_flag. Any thread, shard locks
 * may be held. */
void notify_keyspace_event(int type_flag, const char *event, db *d, sv key);
/* event on key, then Redis's "del" if the write left the key empty */
void notify_write(int type_flag, const char *event, db *d, sv key);
int notify_flags_parse(const char *s);               /* -1: bad character */
void notify_flags_string(int flags, char *out);      /* out: >= 32 bytes */
void notify_set_flags(int flags);
/* Delivers msg to channel's subscribers (and matching patterns unless
 * shard); returns the receiver count. Never blocks on a subscriber. */
long pubsub_publish(sv channel, sv msg, bool sharded);
/* client-output-buffer-limit: validates value (classes not named keep
 * their limits), writes the full canonical text of all three classes to
 * canon and, with apply, installs it. 0, or -1 with err set. */
int pubsub_output_limit_config(const char *value, bool apply, char *canon, size_t canonlen, char *err,
                               size_t errlen);
void pubsub_counts(long *channels, long *patterns, long *shardchannels);
/* PUBLISH defers its subscribers' wake-ups to the end of the publisher's
 * batch of requests (one wake per subscriber per batch, not per message);
 * conn.c calls this before it writes, blocks or closes. */
void pubsub_flush_wakes(void);

/* ------------------------------------------------------------------------
 * listen.c — listeners, the accept thread, maxclients */
enum { LISTEN_RESP = 0, LISTEN_TEXT = 1 };
int listen_start(char *err, size_t errlen);
void listen_stop(void);
extern _Atomic long stat_rejected_conn;
struct sockaddr;
bool listen_peer_is_local(const struct sockaddr *sa);    /* unix, 127.0.0.1, ::1 (as Redis 7.0) */
bool listen_protected_denies(const struct sockaddr *sa); /* protected-mode refuses this peer */

/* ------------------------------------------------------------------------
 * config.c — the directive table: file, command line, CONFIG GET/SET */
typedef struct server_config {
    /* network */
    int port, text_port, tcp_backlog;
    char *bind;               /* space separated */
    char *unixsocket;
    int unixsocketperm;
    int maxclients;
    long long thread_stack_size;
    int timeout, tcp_keepalive;
    bool protected_mode;
    char *requirepass;
    /* limits */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    /* client-output-buffer-limit per class: [0] normal, [1] replica, [2] pubsub */
    long long obl_hard[3], obl_soft[3];
    int obl_secs[3];
    /* store */
    int shards, databases;
    int hz, active_expire_effort;
    /* files */
    char *dir, *dbfilename, *logfile, *pidfile, *config_file;
    int loglevel;
    bool daemonize;
    bool enable_debug_command;
    long long maxmemory;
    bool conn_thread_tcache;
    int conn_spin_us;         /* busy-poll before a blocking read; -1 auto */
    int conn_sched_batch;     /* SCHED_BATCH_*: when connection threads run SCHED_BATCH */
    bool shard_handoff;       /* a batch meeting a held shard lock goes to its holder (cmd.c) */
    /* encodings (t_hash.c, t_list.c) */
    long long hash_max_listpack_entries, hash_max_listpack_value;
    int list_max_listpack_size;
    /* introspection and supervision (ops) */
    long long slowlog_log_slower_than, slowlog_max_len;
    int supervised;           /* SUPERVISED_* */
    /* encodings of sets and sorted sets (t_set.c, t_zset.c), read with CFG() */
    long long set_max_intset_entries, set_max_listpack_entries, set_max_listpack_value;
    long long zset_max_listpack_entries, zset_max_listpack_value;
} server_config;
enum { SCHED_BATCH_NO = 0, SCHED_BATCH_YES = 1, SCHED_BATCH_PIPELINED = 2 };
enum { SUPERVISED_UPSTART = 0, SUPERVISED_SYSTEMD = 1, SUPERVISED_AUTO = 2, SUPERVISED_NO = 3 };

extern server_config cfg;
/* Values CONFIG SET may change while other threads run are read with this
 * (and written with __atomic_store_n by config.c). */
#define CFG(field) __atomic_load_n(&cfg.field, __ATOMIC_RELAXED)

int config_load_file(const char *path, char *err, size_t errlen);
int config_set_from_args(int argc, char **argv, int start, char *err, size_t errlen);
int config_set(const char *name, const char *value, char *err, size_t errlen, bool runtime);
void config_get(struct client *c, sv *pats, int npats);
int config_rewrite(char *err, size_t errlen);
void config_defaults(void);
const char *config_get_value(const char *name, buf *tmp);
/* weak hook: a directive changed (persist.c acts on appendonly, save...) */
int config_apply_hook(const char *name, char *err, size_t errlen);
int config_names(const char ***names);     /* every directive name */
void config_set_command(struct client *c); /* CONFIG SET n v [n v ...] */

/* ------------------------------------------------------------------------
 * log.c — levelled log lines */
enum { LL_DEBUG = 0, LL_VERBOSE = 1, LL_NOTICE = 2, LL_WARNING = 3 };
void log_open(void);
void log_reopen(void);
int log_check(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LL_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_msg(LL_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LL_WARNING, __VA_ARGS__)

/* ------------------------------------------------------------------------
 * t_admin.c — SLOWLOG and MONITOR (fed by slowlog_feed after each call) */
#define CLIENT_MONITOR (1 << 16)   /* receives every executed command */
void monitor_reset_client(struct client *c);   /* RESET */

/* ------------------------------------------------------------------------
 * supervise.c — systemd/upstart notification */
int supervise_mode(void);            /* SUPERVISED_SYSTEMD, _UPSTART or _NO */
const char *supervise_mode_name(void);
void supervise_notify(const char *msg); /* "READY=1", "STATUS=...", "STOPPING=1" */
void supervise_init(void);

/* ------------------------------------------------------------------------
 * server.c — process-wide state and statistics */
typedef struct server_state {
    int64_t start_ms;
    _Atomic bool shutting_down;
    _Atomic int shutdown_flags;       /* SHUTDOWN_* */
    _Atomic uint64_t stat_commands;
    _Atomic uint64_t stat_connections;
    _Atomic uint64_t stat_expired;
    _Atomic uint64_t stat_expire_cap_reached;
    _Atomic uint64_t stat_keyspace_hits, stat_keyspace_misses;
    _Atomic uint64_t stat_net_in, stat_net_out;
    _Atomic uint64_t stat_dirty;      /* changes since last save */
    _Atomic uint64_t stat_total_errors;
    _Atomic uint64_t stat_handoffs;   /* INFO shard_handoffs (cmd.c, delegation) */
    _Atomic bool loading;
    char runid[41];
    char executable[4096];
    int shard_bits;
} server_state;
extern server_state server;
#define SHUTDOWN_NOSAVE 1
#define SHUTDOWN_SAVE 2
void server_request_shutdown(int flags);
void server_info(struct client *c, sv *sections, int n);
void server_stat_error(const char *msg);   /* reply.c: every error reply */
void server_reset_stats(void);             /* CONFIG RESETSTAT */
size_t server_mem_allocated(void);
size_t server_rss(void);

/* ------------------------------------------------------------------------
 * persist.c / snapshot.c / aof.c — persistence (see doc/FORMAT.md)
 * persist.c: cached settings, the snapshot thread (save rules, SAVE,
 * BGSAVE, BGREWRITEAOF, shutdown), MISCONF, INFO persistence, fault
 * injection, start-up load, --check-* modes. snapshot.c: the binary
 * snapshot. aof.c: the append-only log, group commit, segments, replay. */

/* Little-endian field encoders shared by the file formats and by the
 * objtype save/load functions. Changing how any of them is used in a
 * writer changes that file format: bump its version. */
static inline void enc_u8(buf *b, uint8_t v) { buf_append(b, &v, 1); }
static inline void enc_u32(buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_append(b, t, 4);
}
static inline void enc_u64(buf *b, uint64_t v)
{
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
    buf_append(b, t, 8);
}
static inline void enc_varint(buf *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    buf_append(b, t, (size_t)n);
}
static inline uint32_t dec_u32(const char *p)
{
    const uint8_t *u = (const uint8_t *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}
static inline uint64_t dec_u64(const char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | (uint8_t)p[i];
    return v;
}
/* Reads a varint at *p (not past end); false when malformed or cut. */
static inline bool dec_varint(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t c = (uint8_t)*(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* persist.c */
enum { PFAULT_WRITE = 0, PFAULT_FSYNC = 1, PFAULT_RENAME = 2, PFAULT_NKINDS = 3 };
/* Fault injection (tests, and PERSIST-FAULT with enable-debug-command):
 * the nth call (1-based, counted from now) of that kind fails with
 * ENOSPC (write) or EIO (fsync, rename), and the `times - 1` after it too. */
void persist_fault_set(int kind, long nth, long times);
/* write(2) all of p (retrying short writes and EINTR), fsync, rename and
 * directory fsync, through the fault injector. 0 or -1 with errno. */
int persist_write_all(int fd, const void *p, size_t n);
size_t persist_write_partial(void); /* bytes the last persist_write_all wrote */
int persist_fsync(int fd);
int persist_rename(const char *from, const char *to);
int persist_fsync_dir(const char *dir);
/* cmd.c calls this before running a command: refuses writes (writes: cmd
 * writes, or an EXEC's queue does) with MISCONF while a save or AOF write
 * is failing: returns false with the error text in err. */
bool persist_write_allowed(struct client *c, struct command *cmd, bool writes, char *err, size_t errlen);
/* store.c hooks: every store_written (locks held), and store_unlock2 /
 * store_unlock_dbs just before they release (NOLOCK commands commit
 * their AOF unit there, while their shards are still locked). */
void persist_key_written(struct client *c, db *d, sv key);
void persist_unlocking(void);
extern _Atomic bool aof_on;          /* appendonly active: records are logged */

/* snapshot.c */
#define SNAP_VERSION 5 /* 2: set and sorted set values; 3: hash and list values; 4: the hash key in the header;
                        * 5: a sorted set's encoding */
#define SNAP_VERSION_MIN 4 /* the oldest version the loader reads */
typedef struct snap_info {
    uint32_t dbs, shards;       /* as written */
    uint32_t version;           /* the file's format version (reader) */
    uint64_t *marks;            /* [dbs * shards] last LSN per shard (malloc'd) */
    uint64_t lsn_start, lsn_end;/* global LSN when the snapshot began / ended */
    uint64_t aof_seq;           /* first AOF segment needed on top, 0 none */
    int64_t created_ms;
    uint64_t keys, expired, bytes;
    int64_t max_hold_us;        /* writer: longest time one shard was read-locked */
} snap_info;
enum { SNAP_LOAD = 0, SNAP_CHECK = 1, SNAP_LOAD_KEEP_EXPIRED = 2 };
/* Writes every database to path (temp file, fsync, rename, dir fsync).
 * Never leaves a partial file at path. With epoch set, fails (errno
 * EAGAIN) instead of renaming when *epoch moved meanwhile. 0, or -1 with
 * the reason. */
int snapshot_write(const char *path, uint64_t aof_seq, const _Atomic uint64_t *epoch, snap_info *out, char *err,
                   size_t errlen);
/* Loads (or, SNAP_CHECK, only verifies) path. Returns 0, 1 when the file
 * does not exist, -1 with "file 'x': <what> at offset N" in err. */
int snapshot_read(const char *path, int mode, snap_info *out, char *err, size_t errlen);
void snap_info_free(snap_info *si);
/* Takes the hash key stored in the snapshot at path (before any thread
 * hashes a key). Not used at start-up: kvd keeps a random key per process
 * (hash-flooding resistance); kept for tests and tools. Does nothing if
 * the file is missing or not a snapshot of this version. */
void snapshot_adopt_hash_key(const char *path);
/* store.c hooks for a shard being serialized in slices (s->snap set; the
 * caller holds s's write lock): a key was written, or the whole shard was
 * emptied or swapped (the snapshot of it is void and starts over). */
extern _Atomic int snap_slicing;   /* shards with s->snap set */
void snapshot_key_written(shard *s, sv key);
void snapshot_shard_replaced(shard *s);
/* Tests only: called between two slices of shard s, no lock held. */
extern void (*snapshot_between_slices)(shard *s);
/* Live progress of the running save, for INFO */
extern _Atomic uint64_t snap_keys_done;

/* aof.c */
/* Called in conn.c before replies go out: waits until this thread's
 * last AOF record is written (appendfsync always: and fsynced). */
void aof_wait_written(void);
/* At the end of a batch: instead of waiting, hands the reply p[0..len)
 * for socket fd to the group commit, which sends it once its records are
 * written (appendfsync always: synced); false when the thread should wait
 * and send it itself (already covered, or nobody else is writing: under
 * always the AOF thread is woken to write, under everysec or no a lone
 * write(2) is quicker done by the thread itself). */
bool aof_defer_reply(int fd, const char *p, size_t len);
/* The largest reply deferred: conn.c defers only into an empty socket,
 * which takes this much at once. */
#define AOF_DEFER_MAX 4096
/* Whether aof_defer_reply would likely take this thread's reply (a hint,
 * without locks: the caller checks its socket only then). */
bool aof_defer_likely(void);
bool aof_defer_pending(void);   /* this thread has a reply with the group commit */
/* Before this thread sends anything else on that socket or lets it go:
 * waits for the deferred reply (false: none) and gives what the socket
 * did not take then, for the caller to send. */
bool aof_defer_finish(const char **rest, size_t *restlen);
/* EXEC (t_multi.c) brackets a transaction with these, locks held, so its
 * commands form one unit: recovered whole or not at all. */
void aof_txn_begin(struct client *c);
void aof_txn_end(struct client *c);
void aof_wait_all(void);   /* waits for everything logged so far */
extern _Atomic int aof_fsync_mode;       /* 0 always, 1 everysec, 2 no */
extern _Atomic uint64_t whole_epoch;     /* bumped by FLUSHDB/FLUSHALL/SWAPDB */
extern _Atomic bool aof_write_failing;
extern _Atomic int aof_last_errno;
extern _Atomic uint64_t aof_bytes_since_base;
uint64_t aof_current_lsn(void);
uint64_t aof_current_seq(void);
uint64_t aof_stream_pos(void);
void aof_set_names(const char *dirname, const char *basename);
int aof_begin(bool keep_old, int64_t base_created, bool publish, char *err, size_t errlen);
int aof_publish(uint64_t seq, int64_t created, char *err, size_t errlen);
uint64_t aof_roll_begin(char *err, size_t errlen);   /* snapshot start: new segment */
void aof_roll_complete(uint64_t seq, int64_t created);/* snapshot done: drop older */
void aof_stop(void);
int aof_thread_start(void);
void aof_shutdown(void);
/* Replays the manifest's segments over the loaded snapshot (si, or NULL). */
int aof_replay(const snap_info *si, uint64_t *max_lsn, char *err, size_t errlen);
void aof_set_lsn(uint64_t max_lsn);
int aof_check_cli(const char *file, bool fix);

/* hz is taken from 0 up and used within 1..500, as Redis does */
static inline int cfg_hz_in_use(void) { return CFG(hz) < 1 ? 1 : CFG(hz) > 500 ? 500 : CFG(hz); }
static inline uint32_t store_shard_index(uint64_t h) { return (uint32_t)(h & ((uint64_t)cfg.shards - 1)); }

/* ------------------------------------------------------------------------
 * Per-thread statistics (cmd.c). A connection thread adds its counts here
 * and folds them into the shared atomics once per batch of requests
 * (cmd_stats_flush, called before replies are written) or when the command
 * changes, so a stream of requests does not bounce the shared counters'
 * cache lines between cores. On other threads (tl_stats.on false) the
 * helpers add to the atomics directly. */
typedef struct statacc {
    bool on;                /* this thread batches (connection threads) */
    command *cmd;           /* calls/usec below belong to this command */
    uint64_t calls, usec;
    uint64_t commands, dirty, hits, misses;
    uint64_t handoffs;      /* batches handed to a shard's lock holder */
    int64_t t_last;         /* monotonic us when the last command ended; 0 unknown */
} statacc;
extern _Thread_local statacc tl_stats;
void cmd_stats_flush(void);
/* The next command's duration starts at its own start (after a wait). */
static inline void cmd_clock_reset(void) { tl_stats.t_last = 0; }
static inline void stat_add_dirty(uint64_t n)
{
    if (tl_stats.on) tl_stats.dirty += n;
    else atomic_fetch_add_explicit(&server.stat_dirty, n, memory_order_relaxed);
}
static inline void stat_keyspace(bool hit)
{
    if (tl_stats.on) {
        if (hit) tl_stats.hits++;
        else tl_stats.misses++;
    } else {
        atomic_fetch_add_explicit(hit ? &server.stat_keyspace_hits : &server.stat_keyspace_misses, 1,
                                  memory_order_relaxed);
    }
}

/* Key hash memo (store.c): cmd.c hashes a command's keys to lock their
 * shards and records them here for the length of the call, so the store's
 * lookups of the same argument (same bytes at the same address) do not
 * hash again. Only argv views go in; cleared before the locks drop. */
void store_hash_memo(sv key, uint64_t h);
void store_hash_memo_clear(void);

#endif
