"""persist10m: the snapshot figures of section persist (SAVE and start-up
load times against redis-server, snapshot size and speed against dd, the
longest SET stall while BGSAVE runs) at 10M keys, where one shard of the 64
holds ~156K keys and is saved in slices. Needs ~3 GB of free memory."""

import lib
from persist import run_with

TITLE = "Persistence at scale: snapshot save/load and stalls, 10M keys"
ORDER = 41
DEFAULT = False

KEYS = lib.env_int("BENCH_PERSIST_BIG_KEYS", lib.quick_or(10_000_000, 200_000))


def run(ctx):
    return run_with(ctx, KEYS, False, TITLE)
