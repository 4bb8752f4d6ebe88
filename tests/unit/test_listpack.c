/* test_listpack.c — the packed array behind small hashes and lists:
 * insertion at both ends and in the middle, lengths whose LEB128 header
 * takes one, two and three bytes, binary bytes, replace that grows and
 * shrinks, deletes, and the validator snapshot loading relies on. */
#include <check.h>
#include <stdlib.h>

#include "kvd.h"

static sv S(const char *s) { return sv_of(s); }

static void expect(const lpack *lp, const char *const *want, uint32_t n)
{
    ck_assert_uint_eq(lp->count, n);
    uint32_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        sv v;
        ck_assert_uint_eq(lp_seek(lp, i), off);
        off = lp_get(lp, off, &v);
        ck_assert_uint_eq(v.n, strlen(want[i]));
        ck_assert(memcmp(v.p, want[i], v.n) == 0);
    }
    ck_assert_uint_eq(off, lp->bytes);
    ck_assert(lp_valid(lp));
}

START_TEST(test_insert_get_delete)
{
    lpack *lp = lp_new(7);
    ck_assert_uint_eq(lp->enc, 7);
    ck_assert_uint_eq(lp->count, 0);
    sv ab[2] = {S("a"), S("bb")};
    lp = lp_insert(lp, 0, ab, 2);
    lp = lp_insert(lp, 0, (sv[]){S("")}, 1);
    lp = lp_insert(lp, lp->bytes, (sv[]){S("zzz")}, 1);
    lp = lp_insert(lp, lp_seek(lp, 2), (sv[]){S("mid")}, 1);
    const char *w1[] = {"", "a", "mid", "bb", "zzz"};
    expect(lp, w1, 5);
    lp = lp_delete(lp, lp_seek(lp, 1), 2);
    const char *w2[] = {"", "bb", "zzz"};
    expect(lp, w2, 3);
    lp = lp_delete(lp, 0, 10); /* more than there is */
    ck_assert_uint_eq(lp->count, 0);
    ck_assert_uint_eq(lp->bytes, 0);
    free(lp);
}
END_TEST

START_TEST(test_long_and_binary_elements)
{
    ck_assert_uint_eq(lp_enclen(0), 1);
    ck_assert_uint_eq(lp_enclen(127), 1);
    ck_assert_uint_eq(lp_enclen(128), 2);
    ck_assert_uint_eq(lp_enclen(16383), 2);
    ck_assert_uint_eq(lp_enclen(16384), 3);
    size_t sizes[] = {0, 1, 127, 128, 300, 16383, 16384, 70000};
    lpack *lp = lp_new(1);
    char *big = malloc(70000);
    for (size_t i = 0; i < 70000; i++) big[i] = (char)(i * 7);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        sv v = {big, sizes[i]};
        lp = lp_insert(lp, lp->bytes, &v, 1);
    }
    uint32_t off = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        sv v;
        off = lp_get(lp, off, &v);
        ck_assert_uint_eq(v.n, sizes[i]);
        ck_assert(memcmp(v.p, big, v.n) == 0);
    }
    ck_assert(lp_valid(lp));
    /* replace: grow across a header size, then shrink */
    uint32_t at = lp_seek(lp, 1);
    lp = lp_replace(lp, at, (sv){big, 20000});
    sv v;
    lp_get(lp, at, &v);
    ck_assert_uint_eq(v.n, 20000);
    lp = lp_replace(lp, at, (sv){"x\0y", 3});
    lp_get(lp, at, &v);
    ck_assert_uint_eq(v.n, 3);
    lp_get(lp, lp_get(lp, at, &v), &v);
    ck_assert_uint_eq(v.n, 127); /* the neighbour is intact */
    ck_assert(lp_valid(lp));
    lpack *d = lp_dup(lp);
    ck_assert_uint_eq(d->bytes, lp->bytes);
    ck_assert(memcmp(d->data, lp->data, lp->bytes) == 0);
    ck_assert_uint_eq(lp_mem(d), sizeof(lpack) + d->bytes);
    free(d);
    free(lp);
    free(big);
}
END_TEST

START_TEST(test_validator)
{
    lpack *lp = lp_new(1);
    lp = lp_insert(lp, 0, (sv[]){S("hello"), S("world")}, 2);
    ck_assert(lp_valid(lp));
    lp->count = 3;
    ck_assert(!lp_valid(lp)); /* count disagrees */
    lp->count = 2;
    lp->data[0] = 100;        /* a length past the end */
    ck_assert(!lp_valid(lp));
    lp->data[0] = (char)0x80; /* a header that never ends */
    memset(lp->data, 0x80, lp->bytes);
    ck_assert(!lp_valid(lp));
    free(lp);
}
END_TEST

Suite *make_suite_listpack(void)
{
    Suite *s = suite_create("listpack");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_insert_get_delete);
    tcase_add_test(tc, test_long_and_binary_elements);
    tcase_add_test(tc, test_validator);
    suite_add_tcase(s, tc);
    return s;
}
