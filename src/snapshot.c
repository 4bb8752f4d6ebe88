/* snapshot.c — the binary snapshot: the writer (shard by shard under its
 * read lock, big shards in bounded slices), the loader and the checker. The
 * byte layout is documented in doc/FORMAT.md.
 *
 * Stalls. A writer waits only while the shard it writes is read-locked by
 * the snapshot thread. A shard of up to SLICE_ENTRIES (512) entries is
 * serialized in one go; a bigger one in slices of that many entries, with
 * the lock released between slices (see "slices" below for how the result
 * stays the exact state of the shard at its last slice, and why the AOF
 * marks stay right). With 10M keys in 64 shards (156K per shard) that is
 * ~300 slices per shard of ~0.1-0.3 ms each instead of one 20-30 ms hold; copy-on-
 * write was out of scope. Serialization itself is kept cheap: one pass over
 * the bucket array with the next buckets' entries prefetched, entries
 * encoded straight into one growing buffer per shard, big shards written
 * from that buffer with no copy, and the payload read once for the CRC (the
 * file's CRC takes it by util_crc64_combine).
 *
 * Loading. The process's hash key is random (hash-flooding resistance;
 * the snapshot's is not adopted), so keys scatter over the shards: every
 * table is sized once up front from the section counts (no rehash), and
 * entries are inserted in batches of LOAD_BATCH whose buckets and chain
 * heads are prefetched a pass ahead, so the cache misses overlap. When the
 * writer's hash key and shard count are ours (a reload in one process),
 * each section fills its own shard in bucket order under one lock.
 * Sections load in parallel, one thread per CPU (up to four); errors are
 * still reported as a front-to-back reader would meet them (see "parallel
 * load" below).
 *
 * CHANGING ANYTHING WRITTEN HERE CHANGES THE SNAPSHOT FORMAT: bump
 * SNAP_VERSION (kvd.h) and doc/FORMAT.md. The loader refuses versions it
 * does not know. */
#include "kvd.h"

/* dbs x shards in a snapshot header: 16M marks (128 MB) at most */
#define SNAP_MAX_MARKS (1ULL << 24)

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC "KVDSNAP\n"
#define SNAP_HDR_LEN 72
#define SEC_HDR_LEN 41
#define OP_SECTION 'S'
#define OP_END 'E'
#define ENT_HAS_EXPIRE 1
#define FLUSH_AT (4u << 20)
#define PREFETCH_AHEAD 12

_Atomic uint64_t snap_keys_done;

void snap_info_free(snap_info *si)
{
    free(si->marks);
    si->marks = NULL;
}

/* ---------------------------------------------------------------- writer */

typedef struct swriter {
    int fd;
    uint64_t crc;       /* of everything handed to out or written so far */
    uint64_t off;
    buf out;
} swriter;

static int sw_flush(swriter *w)
{
    if (!w->out.len) return 0;
    if (persist_write_all(w->fd, w->out.p, w->out.len) != 0) return -1;
    w->off += w->out.len;
    w->out.len = 0;
    return 0;
}

/* Appends bytes the file CRC has not seen yet. */
static void sw_add(swriter *w, const void *p, size_t n)
{
    w->crc = util_crc64(w->crc, p, n);
    buf_append(&w->out, p, n);
}

static inline char *put_varint(char *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (char)(v | 0x80);
        v >>= 7;
    }
    *q++ = (char)v;
    return q;
}

static inline char *put_u64(char *q, uint64_t v)
{
    for (int i = 0; i < 8; i++) q[i] = (char)(v >> (8 * i));
    return q + 8;
}

/* Appends one entry (layout in FORMAT.md). 0, or -1 with err when its
 * type has no snapshot encoding. */
static int emit_entry(entry *e, int64_t exp, buf *b, buf *tmp, char *err, size_t errlen)
{
    if (e->type == OBJ_STRING) {
        /* type, flags, expiry, two varints (<= 5 bytes each), bytes */
        buf_reserve(b, 2 + 8 + 10 + (size_t)e->klen + e->vlen);
        char *q = b->p + b->len;
        *q++ = (char)e->type;
        *q++ = (char)(exp >= 0 ? ENT_HAS_EXPIRE : 0);
        if (exp >= 0) q = put_u64(q, (uint64_t)exp);
        q = put_varint(q, e->klen);
        memcpy(q, ent_key(e), e->klen);
        q += e->klen;
        q = put_varint(q, e->vlen);
        memcpy(q, ent_val(e), e->vlen);
        q += e->vlen;
        b->len = (size_t)(q - b->p);
        return 0;
    }
    const objtype *t = e->type < OBJ_NTYPES ? obj_types[e->type] : NULL;
    if (!t || !t->save) {
        snprintf(err, errlen, "cannot save key '%.*s': type %s has no snapshot encoding",
                 (int)(e->klen > 64 ? 64 : e->klen), ent_key(e), obj_type_name(e->type));
        return -1;
    }
    enc_u8(b, e->type);
    enc_u8(b, exp >= 0 ? ENT_HAS_EXPIRE : 0);
    if (exp >= 0) enc_u64(b, (uint64_t)exp);
    enc_varint(b, e->klen);
    buf_append(b, ent_key(e), e->klen);
    tmp->len = 0;
    t->save(tmp, ent_ptr(e));
    enc_varint(b, tmp->len);
    buf_append(b, tmp->p, tmp->len);
    return 0;
}

