/* test_snapshot.c — the binary snapshot: round trips of every edge (empty
 * and binary keys and values, a large value, expiries, many databases, a
 * pointer type through its save/load), refusal of every kind of damage
 * (each byte flipped, every truncation, unknown version, bad magic,
 * trailing bytes) with file and offset, a type without an encoding refused
 * loudly, and fault injection (the nth write, fsync or rename fails) that
 * must leave the previous snapshot untouched and loadable. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvd.h"

static char tmpdir[256];

static void flush_all(void)
{
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

static void setup(void)
{
    if (!server_dbs) {
        config_defaults();
        cfg.shards = 4;
        cfg.databases = 4;
        util_hash_seed_random();
        store_init();
        cmd_init();
    }
    flush_all();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvd-snap-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(chdir(tmpdir), 0);
    for (int k = 0; k < PFAULT_NKINDS; k++) persist_fault_set(k, 0, 0);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(system(cmd), 0);
}

static sv S(const char *s) { return sv_of(s); }

static void put(int dbid, sv key, sv val, int64_t exp)
{
    db *d = &server_dbs[dbid];
    shard *s = store_shard_of(d, key);
    shard_wrlock(s);
    store_set_string(d, key, val, exp, false);
    shard_unlock(s);
}

/* The value of key in dbid, or NULL; *exp gets its deadline. */
static entry *get(int dbid, sv key, int64_t *exp)
{
    entry *e = store_lookup_read(&server_dbs[dbid], key);
    if (e && exp) *exp = ent_expire(e);
    return e;
}

static uint64_t count_all(void)
{
    uint64_t n = 0;
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) n += server_dbs[d].shards[i].count;
    return n;
}

static void save_ok(const char *path)
{
    char err[512] = "";
    snap_info si;
    int r = snapshot_write(path, 0, NULL, &si, err, sizeof err);
    ck_assert_msg(r == 0, "save failed: %s", err);
    snap_info_free(&si);
}

