/* util.h — small self-contained helpers shared by every part of kvd: the
 * clock (with a test offset), keyed hashing, CRC-64, Redis-exact number
 * parsing and formatting, memory units, glob matching and a fast PRNG. */
#ifndef KVD_UTIL_H
#define KVD_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <time.h>

/* util.c — clock: every time read in the server goes through these. */
int64_t  util_mstime(void);       /* wall clock ms since epoch, plus the test offset */
int64_t  util_ustime(void);       /* wall clock us since epoch, plus the test offset */
/* The running command's time (ms): read once, at the command's first
 * decision by the clock, and used for all of them: whether a key has
 * expired, relative deadlines, the time of its AOF record (an EXEC's
 * commands share one; a replayed record's commands get the record's).
 * Replay, run at the record's time, then decides as the command did; with
 * a clock read per decision, a write racing its key's deadline could find
 * the key alive while its record's later time had it expired. Read at the
 * first decision, not when the command starts: that is after its shard
 * locks are taken, so never before an expiry the reaper (which logs
 * nothing) carried out while the command waited for them.
 * util_cmd_ms: 0 outside a command, -1 in one before its first reading. */
extern _Thread_local int64_t util_cmd_ms;
static inline int64_t util_cmd_now(void)
{
    if (util_cmd_ms > 0) return util_cmd_ms;
    int64_t t = util_mstime();
    if (util_cmd_ms < 0) util_cmd_ms = t;
    return t;
}
int64_t  util_monotonic_us(void); /* CLOCK_MONOTONIC in us (not offset), for durations */
struct timespec util_deadline(int64_t us); /* CLOCK_REALTIME + us (not offset), for pthread_cond_timedwait */
/* util.c — a thread sleeps on a 32-bit word while it holds val (at most
 * timeout_us; false when that ran out; spurious returns happen), another
 * wakes up to n sleepers on it. Process-private futexes on Linux. */
bool     util_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_us);
void     util_futex_wake(_Atomic uint32_t *w, int n);
void     util_clock_jump(int64_t ms); /* adds ms to the offset (atomic, thread-safe) */
int64_t  util_clock_offset(void); /* the current offset in ms */

/* util.c — keyed hash: SipHash-1-3 (64-bit output) with a 16-byte key. */
void     util_hash_seed(const uint8_t key[16]);  /* sets the process-wide key */
void     util_hash_seed_random(void);             /* from getrandom() or /dev/urandom */
uint64_t util_hash(const void *p, size_t n);      /* SipHash-1-3 with the process key */
uint64_t util_siphash13(const void *p, size_t n, const uint8_t key[16]);
void     util_hash_key(uint8_t key[16]);          /* copies out the process-wide key */

/* util.c — CRC-64/Jones as Redis uses it (reflected, init 0, no final xor;
 * "123456789" -> 0xe9c6d914c4b8d9ca). Incremental: pass the previous result. */
uint64_t util_crc64(uint64_t crc, const void *p, size_t n);
/* The CRC of a followed by b from crc_a = CRC(a), crc_b = CRC(b) and the
 * length of b, in O(log len_b) without reading b (zlib's crc32_combine). */
uint64_t util_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* util.c — numbers, with Redis's exact acceptance rules. Parsers take an
 * explicit length (input need not be NUL-terminated) and leave *out alone
 * on failure; formatters NUL-terminate and return the length, 0 if buf is
 * too small. */
bool util_str2ll(const char *s, size_t n, long long *out);  /* string2ll: no spaces, '+', leading zeros, "-0" */
bool util_str2ull(const char *s, size_t n, unsigned long long *out); /* same rules, no sign */
int  util_ll2str(char *dst, size_t dstlen, long long v);
bool util_str2ld(const char *s, size_t n, long double *out); /* string2ld (INCRBYFLOAT) */
bool util_str2d(const char *s, size_t n, double *out);       /* scores: inf ok, nan/spaces not */
int  util_ld2str(char *buf, size_t len, long double v, bool humanfriendly); /* "10.6", "%.17Lg" */
int  util_d2str(char *buf, size_t len, double v);            /* ZSCORE replies: "%.17g", "inf", "nan" */

/* util.c — memory units as in redis.conf: "1gb" "100mb" "1k" "512"
 * (k=1000, kb=1024, m, mb, g, gb, b; any case). False on garbage/overflow. */
bool util_memtoull(const char *s, unsigned long long *out);
bool util_memtoull_ov(const char *s, unsigned long long *out, bool *overflow);

/* util.c — glob matching as Redis's KEYS / SCAN MATCH (* ? [abc] [^a] [a-z]
 * \x), ASCII case folded if nocase; O(plen * slen), never exponential. */
bool util_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                     bool nocase);

/* util.c — random: fast thread-local PRNG seeded per thread from getrandom. */
uint64_t util_rand64(void);

#endif /* KVD_UTIL_H */
