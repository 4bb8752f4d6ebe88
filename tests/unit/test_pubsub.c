/* test_pubsub.c — Check suite for t_pubsub.c's parsers: the
 * notify-keyspace-events classes (parsed and printed as redis-server
 * 7.0.15 does for CONFIG GET) and client-output-buffer-limit. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kvd.h"

static const char *canon_flags(const char *in)
{
    static char out[32];
    int f = notify_flags_parse(in);
    if (f < 0) return NULL;
    notify_flags_string(f, out);
    return out;
}

START_TEST(test_notify_flags)
{
    /* answers read from redis-server 7.0.15 */
    ck_assert_str_eq(canon_flags("KEA"), "AKE");
    ck_assert_str_eq(canon_flags("KEAnm"), "AKEm");
    ck_assert_str_eq(canon_flags("Kgn"), "gnK");
    ck_assert_str_eq(canon_flags("Eg"), "gE");
    ck_assert_str_eq(canon_flags("E$lshzxetd"), "$lshzxetdE");
    ck_assert_str_eq(canon_flags(""), "");
    ck_assert_ptr_null(canon_flags("KQ"));
    ck_assert_ptr_null(canon_flags("a"));
    int f = notify_flags_parse("A");
    ck_assert(f & NOTIFY_EXPIRED);
    ck_assert(!(f & NOTIFY_KEY_MISS));
    ck_assert(!(f & NOTIFY_NEW));
}
END_TEST

START_TEST(test_output_limit_config)
{
    char canon[256], err[256];
    ck_assert_int_eq(pubsub_output_limit_config("pubsub 1k 0 0", false, canon, sizeof canon, err, sizeof err), 0);
    ck_assert_str_eq(canon, "normal 0 0 0 slave 268435456 67108864 60 pubsub 1000 0 0");  /* k = 1000, kb = 1024, as Redis */
    ck_assert_int_eq(pubsub_output_limit_config("normal 1mb 2mb 3 pubsub 32mb 8mb 60", true, canon, sizeof canon,
                                                err, sizeof err), 0);
    ck_assert_str_eq(canon, "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    ck_assert_int_eq(pubsub_output_limit_config("replica 1 1 1", false, canon, sizeof canon, err, sizeof err), 0);
    ck_assert_str_eq(canon, "normal 1048576 2097152 3 slave 1 1 1 pubsub 33554432 8388608 60");
    ck_assert_int_eq(pubsub_output_limit_config("foo 1 1 1", false, canon, sizeof canon, err, sizeof err), -1);
    ck_assert_int_eq(pubsub_output_limit_config("pubsub 1 1", false, canon, sizeof canon, err, sizeof err), -1);
    ck_assert_int_eq(pubsub_output_limit_config("pubsub x 1 1", false, canon, sizeof canon, err, sizeof err), -1);
    ck_assert_int_eq(pubsub_output_limit_config("pubsub 1 1 -1", false, canon, sizeof canon, err, sizeof err), -1);
}
END_TEST

START_TEST(test_publish_without_subscribers)
{
    ck_assert_int_eq(pubsub_publish(sv_of("ch"), sv_of("m"), false), 0);
    ck_assert_int_eq(pubsub_publish(sv_of("ch"), sv_of("m"), true), 0);
    long a, b, c;
    pubsub_counts(&a, &b, &c);
    ck_assert_int_eq(a + b + c, 0);
}
END_TEST

Suite *make_suite_pubsub(void);   /* called by the shared runner */

Suite *make_suite_pubsub(void)
{
    Suite *s = suite_create("pubsub");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_notify_flags);
    tcase_add_test(tc, test_output_limit_config);
    tcase_add_test(tc, test_publish_without_subscribers);
    suite_add_tcase(s, tc);
    return s;
}
