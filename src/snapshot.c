/* snapshot.c — the binary snapshot: the writer (shard by shard, each under
 * its read lock only while it is serialized into memory), the loader and
 * the checker. The byte layout is documented in doc/FORMAT.md.
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
#define SNAP_HDR_LEN 56
#define SEC_HDR_LEN 41
#define OP_SECTION 'S'
#define OP_END 'E'
#define ENT_HAS_EXPIRE 1
#define FLUSH_AT (4u << 20)

_Atomic uint64_t snap_keys_done;

void snap_info_free(snap_info *si)
{
    free(si->marks);
    si->marks = NULL;
}

/* ---------------------------------------------------------------- writer */

typedef struct swriter {
    int fd;
    uint64_t crc;       /* of everything written so far */
    uint64_t off;
    buf out;
} swriter;

static int sw_flush(swriter *w)
{
    if (!w->out.len) return 0;
    w->crc = util_crc64(w->crc, w->out.p, w->out.len);
    if (persist_write_all(w->fd, w->out.p, w->out.len) != 0) return -1;
    w->off += w->out.len;
    w->out.len = 0;
    return 0;
}

/* Serializes the live entries of s into b (entry layout in FORMAT.md).
 * Caller holds s's read lock. Returns the number of entries, or -1 with
 * err when a value's type has no snapshot encoding. */