/* Serializes the live entries of buckets [*pos, ...) of s into b, stopping
 * after the bucket where `budget` entries have been visited; *pos becomes
 * the next bucket. Caller holds s's read lock. Returns the number of
 * entries written, or -1 with err. The walk is bound by cache misses on
 * the entries (scattered in memory): the heads of the buckets a few slots
 * ahead are prefetched so that the misses overlap. */
static long long serialize_range(shard *s, uint64_t *pos, uint64_t budget, int64_t now, buf *b, buf *tmp,
                                 char *err, size_t errlen)
{
    long long n = 0;
    uint64_t seen = 0;
    entry **tab = s->table;
    uint64_t size = s->size, i = *pos;
    for (; i < size && seen < budget; i++) {
        if (i + PREFETCH_AHEAD < size) {
            entry *f = tab[i + PREFETCH_AHEAD];
            if (f) __builtin_prefetch(f);
        }
        for (entry *e = tab[i]; e; e = e->next) {
            if (e->next) __builtin_prefetch(e->next);
            seen++;
            int64_t exp = ent_expire(e);
            if (exp >= 0 && exp <= now) continue; /* already dead: not worth a byte */
            if (emit_entry(e, exp, b, tmp, err, errlen) != 0) return -1;
            n++;
        }
    }
    *pos = i;
    return n;
}

/* ---------------------------------------------------------------- slices */

/* A shard bigger than SLICE_ENTRIES is serialized in slices of about that
 * many entries, its read lock released between them, so that a writer
 * waits for one slice, never for the whole shard. Small slices, because
 * the CPU-bound snapshot thread is the one the scheduler preempts first
 * when its load wakes connection threads, and preempted with the lock
 * held it makes every writer of the shard wait with it: at 10M keys under
 * a SET load the longest hold was 3.5-26 ms with slices of 8192, 4.5-11
 * with 2048, 2.1-4.3 with 512. (Raising its priority while it holds a lock
 * shortened the holds further but made it take a CPU from the connection
 * threads: clients' max latency went up.) While it is sliced
 * (s->snap set):
 *  - its table neither grows nor shrinks (store.c), so every key keeps its
 *    bucket and the bucket cursor stays meaningful;
 *  - every key written in it is noted (store_written -> snapshot_key_written,
 *    under the write lock);
 *  - FLUSHDB / SWAPDB on it void the snapshot (snapshot_shard_replaced),
 *    which starts over.
 * The last slice, under the lock, re-emits every noted key that lies in a
 * bucket an earlier slice already passed: its current entry, or a
 * tombstone if it is gone. The loader applies records in order (a later
 * record for a key replaces an earlier one; a tombstone deletes it), so
 * the section loads as the shard was at the last slice, exactly; the mark
 * (s->lsn) is read then too, so the AOF replay's "LSN above the mark"
 * rule holds as for a shard serialized in one go. */
#define SLICE_ENTRIES 512
#define TOMBSTONE 0xff /* entry type: the key is deleted */

struct snapslice {
    buf keys;   /* varint length + bytes, per write noted */
    bool broken;
};

_Atomic int snap_slicing;
void (*snapshot_between_slices)(shard *s);

void snapshot_key_written(shard *s, sv key)
{
    enc_varint(&s->snap->keys, key.n);
    buf_append(&s->snap->keys, key.p, key.n);
}

void snapshot_shard_replaced(shard *s) { s->snap->broken = true; }

/* Serializes shard s into b: in one go under the read lock when it is
 * small, else in slices (above). Returns the entry count (tombstones
 * included), -1 with err (errno EAGAIN: the shard was flushed or swapped
 * meanwhile: start over). *mark gets the shard's LSN at the end, *held the
 * longest time the lock was held. */
