/* util.c — small self-contained helpers used across kvd: the server clock
 * (with an offset tests can move), SipHash-1-3, CRC-64, Redis-exact number
 * parsing/formatting, memory units, glob matching and a per-thread PRNG.
 * Depends on libc and libm only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* getrandom, clock_gettime under -std=c11 */
#endif

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Clock
 * ---------------------------------------------------------------------- */

/* Milliseconds added to every wall-clock read; moved only by tests (and
 * DEBUG commands) through util_clock_jump(). */
static _Atomic int64_t clock_offset_ms;

static int64_t realtime_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

_Thread_local int64_t util_cmd_ms;

/* Wall-clock milliseconds since the epoch, plus the test offset. */
int64_t util_mstime(void)
{
    return realtime_us() / 1000 +
           atomic_load_explicit(&clock_offset_ms, memory_order_relaxed);
}

/* Wall-clock microseconds since the epoch, plus the test offset. */
int64_t util_ustime(void)
{
    return realtime_us() +
           atomic_load_explicit(&clock_offset_ms, memory_order_relaxed) * 1000;
}

/* Monotonic microseconds from an arbitrary origin; never offset, never goes
 * back: use it to measure durations, never to compare with expiry times. */
int64_t util_monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool util_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_us)
{
    struct timespec ts = {(time_t)(timeout_us / 1000000), (long)(timeout_us % 1000000) * 1000};
    return syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0) == 0 || errno != ETIMEDOUT;
}

void util_futex_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

struct timespec util_deadline(int64_t us)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + us % 1000000 * 1000;
    ts.tv_sec += (time_t)(us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* Moves util_mstime()/util_ustime() by ms (may be negative). Safe from any
 * thread; readers see either the old or the new offset. */
void util_clock_jump(int64_t ms)
{
    atomic_fetch_add_explicit(&clock_offset_ms, ms, memory_order_relaxed);
}

/* The total offset in ms applied so far. */
int64_t util_clock_offset(void)
{
    return atomic_load_explicit(&clock_offset_ms, memory_order_relaxed);
}

/* ------------------------------------------------------------------------
 * Random bytes (kernel) and SipHash-1-3
 * ---------------------------------------------------------------------- */

/* Fills buf with n bytes from getrandom(), falling back to /dev/urandom.
 * Returns 0 on success, -1 if neither source worked. */
static int os_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    if (got == n)
        return 0;

    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    close(fd);
    return got == n ? 0 : -1;
}

static uint64_t load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIP_ROUND(v0, v1, v2, v3) do {                                   \
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);    \
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                         \
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                         \
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);    \
    } while (0)

