/* test_aof.c — the append-only log: commands run through the real
 * dispatcher are logged and replayed to the same state (single-shard
 * commands as themselves, multi-shard ones as key states, FLUSHALL and
 * SWAPDB), relative TTLs and INCRBYFLOAT logged as absolute forms, the
 * snapshot marks (INCR applied exactly once across a snapshot, a
 * multi-shard write that a snapshot saw half of), a truncated tail cut
 * with a warning (or refused with aof-load-truncated no), every flipped
 * byte refused with file and offset, --check-aof --fix, write faults that
 * lose nothing and duplicate nothing, and group commit from many threads. */
#include <check.h>
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
        for (int i = 0; i < cfg.shards; i++) {
            store_flush_shard(&server_dbs[d].shards[i]);
            server_dbs[d].shards[i].lsn = 0;
        }
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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvd-aof-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    ck_assert_int_eq(chdir(tmpdir), 0);
    for (int k = 0; k < PFAULT_NKINDS; k++) persist_fault_set(k, 0, 0);
    aof_set_names("aofdir", "t.aof");
    atomic_store(&aof_fsync_mode, 1);
    char err[512];
    ck_assert_msg(aof_begin(false, 0, true, err, sizeof err) == 0, "%s", err);
}

static void teardown(void)
{
    aof_stop();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(system(cmd), 0);
}

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

static void freeclient(client *c)
{
    buf_free(&c->obuf);
    buf_free(&c->prop);
    free(c->argv);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->outlock);
    free(c);
}

/* Runs one command (NULL-terminated words) through the dispatcher;
 * returns its RESP reply (static). */
static const char *run(client *c, ...)
{
    static _Thread_local char out[256];
    va_list ap;
    va_start(ap, c);
    int n = 0;
    free(c->argv);
    c->argv = calloc(16, sizeof(sv));
    for (const char *w; (w = va_arg(ap, const char *));) c->argv[n++] = sv_of(w);
    va_end(ap);
    c->argc = n;
    c->obuf.len = 0;
    cmd_dispatch(c);
    snprintf(out, sizeof out, "%.*s", (int)(c->obuf.len > 255 ? 255 : c->obuf.len), c->obuf.p ? c->obuf.p : "");
    return out;
}

static bool has(int dbid, const char *key, const char *val)
{
    entry *e = store_lookup_read(&server_dbs[dbid], sv_of(key));
    if (!val) return e == NULL;
    return e && e->type == OBJ_STRING && e->vlen == strlen(val) && !memcmp(ent_val(e), val, e->vlen);
}

static int64_t ttl_of(int dbid, const char *key)
{
    entry *e = store_lookup_read(&server_dbs[dbid], sv_of(key));
    return e ? ent_expire(e) : -2;
}

/* Stops logging, empties the store, replays the log (over si if given). */
static int reload(const snap_info *si, char *err, size_t errlen)
{
    aof_wait_all();
    aof_stop();
    uint64_t max = 0;
    return aof_replay(si, &max, err, errlen);
}

