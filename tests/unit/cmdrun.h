/* cmdrun.h — for unit suites that drive commands end to end without a
 * socket: a fake client whose replies (RESP) land in its output buffer,
 * and a shared one-time set-up of the config, store and command table. */
#ifndef KVD_TEST_CMDRUN_H
#define KVD_TEST_CMDRUN_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvd.h"

/* The first call sets up the store with shards x databases (0: the
 * defaults); every call empties it. */
static inline void cmdrun_setup_with(int shards, int databases)
{
    if (!server_dbs) {
        config_defaults();
        if (shards) cfg.shards = shards;
        if (databases) cfg.databases = databases;
        util_hash_seed_random();
        store_init();
        cmd_init();
    }
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

static inline void cmdrun_setup(void) { cmdrun_setup_with(0, 0); }

/* Empties every database (a fixture's teardown: values must not outlive
 * the test, or LeakSanitizer, which cannot see the unaligned value
 * pointers inside entries, reports them). */
static inline void cmdrun_flush(void)
{
    if (!server_dbs) return;
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

static inline client *cmdrun_client(void)
{
    client *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->proto = PROTO_RESP2;
    c->db = &server_dbs[0];
    c->authenticated = true;
    c->wakefd = -1;
    c->id = (uint64_t)(uintptr_t)c;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->outlock, NULL);
    buf_init_static(&c->obuf, NULL, 0);
    buf_init_static(&c->prop, NULL, 0);
    buf_init_static(&c->async, NULL, 0);
    return c;
}

static inline void cmdrun_free(client *c)
{
    block_reset_client(c);
    buf_free(&c->obuf);
    buf_free(&c->prop);
    buf_free(&c->async);
    free(c->argv);
    free(c);
}

/* Runs argv (n words) on c; returns its replies as a NUL-terminated copy
 * (static buffer, valid until the next call) and empties c->obuf. */
static inline const char *cmdrun_argv(client *c, int n, const sv *argv)
{
    static char out[1 << 20];
    free(c->argv);
    c->argv = malloc(sizeof(sv) * (size_t)(n ? n : 1));
    memcpy(c->argv, argv, sizeof(sv) * (size_t)n);
    c->argc = n;
    cmd_dispatch(c);
    ck_assert_uint_lt(c->obuf.len, sizeof out);
    memcpy(out, c->obuf.p ? c->obuf.p : "", c->obuf.len);
    out[c->obuf.len] = '\0';
    c->obuf.len = 0;
    return out;
}

/* Runs a command given as space-separated words. */
static inline const char *cmdrun(client *c, const char *line)
{
    sv argv[64];
    int n = 0;
    const char *p = line;
    while (*p && n < 64) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *s = p;
        while (*p && *p != ' ') p++;
        argv[n].p = s;
        argv[n].n = (size_t)(p - s);
        n++;
    }
    return cmdrun_argv(c, n, argv);
}

/* Runs a command given printf-style as space-separated words (up to
 * CMDRUN_WORDS of them). */
#define CMDRUN_WORDS 4096
static inline const char *cmdrunf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline const char *cmdrunf(client *c, const char *fmt, ...)
{
    static char line[65536];
    static sv argv[CMDRUN_WORDS];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ck_assert_int_lt(len, (int)sizeof line);
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        ck_assert_int_lt(n, CMDRUN_WORDS);
        argv[n++] = sv_of(t);
    }
    return cmdrun_argv(c, n, argv);
}

/* As cmdrunf, for a command that must answer an integer. */
#define cmdrunf_int(c, ...) cmdrun_int_reply(cmdrunf((c), __VA_ARGS__))
static inline long long cmdrun_int_reply(const char *r)
{
    ck_assert_msg(r[0] == ':', "expected an integer reply, got %s", r);
    return atoll(r + 1);
}

#endif
