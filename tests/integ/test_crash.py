"""kill -9 under concurrent load: with appendfsync always and everysec, no
acknowledged write is lost and none is applied twice, over several rounds,
with snapshots (AOF compaction) taken while the load runs. Each writer
owns a counter (INCR), a string it APPENDs numbered tokens to, an MSET
pair spanning shards and a list it RPUSHes numbered elements to (checked
element by element); after the restart each must show exactly the
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
                            ("MSET", "pa:%d" % wid, str(n), "pb:%d" % wid, str(n)),
                            ("RPUSH", "list:%d" % wid, str(n))])
            if r[0] != n + 1:
                errors.append("writer %d: INCR answered %r at step %d" % (wid, r[0], n))
                return
            n += 1
            if r[3] != n:
                errors.append("writer %d: RPUSH answered %r at step %d" % (wid, r[3], n))
                return
            acked[wid] = n  # all four acknowledged
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
        items = c.cmd("LRANGE", "list:%d" % wid, 0, -1)
        # element by element: none lost, none pushed twice, in order
        assert items == [str(i).encode() for i in range(len(items))], \
            "writer %d: list %r" % (wid, items[-10:])
        assert n <= len(items) <= n + 1, "writer %d: %d acknowledged, %d pushed" % (wid, n, len(items))
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


# --------------------------------------------------------------------------
# MULTI/EXEC across shards, with a snapshot taken in slices under the load

TX_KEYS = 24
FILLER = 40000  # 10K per shard with --shards 4: each shard saved in slices


def tx_keys(n):
    """The counters transaction n increments (distinct, spread over shards)."""
    return sorted({n % TX_KEYS, (n * 7 + 3) % TX_KEYS, (n * 13 + 5) % TX_KEYS})


def tx_expected(m):
    want = [0] * TX_KEYS
    for n in range(m):
        for j in tx_keys(n):
            want[j] += 1
    return want


def tx_writer(port, wid, stop, acked, errors):
    try:
        c = harness.RawConn(port, timeout=10)
        n = 0
        while not stop.is_set():
            cmds = [("MULTI",)]
            cmds += [("INCR", "tx:%d:%d" % (wid, j)) for j in tx_keys(n)]
            cmds += [("APPEND", "txlog:%d" % wid, "%d," % n), ("EXEC",)]
            r = c.pipeline(cmds)
            if not isinstance(r[-1], list):
                errors.append("writer %d: EXEC answered %r" % (wid, r[-1]))
                return
            n += 1
            acked[wid] = n
    except (OSError, ConnectionError, harness.Incomplete):
        pass  # the server was killed under us
    except Exception as e:  # noqa: BLE001
        errors.append("writer %d: %r" % (wid, e))


@harness.timeout(120)
def test_kill9_multi_exec_spanning_shards_recovered_whole(srv):
    """Each transaction INCRs three counters and appends to a log, keys in
    different shards; a BGREWRITEAOF runs under the load (shards of 10K
    keys, so each is saved in slices while the transactions hit it). After
    kill -9 every writer's keys must show exactly m transactions, m the
    acknowledged count or one more (the one in flight), never part of one."""
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--shards", "4").start()
    try:
        c = p.conn()
        for base in range(0, FILLER, 2000):
            args = []
            for i in range(base, base + 2000):
                args += ["filler:%d" % i, "v%d" % i]
            assert c.cmd("MSET", *args) == harness.OK
        c.close()
        for rnd in range(3):
            c = p.conn()
            c.cmd("DEL", *(["txlog:%d" % w for w in range(WRITERS)] +
                           ["tx:%d:%d" % (w, j) for w in range(WRITERS) for j in range(TX_KEYS)]))
            c.close()
            stop = threading.Event()
            acked, errors = {}, []
            ts = [threading.Thread(target=tx_writer, args=(p.port, w, stop, acked, errors), daemon=True)
                  for w in range(WRITERS)]
            for t in ts:
                t.start()
            time.sleep(0.3)
            c = p.conn()
            before = p.log().count("snapshot saved")
            c.cmd("BGREWRITEAOF")
            c.close()
            # let it finish under the load, then write on top of it
            harness.wait_for(lambda: p.log().count("snapshot saved") > before, 60, what="the snapshot")
            time.sleep(0.2 + 0.3 * rnd)
            p.kill9()
            saves = p.log().count("snapshot saved")
            stop.set()
            for t in ts:
                t.join(10)
            assert not errors, errors
            assert sum(acked.values()) > 0, "no transaction was acknowledged"
            p.start()
            c = p.conn()
            assert c.cmd("DBSIZE") >= FILLER
            for wid in range(WRITERS):
                n = acked.get(wid, 0)
                log = c.cmd("GET", "txlog:%d" % wid) or b""
                toks = [t for t in log.decode().split(",") if t]
                assert toks == [str(i) for i in range(len(toks))], "writer %d: log %r" % (wid, log[-80:])
                m = len(toks)
                assert n <= m <= n + 1, "writer %d: %d acknowledged, %d in the log" % (wid, n, m)
                got = [int(c.cmd("GET", "tx:%d:%d" % (wid, j)) or 0) for j in range(TX_KEYS)]
                assert got == tx_expected(m), \
                    "writer %d: counters %r after %d transactions (want %r)" % (wid, got, m, tx_expected(m))
            assert c.cmd("GET", "filler:12345") == b"v12345"
            c.close()
        assert saves >= 3, "the snapshots under load did not complete:\n" + p.log()
    finally:
        p.cleanup()