static char *seg_file(int which, char *out, size_t n)
{
    /* the newest (which=0) or oldest (1) segment */
    FILE *p = popen(which ? "ls aofdir/*.seg | sort -t. -k3 -n | head -1" : "ls aofdir/*.seg | sort -t. -k3 -n | tail -1", "r");
    ck_assert_ptr_nonnull(fgets(out, (int)n, p));
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
    return out;
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
    p[sz] = '\0';
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static void spit(const char *path, const char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_int_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static bool mem_has(const char *p, size_t n, const char *needle)
{
    return memmem(p, n, needle, strlen(needle)) != NULL;
}

START_TEST(test_replay_roundtrip)
{
    client *c = mkclient();
    ck_assert_str_eq(run(c, "SET", "a", "1", NULL), "+OK\r\n");
    for (int i = 0; i < 5; i++) run(c, "INCR", "a", NULL);
    run(c, "APPEND", "s", "hello", NULL);
    run(c, "APPEND", "s", " world", NULL);
    run(c, "SET", "gone", "x", NULL);
    run(c, "DEL", "gone", NULL);
    run(c, "MSET", "m1", "1", "m2", "2", "m3", "3", "m4", "4", "m5", "5", NULL);
    run(c, "SET", "src", "moving", NULL);
    run(c, "RENAME", "src", "dst", NULL);
    run(c, "SELECT", "2", NULL);
    run(c, "SET", "in2", "yes", NULL);
    run(c, "MOVE", "in2", "3", NULL);
    run(c, "SET", "x2", "1", NULL);
    run(c, "SWAPDB", "2", "1", NULL);
    run(c, "SELECT", "0", NULL);
    run(c, "GET", "a", NULL);            /* reads log nothing */
    run(c, "DEL", "nosuchkey", NULL);    /* nor do writes that change nothing */
    char err[512];
    ck_assert_msg(reload(NULL, err, sizeof err) == 0, "%s", err);
    /* the log holds exactly what changed */
    flush_all();
    aof_set_names("aofdir", "t.aof");
    uint64_t max = 0;
    ck_assert_msg(aof_replay(NULL, &max, err, sizeof err) == 0, "%s", err);
    ck_assert(has(0, "a", "6"));
    ck_assert(has(0, "s", "hello world"));
    ck_assert(has(0, "gone", NULL));
    ck_assert(has(0, "m3", "3") && has(0, "m5", "5"));
    ck_assert(has(0, "src", NULL) && has(0, "dst", "moving"));
    ck_assert(has(3, "in2", "yes") && has(2, "in2", NULL));
    ck_assert(has(1, "x2", "1") && has(2, "x2", NULL));
    ck_assert_uint_eq(max, 17); /* the 17 commands that changed something */
    freeclient(c);
}
END_TEST

START_TEST(test_ttls_logged_absolute)
{
    client *c = mkclient();
    run(c, "SET", "k1", "v", "EX", "100", NULL);
    run(c, "SET", "k2", "v", "100", NULL); /* kvd's bare TTL */
    run(c, "SETEX", "k3", "100", "v", NULL);
    run(c, "PSETEX", "k4", "100000", "v", NULL);
    run(c, "SET", "k5", "v", NULL);
    run(c, "EXPIRE", "k5", "100", NULL);
    run(c, "SET", "k6", "v", NULL);
    run(c, "PEXPIRE", "k6", "100000", NULL);
    run(c, "SET", "k7", "v", NULL);
    run(c, "GETEX", "k7", "EX", "100", NULL);
    run(c, "SET", "f", "1.5", "EX", "100", NULL);
    run(c, "INCRBYFLOAT", "f", "2", NULL);
    int64_t want = ttl_of(0, "k1");
    ck_assert(want > util_mstime());
    aof_wait_all();
    char path[512];
    size_t n;
    char *p = slurp(seg_file(0, path, sizeof path), &n);
    ck_assert(mem_has(p, n, "PXAT"));
    ck_assert(mem_has(p, n, "PEXPIREAT"));
    ck_assert(mem_has(p, n, "KEEPTTL"));
    ck_assert(!mem_has(p, n, "SETEX") && !mem_has(p, n, "$2\r\nEX\r\n") && !mem_has(p, n, "INCRBYFLOAT"));
    free(p);
    /* replayed 50 s later, the deadlines are the same instants */
    char err[512];
    aof_stop();
    flush_all();
    util_clock_jump(50000);
    uint64_t max = 0;
    ck_assert_msg(aof_replay(NULL, &max, err, sizeof err) == 0, "%s", err);
    util_clock_jump(-50000);
    for (int i = 1; i <= 7; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        int64_t t = ttl_of(0, k);
        ck_assert_msg(t >= want - 2000 && t <= want + 2000, "%s: %lld vs %lld", k, (long long)t, (long long)want);
    }
    ck_assert(has(0, "f", "3.5"));
    ck_assert(ttl_of(0, "f") > 0);
    freeclient(c);
}
END_TEST

/* A snapshot taken between INCRs: replay applies only what came after it. */
START_TEST(test_snapshot_marks_exactly_once)
{
    client *c = mkclient();
    for (int i = 0; i < 5; i++) run(c, "INCR", "ctr", NULL);
    run(c, "RPUSH", "nolist", "x", NULL); /* unknown without the lists module: logs nothing */
    char err[512];
    uint64_t seq = aof_roll_begin(err, sizeof err);
    ck_assert_msg(seq > 0, "%s", err);
    snap_info si;
    ck_assert_msg(snapshot_write("s.snap", seq, &whole_epoch, &si, err, sizeof err) == 0, "%s", err);
    aof_roll_complete(seq, si.created_ms);
    snap_info_free(&si);
    for (int i = 0; i < 3; i++) run(c, "INCR", "ctr", NULL);
    run(c, "FLUSHDB", NULL);
    run(c, "INCR", "ctr", NULL);
    run(c, "INCR", "ctr", NULL);
    aof_wait_all();
    aof_stop();
    /* the segment before the snapshot is gone */
    ck_assert_int_eq(system("test $(ls aofdir/*.seg | wc -l) -eq 1"), 0);
    flush_all();
    ck_assert_int_eq(snapshot_read("s.snap", SNAP_LOAD_KEEP_EXPIRED, &si, err, sizeof err), 0);
    ck_assert(has(0, "ctr", "5"));
    uint64_t max = 0;
    ck_assert_msg(aof_replay(&si, &max, err, sizeof err) == 0, "%s", err);
    snap_info_free(&si);
    ck_assert(has(0, "ctr", "2"));
    freeclient(c);
}
END_TEST

/* A multi-shard write that a snapshot saw in one shard and not the other
 * is completed by replay without applying the seen half twice. */
START_TEST(test_half_seen_multishard_write)
{
    client *c = mkclient();
    /* two keys in different shards */
    char k1[16] = "", k2[16] = "";
    for (int i = 0; !k2[0]; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%d", i);
        uint32_t s = store_shard_index(store_hash(sv_of(k)));
        if (!k1[0]) snprintf(k1, sizeof k1, "%s", k);
        else if (s != store_shard_index(store_hash(sv_of(k1)))) snprintf(k2, sizeof k2, "%s", k);
    }
    run(c, "SET", k1, "old1", NULL);
    run(c, "SET", k2, "old2", NULL);
    run(c, "MSET", k1, "new1", k2, "new2", NULL);
    uint32_t s1 = store_shard_index(store_hash(sv_of(k1)));
    uint32_t s2 = store_shard_index(store_hash(sv_of(k2)));
    uint64_t l1 = server_dbs[0].shards[s1].lsn;
    ck_assert_uint_eq(l1, server_dbs[0].shards[s2].lsn);
    aof_wait_all();
    aof_stop();
    /* the "snapshot": shard of k1 visited after the MSET, k2's before */
    flush_all();
    snap_info si = {0};
    si.dbs = (uint32_t)cfg.databases;
    si.shards = (uint32_t)cfg.shards;
    si.marks = calloc((size_t)si.dbs * si.shards, sizeof(uint64_t));
    si.marks[s1] = l1;
    si.marks[s2] = l1 - 2; /* had seen SET k2 old2 only... */
    si.marks[s2] = l1 - 1;
    shard_wrlock(&server_dbs[0].shards[s1]);
    store_set_string(&server_dbs[0], sv_of(k1), sv_of("new1"), -1, false);
    shard_unlock(&server_dbs[0].shards[s1]);
    shard_wrlock(&server_dbs[0].shards[s2]);
    store_set_string(&server_dbs[0], sv_of(k2), sv_of("old2"), -1, false);
    shard_unlock(&server_dbs[0].shards[s2]);
    char err[512];
    uint64_t max = 0;
    ck_assert_msg(aof_replay(&si, &max, err, sizeof err) == 0, "%s", err);
    free(si.marks);
    ck_assert(has(0, k1, "new1"));
    ck_assert(has(0, k2, "new2"));
    freeclient(c);
}
END_TEST

START_TEST(test_truncated_tail)
{
    client *c = mkclient();
    for (int i = 0; i < 10; i++) run(c, "INCR", "n", NULL);
    aof_wait_all();
    aof_stop();
    char path[512];
    seg_file(0, path, sizeof path);
    size_t n;
    char *p = slurp(path, &n);
    /* every cut inside the last record: cut off, 9 increments survive */
    size_t last = n;
    for (size_t cut = n - 1; cut > n - 60; cut--) {
        spit(path, p, cut);
        flush_all();
        char err[512];
        uint64_t max = 0;
        ck_assert_msg(aof_replay(NULL, &max, err, sizeof err) == 0, "cut %zu: %s", cut, err);
        if (has(0, "n", "10")) break; /* reached the previous record's end */
        ck_assert_msg(has(0, "n", "9"), "cut at %zu", cut);
        struct stat st;
        stat(path, &st);
        last = (size_t)st.st_size; /* truncated to the record boundary */
        ck_assert_uint_lt(last, cut + 1);
    }
    /* aof-load-truncated no: refused */
    spit(path, p, n - 3);
    char err[512];
    ck_assert_int_eq(config_set("aof-load-truncated", "no", err, sizeof err, false), 0);
    flush_all();
    uint64_t max = 0;
    ck_assert_int_eq(aof_replay(NULL, &max, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "truncated") && strstr(err, "offset"), "%s", err);
    config_set("aof-load-truncated", "yes", err, sizeof err, false);
    free(p);
    freeclient(c);
}
END_TEST

/* Segment and manifest versions: 1 (before sorted sets' state records said
 * their encoding) and 2 replay; 3 is refused, naming the segment. */
START_TEST(test_versions_read)
{
    client *c = mkclient();
    for (int i = 0; i < 4; i++) run(c, "INCR", "n", NULL);
    aof_wait_all();
    aof_stop();
    char path[512];
    seg_file(0, path, sizeof path);
    size_t n, mn;
    char *p = slurp(path, &n);
    char *m = slurp("aofdir/t.aof.manifest", &mn);
    ck_assert(mn > 19 && memcmp(m, "kvd-aof-manifest 2\n", 19) == 0);
    for (unsigned v = 1; v <= 3; v++) {
        p[8] = (char)v; /* version, then the header's CRC (bytes 0-11 and 16-31) */
        uint32_t crc = (uint32_t)util_crc64(util_crc64(0, p, 12), p + 16, 16);
        for (int i = 0; i < 4; i++) p[12 + i] = (char)(crc >> (8 * i));
        spit(path, p, n);
        m[17] = (char)('0' + (v < 3 ? v : 2));
        spit("aofdir/t.aof.manifest", m, mn);
        flush_all();
        char err[512];
        uint64_t max = 0;
        int r = aof_replay(NULL, &max, err, sizeof err);
        if (v < 3) {
            ck_assert_msg(r == 0, "version %u: %s", v, err);
            ck_assert(has(0, "n", "4"));
        } else {
            ck_assert_int_eq(r, -1);
            ck_assert_msg(strstr(err, "unknown AOF format version") && strstr(err, ".seg"), "%s", err);
        }
    }
    m[17] = '3';
    spit("aofdir/t.aof.manifest", m, mn);
    flush_all();
    char err[512];
    uint64_t max = 0;
    ck_assert_int_eq(aof_replay(NULL, &max, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown format on line 1"), "%s", err);
    free(p);
    free(m);
    freeclient(c);
}
END_TEST

START_TEST(test_every_flipped_byte_refused)
{
    client *c = mkclient();
    run(c, "SET", "key", "some value", NULL);
    run(c, "MSET", "a", "1", "b", "2", "c", "3", NULL);
    aof_wait_all();
    aof_stop();
    char path[512];
    seg_file(0, path, sizeof path);
    size_t n;
    char *orig = slurp(path, &n);
    for (size_t i = 0; i < n; i++) {
        char *p = malloc(n);
        memcpy(p, orig, n);
        p[i] ^= 0x04;
        spit(path, p, n);
        free(p);
        flush_all();
        char err[512] = "";
        uint64_t max = 0;
        int r = aof_replay(NULL, &max, err, sizeof err);
        ck_assert_msg(r == -1, "flipped byte %zu of %zu accepted", i, n);
        ck_assert_msg(strstr(err, path) && strstr(err, "offset"), "%s", err);
    }
    /* the checker agrees, and --fix cuts at the damage */
    char *p = malloc(n);
    memcpy(p, orig, n);
    p[n - 10] ^= 1;
    spit(path, p, n);
    free(p);
    ck_assert_int_eq(aof_check_cli(path, false), 1);
    ck_assert_int_eq(aof_check_cli(path, true), 0);
    ck_assert_int_eq(aof_check_cli(path, false), 0);
    flush_all();
    char err[512];
    uint64_t max = 0;
    ck_assert_msg(aof_replay(NULL, &max, err, sizeof err) == 0, "%s", err);
    ck_assert(has(0, "key", "some value") && has(0, "a", NULL));
    free(orig);
    freeclient(c);
}
END_TEST

/* The nth AOF write fails (disk full, half written): the writer keeps the
 * bytes, retries from where the file ends, and nothing is lost or doubled. */
START_TEST(test_write_fault_nothing_lost)
{
    client *c = mkclient();
    for (long nth = 1; nth <= 3; nth++) {
        persist_fault_set(PFAULT_WRITE, nth, 2);
        for (int i = 0; i < 4; i++) {
            run(c, "INCR", "ctr", NULL);
            run(c, "APPEND", "log", "x", NULL);
            aof_wait_all();
        }
    }
    persist_fault_set(PFAULT_WRITE, 0, 0);
    ck_assert(!atomic_load(&aof_write_failing));
    char err[512];
    ck_assert_msg(reload(NULL, err, sizeof err) == 0, "%s", err);
    flush_all();
    uint64_t max = 0;
    ck_assert_msg(aof_replay(NULL, &max, err, sizeof err) == 0, "%s", err);
    ck_assert(has(0, "ctr", "12"));
    ck_assert(has(0, "log", "xxxxxxxxxxxx"));
    freeclient(c);
}
END_TEST

typedef struct tw {
    int id, n;
} tw;

static void *hammer(void *arg)
{
    tw *w = arg;
    client *c = mkclient();
    char key[16];
    snprintf(key, sizeof key, "ctr%d", w->id);
    for (int i = 0; i < w->n; i++) {
        run(c, "INCR", key, NULL);
        run(c, "MSET", key, "x", "shared", "y", NULL);
        run(c, "SET", key, "0", NULL);
        run(c, "INCRBY", key, "5", NULL);
        aof_wait_written(); /* as a connection does before replying */
    }
    freeclient(c);
    return NULL;
}

START_TEST(test_group_commit_threads)
{
    atomic_store(&aof_fsync_mode, 0); /* always: the waits include fsync */
    enum { NT = 6, N = 200 };
    pthread_t t[NT];
    tw w[NT];
    for (int i = 0; i < NT; i++) {
        w[i] = (tw){i, N};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
    char err[512];
    ck_assert_msg(reload(NULL, err, sizeof err) == 0, "%s", err);
    flush_all();
    uint64_t max = 0;
    ck_assert_msg(aof_replay(NULL, &max, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(max, NT * N * 4);
    for (int i = 0; i < NT; i++) {
        char key[16];
        snprintf(key, sizeof key, "ctr%d", i);
        ck_assert(has(0, key, "5"));
    }
    ck_assert(has(0, "shared", "y"));
    atomic_store(&aof_fsync_mode, 1);
}
END_TEST

Suite *make_suite_aof(void)
{
    Suite *s = suite_create("aof");
    TCase *tc = tcase_create("aof");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_replay_roundtrip);
    tcase_add_test(tc, test_ttls_logged_absolute);
    tcase_add_test(tc, test_snapshot_marks_exactly_once);
    tcase_add_test(tc, test_half_seen_multishard_write);
    tcase_add_test(tc, test_truncated_tail);
    tcase_add_test(tc, test_versions_read);
    tcase_add_test(tc, test_every_flipped_byte_refused);
    tcase_add_test(tc, test_write_fault_nothing_lost);
    tcase_add_test(tc, test_group_commit_threads);
    suite_add_tcase(s, tc);
    return s;
}
