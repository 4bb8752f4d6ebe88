"""The AOF replays to the same data: random command streams (the generators
of test_differential.py: every type, errors, transactions, blocking pops,
SELECT, MOVE, COPY, SWAPDB, RENAME, FLUSHDB, deadlines, over few keys in
few shards, so multi-shard writes and encodings converting are common)
run against kvd with the AOF on; then kill -9 and a restart, and every key
of every database used must come back the same: type, value (elements in
order where the type has one) and deadline. Half of the streams take a
snapshot (AOF compaction) midway, so replay also starts from its marks.
Each stream also has short deadlines passing while it runs. One test runs
four streams at once on the same keys: replay must then reproduce the
order in which the connections' writes met on each shard. Another saves
a snapshot instead (no AOF) and loads it; the last restarts three times
with other shard counts, the AOF growing across the restarts."""

import random
import threading

import harness
import test_differential as gen
from persistlib import Proc

KVD_ONLY = True  # our own processes and files

DBS = ("0", "1")


def value(c, k, t):
    if t == b"string":
        return c.cmd("GET", k)
    if t == b"list":
        return c.cmd("LRANGE", k, "0", "-1")
    if t == b"set":
        return sorted(c.cmd("SMEMBERS", k))
    if t == b"zset":
        return c.cmd("ZRANGE", k, "0", "-1", "WITHSCORES")
    if t == b"hash":
        r = c.cmd("HGETALL", k)
        return sorted(zip(r[0::2], r[1::2]))
    raise AssertionError("type %r of %r" % (t, k))


def dump(p, soon_ms):
    """{(db, key): (type, deadline, value)} of the databases used, but for
    keys whose deadline is before soon_ms (they may expire meanwhile)."""
    c = p.conn()
    out = {}
    for d in DBS:
        assert c.cmd("SELECT", d) == harness.OK
        for k in c.cmd("KEYS", "*"):
            t = bytes(c.cmd("TYPE", k))
            dl = c.cmd("PEXPIRETIME", k)
            if t == b"none" or dl == -2 or 0 < dl < soon_ms:
                continue  # (-2: it expired since KEYS)
            out[(d, k)] = (t, dl, value(c, k, t))
    c.close()
    return out


def stream(c, rng, steps):
    """Sends steps random commands (some in MULTI/EXEC, some short
    deadlines), pipelined a few at a time; returns how many were sent."""
    sent = 0
    while sent < steps:
        batch = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.03:
                batch.append(["MULTI"])
                batch += [gen.next_command(rng) for _ in range(rng.randint(1, 3))]
                batch.append(["EXEC"])
            elif r < 0.05:
                batch.append(["PEXPIRE", rng.choice(gen.KEYS), str(rng.randint(1, 30))])
            else:
                batch.append(gen.next_command(rng))
        c.pipeline([tuple(x) for x in batch], timeout=30)
        sent += len(batch)
    return sent


def concurrent_stream(port, seed, steps, errors):
    try:
        c = harness.RawConn(port, timeout=30)
        stream(c, random.Random(seed), steps)
        c.close()
    except Exception as e:  # noqa: BLE001
        errors.append("stream %d: %r" % (seed, e))


def replay_rounds(fsync, seeds, steps=3000, streams=1, snapshot_only=False):
    for seed in seeds:
        rng = random.Random(seed)
        # odd seeds with tiny encoding thresholds, given on the command line
        # so that the restart has them too (a sorted set converted to a
        # listpack shows a score of -0 as 0, in Redis as here)
        small = [x for name, val in gen.SMALL_LIMITS for x in ("--" + name, val)] if seed % 2 else []
        aof = ["--appendonly", "no"] if snapshot_only else ["--appendonly", "yes", "--appendfsync", fsync]
        p = Proc("--save", "", *aof, "--shards", "4", *small).start()
        try:
            c = p.conn()
            if streams == 1:
                stream(c, rng, steps // 2)
            else:
                errors = []
                ts = [threading.Thread(target=concurrent_stream, args=(p.port, seed * 100 + i, steps, errors))
                      for i in range(streams)]
                for th in ts:
                    th.start()
            if seed % 3 != 1 and not snapshot_only:
                a = p.conn()
                assert a.cmd("BGREWRITEAOF") is not None
                a.close()
            if streams == 1:
                stream(c, rng, steps - steps // 2)
            else:
                for th in ts:
                    th.join(60)
                assert not errors, errors
            t = c.cmd("TIME")
            now_ms = int(t[0]) * 1000 + int(t[1]) // 1000
            c.close()
            before = dump(p, now_ms + 60000)
            if snapshot_only:
                a = p.conn()
                assert a.cmd("SAVE") == harness.OK
                a.close()
            p.kill9()
            p.start()
            after = dump(p, now_ms + 60000)
            assert sum(1 for _ in before) > 0, "seed %d: the stream left no key" % seed
            diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                    if before.get(k) != after.get(k)}
            assert not diff, "seed %d (%s): before kill -9 / after replay: %r" % (seed, fsync, diff)
        finally:
            p.cleanup()


@harness.timeout(120)
def test_replay_restores_random_streams_always(srv):
    replay_rounds("always", range(1, 7))


@harness.timeout(120)
def test_replay_restores_random_streams_everysec(srv):
    replay_rounds("everysec", range(101, 107))


@harness.timeout(120)
def test_replay_restores_concurrent_streams(srv):
    replay_rounds("everysec", range(201, 205), steps=2000, streams=4)


@harness.timeout(120)
def test_snapshot_restores_random_streams(srv):
    replay_rounds(None, range(301, 307), snapshot_only=True)


@harness.timeout(120)
def test_replay_across_restarts_with_other_shard_counts(srv):
    """Three rounds of streams, each ended by kill -9 and a restart with
    another shard count (the AOF keeps growing across them; shard numbers
    in its records are the writer's)."""
    for seed in (401, 402, 403):
        rng = random.Random(seed)
        shards = ["4", "8", "2", "4"]
        p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--shards", shards[0]).start()
        try:
            for rnd in range(3):
                c = p.conn()
                stream(c, rng, 1500)
                if rng.random() < 0.5:
                    a = p.conn()
                    assert a.cmd("BGREWRITEAOF") is not None
                    a.close()
                stream(c, rng, 500)
                t = c.cmd("TIME")
                now_ms = int(t[0]) * 1000 + int(t[1]) // 1000
                c.close()
                before = dump(p, now_ms + 60000)
                p.kill9()
                p.args[p.args.index("--shards") + 1] = shards[rnd + 1]
                p.start()
                after = dump(p, now_ms + 60000)
                diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                        if before.get(k) != after.get(k)}
                assert not diff, "seed %d round %d: before kill -9 / after replay: %r" % (seed, rnd, diff)
        finally:
            p.cleanup()
