/* fuzz_snapshot.c — libFuzzer target for the snapshot loader (snapshot.c).
 *
 * The first input byte picks the mode: bit 0 recomputes the section and
 * file CRC-64s before loading (else the bytes are loaded as they are, and
 * almost every mutation stops at a checksum: that path is fuzzed too), bit
 * 1 only checks (SNAP_CHECK) instead of loading into the store. The rest is
 * the file, handed to snapshot_read() through a memfd. A load must either
 * succeed or refuse with a message naming the file and an offset; the store
 * is emptied after each input. */
#include "fuzz_common.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define HDR 56
#define SEC 41

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Makes every checksum match the bytes, following the layout in
 * doc/FORMAT.md as far as it holds. */
static void fix_checksums(uint8_t *p, size_t n)
{
    if (n < HDR) return;
    size_t o = HDR;
    while (o < n) {
        if (p[o] == 'E') {
            if (n - o >= 17) put_u64(p + o + 9, util_crc64(0, p, o + 9));
            return;
        }
        if (p[o] != 'S' || n - o < SEC) return;
        uint64_t len = dec_u64((const char *)p + o + 25);
        if (len > n - o - SEC) return;
        put_u64(p + o + 33, util_crc64(0, p + o + SEC, (size_t)len));
        o += SEC + (size_t)len;
    }
}

static int memfd = -1;
static char path[64];

static void setup(void)
{
    fuzz_init_once();
    if (memfd >= 0) return;
    cfg.loglevel = 99; /* quiet */
    store_init();
    memfd = memfd_create("fuzz-snapshot", 0);
    if (memfd < 0) abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
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
    int mode = (data[0] & 2) ? SNAP_CHECK : SNAP_LOAD;
    uint8_t *file = malloc(size);
    if (!file) abort();
    memcpy(file, data + 1, size - 1);
    if (data[0] & 1) fix_checksums(file, size - 1);
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, file, size - 1, 0) != (ssize_t)(size - 1)) abort();
    free(file);

    snap_info si;
    char err[512] = "";
    int rc = snapshot_read(path, mode, &si, err, sizeof err);
    if (rc == 0) snap_info_free(&si);
    else if (rc < 0 && (!err[0] || !strstr(err, "offset"))) {
        fprintf(stderr, "refused without an offset: %s\n", err);
        abort();
    }
    empty_store();
    return 0;
}