static uint64_t siphash13_k(const void *data, size_t n, uint64_t k0, uint64_t k1)
{
    const unsigned char *p = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    const unsigned char *end = p + (n & ~(size_t)7);

    for (; p != end; p += 8) {
        uint64_t m = load_le64(p);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* Last block: the remaining 0..7 bytes, little-endian, with the
     * message length (mod 256) in the top byte. */
    uint64_t b = (uint64_t)n << 56;
    for (size_t k = 0; k < (n & 7); k++)
        b |= (uint64_t)p[k] << (8 * k);
    v3 ^= b;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= b;

    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The process-wide key, as the two little-endian halves SipHash uses.
 * Written once at startup, before any thread hashes. */
static uint64_t hash_k0, hash_k1;

/* Sets the key util_hash() uses. Call before other threads start hashing:
 * changing it later changes every hash (and so every table slot). */
void util_hash_seed(const uint8_t key[16])
{
    hash_k0 = load_le64(key);
    hash_k1 = load_le64(key + 8);
}

void util_hash_key(uint8_t key[16])
{
    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(hash_k0 >> (8 * i));
        key[8 + i] = (uint8_t)(hash_k1 >> (8 * i));
    }
}

/* Sets a random key from the kernel. If no random source works (no
 * getrandom, no /dev/urandom), falls back to a key mixed from the time,
 * the pid and an address: weaker, but still differs between runs. */
void util_hash_seed_random(void)
{
    uint8_t key[16];

    if (os_random(key, sizeof(key)) != 0) {
        uint64_t a = (uint64_t)realtime_us() ^ (uint64_t)util_monotonic_us() << 20;
        uint64_t b = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&key;
        for (int i = 0; i < 8; i++) {
            key[i] = (uint8_t)(a >> (8 * i));
            key[8 + i] = (uint8_t)(b >> (8 * i));
        }
    }
    util_hash_seed(key);
}

/* SipHash-1-3 of p[0..n) under the process key (see util_hash_seed). */
uint64_t util_hash(const void *p, size_t n)
{
    return siphash13_k(p, n, hash_k0, hash_k1);
}

/* SipHash-1-3 of p[0..n) under key (16 bytes, read little-endian as k0, k1
 * like the reference implementation). */
uint64_t util_siphash13(const void *p, size_t n, const uint8_t key[16])
{
    return siphash13_k(p, n, load_le64(key), load_le64(key + 8));
}

/* ------------------------------------------------------------------------
 * CRC-64/Jones, slicing-by-8
 * ---------------------------------------------------------------------- */

/* The Jones polynomial 0xad93d23594c935a9 with its bits reversed, for the
 * LSB-first (reflected) form of the CRC. */
#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

/* crc64_table[0] is the classic byte table; crc64_table[k][b] is the CRC of
 * byte b followed by k zero bytes, so eight bytes can be folded at once. */
static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void)
{
    for (int b = 0; b < 256; b++) {
        uint64_t c = (uint64_t)b;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc64_table[0][b] = c;
    }
    for (int b = 0; b < 256; b++) {
        uint64_t c = crc64_table[0][b];
        for (int t = 1; t < 8; t++) {
            c = crc64_table[0][c & 0xff] ^ (c >> 8);
            crc64_table[t][b] = c;
        }
    }
}

/* Continues a CRC-64 over p[0..n): util_crc64(util_crc64(0, a, na), b, nb)
 * equals the CRC of a followed by b. Start with crc = 0. Thread-safe. */
