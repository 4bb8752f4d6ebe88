/* cmdrun.h — for unit suites that drive commands end to end without a
 * socket: a fake client whose replies (RESP) land in its output buffer,
 * and a shared one-time set-up of the config, store and command table. */
#ifndef KVD_TEST_CMDRUN_H
#define KVD_TEST_CMDRUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvd.h"

static inline void cmdrun_setup(void)
{
    if (!server_dbs) {
        config_defaults();
        util_hash_seed_random();
        store_init();
        cmd_init();
    }
    for (int d = 0; d < cfg.databases; d++)
        for (int i = 0; i < cfg.shards; i++) store_flush_shard(&server_dbs[d].shards[i]);
}

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
    static char out[1 << 16];
    free(c->argv);
    c->argv = malloc(sizeof(sv) * (size_t)(n ? n : 1));
    memcpy(c->argv, argv, sizeof(sv) * (size_t)n);
    c->argc = n;
    cmd_dispatch(c);
    size_t len = c->obuf.len < sizeof out - 1 ? c->obuf.len : sizeof out - 1;
    memcpy(out, c->obuf.p ? c->obuf.p : "", len);
    out[len] = '\0';
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

#endif