static int load(const char *path, char *err, size_t errlen)
{
    snap_info si;
    int r = snapshot_read(path, SNAP_LOAD, &si, err, errlen);
    if (r == 0) snap_info_free(&si);
    return r;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)sz + 1);
    ck_assert_int_eq(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static void spit(const char *path, const char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

START_TEST(test_roundtrip_edges)
{
    char big[1 << 16];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    int64_t later = util_mstime() + 3600 * 1000;
    put(0, S(""), S("empty key"), -1);
    put(0, S("empty value"), S(""), -1);
    put(0, (sv){"\x00\xff\r\n", 4}, (sv){"\x00\x01\x02\x00", 4}, -1);
    put(0, S("big"), (sv){big, sizeof big}, -1);
    put(0, S("ttl"), S("v"), later);
    put(0, S("dead"), S("v"), util_mstime() - 1); /* already expired: not written */
    for (int d = 0; d < cfg.databases; d++) {
        char k[32], v[32];
        for (int i = 0; i < 50; i++) {
            snprintf(k, sizeof k, "db%d-key%d", d, i);
            snprintf(v, sizeof v, "val%d", i * d);
            put(d, S(k), S(v), -1);
        }
    }
    uint64_t before = count_all();
    save_ok("rt.snap");
    flush_all();
    ck_assert_uint_eq(count_all(), 0);
    char err[512];
    ck_assert_int_eq(load("rt.snap", err, sizeof err), 0);
    ck_assert_uint_eq(count_all(), before - 1);
    int64_t exp;
    entry *e = get(0, S(""), NULL);
    ck_assert(e && e->vlen == 9 && !memcmp(ent_val(e), "empty key", 9));
    e = get(0, S("empty value"), NULL);
    ck_assert(e && e->vlen == 0);
    e = get(0, (sv){"\x00\xff\r\n", 4}, NULL);
    ck_assert(e && e->vlen == 4 && !memcmp(ent_val(e), "\x00\x01\x02\x00", 4));
    e = get(0, S("big"), NULL);
    ck_assert(e && e->vlen == sizeof big && !memcmp(ent_val(e), big, sizeof big));
    e = get(0, S("ttl"), &exp);
    ck_assert(e);
    ck_assert_int_eq(exp, later); /* absolute deadline kept to the ms */
    ck_assert_ptr_null(get(0, S("dead"), NULL));
    for (int d = 0; d < cfg.databases; d++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "db%d-key%d", d, 49);
        snprintf(v, sizeof v, "val%d", 49 * d);
        e = get(d, S(k), NULL);
        ck_assert(e && e->vlen == strlen(v) && !memcmp(ent_val(e), v, e->vlen));
    }
}
END_TEST

START_TEST(test_empty_dataset)
{
    save_ok("empty.snap");
    char err[512];
    ck_assert_int_eq(load("empty.snap", err, sizeof err), 0);
    ck_assert_uint_eq(count_all(), 0);
    ck_assert_int_eq(load("missing.snap", err, sizeof err), 1);
}
END_TEST

/* Keys that die between the save and the load are dropped, and counted
 * once each however the sections are shared between the parallel loaders
 * (same hash key here: whole sections per loader). The clock is moved, so
 * no key dies while the snapshot is written. */
START_TEST(test_expired_since_save_dropped)
{
    put(1, S("soon"), S("x"), util_mstime() + 10000);
    put(1, S("stays"), S("y"), -1);
    for (int i = 0; i < 300; i++) {
        char k[32];
        snprintf(k, sizeof k, "k:%d", i);
        put(0, S(k), S("v"), i % 3 ? util_mstime() + 10000 : -1);
    }
    save_ok("exp.snap");
    flush_all();
    util_clock_jump(20000);
    char err[512];
    snap_info si;
    ck_assert_int_eq(snapshot_read("exp.snap", SNAP_LOAD, &si, err, sizeof err), 0);
    ck_assert_uint_eq(si.keys, 101);
    ck_assert_uint_eq(si.expired, 201);
    snap_info_free(&si);
    util_clock_jump(-20000);
    ck_assert_uint_eq(count_all(), 101);
    ck_assert_ptr_null(get(1, S("soon"), NULL));
    ck_assert_ptr_nonnull(get(1, S("stays"), NULL));
}
END_TEST

/* ---- a pointer type for the tests: a blob with a fixed tag */

typedef struct blob {
    size_t n;
    char p[];
} blob;
static void blob_free(void *v) { free(v); }
static void *blob_dup(const void *v)
{
    const blob *b = v;
    blob *c = malloc(sizeof *c + b->n);
    memcpy(c, b, sizeof *c + b->n);
    return c;
}
static size_t blob_mem(const void *v) { return sizeof(blob) + ((const blob *)v)->n; }
static const char *blob_enc(const void *v)
{
    UNUSED(v);
    return "raw";
}
static void blob_save(buf *b, const void *v)
{
    const blob *x = v;
    buf_append(b, "BL", 2);
    buf_append(b, x->p, x->n);
}
static void *blob_load(const char *p, size_t n, const char **err)
{
    if (n < 2 || memcmp(p, "BL", 2) != 0) {
        *err = "bad blob";
        return NULL;
    }
    blob *b = malloc(sizeof *b + n - 2);
    b->n = n - 2;
    memcpy(b->p, p + 2, n - 2);
    return b;
}
static const objtype blob_type = {"testblob", blob_free, blob_dup, blob_mem, blob_enc, blob_save, blob_load};
static const objtype nosave_type = {"nosave", blob_free, blob_dup, blob_mem, blob_enc, NULL, NULL};

START_TEST(test_pointer_type_roundtrip)
{
    const objtype *saved = obj_types[OBJ_HASH];
    obj_register(OBJ_HASH, &blob_type);
    blob *b = malloc(sizeof *b + 5);
    b->n = 5;
    memcpy(b->p, "hello", 5);
    db *d = &server_dbs[0];
    store_add_ptr(d, S("h"), OBJ_HASH, b, -1);
    save_ok("ptr.snap");
    flush_all();
    char err[512];
    ck_assert_int_eq(load("ptr.snap", err, sizeof err), 0);
    entry *e = get(0, S("h"), NULL);
    ck_assert(e && e->type == OBJ_HASH);
    blob *x = ent_ptr(e);
    ck_assert(x->n == 5 && !memcmp(x->p, "hello", 5));
    /* --check-snapshot parses values too */
    snap_info si;
    ck_assert_int_eq(snapshot_read("ptr.snap", SNAP_CHECK, &si, err, sizeof err), 0);
    snap_info_free(&si);
    flush_all();
    obj_register(OBJ_HASH, saved);
}
END_TEST

/* Every real value type, both encodings of each (small and big), binary
 * elements and TTLs, in several databases: what the read commands answer
 * is the same after a save and a load. */
static client *mkclient(void)
{
    client *c = calloc(1, sizeof *c);
    c->fd = -1;
    c->proto = PROTO_RESP2;
    c->authenticated = true;
    c->wakefd = -1;
    c->db = &server_dbs[0];
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->outlock, NULL);
    return c;
}

