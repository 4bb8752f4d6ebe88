"""kill -9 under concurrent load: with appendfsync always and everysec, no
acknowledged write is lost and none is applied twice, over several rounds,
with snapshots (AOF compaction) taken while the load runs. Each writer
owns a counter (INCR), a string it APPENDs numbered tokens to, and an
MSET pair spanning shards; after the restart each must show exactly the
acknowledged operations, plus at most the one in flight."""

import threading
import time

import harness
from persistlib import Proc

KVD_ONLY = True

WRITERS = 8


def writer(port, wid, stop, acked, errors):
    try:
        c = harness.RawConn(port, timeout=10)
        n = 0
        while not stop.is_set():
            r = c.pipeline([("INCR", "ctr:%d" % wid),
                            ("APPEND", "log:%d" % wid, "%d," % n),
                            ("MSET", "pa:%d" % wid, str(n), "pb:%d" % wid, str(n))])
            if r[0] != n + 1:
                errors.append("writer %d: INCR answered %r at step %d" % (wid, r[0], n))
                return
            n += 1
            acked[wid] = n  # all three acknowledged
    except (OSError, ConnectionError, harness.Incomplete):
        pass  # the server was killed under us
    except Exception as e:  # noqa: BLE001
        errors.append("writer %d: %r" % (wid, e))


def check_round(p, acked):
    c = p.conn()
    for wid in range(WRITERS):
        n = acked.get(wid, 0)
        ctr = int(c.cmd("GET", "ctr:%d" % wid) or 0)
        assert n <= ctr <= n + 1, "writer %d: %d acknowledged, counter %d" % (wid, n, ctr)
        log = c.cmd("GET", "log:%d" % wid) or b""
        toks = [t for t in log.decode().split(",") if t]
        assert toks == [str(i) for i in range(len(toks))], "writer %d: log %r" % (wid, log[-80:])
        assert n <= len(toks) <= n + 1, "writer %d: %d acknowledged, %d appended" % (wid, n, len(toks))
        a, b = c.cmd("MGET", "pa:%d" % wid, "pb:%d" % wid)
        assert a == b, "writer %d: MSET recovered in halves: %r %r" % (wid, a, b)
        if n:
            assert a is not None and n - 1 <= int(a) <= n, (wid, n, a)
    c.close()


def crash_rounds(fsync, rounds=3, run_s=0.8):
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", fsync).start()
    try:
        for rnd in range(rounds):
            # continue from what survived: reset the per-round keys
            c = p.conn()
            c.cmd("FLUSHALL")
            c.close()
            stop = threading.Event()
            acked, errors = {}, []
            ts = [threading.Thread(target=writer, args=(p.port, w, stop, acked, errors), daemon=True)
                  for w in range(WRITERS)]
            for t in ts:
                t.start()
            time.sleep(run_s / 2)
            if rnd % 2 == 0:
                c = p.conn()
                c.cmd("BGREWRITEAOF")  # a snapshot (and compaction) under load
                c.close()
            time.sleep(run_s / 2)
            p.kill9()
            stop.set()
            for t in ts:
                t.join(10)
            assert not errors, errors
            assert sum(acked.values()) > 0, "no write was acknowledged"
            p.start()
            check_round(p, acked)
    finally:
        p.cleanup()


@harness.timeout(60)
def test_kill9_appendfsync_always(srv):
    crash_rounds("always")


@harness.timeout(60)
def test_kill9_appendfsync_everysec(srv):
    crash_rounds("everysec")