uint64_t util_crc64(uint64_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;

    pthread_once(&crc64_once, crc64_init);
    while (n >= 8) {
        crc ^= load_le64(s);
        crc = crc64_table[7][crc & 0xff] ^
              crc64_table[6][(crc >> 8) & 0xff] ^
              crc64_table[5][(crc >> 16) & 0xff] ^
              crc64_table[4][(crc >> 24) & 0xff] ^
              crc64_table[3][(crc >> 32) & 0xff] ^
              crc64_table[2][(crc >> 40) & 0xff] ^
              crc64_table[1][(crc >> 48) & 0xff] ^
              crc64_table[0][crc >> 56];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = crc64_table[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* Combining: appending n zero bytes to a message maps its CRC through a
 * linear operator over GF(2), a 64x64 bit matrix (column i = the image of
 * bit i). crc64_zeros[k] is the operator for 2^k zero bytes; CRC(a . b) =
 * Z(len b)(CRC(a)) ^ CRC(b) because init and final xor are 0. */
static uint64_t crc64_zeros[64][64];
static pthread_once_t crc64_zeros_once = PTHREAD_ONCE_INIT;

static uint64_t gf2_times(const uint64_t *mat, uint64_t vec)
{
    uint64_t sum = 0;
    for (int i = 0; vec; i++, vec >>= 1)
        if (vec & 1)
            sum ^= mat[i];
    return sum;
}

static void crc64_zeros_init(void)
{
    uint64_t op[64], sq[64];
    /* one zero bit: shift right, xor the polynomial when bit 0 falls out */
    op[0] = CRC64_POLY_REFLECTED;
    for (int i = 1; i < 64; i++)
        op[i] = 1ULL << (i - 1);
    for (int b = 0; b < 3; b++) { /* 2, 4, then 8 zero bits */
        for (int i = 0; i < 64; i++)
            sq[i] = gf2_times(op, op[i]);
        memcpy(op, sq, sizeof op);
    }
    memcpy(crc64_zeros[0], op, sizeof op);
    for (int k = 1; k < 64; k++)
        for (int i = 0; i < 64; i++)
            crc64_zeros[k][i] = gf2_times(crc64_zeros[k - 1], crc64_zeros[k - 1][i]);
}

uint64_t util_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
    pthread_once(&crc64_zeros_once, crc64_zeros_init);
    for (int k = 0; len_b; k++, len_b >>= 1)
        if (len_b & 1)
            crc_a = gf2_times(crc64_zeros[k], crc_a);
    return crc_a ^ crc_b;
}

/* ------------------------------------------------------------------------
 * Integers
 * ---------------------------------------------------------------------- */

/* Parses the digits s[0..n) (n >= 1) as an unsigned decimal: only '0'-'9',
 * no leading zero unless the whole thing is "0", no overflow past max. */
static bool parse_digits(const char *s, size_t n, unsigned long long max,
                         unsigned long long *out)
{
    unsigned long long v = 0;

    if (n == 0)
        return false;
    if (s[0] == '0') {
        if (n != 1)
            return false;
        *out = 0;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return false;
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Parses s[0..n) as a long long with Redis's string2ll rules: an optional
 * '-' then digits; no spaces, no '+', no leading zeros ("0" alone is fine),
 * "-0" and the empty string rejected, out-of-range rejected. On false *out
 * is untouched. */
bool util_str2ll(const char *s, size_t n, long long *out)
{
    unsigned long long v;

    if (n == 0)
        return false;
    if (s[0] == '-') {
        /* LLONG_MIN's magnitude, computed without overflow. */
        unsigned long long lim = (unsigned long long)LLONG_MAX + 1;
        if (n == 1 || s[1] == '0')   /* "-" "-0" "-01" */
            return false;
        if (!parse_digits(s + 1, n - 1, lim, &v))
            return false;
        *out = v == lim ? LLONG_MIN : -(long long)v;
        return true;
    }
    if (!parse_digits(s, n, LLONG_MAX, &v))
        return false;
    *out = (long long)v;
    return true;
}

/* Parses s[0..n) as an unsigned long long with the same strict rules as
 * util_str2ll, and no sign at all: "0" .. "18446744073709551615". */
bool util_str2ull(const char *s, size_t n, unsigned long long *out)
{
    return parse_digits(s, n, ULLONG_MAX, out);
}

/* Writes v in decimal into dst, NUL-terminated. Returns the length without
 * the NUL, or 0 (dst untouched) if dstlen is too small. */
int util_ll2str(char *dst, size_t dstlen, long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;

    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';

    size_t len = sizeof(tmp) - i;
    if (len + 1 > dstlen)
        return 0;
    memcpy(dst, tmp + i, len);
    dst[len] = '\0';
    return (int)len;
}

/* ------------------------------------------------------------------------
 * Floating point
 * ---------------------------------------------------------------------- */

/* Longest string util_str2ld accepts, minus one (Redis's
 * MAX_LONG_DOUBLE_CHARS): longer input is an error, as in Redis. */
#define LD_MAX_CHARS (5 * 1024)

static bool is_c_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* Parses s[0..n) as a long double the way Redis's string2ld does (used by
 * INCRBYFLOAT, HINCRBYFLOAT): strtold syntax (so "inf", "-inf", "1e5",
 * ".5", "+1", "0x1p3" are fine); rejected are the empty string, leading
 * whitespace, trailing garbage (or an embedded NUL), NaN, overflow and
 * underflow to zero, and input of 5120 bytes or more. */
bool util_str2ld(const char *s, size_t n, long double *out)
{
    char buf[LD_MAX_CHARS];
    char *end;
    long double v;

    if (n == 0 || n >= sizeof(buf) || is_c_space(s[0]))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';

    errno = 0;
    v = strtold(buf, &end);
    if (end != buf + n || isnan(v))
        return false;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0))
        return false;
    *out = v;
    return true;
}

/* Parses s[0..n) as a double the way Redis parses scores and float
 * arguments (ZADD, ZINCRBY, ...): strtod syntax, so "inf", "+inf", "-inf",
 * "Infinity" in any case are accepted; rejected are the empty string,
 * leading whitespace, trailing garbage, NaN, and overflow or underflow to
 * zero (denormals are accepted). Returns false, *out untouched, on error
 * or if a copy of a long input cannot be allocated. */
bool util_str2d(const char *s, size_t n, double *out)
{
    char small[128];
    char *buf = small;
    char *end;
    double v;
    bool ok;

    if (n == 0 || is_c_space(s[0]))
        return false;
    if (n >= sizeof(small)) {
        buf = malloc(n + 1);
        if (buf == NULL)
            return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';

    errno = 0;
    v = strtod(buf, &end);
    ok = end == buf + n && !isnan(v) &&
         !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0));
    if (buf != small)
        free(buf);
    if (ok)
        *out = v;
    return ok;
}

