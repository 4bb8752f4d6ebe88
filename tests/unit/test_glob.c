/* test_glob.c — Check suite for util_glob_match: a table of answers read
 * from redis-server 7.0.15 (KEYS for case-sensitive matching, COMMAND LIST
 * FILTERBY PATTERN for nocase), patterns that would make a backtracking
 * matcher exponential, and a randomised comparison with a plain recursive
 * matcher. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct glob_case {
    const char *pat;
    const char *str;
    bool match;
};

/* Each row: SET <str> on an empty server, then KEYS <pat>; match is whether
 * <str> came back. Rows with an empty <str> check KEYS's own answers for
 * the empty key ("*" matches it, "**" does not). */
static const struct glob_case redis_cases[] = {
    { "*", "hello", true },
    { "h?llo", "hello", true },
    { "h?llo", "hallo", true },
    { "h?llo", "hllo", false },
    { "h*llo", "hllo", true },
    { "h*llo", "heeeello", true },
    { "h[ae]llo", "hello", true },
    { "h[ae]llo", "hillo", false },
    { "h[^e]llo", "hallo", true },
    { "h[^e]llo", "hello", false },
    { "h[a-b]llo", "hbllo", true },
    { "h[a-b]llo", "hcllo", false },
    { "h[b-a]llo", "hallo", true },
    { "[z-a]", "m", true },
    { "[z-a]", "A", false },
    { "\\*", "*", true },
    { "\\*", "a", false },
    { "a\\", "a\\", true },
    { "a\\", "a", false },
    { "\\", "\\", true },
    { "\\a", "a", true },
    { "a\\*b", "a*b", true },
    { "a\\*b", "axb", false },
    { "[abc", "a", true },
    { "[abc", "d", false },
    { "[abc", "[abc", false },
    { "[a-", "a", true },
    { "[a-", "-", true },
    { "[a-", "b", false },
    { "[\\]]", "]", true },
    { "[\\]]", "\\", false },
    { "[]]", "]", false },
    { "[]]", "]]", false },
    { "[^]]", "a]", true },
    { "[^]", "x", true },
    { "[]", "a", false },
    { "[[]", "[", true },
    { "[\\", "\\", true },
    { "[a\\-z]", "-", true },
    { "[a\\-z]", "m", false },
    { "[a-]", "]", true },
    { "[a-]", "b", false },
    { "[a-]", "_", true },
    { "[a-]b]", "b", true },
    { "[-a]", "-", true },
    { "*[", "a[", false },
    { "*[", "a", false },
    { "k[^a-c]y", "kdy", true },
    { "k[^a-c]y", "kby", false },
    { "***a", "bca", true },
    { "a**", "a", true },
    { "a*?", "a", false },
    { "a*?", "ab", true },
    { "[!a]", "b", false },
    { "[!a]", "!", true },
    { "*\\", "ab\\", true },
    { "user:*:name", "user:42:name", true },
    { "user:?:name", "user:42:name", false },
    { "H*", "hello", false },
    { "a*b*c", "abc", true },
    { "a*b*c", "acb", false },
    { "a*b*c", "aXbYc", true },
    { "*a*a*a*b", "aaaa", false },
    { "*a*a*a*b", "aaaab", true },
    { "*.txt", "file.txt", true },
    { "*.txt", "file.txt.bak", false },
    { "??", "a", false },
    { "[a-z]*", "Hello", false },
    { "[A-Z]*", "Hello", true },
    { "*?*?*?", "ab", false },
    { "*?*?*?", "abc", true },
    { "a[b-d]*[^x]", "acccy", true },
    { "a[b-d]*[^x]", "acccx", false },
    { "*", "*", true },
    { "?", "?", true },
    { "[*]", "*", true },
    { "[*]", "a", false },
    { "[?]", "a", false },
    { "", "x", false },
    { "x", "xx", false },
    { "xx", "x", false },
    { "*", "", true },
    { "**", "", false },
    { "", "", true },
    { "?*", "", false },
};

/* nocase: COMMAND LIST FILTERBY PATTERN <pat> matches command names
 * ignoring case; match is whether <str> (a command name) was listed. */
static const struct glob_case redis_nocase_cases[] = {
    { "GET", "get", true },
    { "G?T", "get", true },
    { "[F-H]ET", "get", true },
    { "[^G]et", "get", false },
    { "[\\G]et", "get", false },
    { "[\\g]et", "get", true },
    { "\\Get", "get", true },
    { "[G-a]et", "get", false },
    { "[a-G]et", "get", false },
    { "[h-E]et", "get", true },
    { "*SCAN", "zscan", true },
    { "Z[A-C]DD", "zadd", true },
    { "[^A-F]*", "get", true },
};

