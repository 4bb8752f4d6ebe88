/* test_buf.c — growable buffers: static start, move to the heap, printf,
 * consume, reset, redis-cli quoting. */
#include <check.h>
#include <stdlib.h>

#include "kvd.h"

START_TEST(test_static_then_heap)
{
    char mem[8];
    buf b;
    buf_init_static(&b, mem, sizeof mem);
    buf_append(&b, "abcd", 4);
    ck_assert_ptr_eq(b.p, mem);
    ck_assert(!b.heap);
    buf_append(&b, "efghij", 6);
    ck_assert(b.heap);
    ck_assert_ptr_ne(b.p, mem);
    ck_assert_uint_eq(b.len, 10);
    ck_assert(memcmp(b.p, "abcdefghij", 10) == 0);
    buf_reset(&b, mem, sizeof mem);
    ck_assert_ptr_eq(b.p, mem);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_printf_consume)
{
    buf b;
    buf_init_static(&b, NULL, 0);
    buf_printf(&b, "%d-%s", 42, "x");
    ck_assert_uint_eq(b.len, 4);
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[999] = '\0';
    buf_printf(&b, "%s", big);
    ck_assert_uint_eq(b.len, 1003);
    buf_consume(&b, 3);
    ck_assert(b.p[0] == 'x' && b.len == 1000);
    buf_consume(&b, 5000);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_repr)
{
    buf b;
    buf_init_static(&b, NULL, 0);
    buf_append_repr(&b, "a\x00\xff\"\\\n", 6);
    buf_appendc(&b, '\0');
    ck_assert_str_eq(b.p, "\"a\\x00\\xff\\\"\\\\\\n\"");
    buf_free(&b);
    ck_assert(sv_eqci(sv_of("GeT"), "get"));
    ck_assert(!sv_eqci(sv_of("gets"), "get"));
}
END_TEST

Suite *make_suite_buf(void);
Suite *make_suite_buf(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_static_then_heap);
    tcase_add_test(tc, test_printf_consume);
    tcase_add_test(tc, test_repr);
    suite_add_tcase(s, tc);
    return s;
}