static long long serialize_shard(shard *s, int64_t now, buf *b, buf *tmp, uint64_t *mark, int64_t *held,
                                 char *err, size_t errlen)
{
    struct snapslice sl = {.broken = false};
    buf_init_static(&sl.keys, NULL, 0);
    uint64_t pos = 0, last_start = 0;
    long long n = 0;
    bool sliced = false;
    for (;;) {
        shard_rdlock(s);
        int64_t t0 = util_monotonic_us();
        if (sl.broken) {
            s->snap = NULL;
            shard_unlock(s);
            atomic_fetch_sub(&snap_slicing, 1);
            buf_free(&sl.keys);
            snprintf(err, errlen, "a whole database changed during the snapshot");
            errno = EAGAIN;
            return -1;
        }
        last_start = pos;
        long long k = serialize_range(s, &pos, SLICE_ENTRIES, now, b, tmp, err, errlen);
        bool done = k < 0 || pos >= s->size;
        if (done) {
            if (sliced && k >= 0) {
                /* the keys written since the first slice in buckets already
                 * passed, each once (a hot key may have been noted often) */
                size_t nk = 0;
                for (const char *p = sl.keys.p, *end = p + sl.keys.len; p < end; nk++) {
                    uint64_t kl = 0;
                    dec_varint(&p, end, &kl);
                    p += kl;
                }
                size_t cap = 16;
                while (cap < 2 * nk) cap *= 2;
                const char **seen = calloc(cap, sizeof *seen); /* key records, open addressing */
                if (!seen) abort();
                const char *p = sl.keys.p, *end = sl.keys.p + sl.keys.len;
                while (p < end) {
                    const char *rec = p;
                    uint64_t kl = 0;
                    dec_varint(&p, end, &kl);
                    sv key = {p, (size_t)kl};
                    p += kl;
                    uint64_t h = store_hash(key);
                    if ((((uint32_t)(h >> 32)) & (s->size - 1)) >= last_start) continue;
                    size_t slot = (size_t)h & (cap - 1);
                    bool dup = false;
                    for (; seen[slot]; slot = (slot + 1) & (cap - 1)) {
                        const char *q = seen[slot];
                        uint64_t ql = 0;
                        dec_varint(&q, end, &ql);
                        if (ql == kl && memcmp(q, key.p, kl) == 0) {
                            dup = true;
                            break;
                        }
                    }
                    if (dup) continue;
                    seen[slot] = rec;
                    entry *e = store_find(s, key, h);
                    int64_t exp = e ? ent_expire(e) : -1;
                    if (e && !(exp >= 0 && exp <= now)) {
                        if (emit_entry(e, exp, b, tmp, err, errlen) != 0) {
                            k = -1;
                            break;
                        }
                    } else {
                        buf_reserve(b, 2 + 10 + key.n + 1);
                        b->p[b->len++] = (char)TOMBSTONE;
                        b->p[b->len++] = 0;
                        enc_varint(b, key.n);
                        buf_append(b, key.p, key.n);
                        enc_varint(b, 0);
                    }
                    k++;
                }
                free(seen);
            }
            *mark = s->lsn;
            if (sliced) s->snap = NULL;
        } else if (!sliced) {
            sliced = true;
            atomic_fetch_add(&snap_slicing, 1);
            s->snap = &sl;
        }
        int64_t dt = util_monotonic_us() - t0;
        shard_unlock(s);
        if (dt > *held) *held = dt;
        if (k < 0) {
            n = -1;
            break;
        }
        n += k;
        if (done) break;
        if (snapshot_between_slices) snapshot_between_slices(s);
    }
    if (sliced) atomic_fetch_sub(&snap_slicing, 1);
    buf_free(&sl.keys);
    return n;
}

int snapshot_write(const char *path, uint64_t aof_seq, const _Atomic uint64_t *epoch, snap_info *out, char *err,
                   size_t errlen)
{
    char tmppath[4096];
    static _Atomic unsigned seq;
    snprintf(tmppath, sizeof tmppath, "%s.tmp-%d-%u", path, (int)getpid(), atomic_fetch_add(&seq, 1));
    int fd = open(tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create temp file '%s': %s", tmppath, strerror(errno));
        return -1;
    }
    swriter w = {fd, 0, 0, {0}};
    buf_init_static(&w.out, NULL, 0);
    buf sb, tmp;
    buf_init_static(&sb, NULL, 0);
    buf_init_static(&tmp, NULL, 0);
    uint32_t dbs = (uint32_t)cfg.databases, shards = (uint32_t)cfg.shards;
    uint64_t *marks = calloc((size_t)dbs * shards, sizeof(uint64_t));
    if (!marks) abort();
    int64_t created = util_mstime();
    uint64_t lsn_start = aof_current_lsn();
    uint64_t total = 0;
    int rc = -1;
    uint64_t epoch0 = epoch ? atomic_load(epoch) : 0;
    int64_t max_hold = 0;
    atomic_store(&snap_keys_done, 0);

    /* header: magic, version, flags, dbs, shards, created, aof_seq,
     * lsn_start, hash key, reserved */
    {
        char hdr[SNAP_HDR_LEN];
        buf hb;
        buf_init_static(&hb, hdr, sizeof hdr);
        buf_append(&hb, SNAP_MAGIC, 8);
        enc_u32(&hb, SNAP_VERSION);
        enc_u32(&hb, 0);
        enc_u32(&hb, dbs);
        enc_u32(&hb, shards);
        enc_u64(&hb, (uint64_t)created);
        enc_u64(&hb, aof_seq);
        enc_u64(&hb, lsn_start);
        uint8_t key[16];
        util_hash_key(key);
        buf_append(&hb, key, 16);
        enc_u64(&hb, 0);
        sw_add(&w, hdr, SNAP_HDR_LEN);
    }

    for (uint32_t d = 0; d < dbs; d++) {
        for (uint32_t i = 0; i < shards; i++) {
            shard *s = &server_dbs[d].shards[i];
            sb.len = 0;
            int64_t now = util_mstime();
            uint64_t mark = 0;
            long long n = serialize_shard(s, now, &sb, &tmp, &mark, &max_hold, err, errlen);
            if (n < 0) goto fail;
            marks[(size_t)d * shards + i] = mark;
            if (n == 0 && mark == 0) continue; /* nothing to say about this shard */
            /* the payload is read once, for its section CRC; the file CRC
             * takes it in by combination */
            uint64_t scrc = util_crc64(0, sb.p, sb.len);
            char sh[SEC_HDR_LEN];
            buf hb;
            buf_init_static(&hb, sh, sizeof sh);
            enc_u8(&hb, OP_SECTION);
            enc_u32(&hb, d);
            enc_u32(&hb, i);
            enc_u64(&hb, mark);
            enc_u64(&hb, (uint64_t)n);
            enc_u64(&hb, sb.len);
            enc_u64(&hb, scrc);
            sw_add(&w, sh, SEC_HDR_LEN);
            w.crc = util_crc64_combine(w.crc, scrc, sb.len);
            if (w.out.len + sb.len < FLUSH_AT) {
                buf_append(&w.out, sb.p, sb.len); /* small sections share a write */
            } else {
                /* a big section goes out from its own buffer: no copy */
                if (sw_flush(&w) != 0 || persist_write_all(fd, sb.p, sb.len) != 0) goto ioerr;
                w.off += sb.len;
            }
            total += (uint64_t)n;
            atomic_store_explicit(&snap_keys_done, total, memory_order_relaxed);
            if (w.out.len >= FLUSH_AT && sw_flush(&w) != 0) goto ioerr;
            if (sb.cap > (64u << 20)) buf_free(&sb); /* don't keep a huge buffer */
        }
    }
    {
        char tail[9];
        buf hb;
        buf_init_static(&hb, tail, sizeof tail);
        enc_u8(&hb, OP_END);
        enc_u64(&hb, total);
        sw_add(&w, tail, sizeof tail);
    }
    enc_u64(&w.out, w.crc);
    if (sw_flush(&w) != 0) goto ioerr;
    if (persist_fsync(fd) != 0) goto ioerr;
    if (close(fd) != 0) {
        fd = -1;
        goto ioerr;
    }
    fd = -1;
    if (epoch && atomic_load(epoch) != epoch0) {
        /* a FLUSHDB/FLUSHALL/SWAPDB ran while we visited the shards: the
         * marks would not describe one state of each database */
        snprintf(err, errlen, "a whole database changed during the snapshot");
        errno = EAGAIN;
        goto fail;
    }
    if (persist_rename(tmppath, path) != 0) {
        snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmppath, path, strerror(errno));
        goto fail;
    }
    {
        char dirbuf[4096];
        snprintf(dirbuf, sizeof dirbuf, "%s", path);
        char *slash = strrchr(dirbuf, '/');
        if (slash) *slash = '\0';
        if (persist_fsync_dir(slash ? dirbuf : ".") != 0) {
            /* the new file is in place; only its durability is in doubt */
            snprintf(err, errlen, "cannot fsync the directory of '%s': %s", path, strerror(errno));
            free(marks);
            marks = NULL;
            goto out;
        }
    }
    rc = 0;
    if (out) {
        memset(out, 0, sizeof *out);
        out->dbs = dbs;
        out->shards = shards;
        out->marks = marks;
        marks = NULL;
        out->lsn_start = lsn_start;
        out->lsn_end = aof_current_lsn();
        out->aof_seq = aof_seq;
        out->created_ms = created;
        out->keys = total;
        out->bytes = w.off;
        out->max_hold_us = max_hold;
    }
    goto out;