static bool glob(const char *p, const char *s, bool nocase)
{
    return util_glob_match(p, strlen(p), s, strlen(s), nocase);
}

START_TEST(test_glob_redis_table)
{
    const struct glob_case *c = &redis_cases[_i];

    ck_assert_msg(glob(c->pat, c->str, false) == c->match,
                  "pattern \"%s\" string \"%s\": want %s", c->pat, c->str,
                  c->match ? "match" : "no match");
}
END_TEST

START_TEST(test_glob_redis_nocase_table)
{
    const struct glob_case *c = &redis_nocase_cases[_i];

    ck_assert_msg(glob(c->pat, c->str, true) == c->match,
                  "nocase pattern \"%s\" string \"%s\": want %s", c->pat, c->str,
                  c->match ? "match" : "no match");
}
END_TEST

START_TEST(test_glob_case_flag)
{
    ck_assert(!glob("HELLO", "hello", false));
    ck_assert(glob("HELLO", "hello", true));
    ck_assert(glob("h[A-Z]llo", "hEllo", false));
    ck_assert(!glob("h[A-Z]llo", "hello", false));
    ck_assert(glob("h[A-Z]llo", "hello", true));
    ck_assert(glob("h[^E]llo", "hallo", true));
    ck_assert(!glob("h[^E]llo", "hello", true));
    ck_assert(glob("*WORLD", "hello world", true));
    ck_assert(!glob("*WORLD", "hello world", false));
}
END_TEST

/* Lengths are explicit: bytes past plen/slen are never read, and NUL is an
 * ordinary byte. */
START_TEST(test_glob_lengths_and_binary)
{
    ck_assert(util_glob_match("abc*", 2, "abzzz", 2, false));
    ck_assert(!util_glob_match("abc", 3, "abcd", 3 + 1, false));
    ck_assert(util_glob_match("a?c", 3, "a\0c", 3, false));
    ck_assert(util_glob_match("a\0*", 3, "a\0xyz", 5, false));
    ck_assert(!util_glob_match("a\0*", 3, "a\1xyz", 5, false));
    ck_assert(util_glob_match("[\x01-\x7f]", 5, "\x10", 1, false));
    ck_assert(util_glob_match("*", 1, "\xff\xfe", 2, false));
    ck_assert(util_glob_match("\xc3\xa9*", 3, "\xc3\xa9t\xc3\xa9", 5, false));
    /* A '[' cut off by plen is an unterminated class. */
    ck_assert(util_glob_match("[ab]", 3, "b", 1, false));
    ck_assert(!util_glob_match("[ab]", 3, "]", 1, false));
}
END_TEST

/* Patterns that take exponential time in a naive backtracking matcher.
 * They must simply finish with the right answer. */
START_TEST(test_glob_no_exponential_blowup)
{
    size_t n = 10000;
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, 'a', n);
    s[n] = '\0';

    ck_assert(!glob("a*a*a*a*a*a*a*a*a*a*b", s, false));
    ck_assert(glob("a*a*a*a*a*a*a*a*a*a*a", s, false));
    ck_assert(!glob("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b*", s, false));
    ck_assert(!glob("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?b", s, true));
    ck_assert(glob("*[a]*[a]*[^b]*a", s, false));

    /* Long pattern against a long string. */
    char *p = malloc(2 * 500 + 2);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < 500; i++) {
        p[2 * i] = '*';
        p[2 * i + 1] = 'a';
    }
    p[1000] = 'b';
    p[1001] = '\0';
    ck_assert(!glob(p, s, false));
    p[1000] = '*';
    ck_assert(glob(p, s, false));
    free(p);
    free(s);
}
END_TEST

/* ------------------------------------------------------------------------
 * A plain recursive matcher, written from the documented rules only (and
 * exponential, so only for small inputs): each pattern element either is
 * '*' (try every split) or consumes exactly one byte.
 * ---------------------------------------------------------------------- */

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Length of the element at p[0..n) (n > 0, p[0] != '*') and whether it
 * accepts byte c. */
