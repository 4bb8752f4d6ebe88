/* test_block.c — the blocked-client registry without sockets: timeout
 * parsing (Redis 7.0's wording and its odd cases), a push serving waiters
 * first come first served from inside the writer's command, the pusher's
 * AOF records (its command, then the pops), BLMPOP counts, CLIENT UNBLOCK,
 * and clean-up on reset. A waiter here is a fake client whose block_wait
 * finds its result already there, so no thread ever sleeps. */
#include "cmdrun.h"

START_TEST(test_parse_timeout)
{
    cmdrun_setup();
    client *c = cmdrun_client();
    int64_t d;
    ck_assert(block_parse_timeout(c, sv_of("0"), &d));
    ck_assert_int_eq(d, -1);
    ck_assert(block_parse_timeout(c, sv_of("-0"), &d));
    ck_assert_int_eq(d, -1);
    int64_t now = util_mstime();
    ck_assert(block_parse_timeout(c, sv_of("1.5"), &d));
    ck_assert(d >= now + 1500 && d <= util_mstime() + 1500);
    ck_assert(block_parse_timeout(c, sv_of("1e-9"), &d)); /* rounds up to 1 ms */
    ck_assert(d >= now + 1);
    ck_assert(block_parse_timeout(c, sv_of("0x10"), &d));
    ck_assert_uint_eq(c->obuf.len, 0);
    const char *neg[] = {"-1", "-0.5", "inf", "-inf", "1e30", "9.3e15"};
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        c->obuf.len = 0;
        ck_assert(!block_parse_timeout(c, sv_of(neg[i]), &d));
        ck_assert_msg(c->obuf.len == 26 && memcmp(c->obuf.p, "-ERR timeout is negative\r\n", 26) == 0,
                      "%s", neg[i]);
    }
    const char *bad[] = {"", "x", "1x", " 1", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c->obuf.len = 0;
        ck_assert(!block_parse_timeout(c, sv_of(bad[i]), &d));
        ck_assert(memcmp(c->obuf.p, "-ERR timeout is not a float or out of range\r\n", 45) == 0);
    }
    cmdrun_free(c);
}
END_TEST

/* Decodes c->prop records (see cmd_propagate) into "CMD a b|CMD c" form. */
static const char *props(client *c)
{
    static char out[1024];
    size_t o = 0, off = 0;
    out[0] = '\0';
    while (off < c->prop.len) {
        uint32_t argc;
        memcpy(&argc, c->prop.p + off, 4);
        off += 4;
        if (o) out[o++] = '|';
        for (uint32_t i = 0; i < argc; i++) {
            uint32_t l;
            memcpy(&l, c->prop.p + off, 4);
            off += 4;
            if (i) out[o++] = ' ';
            memcpy(out + o, c->prop.p + off, l);
            o += l;
            off += l;
        }
    }
    out[o] = '\0';
    return out;
}

static const char *finish_wait(client *c)
{
    static char out[256];
    ck_assert(atomic_load(&c->flags) & CLIENT_BLOCKED);
    ck_assert(block_wait(c));
    ck_assert(!(atomic_load(&c->flags) & CLIENT_BLOCKED));
    size_t n = c->obuf.len < sizeof out - 1 ? c->obuf.len : sizeof out - 1;
    memcpy(out, c->obuf.p, n);
    out[n] = '\0';
    c->obuf.len = 0;
    return out;
}