/* Runs argv through the dispatcher and appends its RESP reply to out. */
static void runv(client *c, buf *out, int argc, sv *argv)
{
    c->argv = argv;
    c->argc = argc;
    c->obuf.len = 0;
    cmd_dispatch(c);
    buf_append(out, c->obuf.p, c->obuf.len);
    c->argv = NULL;
}

static void run_words(client *c, buf *out, const char *line)
{
    sv argv[64];
    int n = 0;
    char *copy = strdup(line), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w && n < 64; w = strtok_r(NULL, " ", &save)) argv[n++] = S(w);
    runv(c, out, n, argv);
    free(copy);
}

static void all_types_view(client *c, buf *out)
{
    static const char *reads[] = {
        "SELECT 0", "LRANGE lsmall 0 -1", "LRANGE lbig 0 -1", "HGET hsmall a", "HGET hsmall bin", "HLEN hbig",
        "HGET hbig f0", "HGET hbig f499", "SMEMBERS sint", "SCARD sbig", "SISMEMBER sbig m77",
        "ZRANGE zsmall 0 -1 WITHSCORES", "ZRANGE zbig 0 -1 WITHSCORES", 
        "SELECT 3", "LRANGE l3 0 -1", "HGET h3 f", "TYPE l3", "DBSIZE", "SELECT 0", "DBSIZE", NULL};
    for (int i = 0; reads[i]; i++) run_words(c, out, reads[i]);
}

START_TEST(test_all_types_roundtrip)
{
    client *c = mkclient();
    buf junk, before, after;
    buf_init_static(&junk, NULL, 0);
    buf_init_static(&before, NULL, 0);
    buf_init_static(&after, NULL, 0);
    run_words(c, &junk, "RPUSH lsmall a b c");
    sv bin[] = {S("RPUSH"), S("lsmall"), {"\x00\xff\r\n", 4}, {"", 0}};
    runv(c, &junk, 4, bin);
    for (int i = 0; i < 2000; i++) {
        char w[64];
        snprintf(w, sizeof w, "RPUSH lbig element-%d", i);
        run_words(c, &junk, w);
        snprintf(w, sizeof w, "SADD sbig m%d", i);
        run_words(c, &junk, w);
        snprintf(w, sizeof w, "ZADD zbig %d.5 z%d", i % 97, i);
        run_words(c, &junk, w);
        if (i < 500) {
            snprintf(w, sizeof w, "HSET hbig f%d value-%d", i, i);
            run_words(c, &junk, w);
        }
    }
    run_words(c, &junk, "HSET hsmall a 1 b 2");
    sv hb[] = {S("HSET"), S("hsmall"), S("bin"), {"\x00\x01\x00", 3}};
    runv(c, &junk, 4, hb);
    run_words(c, &junk, "SADD sint 1 2 3 -7 100000");
    run_words(c, &junk, "ZADD zsmall 1 a 2.5 b -inf c");
    run_words(c, &junk, "PEXPIRE lbig 3600000");
    run_words(c, &junk, "PEXPIRE hsmall 7200000");
    run_words(c, &junk, "SELECT 3");
    run_words(c, &junk, "RPUSH l3 x y");
    run_words(c, &junk, "HSET h3 f v");
    all_types_view(c, &before);
    save_ok("types.snap");
    flush_all();
    char err[512];
    ck_assert_int_eq(load("types.snap", err, sizeof err), 0);
    all_types_view(c, &after);
    ck_assert_msg(memmem(before.p, before.len, "element-1999", 12) != NULL, "the view lacks lbig");
    ck_assert_msg(before.len == after.len && !memcmp(before.p, after.p, before.len),
                  "the values differ after the round trip");
    int64_t exp = -1;
    ck_assert(get(0, S("lbig"), &exp) && exp > util_mstime() + 3500000);
    ck_assert(get(0, S("hsmall"), &exp) && exp > util_mstime() + 7100000);
    snap_info si;
    ck_assert_int_eq(snapshot_read("types.snap", SNAP_CHECK, &si, err, sizeof err), 0);
    snap_info_free(&si);
    flush_all();
    buf_free(&junk);
    buf_free(&before);
    buf_free(&after);
    buf_free(&c->obuf);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->outlock);
    free(c);
}
END_TEST