ioerr:
    snprintf(err, errlen, "error writing '%s': %s", tmppath, strerror(errno));
fail:
    if (fd >= 0) close(fd);
    unlink(tmppath);
out:
    free(marks);
    buf_free(&w.out);
    buf_free(&sb);
    buf_free(&tmp);
    return rc;
}

/* ---------------------------------------------------------------- reader */

void snapshot_adopt_hash_key(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char h[SNAP_HDR_LEN];
    ssize_t n = pread(fd, h, sizeof h, 0);
    close(fd);
    if (n != (ssize_t)sizeof h || memcmp(h, SNAP_MAGIC, 8) != 0 || dec_u32(h + 8) < SNAP_VERSION_MIN ||
        dec_u32(h + 8) > SNAP_VERSION)
        return;
    util_hash_seed((const uint8_t *)h + 48);
}

typedef struct sreader {
    const char *path;
    const char *base, *end;
    char *err;
    size_t errlen;
    bool same_layout;   /* the writer's hash key and shard count are ours */
    uint64_t tombstones;
    struct pending *batch; /* [LOAD_BATCH] entries parsed, not inserted yet */
    int nbatch;
    const char *err_at;    /* where the error in err is */
    int w, nth;            /* this loader is number w of nth: it inserts only
                              the keys of the shards whose index % nth == w */
} sreader;

#define LOAD_BATCH 32
typedef struct pending {
    sv key, val;
    uint64_t h;
    shard *s;
    void *v;
    int64_t exp;
    int type;
} pending;

/* Inserts the batched entries. Their buckets were prefetched when they were
 * parsed; the head entries are prefetched here a pass ahead. The tables are
 * read without their locks only here, by the one loading thread that owns
 * (writes) them during the load. */
static void flush_batch(sreader *r, db *d)
{
    for (int i = 0; i < r->nbatch; i++) {
        pending *q = &r->batch[i];
        entry *hd = q->s->table ? q->s->table[(uint32_t)(q->h >> 32) & (q->s->size - 1)] : NULL;
        if (hd) __builtin_prefetch(hd);
    }
    for (int i = 0; i < r->nbatch; i++) {
        pending *q = &r->batch[i];
        shard_wrlock(q->s);
        if (q->type == OBJ_STRING) store_set_string(d, q->key, q->val, q->exp, false);
        else store_add_ptr(d, q->key, q->type, q->v, q->exp);
        shard_unlock(q->s);
    }
    r->nbatch = 0;
}

