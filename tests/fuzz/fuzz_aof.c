/* fuzz_aof.c — libFuzzer target for the AOF loader (aof.c): the input is
 * one segment, replayed through aof_replay() from a manifest naming it, in
 * a directory under /dev/shm, with the command dispatcher and the store
 * live (so every command the file holds really runs).
 *
 * The first input byte: bit 0 recomputes the segment header's and every
 * unit's checksums first (else nearly every mutation stops at one). The
 * replay must succeed or refuse with a message; the store is emptied and
 * the clock offset the replay moves is put back after each input. */
#include "fuzz_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEGHDR 32
#define UNITHDR 28

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Makes the checksums match the bytes, following doc/FORMAT.md. */
static void fix_checksums(uint8_t *p, size_t n)
{
    if (n < SEGHDR) return;
    put_u32(p + 12, (uint32_t)util_crc64(util_crc64(0, p, 12), p + 16, SEGHDR - 16));
    size_t o = SEGHDR;
    while (n - o >= UNITHDR) {
        uint8_t *u = p + o;
        uint32_t len = dec_u32((const char *)u + 4);
        put_u32(u + 24, (uint32_t)util_crc64(0, u, 24));
        if ((size_t)len + 8 > n - o - UNITHDR) return;
        uint64_t crc = util_crc64(util_crc64(0, u + UNITHDR, len), u + 4, UNITHDR - 4);
        put_u64(u + UNITHDR + len, crc);
        o += UNITHDR + (size_t)len + 8;
    }
}

static char dir[64], seg[128], man[128];

static void cleanup(void)
{
    unlink(seg);
    unlink(man);
    rmdir(dir);
}

static void setup(void)
{
    fuzz_init_once();
    if (dir[0]) return;
    cfg.loglevel = 99;
    store_init();
    cmd_init();
    snprintf(dir, sizeof dir, "/dev/shm/kvd-fuzz-aof-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(man, sizeof man, "%s/f.aof.manifest", dir);
    atexit(cleanup);
    FILE *f = fopen(man, "w");
    if (!f) abort();
    fputs("kvd-aof-manifest 1\nbase 0\nsegment 1\n", f);
    fclose(f);
    snprintf(seg, sizeof seg, "%s/f.aof.1.seg", dir);
    aof_set_names(dir, "f.aof");
}

static void empty_store(void)
{
    for (int i = 0; i < cfg.databases; i++)
        for (int j = 0; j < cfg.shards; j++) {
            shard *s = &server_dbs[i].shards[j];
            shard_wrlock(s);
            store_flush_shard(s);
            shard_unlock(s);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1 || size > (1 << 20)) return 0;
    uint8_t *file = malloc(size);
    if (!file) abort();
    memcpy(file, data + 1, size - 1);
    if (data[0] & 1) fix_checksums(file, size - 1);
    int fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, file, size - 1) != (ssize_t)(size - 1)) abort();
    close(fd);
    free(file);

    int64_t off0 = util_clock_offset();
    uint64_t max_lsn = 0;
    char err[1024] = "";
    int rc = aof_replay(NULL, &max_lsn, err, sizeof err);
    if (rc != 0 && !err[0]) {
        fprintf(stderr, "replay failed without a message\n");
        abort();
    }
    util_clock_jump(off0 - util_clock_offset());
    empty_store();
    return 0;
}
