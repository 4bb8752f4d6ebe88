/* test_harden.c — hardening checks that need no running server: hash
 * flooding (keys crafted to collide under a known seed spread under the
 * process's random one), the protected-mode peer classification, and the
 * client-output-buffer-limit directive. */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "kvd.h"

/* ---------------------------------------------------------------- hash flooding */

#define NFLOOD 200
static char flood_keys[NFLOOD][32];

/* Keys whose hash under `seed` lands in shard 0 and in bucket 0 of a table
 * of up to 256 buckets: what an attacker who knew the seed would send. */
static void craft_colliding_keys(const uint8_t seed[16])
{
    int n = 0;
    for (unsigned long i = 0; n < NFLOOD; i++) {
        char k[32];
        int len = snprintf(k, sizeof k, "flood:%lu", i);
        uint64_t h = util_siphash13(k, (size_t)len, seed);
        if ((h & 63) == 0 && ((h >> 32) & 255) == 0) memcpy(flood_keys[n++], k, (size_t)len + 1);
    }
}

static void insert_all(void)
{
    db *d = &server_dbs[0];
    for (int i = 0; i < NFLOOD; i++) {
        sv k = sv_of(flood_keys[i]);
        shard *s = store_shard_of(d, k);
        shard_wrlock(s);
        store_set_string(d, k, sv_of("v"), -1, false);
        shard_unlock(s);
    }
}

/* Longest bucket chain over db 0 and the fullest shard's key count. */
static void measure(uint64_t *maxchain, uint64_t *maxshard)
{
    *maxchain = *maxshard = 0;
    for (int j = 0; j < cfg.shards; j++) {
        shard *s = &server_dbs[0].shards[j];
        if (s->count > *maxshard) *maxshard = s->count;
        for (uint64_t b = 0; b < s->size; b++) {
            uint64_t len = 0;
            for (entry *e = s->table[b]; e; e = e->next) len++;
            if (len > *maxchain) *maxchain = len;
        }
    }
}

START_TEST(test_crafted_collisions_spread_under_random_seed)
{
    config_defaults();
    ck_assert_int_eq(cfg.shards, 64);
    const uint8_t known[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    craft_colliding_keys(known);

    /* under the seed the attacker knows: one shard, one chain */
    util_hash_seed(known);
    store_init();
    insert_all();
    uint64_t chain, fullest;
    measure(&chain, &fullest);
    ck_assert_uint_eq(fullest, NFLOOD);
    ck_assert_uint_eq(chain, NFLOOD);
    /* every lookup walks that chain: still correct, just slow */
    ck_assert_ptr_nonnull(store_lookup_read(&server_dbs[0], sv_of(flood_keys[NFLOOD - 1])));
    store_free_all();

    /* under the process's random seed (what main() sets) they spread */
    util_hash_seed_random();
    store_init();
    insert_all();
    measure(&chain, &fullest);
    ck_assert_msg(chain <= 8, "longest chain %llu with a random seed", (unsigned long long)chain);
    ck_assert_msg(fullest <= 24, "fullest shard holds %llu of %d keys", (unsigned long long)fullest, NFLOOD);
    for (int i = 0; i < NFLOOD; i++) ck_assert_ptr_nonnull(store_lookup_read(&server_dbs[0], sv_of(flood_keys[i])));
    store_free_all();
}
END_TEST

START_TEST(test_random_seeds_differ)
{
    /* two draws of the process key give different hashes for one key */
    util_hash_seed_random();
    uint64_t a = util_hash("key", 3);
    util_hash_seed_random();
    uint64_t b = util_hash("key", 3);
    ck_assert(a != b);
}
END_TEST

/* ---------------------------------------------------------------- protected mode */

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    ck_assert_int_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    return ss;
}

#define SA(x) ((struct sockaddr *)&(x))