static int bad(sreader *r, const char *at, const char *what)
{
    r->err_at = at;
    snprintf(r->err, r->errlen, "snapshot '%s': %s at offset %lld", r->path, what, (long long)(at - r->base));
    return -1;
}

static int read_entries_locked(sreader *r, const char *p, const char *end, db *d, shard *own, uint64_t *held,
                               uint64_t count, int mode, int64_t now, snap_info *si);

/* Parses the entries of one section payload [p, end): inserts them (load
 * modes) or only checks them. */
static int read_entries(sreader *r, const char *p, const char *end, uint32_t dbid, uint32_t sid, uint64_t count,
                        int mode, int64_t now, snap_info *si)
{
    db *d = mode != SNAP_CHECK ? &server_dbs[dbid] : NULL;
    /* Same hash key and shard count as the writer: the section's keys all
     * belong to shard sid and come in its bucket order, so the table is
     * sized once and filled front to back (cache-friendly), under one lock
     * taken per batch instead of per key. */
    shard *own = d && r->same_layout ? &d->shards[sid] : NULL;
    uint64_t held = 0;
    if (own) {
        shard_wrlock(own);
        store_reserve(own, own->count + count);
    }
    int rc = read_entries_locked(r, p, end, d, own, &held, count, mode, now, si);
    if (own) shard_unlock(own);
    return rc;
}

static int read_entries_locked(sreader *r, const char *p, const char *end, db *d, shard *own, uint64_t *held,
                               uint64_t count, int mode, int64_t now, snap_info *si)
{
    for (uint64_t k = 0; k < count; k++) {
        const char *start = p;
        if (end - p < 2) return bad(r, start, "entry cut short");
        uint8_t type = (uint8_t)p[0], flags = (uint8_t)p[1];
        p += 2;
        if (type == TOMBSTONE) {
            /* a key deleted while its shard was saved in slices */
            uint64_t klen, vlen;
            if (flags) return bad(r, start, "unknown entry flags");
            if (!dec_varint(&p, end, &klen) || klen > (uint64_t)(end - p)) return bad(r, start, "bad key length");
            sv key = {p, (size_t)klen};
            p += klen;
            if (!dec_varint(&p, end, &vlen) || vlen != 0) return bad(r, start, "bad value length");
            if (mode == SNAP_CHECK) {
                r->tombstones++;
                continue;
            }
            shard *s = store_shard_of(d, key);
            if (own && s != own) return bad(r, start, "key in another shard's section");
            if (s->id % (uint32_t)r->nth != (uint32_t)r->w) continue; /* another loader's */
            r->tombstones++;
            flush_batch(r, d); /* records apply in order */
            if (!own) shard_wrlock(s);
            entry *e = store_find(s, key, store_hash(key));
            if (e) store_delete_entry(s, e);
            if (!own) shard_unlock(s);
            continue;
        }
        if (type >= OBJ_NTYPES) return bad(r, start, "unknown value type");
        if (flags & ~ENT_HAS_EXPIRE) return bad(r, start, "unknown entry flags");
        int64_t exp = -1;
        if (flags & ENT_HAS_EXPIRE) {
            if (end - p < 8) return bad(r, start, "entry cut short");
            exp = (int64_t)dec_u64(p);
            p += 8;
            if (exp < 0) return bad(r, start, "negative expiry");
        }
        uint64_t klen, vlen;
        if (!dec_varint(&p, end, &klen) || klen > (uint64_t)(end - p)) return bad(r, start, "bad key length");
        sv key = {p, (size_t)klen};
        p += klen;
        if (!dec_varint(&p, end, &vlen) || vlen > (uint64_t)(end - p)) return bad(r, start, "bad value length");
        const char *val = p;
        p += vlen;
        if (klen > UINT32_MAX || (type == OBJ_STRING && vlen > UINT32_MAX)) return bad(r, start, "value too large");
        const objtype *t = type != OBJ_STRING ? obj_types[type] : NULL;
        if (type != OBJ_STRING && (!t || !t->load)) {
            char why[128];
            snprintf(why, sizeof why, "value of type %d (%s) that this build cannot load", type,
                     obj_type_name(type));
            return bad(r, start, why);
        }
        bool dead = exp >= 0 && exp <= now;
        if (mode == SNAP_CHECK) {
            if (dead) si->expired++;
            else si->keys++;
            if (t) {
                const char *why = NULL;
                void *v = t->load(val, vlen, &why);
                if (!v) return bad(r, start, why ? why : "malformed value");
                t->free(v);
            }
            continue;
        }
        if (dead && mode == SNAP_LOAD) {
            /* counted once: by the section's only loader when it fills its
             * own shard, else by loader 0 (every loader sees every key) */
            if (own || r->w == 0) si->expired++;
            continue;
        }
        uint64_t h = store_hash(key);
        shard *s = &d->shards[store_shard_index(h)];
        if (own && s != own) return bad(r, start, "key in another shard's section");
        if (s->id % (uint32_t)r->nth != (uint32_t)r->w) continue; /* another loader's */
        if (dead) si->expired++;
        else si->keys++;
        void *v = NULL;
        if (type != OBJ_STRING) {
            const char *why = NULL;
            v = t->load(val, vlen, &why);
            if (!v) return bad(r, start, why ? why : "malformed value");
        }
        if (!own) {
            /* keys scatter over the shards: batch them, so the cache misses
             * on their buckets overlap (prefetched a batch ahead) */
            pending *q = &r->batch[r->nbatch++];
            *q = (pending){key, {val, (size_t)vlen}, h, s, v, exp, type};
            if (s->table) __builtin_prefetch(&s->table[(uint32_t)(h >> 32) & (s->size - 1)]);
            if (r->nbatch == LOAD_BATCH) flush_batch(r, d);
            continue;
        }
        if (!own) shard_wrlock(s);
        else if (++*held % 4096 == 0) { /* let a waiting reader (INFO...) in now and then */
            shard_unlock(own);
            shard_wrlock(own);
        }
        if (type == OBJ_STRING) store_set_string(d, key, (sv){val, (size_t)vlen}, exp, false);
        else store_add_ptr(d, key, type, v, exp);
        if (!own) shard_unlock(s);
    }
    flush_batch(r, d);
    if (p != end) return bad(r, p, "section length does not match its entries");
    return 0;
}