static size_t ref_element(const unsigned char *p, size_t n, unsigned char c, bool nocase,
                          bool *ok)
{
    if (p[0] == '?') {
        *ok = true;
        return 1;
    }
    if (p[0] == '\\' && n >= 2) {
        *ok = nocase ? lower(p[1]) == lower(c) : p[1] == c;
        return 2;
    }
    if (p[0] != '[') {
        *ok = nocase ? lower(p[0]) == lower(c) : p[0] == c;
        return 1;
    }
    size_t i = 1;
    bool neg = false, hit = false;
    if (i < n && p[i] == '^') {
        neg = true;
        i++;
    }
    while (i < n && !(p[i] == ']')) {
        if (p[i] == '\\' && i + 1 < n) {
            hit |= p[i + 1] == c;
            i += 2;
        } else if (i + 2 < n && p[i + 1] == '-') {
            unsigned char a = p[i], b = p[i + 2], x = c;
            if (a > b) {
                unsigned char t = a;
                a = b;
                b = t;
            }
            if (nocase) {
                a = lower(a);
                b = lower(b);
                x = lower(x);
            }
            hit |= x >= a && x <= b;
            i += 3;
        } else {
            hit |= nocase ? lower(p[i]) == lower(c) : p[i] == c;
            i++;
        }
    }
    if (i < n)
        i++;   /* the closing ']' */
    *ok = hit != neg;
    return i;
}

static bool ref_match(const unsigned char *p, size_t pn, const unsigned char *s, size_t sn,
                      bool nocase)
{
    if (pn == 0)
        return sn == 0;
    if (p[0] == '*') {
        for (size_t k = 0; k <= sn; k++)
            if (ref_match(p + 1, pn - 1, s + k, sn - k, nocase))
                return true;
        return false;
    }
    if (sn == 0)
        return false;
    bool ok;
    size_t len = ref_element(p, pn, s[0], nocase, &ok);
    return ok && ref_match(p + len, pn - len, s + 1, sn - 1, nocase);
}

static bool ref_glob(const char *p, size_t pn, const char *s, size_t sn, bool nocase)
{
    /* KEYS/SCAN: an empty key matches only "" and "*". */
    if (sn == 0)
        return pn == 0 || (pn == 1 && p[0] == '*');
    return ref_match((const unsigned char *)p, pn, (const unsigned char *)s, sn, nocase);
}

START_TEST(test_glob_matches_reference_randomly)
{
    static const char palpha[] = "ab*?[]^-\\A*[";
    static const char salpha[] = "abA[]-^\\*?z";
    uint64_t x = 0x1234567;
    int matches = 0;

    for (int iter = 0; iter < 200000; iter++) {
        char p[10], s[10];
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t pn = (size_t)(x >> 60) % 9, sn = (size_t)(x >> 56 & 15) % 8;
        for (size_t i = 0; i < pn; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            p[i] = palpha[(x >> 33) % (sizeof(palpha) - 1)];
        }
        for (size_t i = 0; i < sn; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            s[i] = salpha[(x >> 33) % (sizeof(salpha) - 1)];
        }
        bool nocase = iter & 1;
        bool want = ref_glob(p, pn, s, sn, nocase);
        bool got = util_glob_match(p, pn, s, sn, nocase);
        ck_assert_msg(got == want, "pattern \"%.*s\" string \"%.*s\" nocase %d: got %d",
                      (int)pn, p, (int)sn, s, nocase, got);
        matches += want;
    }
    ck_assert_msg(matches > 1000, "only %d random cases matched: test too weak", matches);
}
END_TEST

Suite *make_suite_glob(void);   /* called by the shared runner */

Suite *make_suite_glob(void)
{
    Suite *s = suite_create("glob");
    TCase *tc;

    tc = tcase_create("redis");
    tcase_add_loop_test(tc, test_glob_redis_table, 0,
                        (int)(sizeof(redis_cases) / sizeof(redis_cases[0])));
    tcase_add_loop_test(tc, test_glob_redis_nocase_table, 0,
                        (int)(sizeof(redis_nocase_cases) / sizeof(redis_nocase_cases[0])));
    tcase_add_test(tc, test_glob_case_flag);
    tcase_add_test(tc, test_glob_lengths_and_binary);
    suite_add_tcase(s, tc);

    tc = tcase_create("complexity");
    tcase_add_test(tc, test_glob_no_exponential_blowup);
    suite_add_tcase(s, tc);

    tc = tcase_create("reference");
    tcase_add_test(tc, test_glob_matches_reference_randomly);
    suite_add_tcase(s, tc);

    return s;
}