START_TEST(test_peer_classification_as_redis)
{
    struct sockaddr_storage a = v4("127.0.0.1"), b = v4("127.0.0.2"), c = v4("10.1.2.3"),
                            d = v6("::1"), e = v6("::ffff:127.0.0.1"), f = v6("fe80::1"), g = v4("0.0.0.0");
    ck_assert(listen_peer_is_local(SA(a)));
    ck_assert(!listen_peer_is_local(SA(b))); /* Redis 7.0: only 127.0.0.1 and ::1 */
    ck_assert(!listen_peer_is_local(SA(c)));
    ck_assert(listen_peer_is_local(SA(d)));
    ck_assert(!listen_peer_is_local(SA(e)));
    ck_assert(!listen_peer_is_local(SA(f)));
    ck_assert(!listen_peer_is_local(SA(g)));
    struct sockaddr_un u;
    memset(&u, 0, sizeof u);
    u.sun_family = AF_UNIX;
    ck_assert(listen_peer_is_local((struct sockaddr *)&u));
}
END_TEST

START_TEST(test_protected_mode_decision)
{
    config_defaults();
    char err[256];
    struct sockaddr_storage local = v4("127.0.0.1"), other = v4("192.0.2.7");
    ck_assert(cfg.protected_mode);
    ck_assert(!listen_protected_denies(SA(local)));
    ck_assert(listen_protected_denies(SA(other)));
    /* (set directly: config.c keeps replaced strings alive on purpose,
     * which LeakSanitizer would report) */
    char *saved = cfg.requirepass;
    cfg.requirepass = "pw";
    ck_assert(!listen_protected_denies(SA(other)));
    cfg.requirepass = "";
    ck_assert(listen_protected_denies(SA(other)));
    ck_assert_int_eq(config_set("protected-mode", "no", err, sizeof err, true), 0);
    ck_assert(!listen_protected_denies(SA(other)));
    cfg.requirepass = saved;
}
END_TEST

/* ---------------------------------------------------------------- output limits */

START_TEST(test_output_buffer_limit_directive)
{
    config_defaults();
    char err[256];
    buf t;
    buf_init_static(&t, NULL, 0);
    ck_assert_int_eq(cfg.obl_hard[0], 0);
    ck_assert_int_eq(cfg.obl_hard[2], 33554432);
    ck_assert_int_eq(cfg.obl_soft[2], 8388608);
    ck_assert_int_eq(cfg.obl_secs[2], 60);
    ck_assert_int_eq(config_set("client-output-buffer-limit", "normal 1mb 512kb 10", err, sizeof err, true), 0);
    ck_assert_int_eq(cfg.obl_hard[0], 1048576);
    ck_assert_int_eq(cfg.obl_soft[0], 524288);
    ck_assert_int_eq(cfg.obl_secs[0], 10);
    ck_assert_int_eq(cfg.obl_hard[2], 33554432); /* untouched */
    ck_assert_str_eq(config_get_value("client-output-buffer-limit", &t),
                     "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    ck_assert_int_eq(config_set("client-output-buffer-limit", "pubsub 1 2", err, sizeof err, true), -1);
    ck_assert_str_eq(err, "Wrong number of arguments in buffer limit configuration.");
    ck_assert_int_eq(config_set("client-output-buffer-limit", "bogus 1 2 3", err, sizeof err, true), -1);
    ck_assert_str_eq(err, "Invalid client class specified in buffer limit configuration.");
    ck_assert_int_eq(config_set("client-output-buffer-limit", "normal 1 2 -3", err, sizeof err, true), -1);
    ck_assert_str_eq(err, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    ck_assert_int_eq(config_set("client-output-buffer-limit", "replica 1 2 3 pubsub 0 0 0", err, sizeof err, true), 0);
    ck_assert_int_eq(cfg.obl_hard[1], 1);
    ck_assert_int_eq(cfg.obl_hard[2], 0);
    ck_assert_int_eq(cfg.obl_hard[0], 1048576);
    buf_free(&t);
}
END_TEST

Suite *make_suite_harden(void);
Suite *make_suite_harden(void)
{
    Suite *s = suite_create("harden");
    TCase *tc = tcase_create("harden");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_crafted_collisions_spread_under_random_seed);
    tcase_add_test(tc, test_random_seeds_differ);
    tcase_add_test(tc, test_peer_classification_as_redis);
    tcase_add_test(tc, test_protected_mode_decision);
    tcase_add_test(tc, test_output_buffer_limit_directive);
    suite_add_tcase(s, tc);
    return s;
}