/* Keys written under another hash key scatter over our shards: sizes
 * every shard's table once, from the section counts of its database (a hop
 * over the section headers), so the load never rehashes. The counts are
 * not checked yet: each is capped by its section's length, so a damaged
 * one costs at most a table of the file's size. */
static void presize(const char *p, const char *end)
{
    uint64_t *per_db = calloc((size_t)cfg.databases, sizeof *per_db);
    if (!per_db) abort();
    while (end - p >= SEC_HDR_LEN && *p == OP_SECTION) {
        uint32_t dbid = dec_u32(p + 1);
        uint64_t count = dec_u64(p + 17), len = dec_u64(p + 25);
        if (len > (uint64_t)(end - p - SEC_HDR_LEN)) break;
        if (dbid < (uint32_t)cfg.databases) per_db[dbid] += count < len / 4 ? count : len / 4;
        p += SEC_HDR_LEN + len;
    }
    for (int d = 0; d < cfg.databases; d++) {
        if (!per_db[d]) continue;
        uint64_t each = per_db[d] / (uint64_t)cfg.shards;
        each += each / 8 + 8; /* keys do not spread evenly */
        for (int i = 0; i < cfg.shards; i++) {
            shard *s = &server_dbs[d].shards[i];
            shard_wrlock(s);
            store_reserve(s, s->count + each);
            shard_unlock(s);
        }
    }
    free(per_db);
}

/* ---------------------------------------------------------------- parallel load
 *
 * Up to LOAD_THREADS_MAX threads load (one per CPU; the caller is one of
 * them), in two passes after the main thread has walked the section
 * headers (a hop over each payload) and checked their framing:
 *   1. CRCs: the threads take sections from a shared counter and check each
 *      payload's CRC, so nothing is parsed from a damaged section;
 *   2. keys: every thread parses every section but inserts only the keys
 *      that hash to the shards it owns (index % threads). A shard is
 *      written by one thread only, so records for one key still apply in
 *      file order (tombstones and repeats of sliced shards), and that
 *      thread may prefetch its tables' buckets without their locks; it
 *      still takes each shard's lock to insert, for the readers (INFO).
 *      Parsing and hashing are repeated per thread; the inserts, where the
 *      time goes (allocation and cache misses), are split.
 * The file's CRC is folded from the section CRCs in file order afterwards
 * (util_crc64_combine), so the file is checksummed once.
 *
 * Errors stay those of a front-to-back reader: every error is tied to its
 * offset and the one reported is the lowest, which is the first a
 * sequential reader meets (a section's errors lie inside it; the header
 * walk stops at the first bad header). Sections after a known error are
 * skipped. --check-snapshot (SNAP_CHECK) runs the same code in one thread. */
#define LOAD_THREADS_MAX 4

typedef struct secref {
    const char *hdr;
    uint32_t dbid, sid;
    uint64_t count, len, scrc, pcrc;
} secref;

typedef struct loadjob {
    sreader proto;              /* path, base, end, same_layout */
    secref *secs;
    size_t nsecs;
    int mode, nth;
    int64_t now;
    _Atomic size_t next;        /* pass 1: next section to check */
    _Atomic uint64_t keys_done;
    _Atomic uintptr_t fail_at;  /* lowest error offset so far (+1), 0 none */
    pthread_mutex_t mu;         /* guards the fields below */
    const char *err_at;
    char err[512];
    uint64_t keys, expired, tombstones;
} loadjob;

typedef struct loadarg {
    loadjob *j;
    int w;
    bool pass2;
} loadarg;

static void job_error(loadjob *j, const char *at, const char *msg)
{
    pthread_mutex_lock(&j->mu);
    if (!j->err_at || at < j->err_at) {
        j->err_at = at;
        snprintf(j->err, sizeof j->err, "%s", msg);
        atomic_store(&j->fail_at, (uintptr_t)(at - j->proto.base) + 1);
    }
    pthread_mutex_unlock(&j->mu);
}

static bool after_error(loadjob *j, const secref *sr)
{
    uintptr_t fail = atomic_load(&j->fail_at);
    return fail && (uintptr_t)(sr->hdr - j->proto.base) + 1 > fail;
}