/* Formats v as Redis's ld2string does. humanfriendly ("%.17Lf", then
 * trailing zeros and a trailing '.' removed, "-0" printed as "0") is what
 * INCRBYFLOAT replies and stores, so 10.5 + 0.1 gives "10.6"; otherwise
 * "%.17Lg". Infinities print as "inf" / "-inf". Returns the length written
 * (NUL-terminated), or 0 if the result does not fit in len bytes (or a
 * scratch buffer for the unstripped digits cannot be allocated). "%.17Lf"
 * of a huge value is long: 5120 bytes hold any finite long double. */
int util_ld2str(char *buf, size_t len, long double v, bool humanfriendly)
{
    int l;

    if (isinf(v)) {
        const char *s = v > 0 ? "inf" : "-inf";
        size_t sl = strlen(s);
        if (len < sl + 1)
            return 0;
        memcpy(buf, s, sl + 1);
        return (int)sl;
    }
    if (len == 0)
        return 0;
    if (!humanfriendly) {
        l = snprintf(buf, len, "%.17Lg", v);
        return (l < 0 || (size_t)l + 1 > len) ? 0 : l;
    }

    /* The 17 decimals usually shrink once their trailing zeros go, so the
     * result may fit where the raw digits do not: format into a scratch
     * buffer in that case. */
    char *out = buf;
    l = snprintf(buf, len, "%.17Lf", v);
    if (l < 0)
        return 0;
    if ((size_t)l + 1 > len) {
        out = malloc((size_t)l + 1);
        if (out == NULL)
            return 0;
        snprintf(out, (size_t)l + 1, "%.17Lf", v);
    }
    if (memchr(out, '.', (size_t)l) != NULL) {
        while (out[l - 1] == '0')
            l--;
        if (out[l - 1] == '.')
            l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    if (out != buf) {
        if ((size_t)l + 1 <= len)
            memcpy(buf, out, (size_t)l);
        else
            l = 0;
        free(out);
        if (l == 0)
            return 0;
    }
    buf[l] = '\0';
    return l;
}

/* Formats v as Redis 7.0 replies with a double (ZSCORE, ZINCRBY, ZRANGE
 * WITHSCORES in RESP2): "inf", "-inf", "nan", otherwise "%.17g" (so 3.0 is
 * "3", 1.1 is "1.1000000000000001", 1e17 is "1e+17", -0.0 is "-0").
 * Integral values below 2^52 in magnitude take a faster integer path with
 * identical output. Returns the length (NUL-terminated), 0 if buf is too
 * small. */
int util_d2str(char *buf, size_t len, double v)
{
    int l;

    if (isnan(v)) {
        l = snprintf(buf, len, "nan");
    } else if (isinf(v)) {
        l = snprintf(buf, len, v > 0 ? "inf" : "-inf");
    } else if (v != 0 && v > -4503599627370496.0 && v < 4503599627370496.0 &&
               v == (double)(long long)v) {
        return util_ll2str(buf, len, (long long)v);
    } else {
        l = snprintf(buf, len, "%.17g", v);
    }
    if (l < 0 || (size_t)l + 1 > len)
        return 0;
    return l;
}

/* ------------------------------------------------------------------------
 * Memory units
 * ---------------------------------------------------------------------- */

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Parses a size as redis.conf writes it: decimal digits (leading zeros
 * allowed) then an optional unit, case-insensitive: b (1), k (1000),
 * kb (1024), m (10^6), mb (2^20), g (10^9), gb (2^30). Returns false on
 * anything else (sign, spaces, fraction, unknown unit, no digits) or if
 * the value does not fit in 64 bits; *out is then untouched. Stricter than
 * Redis, which takes "" and a bare unit as 0 and wraps on overflow.
 * util_memtoull_ov also says whether it failed only because the value does
 * not fit (digits and unit valid). */
bool util_memtoull(const char *s, unsigned long long *out)
{
    bool overflow;
    return util_memtoull_ov(s, out, &overflow);
}

bool util_memtoull_ov(const char *s, unsigned long long *out, bool *overflow)
{
    static const struct { const char *name; unsigned long long mul; } units[] = {
        { "",   1ULL },
        { "b",  1ULL },
        { "k",  1000ULL },
        { "kb", 1024ULL },
        { "m",  1000ULL * 1000 },
        { "mb", 1024ULL * 1024 },
        { "g",  1000ULL * 1000 * 1000 },
        { "gb", 1024ULL * 1024 * 1024 },
    };
    unsigned long long v = 0, mul = 0;
    size_t i = 0;
    bool big = false;

    *overflow = false;
    while (s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            big = true;
        else
            v = v * 10 + d;
        i++;
    }
    if (i == 0)
        return false;

    const char *u = s + i;
    size_t ulen = strlen(u);
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        const char *name = units[k].name;
        if (strlen(name) != ulen)
            continue;
        size_t j = 0;
        while (j < ulen && ascii_lower(u[j]) == name[j])
            j++;
        if (j == ulen) {
            mul = units[k].mul;
            break;
        }
    }
    if (mul == 0)
        return false;
    if (big || v > ULLONG_MAX / mul) {
        *overflow = true;
        return false;
    }
    *out = v * mul;
    return true;
}