START_TEST(test_type_without_encoding_refused)
{
    const objtype *saved = obj_types[OBJ_SET];
    put(0, S("ok"), S("1"), -1);
    save_ok("good.snap");
    obj_register(OBJ_SET, &nosave_type);
    blob *b = malloc(sizeof *b + 1);
    b->n = 1;
    store_add_ptr(&server_dbs[0], S("s"), OBJ_SET, b, -1);
    char err[512] = "";
    snap_info si;
    ck_assert_int_eq(snapshot_write("good.snap", 0, NULL, &si, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no snapshot encoding") != NULL, "%s", err);
    flush_all();
    obj_register(OBJ_SET, saved);
    /* the earlier file is untouched */
    ck_assert_int_eq(load("good.snap", err, sizeof err), 0);
    ck_assert_ptr_nonnull(get(0, S("ok"), NULL));
    /* and a file holding a type this build cannot load is refused */
    obj_register(OBJ_SET, &blob_type);
    b = malloc(sizeof *b + 1);
    b->n = 1;
    b->p[0] = 'z';
    store_add_ptr(&server_dbs[0], S("s"), OBJ_SET, b, -1);
    save_ok("typed.snap");
    flush_all();
    obj_register(OBJ_SET, &nosave_type);
    ck_assert_int_eq(load("typed.snap", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot load") && strstr(err, "offset"), "%s", err);
    obj_register(OBJ_SET, saved);
    flush_all();
}
END_TEST

static void fill_small(void)
{
    put(0, S("a"), S("alpha"), -1);
    put(0, S("b"), S("beta"), util_mstime() + 100000);
    put(1, S("c"), S("gamma"), -1);
    put(3, S(""), S(""), -1);
}

START_TEST(test_every_flipped_byte_refused)
{
    fill_small();
    save_ok("f.snap");
    size_t n;
    char *orig = slurp("f.snap", &n);
    char err[512];
    for (size_t i = 0; i < n; i++) {
        char *p = malloc(n);
        memcpy(p, orig, n);
        p[i] ^= 0x20;
        spit("bad.snap", p, n);
        free(p);
        flush_all();
        int r = load("bad.snap", err, sizeof err);
        ck_assert_msg(r == -1, "flipped byte %zu of %zu was accepted", i, n);
        ck_assert_msg(strstr(err, "bad.snap") && strstr(err, "offset"), "message lacks file/offset: %s", err);
    }
    free(orig);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
    fill_small();
    save_ok("t.snap");
    size_t n;
    char *orig = slurp("t.snap", &n);
    char err[512];
    for (size_t len = 0; len < n; len++) {
        spit("cut.snap", orig, len);
        flush_all();
        ck_assert_msg(load("cut.snap", err, sizeof err) == -1, "file cut to %zu of %zu accepted", len, n);
        ck_assert_msg(strstr(err, "offset"), "%s", err);
    }
    /* trailing garbage */
    char *more = malloc(n + 3);
    memcpy(more, orig, n);
    memcpy(more + n, "xyz", 3);
    spit("long.snap", more, n + 3);
    ck_assert_int_eq(load("long.snap", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "trailing"), "%s", err);
    free(more);
    free(orig);
}
END_TEST

START_TEST(test_version_and_magic)
{
    fill_small();
    save_ok("v.snap");
    size_t n;
    char *p = slurp("v.snap", &n);
    char err[512];
    p[8] = SNAP_VERSION + 1; /* a version from the future */
    spit("v2.snap", p, n);
    ck_assert_int_eq(load("v2.snap", err, sizeof err), -1);
    char want[64];
    snprintf(want, sizeof want, "unknown format version %d", SNAP_VERSION + 1);
    ck_assert_msg(strstr(err, want) && strstr(err, "offset 8"), "%s", err);
    p[8] = SNAP_VERSION_MIN - 1; /* too old */
    spit("v2.snap", p, n);
    ck_assert_int_eq(load("v2.snap", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown format version") && strstr(err, "offset 8"), "%s", err);
    /* the oldest version read: the same bytes under its number load (its
     * values are a subset of the current version's), the file's CRC
     * recomputed */
    p[8] = SNAP_VERSION_MIN;
    uint64_t crc = util_crc64(0, p, n - 8);
    for (int i = 0; i < 8; i++) p[n - 8 + i] = (char)(crc >> (8 * i));
    spit("v4.snap", p, n);
    flush_all();
    ck_assert_msg(load("v4.snap", err, sizeof err) == 0, "%s", err);
    ck_assert_uint_gt(count_all(), 0);
    snap_info si; /* --check-snapshot reports the file's version */
    ck_assert_msg(snapshot_read("v4.snap", SNAP_CHECK, &si, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(si.version, SNAP_VERSION_MIN);
    snap_info_free(&si);
    p[8] = SNAP_VERSION;
    p[0] = 'X';
    spit("m.snap", p, n);
    ck_assert_int_eq(load("m.snap", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad magic") && strstr(err, "offset 0"), "%s", err);
    free(p);
}
END_TEST

/* The nth write/fsync/rename of a save fails: the save reports it, no
 * temp file is left, and the previous snapshot loads as it was. */
START_TEST(test_fault_injection_keeps_previous)
{
    char big[300000];
    memset(big, 'q', sizeof big);
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(i % cfg.databases, S(k), (sv){big, sizeof big}, -1);
    }
    put(0, S("marker"), S("old"), -1);
    save_ok("fi.snap");
    put(0, S("marker"), S("new"), -1);
    int kinds[] = {PFAULT_WRITE, PFAULT_FSYNC, PFAULT_RENAME};
    for (size_t k = 0; k < 3; k++) {
        for (long nth = 1; nth <= (kinds[k] == PFAULT_WRITE ? 6 : 1); nth++) {
            persist_fault_set(kinds[k], nth, 1);
            char err[512] = "";
            snap_info si;
            int r = snapshot_write("fi.snap", 0, NULL, &si, err, sizeof err);
            persist_fault_set(kinds[k], 0, 0);
            if (r == 0) { /* fewer writes than nth: fine, but restore the old file */
                snap_info_free(&si);
                ck_assert(kinds[k] == PFAULT_WRITE && nth > 1);
                put(0, S("marker"), S("old"), -1);
                save_ok("fi.snap");
                put(0, S("marker"), S("new"), -1);
                continue;
            }
            ck_assert_msg(strlen(err) > 0, "no reason given");
            /* nothing but the snapshot in the directory */
            ck_assert_int_eq(system("test $(ls | wc -l) -eq 1"), 0);
        }
    }
    flush_all();
    char err[512];
    ck_assert_int_eq(load("fi.snap", err, sizeof err), 0);
    entry *e = get(0, S("marker"), NULL);
    ck_assert(e && e->vlen == 3 && !memcmp(ent_val(e), "old", 3));
    ck_assert_uint_eq(count_all(), 41);
    /* after the faults, a save works again */
    put(0, S("marker"), S("new"), -1);
    save_ok("fi.snap");
    flush_all();
    ck_assert_int_eq(load("fi.snap", err, sizeof err), 0);
    e = get(0, S("marker"), NULL);
    ck_assert(e && e->vlen == 3 && !memcmp(ent_val(e), "new", 3));
}
END_TEST

START_TEST(test_many_keys_marks)
{
    for (int i = 0; i < 20000; i++) {
        char k[32];
        snprintf(k, sizeof k, "key:%d", i);
        put(i % 2, S(k), S(k), i % 3 ? -1 : util_mstime() + 1000000 + i);
    }
    for (int i = 0; i < cfg.shards; i++) server_dbs[1].shards[i].lsn = 100 + (uint64_t)i;
    save_ok("many.snap");
    flush_all();
    char err[512];
    snap_info si;
    ck_assert_int_eq(snapshot_read("many.snap", SNAP_LOAD, &si, err, sizeof err), 0);
    ck_assert_uint_eq(si.keys, 20000);
    ck_assert_uint_eq(si.marks[1 * si.shards + 2], 102);
    ck_assert_uint_eq(si.marks[0], 0);
    snap_info_free(&si);
    ck_assert_uint_eq(count_all(), 20000);
    for (int i = 0; i < cfg.shards; i++) server_dbs[1].shards[i].lsn = 0;
}
END_TEST

/* Big shards are saved in slices with writes in between: the file must
 * load as each shard was at its last slice (overwritten, deleted and new
 * keys in buckets already passed included). */
#define SLICED_KEYS 100000
static int slice_calls;

static void write_between_slices(shard *s)
{
    db *d = &server_dbs[0];
    slice_calls++;
    for (int i = 0; i < SLICED_KEYS; i++) {
        char k[32];
        snprintf(k, sizeof k, "key:%d", i);
        if (store_shard_of(d, S(k)) != s) continue;
        shard_wrlock(s);
        if (i % 7 == slice_calls % 7) {
            char v[32];
            snprintf(v, sizeof v, "new%d-%d", slice_calls, i);
            store_set_string(d, S(k), S(v), -1, false);
            store_written(NULL, d, S(k));
        } else if (i % 11 == slice_calls % 11) {
            entry *e = store_lookup_write(d, S(k));
            if (e) {
                store_delete_entry(s, e);
                store_written(NULL, d, S(k));
            }
        }
        if (i % 13 == 0) {
            char k2[40];
            snprintf(k2, sizeof k2, "added:%d:%d", slice_calls, i);
            if (store_shard_of(d, S(k2)) == s) { /* other shards may be saved already */
                store_set_string(d, S(k2), S(k2), -1, false);
                store_written(NULL, d, S(k2));
            }
        }
        shard_unlock(s);
    }
}

START_TEST(test_sliced_shards_load_as_last_slice_saw_them)
{
    for (int i = 0; i < SLICED_KEYS; i++) {
        char k[32];
        snprintf(k, sizeof k, "key:%d", i);
        put(0, S(k), S(k), -1);
    }
    slice_calls = 0;
    snapshot_between_slices = write_between_slices;
    save_ok("sliced.snap");
    snapshot_between_slices = NULL;
    ck_assert_int_ge(slice_calls, 2 * cfg.shards); /* every shard took several slices */
    /* the store now holds exactly what the snapshot must give back */
    uint64_t want = count_all();
    char **keys = malloc(sizeof(char *) * (size_t)want);
    char **vals = malloc(sizeof(char *) * (size_t)want);
    uint64_t n = 0;
    for (int i = 0; i < cfg.shards; i++) {
        shard *s = &server_dbs[0].shards[i];
        for (uint64_t b = 0; b < s->size; b++)
            for (entry *e = s->table[b]; e; e = e->next) {
                keys[n] = kvd_strndup(ent_key(e), e->klen);
                vals[n] = kvd_strndup(ent_val(e), e->vlen);
                n++;
            }
    }
    ck_assert_uint_eq(n, want);
    flush_all();
    char err[512];
    ck_assert_int_eq(load("sliced.snap", err, sizeof err), 0);
    for (uint64_t i = 0; i < n; i++) {
        entry *e = get(0, S(keys[i]), NULL);
        ck_assert_msg(e != NULL, "key '%s' lost", keys[i]);
        ck_assert_msg(e->vlen == strlen(vals[i]) && memcmp(ent_val(e), vals[i], e->vlen) == 0,
                      "key '%s' has a stale value", keys[i]);
        free(keys[i]);
        free(vals[i]);
    }
    ck_assert_uint_eq(count_all(), want);
    free(keys);
    free(vals);
}
END_TEST

/* A snapshot written under another hash key (or shard count) loads key by
 * key into whatever shards the keys hash to now. */
START_TEST(test_load_under_another_hash_key)
{
    for (int i = 0; i < 3000; i++) {
        char k[32];
        snprintf(k, sizeof k, "key:%d", i);
        put(i % 3, S(k), S(k), i % 5 ? -1 : util_mstime() + 1000000);
    }
    save_ok("other.snap");
    flush_all();
    uint8_t mine[16], other[16];
    util_hash_key(mine);
    for (int i = 0; i < 16; i++) other[i] = (uint8_t)(mine[i] ^ 0x5a);
    util_hash_seed(other);
    char err[512];
    ck_assert_int_eq(load("other.snap", err, sizeof err), 0);
    ck_assert_uint_eq(count_all(), 3000);
    for (int i = 0; i < 3000; i += 7) {
        char k[32];
        snprintf(k, sizeof k, "key:%d", i);
        int64_t exp = -2;
        entry *e = get(i % 3, S(k), &exp);
        ck_assert_msg(e && e->vlen == strlen(k) && !memcmp(ent_val(e), k, e->vlen), "key %s", k);
        ck_assert(i % 5 ? exp == -1 : exp > util_mstime());
    }
    flush_all();
    util_hash_seed(mine);
}
END_TEST

/* Sections load in parallel: with damage in several sections, the error
 * reported is still the first in the file (what a front-to-back reader
 * meets), in load and check modes alike, and every flip is caught. */
START_TEST(test_first_damage_reported_from_parallel_load)
{
    for (int i = 0; i < 20000; i++) {
        char k[32];
        snprintf(k, sizeof k, "key:%d", i);
        put(i % 2, S(k), S(k), -1);
    }
    save_ok("par.snap");
    size_t n;
    char *orig = slurp("par.snap", &n);
    /* walk the section headers (doc/FORMAT.md): 'S', db, shard, mark,
     * count, length, crc, then the payload */
    size_t offs[512];
    size_t nsec = 0;
    size_t at = 72;
    while (at < n && orig[at] == 'S' && nsec < 512) {
        uint64_t len;
        memcpy(&len, orig + at + 25, 8);
        offs[nsec++] = at;
        at += 41 + len;
    }
    ck_assert_uint_ge(nsec, 6);
    const size_t pick[][2] = {{1, 5}, {5, 1}, {0, nsec - 1}};
    for (size_t t = 0; t < sizeof pick / sizeof pick[0]; t++) {
        char *p = malloc(n);
        memcpy(p, orig, n);
        p[offs[pick[t][0]] + 41 + 3] ^= 0x01; /* inside the payloads */
        p[offs[pick[t][1]] + 41 + 3] ^= 0x01;
        spit("par-bad.snap", p, n);
        free(p);
        size_t first = offs[pick[t][0]] < offs[pick[t][1]] ? offs[pick[t][0]] : offs[pick[t][1]];
        char want[64];
        snprintf(want, sizeof want, "at offset %zu", first);
        for (int mode = 0; mode < 2; mode++) {
            flush_all();
            char err[512];
            snap_info si;
            int r = snapshot_read("par-bad.snap", mode ? SNAP_CHECK : SNAP_LOAD, &si, err, sizeof err);
            ck_assert_int_eq(r, -1);
            ck_assert_msg(strstr(err, "checksum mismatch in section") && strstr(err, want),
                          "mode %d: want the first damaged section (%s): %s", mode, want, err);
        }
    }
    free(orig);
    flush_all();
    char err[512];
    ck_assert_int_eq(load("par.snap", err, sizeof err), 0);
    ck_assert_uint_eq(count_all(), 20000);
}
END_TEST

Suite *make_suite_snapshot(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip_edges);
    tcase_add_test(tc, test_empty_dataset);
    tcase_add_test(tc, test_expired_since_save_dropped);
    tcase_add_test(tc, test_pointer_type_roundtrip);
    tcase_add_test(tc, test_all_types_roundtrip);
    tcase_add_test(tc, test_type_without_encoding_refused);
    tcase_add_test(tc, test_every_flipped_byte_refused);
    tcase_add_test(tc, test_every_truncation_refused);
    tcase_add_test(tc, test_version_and_magic);
    tcase_add_test(tc, test_fault_injection_keeps_previous);
    tcase_add_test(tc, test_many_keys_marks);
    tcase_add_test(tc, test_sliced_shards_load_as_last_slice_saw_them);
    tcase_add_test(tc, test_load_under_another_hash_key);
    tcase_add_test(tc, test_first_damage_reported_from_parallel_load);
    suite_add_tcase(s, tc);
    return s;
}
