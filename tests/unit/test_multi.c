/* test_multi.c — Check suite for t_multi.c: the per-key WATCH registry
 * (a write to another key of the same shard leaves a transaction alone, a
 * write to a watched key, its expiry or a flush aborts it) and queuing,
 * driven through the real command handlers on a client with no socket. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvd.h"

static client *cl;

static void setup(void)
{
    config_defaults();
    cfg.shards = 1;       /* every key in one shard: per-key tracking matters */
    cfg.databases = 2;
    store_init();
    cmd_init();
    cl = calloc(1, sizeof *cl);
    cl->db = &server_dbs[0];
    cl->authenticated = true;
    cl->proto = PROTO_RESP2;
    cl->wakefd = -1;
    pthread_mutex_init(&cl->lock, NULL);
    pthread_mutex_init(&cl->outlock, NULL);
    buf_init_static(&cl->obuf, NULL, 0);
}

static void teardown(void)
{
    multi_reset_client(cl);
    buf_free(&cl->obuf);
    buf_free(&cl->prop);
    pthread_mutex_destroy(&cl->lock);
    pthread_mutex_destroy(&cl->outlock);
    free(cl);
    store_free_all();
}

/* Runs one command (words separated by spaces) and returns its reply. */
static const char *run(const char *line)
{
    static char copy[256];
    static sv argv[16];
    snprintf(copy, sizeof copy, "%s", line);
    int argc = 0;
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        argv[argc++] = sv_of(t);
    cl->argv = argv;
    cl->argc = argc;
    cl->obuf.len = 0;
    cmd_dispatch(cl);
    buf_appendc(&cl->obuf, '\0');
    cl->obuf.len--;
    return cl->obuf.p;
}

static void write_key(const char *k)
{
    shard *s = store_shard_of(&server_dbs[0], sv_of(k));
    shard_wrlock(s);
    store_set_string(&server_dbs[0], sv_of(k), sv_of("v"), -1, false);
    store_written(NULL, &server_dbs[0], sv_of(k));
    shard_unlock(s);
}

START_TEST(test_other_key_same_shard)
{
    ck_assert_str_eq(run("WATCH a"), "+OK\r\n");
    write_key("b");
    write_key("c");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("SET a 1"), "+QUEUED\r\n");
    ck_assert_str_eq(run("EXEC"), "*1\r\n+OK\r\n");
}
END_TEST

START_TEST(test_watched_key_written)
{
    ck_assert_str_eq(run("WATCH a b"), "+OK\r\n");
    write_key("b");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("SET a 1"), "+QUEUED\r\n");
    ck_assert_str_eq(run("EXEC"), "*-1\r\n");
    ck_assert_str_eq(run("EXISTS a"), ":0\r\n");
    /* EXEC unwatched everything: the next transaction runs */
    write_key("b");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("EXEC"), "*0\r\n");
}
END_TEST

START_TEST(test_watch_other_db)
{
    ck_assert_str_eq(run("WATCH a"), "+OK\r\n");
    shard *s = store_shard_of(&server_dbs[1], sv_of("a"));
    shard_wrlock(s);
    store_written(NULL, &server_dbs[1], sv_of("a"));  /* same name, other db */
    shard_unlock(s);
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("EXEC"), "*0\r\n");
}
END_TEST

START_TEST(test_flush_touches_existing_only)
{
    ck_assert_str_eq(run("WATCH missing"), "+OK\r\n");
    ck_assert_str_eq(run("FLUSHALL"), "+OK\r\n");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("EXEC"), "*0\r\n");
    write_key("here");
    ck_assert_str_eq(run("WATCH here"), "+OK\r\n");
    ck_assert_str_eq(run("FLUSHDB"), "+OK\r\n");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("EXEC"), "*-1\r\n");
}
END_TEST

START_TEST(test_expiry_aborts)
{
    shard *s = store_shard_of(&server_dbs[0], sv_of("t"));
    shard_wrlock(s);
    store_set_string(&server_dbs[0], sv_of("t"), sv_of("v"), util_mstime() + 100000, false);
    shard_unlock(s);
    ck_assert_str_eq(run("WATCH t"), "+OK\r\n");
    /* the reaper deletes it */
    shard_wrlock(s);
    long n = 0;
    expire_reap_shard(s, util_mstime() + 200000, 10, &n);
    shard_unlock(s);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("EXEC"), "*-1\r\n");
}
END_TEST

START_TEST(test_queue_errors)
{
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    ck_assert_str_eq(run("SET x 1"), "+QUEUED\r\n");
    ck_assert_str_eq(run("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    ck_assert_str_eq(run("EXISTS x"), ":0\r\n");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("MULTI"), "-ERR MULTI calls can not be nested\r\n");
    ck_assert_str_eq(run("WATCH x"), "-ERR WATCH inside MULTI is not allowed\r\n");
    ck_assert_str_eq(run("DISCARD"), "+OK\r\n");
    ck_assert_str_eq(run("DISCARD"), "-ERR DISCARD without MULTI\r\n");
}
END_TEST

START_TEST(test_whole_db_in_exec)
{
    write_key("a");
    write_key("b");
    ck_assert_str_eq(run("MULTI"), "+OK\r\n");
    ck_assert_str_eq(run("DBSIZE"), "+QUEUED\r\n");
    ck_assert_str_eq(run("FLUSHDB"), "+QUEUED\r\n");
    ck_assert_str_eq(run("SET c 1"), "+QUEUED\r\n");
    ck_assert_str_eq(run("DBSIZE"), "+QUEUED\r\n");
    ck_assert_str_eq(run("EXEC"), "*4\r\n:2\r\n+OK\r\n+OK\r\n:1\r\n");
    ck_assert(!store_locks_held(cl));
}
END_TEST

Suite *make_suite_multi(void);   /* called by the shared runner */

Suite *make_suite_multi(void)
{
    Suite *s = suite_create("multi");
    TCase *tc = tcase_create("watch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_other_key_same_shard);
    tcase_add_test(tc, test_watched_key_written);
    tcase_add_test(tc, test_watch_other_db);
    tcase_add_test(tc, test_flush_touches_existing_only);
    tcase_add_test(tc, test_expiry_aborts);
    tcase_add_test(tc, test_queue_errors);
    tcase_add_test(tc, test_whole_db_in_exec);
    suite_add_tcase(s, tc);
    return s;
}