/* ------------------------------------------------------------------------
 * Glob matching
 * ---------------------------------------------------------------------- */

static unsigned char glob_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Matches one non-'*' pattern element starting at pat[*pi] against the
 * byte c, and advances *pi past the element. How far the element reaches
 * never depends on c, which is what makes the single-backtrack matcher
 * below exact. Redis's rules, element by element:
 *   ?        any byte
 *   \x       x literally; a '\' that ends the pattern is a literal '\'
 *   [...]    a class: optional leading '^' negates; inside, "\x" is x
 *            compared exactly (even when nocase), "a-z" a range (reversed
 *            ends are swapped, then both lowered when nocase), anything
 *            else a literal; ']' ends it, and a class that is never closed
 *            runs to the end of the pattern. "[]" is an empty class.
 *   x        x itself (ASCII case folded when nocase)
 * Bytes compare as unsigned values, so ranges over bytes >= 0x80 behave as
 * Redis does where char is unsigned. */
static bool glob_element(const unsigned char *pat, size_t plen, size_t *pi,
                         unsigned char c, bool nocase)
{
    size_t i = *pi;
    unsigned char lc = nocase ? glob_lower(c) : c;

    switch (pat[i]) {
    case '?':
        *pi = i + 1;
        return true;

    case '[': {
        bool neg, hit = false;

        i++;
        neg = i < plen && pat[i] == '^';
        if (neg)
            i++;
        for (;;) {
            if (i + 1 < plen && pat[i] == '\\') {
                if (pat[i + 1] == c)
                    hit = true;
                i += 2;
            } else if (i >= plen) {
                break;
            } else if (pat[i] == ']') {
                i++;
                break;
            } else if (plen - i >= 3 && pat[i + 1] == '-') {
                unsigned char lo = pat[i], hi = pat[i + 2];
                if (lo > hi) {
                    unsigned char t = lo;
                    lo = hi;
                    hi = t;
                }
                if (nocase) {
                    lo = glob_lower(lo);
                    hi = glob_lower(hi);
                }
                if (lc >= lo && lc <= hi)
                    hit = true;
                i += 3;
            } else {
                if ((nocase ? glob_lower(pat[i]) : pat[i]) == lc)
                    hit = true;
                i++;
            }
        }
        *pi = i;
        return hit != neg;
    }

    case '\\':
        /* A '\' that ends the pattern stands for itself. */
        if (i + 1 < plen)
            i++;
        break;
    default:
        break;
    }
    *pi = i + 1;
    return (nocase ? glob_lower(pat[i]) : pat[i]) == lc;
}