START_TEST(test_fifo_and_propagation)
{
    cmdrun_setup();
    client *w[3], *p = cmdrun_client();
    for (int i = 0; i < 3; i++) {
        w[i] = cmdrun_client();
        ck_assert_str_eq(cmdrun(w[i], i == 1 ? "BRPOP other q 0" : "BLPOP q 0"), "");
        ck_assert_int_eq(info_blocked_clients(), i + 1);
    }
    ck_assert_str_eq(cmdrun(p, "RPUSH q a b"), ":2\r\n");
    /* the first two were served inside RPUSH; the list is gone */
    ck_assert_str_eq(props(p), "RPUSH q a b|LPOP q|RPOP q");
    ck_assert_int_eq(info_blocked_clients(), 1);
    ck_assert_str_eq(cmdrun(p, "EXISTS q"), ":0\r\n");
    ck_assert_str_eq(finish_wait(w[0]), "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    ck_assert_str_eq(finish_wait(w[1]), "*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    ck_assert_str_eq(cmdrun(p, "LPUSH q c"), ":1\r\n");
    ck_assert_str_eq(finish_wait(w[2]), "*2\r\n$1\r\nq\r\n$1\r\nc\r\n");
    ck_assert_int_eq(info_blocked_clients(), 0);
    for (int i = 0; i < 3; i++) cmdrun_free(w[i]);
    cmdrun_free(p);
}
END_TEST

START_TEST(test_blmpop_and_resp3)
{
    cmdrun_setup();
    client *w = cmdrun_client(), *p = cmdrun_client();
    w->proto = PROTO_RESP3;
    ck_assert_str_eq(cmdrun(w, "BLMPOP 0 2 x y RIGHT COUNT 2"), "");
    cmdrun(p, "RPUSH y 1 2 3");
    ck_assert_str_eq(props(p), "RPUSH y 1 2 3|RPOP y 2");
    ck_assert_str_eq(finish_wait(w), "*2\r\n$1\r\ny\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
    ck_assert_str_eq(cmdrun(p, "LRANGE y 0 -1"), "*1\r\n$1\r\n1\r\n");
    /* unblocked with a timeout: RESP3 null */
    ck_assert_str_eq(cmdrun(w, "BLPOP z 0"), "");
    ck_assert_int_eq(block_unblock(w->id, false), 1);
    ck_assert_int_eq(block_unblock(w->id, false), 0);
    ck_assert_str_eq(finish_wait(w), "_\r\n");
    ck_assert_str_eq(cmdrun(w, "BLMOVE z d LEFT LEFT 0"), "");
    ck_assert_int_eq(block_unblock(w->id, true), 1);
    ck_assert_str_eq(finish_wait(w), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    cmdrun_free(w);
    cmdrun_free(p);
}
END_TEST

START_TEST(test_blmove_same_key_and_wrongtype)
{
    cmdrun_setup();
    client *w = cmdrun_client(), *p = cmdrun_client();
    /* source and destination the same key: always the same shard, served
     * directly by the pusher */
    ck_assert_str_eq(cmdrun(w, "BLMOVE r r LEFT RIGHT 0"), "");
    cmdrun(p, "RPUSH r a b");
    ck_assert_str_eq(props(p), "RPUSH r a b|LMOVE r r LEFT RIGHT");
    ck_assert_str_eq(finish_wait(w), "$1\r\na\r\n");
    ck_assert_str_eq(cmdrun(p, "LRANGE r 0 -1"), "*2\r\n$1\r\nb\r\n$1\r\na\r\n");
    /* a string at the key does not serve; the waiter stays */
    ck_assert_str_eq(cmdrun(w, "BLPOP s 0"), "");
    cmdrun(p, "SET s x");
    ck_assert_int_eq(info_blocked_clients(), 1);
    block_reset_client(w);  /* what a disconnect does */
    ck_assert_int_eq(info_blocked_clients(), 0);
    ck_assert_ptr_null(w->ext[2]);
    cmdrun(p, "DEL s");
    cmdrun(p, "RPUSH s y");
    ck_assert_str_eq(cmdrun(p, "LLEN s"), ":1\r\n");
    cmdrun_free(w);
    cmdrun_free(p);
}
END_TEST

Suite *make_suite_block(void)
{
    Suite *s = suite_create("block");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, cmdrun_flush);
    tcase_add_test(tc, test_parse_timeout);
    tcase_add_test(tc, test_fifo_and_propagation);
    tcase_add_test(tc, test_blmpop_and_resp3);
    tcase_add_test(tc, test_blmove_same_key_and_wrongtype);
    suite_add_tcase(s, tc);
    return s;
}
