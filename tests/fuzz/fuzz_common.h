/* fuzz_common.h — shared set-up for kvd's fuzz targets: default
 * configuration once per process and a scratch client for the parsers. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "kvd.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_init_once(void)
{
    static bool done;
    if (done) return;
    done = true;
    config_defaults();
    cfg.loglevel = LL_WARNING;
}

static inline client *fuzz_client(int proto, bool authenticated)
{
    client *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->proto = proto;
    c->ps.bulklen = -1;
    c->fd = -1;
    c->wakefd = -1;
    c->authenticated = authenticated;
    return c;
}

static inline void fuzz_client_free(client *c)
{
    free(c->argv);
    buf_free(&c->scratch);
    buf_free(&c->qbuf);
    free(c);
}

#endif