/* Pass 1: checks section CRCs until none is left. */
static void check_sections(loadjob *j)
{
    char err[512];
    sreader r = j->proto;
    r.err = err;
    r.errlen = sizeof err;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->nsecs) break;
        secref *sr = &j->secs[i];
        if (after_error(j, sr)) continue;
        sr->pcrc = util_crc64(0, sr->hdr + SEC_HDR_LEN, sr->len);
        if (sr->pcrc != sr->scrc) {
            bad(&r, sr->hdr, "checksum mismatch in section");
            job_error(j, r.err_at, err);
        }
    }
}

/* Pass 2: loader w of nth parses every section, inserting its shards'
 * keys; loader 0 logs the progress. */
static void load_sections(loadjob *j, int w)
{
    pending batch[LOAD_BATCH];
    char err[512];
    sreader r = j->proto;
    r.batch = batch;
    r.nbatch = 0;
    r.err = err;
    r.errlen = sizeof err;
    r.tombstones = 0;
    r.w = w;
    r.nth = j->nth;
    snap_info si;
    memset(&si, 0, sizeof si);
    int64_t last_log = util_monotonic_us();
    size_t total = (size_t)(j->proto.end - j->proto.base);
    for (size_t i = 0; i < j->nsecs; i++) {
        secref *sr = &j->secs[i];
        if (after_error(j, sr)) break;
        /* same layout: a section is its own shard's, whole */
        if (r.same_layout && sr->sid % (uint32_t)j->nth != (uint32_t)w) continue;
        const char *payload = sr->hdr + SEC_HDR_LEN, *pend = payload + sr->len;
        uint64_t before = si.keys;
        if (read_entries(&r, payload, pend, sr->dbid, sr->sid, sr->count, j->mode, j->now, &si) != 0) {
            for (int k = 0; k < r.nbatch; k++) /* parsed before the damaged record: never inserted */
                if (r.batch[k].v) obj_types[r.batch[k].type]->free(r.batch[k].v);
            r.nbatch = 0;
            job_error(j, r.err_at, err);
            break;
        }
        atomic_fetch_add_explicit(&j->keys_done, si.keys - before, memory_order_relaxed);
        if (w == 0 && j->mode != SNAP_CHECK && util_monotonic_us() - last_log > 1000000) {
            last_log = util_monotonic_us();
            log_notice("loading: %d%% (%.1fM keys)", (int)((pend - j->proto.base) * 100 / (long long)total),
                       (double)atomic_load_explicit(&j->keys_done, memory_order_relaxed) / 1e6);
        }
    }
    pthread_mutex_lock(&j->mu);
    j->keys += si.keys;
    j->expired += si.expired;
    j->tombstones += r.tombstones;
    pthread_mutex_unlock(&j->mu);
}

static void *load_worker(void *arg)
{
    loadarg *a = arg;
    if (a->pass2) load_sections(a->j, a->w);
    else check_sections(a->j);
    return NULL;
}

/* Runs one pass in j->nth threads, the caller being number 0. */
static void run_pass(loadjob *j, bool pass2)
{
    pthread_t tids[LOAD_THREADS_MAX];
    loadarg args[LOAD_THREADS_MAX];
    int started = 0, w;
    for (w = 1; w < j->nth; w++) {
        args[w] = (loadarg){j, w, pass2};
        if (pthread_create(&tids[w], NULL, load_worker, &args[w]) != 0) break;
        started++;
    }
    if (started + 1 < j->nth) {
        /* could not start them all: the missing loaders' shards are done
         * here, in turn (pass 1 shares its work by itself) */
        for (w = started + 1; pass2 && w < j->nth; w++) load_sections(j, w);
    }
    args[0] = (loadarg){j, 0, pass2};
    load_worker(&args[0]);
    for (w = 1; w <= started; w++) pthread_join(tids[w], NULL);
}

static int load_threads(int mode, size_t nsecs)
{
    if (mode == SNAP_CHECK || nsecs < 2) return 1;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > LOAD_THREADS_MAX) n = LOAD_THREADS_MAX;
    return (int)n;
}