static long long serialize_shard(shard *s, int64_t now, buf *b, buf *tmp, char *err, size_t errlen)
{
    long long n = 0;
    for (uint64_t i = 0; i < s->size; i++) {
        for (entry *e = s->table[i]; e; e = e->next) {
            int64_t exp = ent_expire(e);
            if (exp >= 0 && exp <= now) continue; /* already dead: not worth a byte */
            enc_u8(b, e->type);
            enc_u8(b, exp >= 0 ? ENT_HAS_EXPIRE : 0);
            if (exp >= 0) enc_u64(b, (uint64_t)exp);
            enc_varint(b, e->klen);
            buf_append(b, ent_key(e), e->klen);
            if (e->type == OBJ_STRING) {
                enc_varint(b, e->vlen);
                buf_append(b, ent_val(e), e->vlen);
            } else {
                const objtype *t = e->type < OBJ_NTYPES ? obj_types[e->type] : NULL;
                if (!t || !t->save) {
                    snprintf(err, errlen, "cannot save key '%.*s': type %s has no snapshot encoding",
                             (int)(e->klen > 64 ? 64 : e->klen), ent_key(e), obj_type_name(e->type));
                    return -1;
                }
                tmp->len = 0;
                t->save(tmp, ent_ptr(e));
                enc_varint(b, tmp->len);
                buf_append(b, tmp->p, tmp->len);
            }
            n++;
        }
    }
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
    atomic_store(&snap_keys_done, 0);

    /* header: magic, version, flags, dbs, shards, created, aof_seq, lsn_start, reserved */
    buf_append(&w.out, SNAP_MAGIC, 8);
    enc_u32(&w.out, SNAP_VERSION);
    enc_u32(&w.out, 0);
    enc_u32(&w.out, dbs);
    enc_u32(&w.out, shards);
    enc_u64(&w.out, (uint64_t)created);
    enc_u64(&w.out, aof_seq);
    enc_u64(&w.out, lsn_start);
    enc_u64(&w.out, 0);

    for (uint32_t d = 0; d < dbs; d++) {
        for (uint32_t i = 0; i < shards; i++) {
            shard *s = &server_dbs[d].shards[i];
            sb.len = 0;
            int64_t now = util_mstime();
            shard_rdlock(s);
            long long n = serialize_shard(s, now, &sb, &tmp, err, errlen);
            uint64_t mark = s->lsn;
            shard_unlock(s);
            if (n < 0) goto fail;
            marks[(size_t)d * shards + i] = mark;
            if (n == 0 && mark == 0) continue; /* nothing to say about this shard */
            enc_u8(&w.out, OP_SECTION);
            enc_u32(&w.out, d);
            enc_u32(&w.out, i);
            enc_u64(&w.out, mark);
            enc_u64(&w.out, (uint64_t)n);
            enc_u64(&w.out, sb.len);
            enc_u64(&w.out, util_crc64(0, sb.p, sb.len));
            buf_append(&w.out, sb.p, sb.len);
            total += (uint64_t)n;
            atomic_store_explicit(&snap_keys_done, total, memory_order_relaxed);
            if (w.out.len >= FLUSH_AT && sw_flush(&w) != 0) goto ioerr;
            if (sb.cap > (64u << 20)) buf_free(&sb); /* don't keep a huge buffer */
        }
    }
    enc_u8(&w.out, OP_END);
    enc_u64(&w.out, total);
    if (sw_flush(&w) != 0) goto ioerr;
    enc_u64(&w.out, w.crc);
    if (persist_write_all(fd, w.out.p, w.out.len) != 0) goto ioerr;
    w.off += w.out.len;
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

typedef struct sreader {
    const char *path;
    const char *base, *end;
    char *err;
    size_t errlen;
} sreader;

static int bad(sreader *r, const char *at, const char *what)
{
    snprintf(r->err, r->errlen, "snapshot '%s': %s at offset %lld", r->path, what, (long long)(at - r->base));
    return -1;
}

/* Parses the entries of one section payload [p, end): inserts them (load
 * modes) or only checks them. */
static int read_entries(sreader *r, const char *p, const char *end, uint32_t dbid, uint64_t count, int mode,
                        int64_t now, snap_info *si)
{
    db *d = mode != SNAP_CHECK ? &server_dbs[dbid] : NULL;
    for (uint64_t k = 0; k < count; k++) {
        const char *start = p;
        if (end - p < 2) return bad(r, start, "entry cut short");
        uint8_t type = (uint8_t)p[0], flags = (uint8_t)p[1];
        p += 2;
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
        if (dead) si->expired++;
        else si->keys++;
        if (mode == SNAP_CHECK || (dead && mode == SNAP_LOAD)) {
            if (t && mode == SNAP_CHECK) {
                const char *why = NULL;
                void *v = t->load(val, vlen, &why);
                if (!v) return bad(r, start, why ? why : "malformed value");
                t->free(v);
            }
            continue;
        }
        shard *s = store_shard_of(d, key);
        if (type == OBJ_STRING) {
            shard_wrlock(s);
            store_set_string(d, key, (sv){val, (size_t)vlen}, exp, false);
            shard_unlock(s);
        } else {
            const char *why = NULL;
            void *v = t->load(val, vlen, &why);
            if (!v) return bad(r, start, why ? why : "malformed value");
            shard_wrlock(s);
            store_add_ptr(d, key, type, v, exp);
            shard_unlock(s);
        }
    }
    if (p != end) return bad(r, p, "section length does not match its entries");
    return 0;
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
    sreader r = {path, base, base + size, err, errlen};
    int rc = -1;
    const char *p = base;
    uint64_t crc = 0;
    int64_t now = util_mstime();
    int64_t last_log = util_monotonic_us();

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
    if (version != SNAP_VERSION) {
        char why[96];
        snprintf(why, sizeof why, "unknown format version %u (this kvd reads version %d)", version, SNAP_VERSION);
        bad(&r, base + 8, why);
        goto out;
    }
    if (dec_u32(base + 12) != 0) {
        bad(&r, base + 12, "unknown header flags");
        goto out;
    }
    si->dbs = dec_u32(base + 16);
    si->shards = dec_u32(base + 20);
    si->created_ms = (int64_t)dec_u64(base + 24);
    si->aof_seq = dec_u64(base + 32);
    si->lsn_start = dec_u64(base + 40);
    /* the marks table below is dbs x shards: a few header bytes must not
     * make us allocate gigabytes (found by fuzz_snapshot) */
    if (si->shards == 0 || si->shards > 65536 || si->dbs == 0 || si->dbs > 1000000 ||
        (uint64_t)si->dbs * si->shards > SNAP_MAX_MARKS) {
        bad(&r, base + 16, "implausible database or shard count");
        goto out;
    }
    si->marks = calloc((size_t)si->dbs * si->shards, sizeof(uint64_t));
    if (!si->marks) abort();
    crc = util_crc64(0, base, SNAP_HDR_LEN);
    p = base + SNAP_HDR_LEN;
    for (;;) {
        if (p >= r.end) {
            bad(&r, p, "file ends before the end marker (truncated)");
            goto out;
        }
        const char *sec = p;
        if (*p == OP_END) {
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
            if (total != si->keys + si->expired) {
                bad(&r, p + 1, "entry count in the end marker does not match");
                goto out;
            }
            break;
        }
        if (*p != OP_SECTION) {
            bad(&r, p, "unknown record type");
            goto out;
        }
        if (r.end - p < SEC_HDR_LEN) {
            bad(&r, p, "file ends inside a section header (truncated)");
            goto out;
        }
        uint32_t dbid = dec_u32(p + 1), sid = dec_u32(p + 5);
        uint64_t mark = dec_u64(p + 9), count = dec_u64(p + 17), len = dec_u64(p + 25), scrc = dec_u64(p + 33);
        if (dbid >= si->dbs || sid >= si->shards) {
            bad(&r, p, "section for a database or shard outside the header's counts");
            goto out;
        }
        if (len > (uint64_t)(r.end - p - SEC_HDR_LEN)) {
            bad(&r, p, "section runs past the end of the file (truncated)");
            goto out;
        }
        const char *payload = p + SEC_HDR_LEN, *pend = payload + len;
        crc = util_crc64(crc, p, SEC_HDR_LEN);
        crc = util_crc64(crc, payload, len);
        if (util_crc64(0, payload, len) != scrc) {
            bad(&r, sec, "checksum mismatch in section");
            goto out;
        }
        if (count > 0 && mode != SNAP_CHECK && dbid >= (uint32_t)cfg.databases) {
            bad(&r, sec, "keys for a database beyond 'databases' (raise it)");
            goto out;
        }
        si->marks[(size_t)dbid * si->shards + sid] = mark;
        if (read_entries(&r, payload, pend, dbid, count, mode, now, si) != 0) goto out;
        p = pend;
        if (mode != SNAP_CHECK && util_monotonic_us() - last_log > 1000000) {
            last_log = util_monotonic_us();
            log_notice("loading: %d%% (%.1fM keys)", (int)((p - base) * 100 / (long long)size),
                       (double)si->keys / 1e6);
        }
    }
    si->bytes = size;
    rc = 0;
out:
    if (size) munmap((void *)base, size);
    if (rc != 0) snap_info_free(si);
    return rc;
}