/* Does s[0..slen) match the glob pat[0..plen)? Same answers as Redis's
 * KEYS and SCAN MATCH (stringmatchlen, plus their rule that the pattern
 * "*" alone matches every key, even the empty one; any other pattern but
 * "" never matches an empty string). See glob_element for the syntax.
 *
 * Every element other than '*' consumes exactly one byte, so only the
 * most recent '*' ever needs to be retried: on a mismatch the text that
 * star swallows grows by one byte and matching resumes right after it.
 * Work is O(plen * slen) in the worst case, never exponential. */
bool util_glob_match(const char *pattern, size_t plen, const char *string,
                     size_t slen, bool nocase)
{
    const unsigned char *pat = (const unsigned char *)pattern;
    const unsigned char *s = (const unsigned char *)string;
    size_t p = 0, i = 0;
    size_t star_p = 0, star_i = 0;   /* resume points after the last '*' */
    bool have_star = false;

    if (slen == 0)
        return plen == 0 || (plen == 1 && pat[0] == '*');

    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            while (p < plen && pat[p] == '*')
                p++;
            if (p == plen)
                return true;
            have_star = true;
            star_p = p;
            star_i = i;
            continue;
        }
        if (p < plen) {
            size_t next = p;
            if (glob_element(pat, plen, &next, s[i], nocase)) {
                p = next;
                i++;
                continue;
            }
        }
        if (!have_star)
            return false;
        /* Let the last star take one more byte and retry after it. */
        p = star_p;
        i = ++star_i;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* ------------------------------------------------------------------------
 * Random numbers: xoshiro256**, one state per thread
 * ---------------------------------------------------------------------- */

static _Thread_local uint64_t rng_state[4];
static _Thread_local bool rng_seeded;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed_thread(void)
{
    uint64_t seed[4];

    if (os_random(seed, sizeof(seed)) != 0) {
        /* No kernel randomness: expand what differs between threads and
         * runs (time, pid, this thread's state address). */
        uint64_t x = (uint64_t)realtime_us() ^
                     (uint64_t)util_monotonic_us() << 17 ^
                     (uint64_t)getpid() << 40 ^
                     (uint64_t)(uintptr_t)rng_state;
        for (int k = 0; k < 4; k++)
            seed[k] = splitmix64(&x);
    }
    if ((seed[0] | seed[1] | seed[2] | seed[3]) == 0)
        seed[0] = 0x9e3779b97f4a7c15ULL;   /* the all-zero state is stuck */
    memcpy(rng_state, seed, sizeof(seed));
    rng_seeded = true;
}

/* 64 uniformly distributed random bits. Not cryptographic. Each thread has
 * its own generator, seeded from the kernel on its first call, so calls
 * never contend and never lock. */
uint64_t util_rand64(void)
{
    uint64_t *st = rng_state;

    if (!rng_seeded)
        rng_seed_thread();

    uint64_t result = rotl64(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;

    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl64(st[3], 45);
    return result;
}