int snapshot_read(const char *path, int mode, snap_info *si, char *err, size_t errlen)
{
    memset(si, 0, sizeof *si);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "cannot open snapshot '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat snapshot '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    const char *base = NULL;
    if (size > 0) {
        base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base == MAP_FAILED) {
            snprintf(err, errlen, "cannot map snapshot '%s': %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        madvise((void *)base, size, MADV_SEQUENTIAL);
    }
    close(fd);
    if (size == 0) base = ""; /* an empty file: offsets from a real pointer, no NULL + 0 (fuzz_snapshot) */
    sreader r = {path, base, base + size, err, errlen, false, 0, NULL, 0, NULL, 0, 1};
    int rc = -1;
    const char *p = base;
    secref *secs = NULL;
    size_t nsecs = 0, capsecs = 0;
    const char *end_marker = NULL;
    loadjob *j = NULL;

    if (size < SNAP_HDR_LEN) {
        if (size >= 8 && memcmp(base, SNAP_MAGIC, 8) != 0) bad(&r, base, "not a kvd snapshot (bad magic)");
        else bad(&r, base + size, "file too short for a header");
        goto out;
    }
    if (memcmp(base, SNAP_MAGIC, 8) != 0) {
        bad(&r, base, "not a kvd snapshot (bad magic)");
        goto out;
    }
    uint32_t version = dec_u32(base + 8);
    if (version < SNAP_VERSION_MIN || version > SNAP_VERSION) {
        char why[96];
        snprintf(why, sizeof why, "unknown format version %u (this kvd reads versions %d to %d)", version,
                 SNAP_VERSION_MIN, SNAP_VERSION);
        bad(&r, base + 8, why);
        goto out;
    }
    if (dec_u32(base + 12) != 0) {
        bad(&r, base + 12, "unknown header flags");
        goto out;
    }
    si->version = version;
    si->dbs = dec_u32(base + 16);
    si->shards = dec_u32(base + 20);
    si->created_ms = (int64_t)dec_u64(base + 24);
    si->aof_seq = dec_u64(base + 32);
    si->lsn_start = dec_u64(base + 40);
    {
        uint8_t key[16];
        util_hash_key(key);
        r.same_layout = memcmp(key, base + 48, 16) == 0 && si->shards == (uint32_t)cfg.shards;
    }
    /* the marks table below is dbs x shards: a few header bytes must not
     * make us allocate gigabytes (found by fuzz_snapshot) */
    if (si->shards == 0 || si->shards > 65536 || si->dbs == 0 || si->dbs > 1000000 ||
        (uint64_t)si->dbs * si->shards > SNAP_MAX_MARKS) {
        bad(&r, base + 16, "implausible database or shard count");
        goto out;
    }
    si->marks = calloc((size_t)si->dbs * si->shards, sizeof(uint64_t));
    if (!si->marks) abort();
    if (mode != SNAP_CHECK && !r.same_layout) presize(base + SNAP_HDR_LEN, r.end);

    /* the section headers, front to back: framing only */
    p = base + SNAP_HDR_LEN;
    for (;;) {
        if (p >= r.end) {
            bad(&r, p, "file ends before the end marker (truncated)");
            break;
        }
        if (*p == OP_END) {
            end_marker = p;
            break;
        }
        if (*p != OP_SECTION) {
            bad(&r, p, "unknown record type");
            break;
        }
        if (r.end - p < SEC_HDR_LEN) {
            bad(&r, p, "file ends inside a section header (truncated)");
            break;
        }
        uint32_t dbid = dec_u32(p + 1), sid = dec_u32(p + 5);
        uint64_t mark = dec_u64(p + 9), count = dec_u64(p + 17), len = dec_u64(p + 25), scrc = dec_u64(p + 33);
        if (dbid >= si->dbs || sid >= si->shards) {
            bad(&r, p, "section for a database or shard outside the header's counts");
            break;
        }
        if (len > (uint64_t)(r.end - p - SEC_HDR_LEN)) {
            bad(&r, p, "section runs past the end of the file (truncated)");
            break;
        }
        if (count > len / 4) { /* an entry takes at least 4 bytes */
            bad(&r, p + 17, "entry count does not fit the section");
            break;
        }
        if (count > 0 && mode != SNAP_CHECK && dbid >= (uint32_t)cfg.databases) {
            bad(&r, p, "keys for a database beyond 'databases' (raise it)");
            break;
        }
        si->marks[(size_t)dbid * si->shards + sid] = mark;
        if (nsecs == capsecs) {
            capsecs = capsecs ? capsecs * 2 : 64;
            secs = realloc(secs, capsecs * sizeof *secs);
            if (!secs) abort();
        }
        secs[nsecs++] = (secref){p, dbid, sid, count, len, scrc, 0};
        p += SEC_HDR_LEN + len;
    }

    /* the payloads, in parallel */
    j = calloc(1, sizeof *j);
    if (!j) abort();
    j->proto = r;
    j->secs = secs;
    j->nsecs = nsecs;
    j->mode = mode;
    j->now = util_mstime();
    pthread_mutex_init(&j->mu, NULL);
    if (r.err_at) job_error(j, r.err_at, err); /* a bad header: sections before it still load */
    j->nth = load_threads(mode, nsecs);
    run_pass(j, false);
    run_pass(j, true);
    si->keys = j->keys;
    si->expired = j->expired;
    if (j->err_at) {
        r.err_at = j->err_at;
        snprintf(err, errlen, "%s", j->err);
        goto out;
    }

    /* the end marker and the file's CRC, folded from the sections' */
    uint64_t crc = util_crc64(0, base, SNAP_HDR_LEN);
    for (size_t i = 0; i < nsecs; i++) {
        crc = util_crc64(crc, secs[i].hdr, SEC_HDR_LEN);
        crc = util_crc64_combine(crc, secs[i].pcrc, secs[i].len);
    }
    p = end_marker;
    if (r.end - p < 17) {
        bad(&r, p, "file ends inside the end marker (truncated)");
        goto out;
    }
    uint64_t total = dec_u64(p + 1);
    crc = util_crc64(crc, p, 9);
    uint64_t want = dec_u64(p + 9);
    if (want != crc) {
        bad(&r, p + 9, "checksum mismatch (CRC-64 of the file)");
        goto out;
    }
    if (r.end - p > 17) {
        bad(&r, p + 17, "trailing bytes after the checksum");
        goto out;
    }
    if (total != si->keys + si->expired + j->tombstones) {
        bad(&r, p + 1, "entry count in the end marker does not match");
        goto out;
    }
    si->bytes = size;
    rc = 0;
out:
    if (j) {
        pthread_mutex_destroy(&j->mu);
        free(j);
    }
    free(secs);
    if (size) munmap((void *)base, size);
    if (rc != 0) snap_info_free(si);
    return rc;
}
