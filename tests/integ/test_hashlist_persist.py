"""Hashes and lists survive restarts: snapshot round trip of both encodings
(binary, large, with TTLs), and the AOF replay of what blocked clients were
served (a push logged with the pops it fed: LPUSH, then LPOP; BLMOVE as
LMOVE) and of HINCRBYFLOAT (logged as HSET of the result)."""

import threading

from harness import OK, Status, encode, wait_for
from persistlib import Proc

KVD_ONLY = True  # our own processes and files


def blocked(c):
    info = c.cmd("INFO", "clients").decode()
    for line in info.split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return -1


def fill(c):
    c.cmd("HSET", "hsmall", "a", "1", "b", b"\x00\xff\r\n")
    args = []
    for i in range(500):
        args += ["f%d" % i, "v" * (i % 70)]
    c.cmd("HSET", "hbig", *args)
    c.cmd("RPUSH", "lsmall", "x", b"\x00", "z")
    c.cmd("RPUSH", "lbig", *["e%d" % i for i in range(3000)])
    c.cmd("RPUSH", "lhuge", b"y" * 100000)
    c.cmd("EXPIRE", "hsmall", "1000")
    c.cmd("PEXPIRE", "lbig", "5000000")


def snapshot_of(c):
    out = {}
    for k in ("hsmall", "hbig"):
        out[k] = (sorted(zip(*[iter(c.cmd("HGETALL", k))] * 2)), c.cmd("OBJECT", "ENCODING", k))
    for k in ("lsmall", "lbig", "lhuge"):
        out[k] = (c.cmd("LRANGE", k, "0", "-1"), c.cmd("OBJECT", "ENCODING", k))
    return out


def test_snapshot_round_trip(srv):
    p = Proc("--save", "", "--appendonly", "no").start()
    try:
        c = p.conn()
        fill(c)
        before = snapshot_of(c)
        assert before["hbig"][1] == b"hashtable" and before["lbig"][1] == b"quicklist"
        assert c.cmd("SAVE") == OK
        p.stop()
        p.start()
        c = p.conn()
        assert snapshot_of(c) == before
        assert 990 <= c.cmd("TTL", "hsmall") <= 1000
        assert c.cmd("TTL", "lbig") > 4000
        assert c.cmd("TYPE", "lhuge") == Status(b"list")
    finally:
        p.cleanup()


def test_aof_replays_served_blocked_pops(srv):
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "always").start()
    try:
        c = p.conn()
        w = p.conn()
        # BLPOP served by a push: the AOF must drop the element it took
        w.send(encode("BLPOP", "q", "0"))
        wait_for(lambda: blocked(c) == 1, what="blocked")
        assert c.cmd("RPUSH", "q", "a", "b") == 2
        assert w.read_reply() == [b"q", b"a"]
        # BLMPOP with a count
        w.send(encode("BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "2"))
        wait_for(lambda: blocked(c) == 1, what="blocked")
        c.cmd("RPUSH", "m", "1", "2", "3")
        assert w.read_reply() == [b"m", [b"3", b"2"]]
        # BLMOVE to several destinations (same and other shards)
        for i in range(6):
            w.send(encode("BLMOVE", "src", "dst%d" % i, "LEFT", "RIGHT", "0"))
            wait_for(lambda: blocked(c) == 1, what="blocked")
            c.cmd("LPUSH", "src", "v%d" % i)
            assert w.read_reply() == b"v%d" % i
        # HINCRBYFLOAT is logged as its result
        assert c.cmd("HINCRBYFLOAT", "h", "f", "0.1") == b"0.1"
        assert c.cmd("HINCRBYFLOAT", "h", "f", "0.2") == b"0.3"
        want = {
            "q": c.cmd("LRANGE", "q", "0", "-1"),
            "m": c.cmd("LRANGE", "m", "0", "-1"),
            "src": c.cmd("EXISTS", "src"),
            "dst": [c.cmd("LRANGE", "dst%d" % i, "0", "-1") for i in range(6)],
            "h": c.cmd("HGET", "h", "f"),
        }
        assert want["q"] == [b"b"] and want["m"] == [b"1"] and want["src"] == 0
        p.kill9()
        p.start()
        c = p.conn()
        got = {
            "q": c.cmd("LRANGE", "q", "0", "-1"),
            "m": c.cmd("LRANGE", "m", "0", "-1"),
            "src": c.cmd("EXISTS", "src"),
            "dst": [c.cmd("LRANGE", "dst%d" % i, "0", "-1") for i in range(6)],
            "h": c.cmd("HGET", "h", "f"),
        }
        assert got == want
    finally:
        p.cleanup()


def test_aof_replays_pops_served_after_exec(srv):
    """Clients blocked on keys a transaction writes are served after its
    last command; their pops are logged in the transaction's unit and
    replay after it (a list pushed, popped by a waiter, pushed again)."""
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "always").start()
    try:
        c, w, z = p.conn(), p.conn(), p.conn()
        w.send(encode("BLPOP", "q", "0"))
        z.send(encode("BZPOPMAX", "zs", "0"))
        wait_for(lambda: blocked(c) == 2, what="blocked")
        assert c.cmd("MULTI") == OK
        for args in (("RPUSH", "q", "a", "b"), ("LPUSH", "q", "c"), ("ZADD", "zs", "1", "x", "2", "y"),
                     ("RPUSH", "other", "o")):
            assert c.cmd(*args) == Status(b"QUEUED")
        assert c.cmd("EXEC") == [2, 3, 2, 1]
        assert w.read_reply() == [b"q", b"c"]
        assert z.read_reply() == [b"zs", b"y", b"2"]
        assert c.cmd("RPUSH", "q", "d") == 3
        want = (c.cmd("LRANGE", "q", "0", "-1"), c.cmd("ZRANGE", "zs", "0", "-1"), c.cmd("LRANGE", "other", "0", "-1"))
        assert want == ([b"a", b"b", b"d"], [b"x"], [b"o"])
        p.kill9()
        p.start()
        c = p.conn()
        assert (c.cmd("LRANGE", "q", "0", "-1"), c.cmd("ZRANGE", "zs", "0", "-1"),
                c.cmd("LRANGE", "other", "0", "-1")) == want
    finally:
        p.cleanup()


def test_aof_replays_pops_served_by_swapdb(srv):
    """SWAPDB serves the clients blocked on keys the swap brings in: their
    pops happen after the swap and must replay after it (they were logged
    before it: replay put the popped list in the other database)."""
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "always").start()
    try:
        c = p.conn()
        w = p.conn()
        assert c.cmd("SELECT", "1") == OK
        c.cmd("RPUSH", "q", "a", "b", "c")
        c.cmd("RPUSH", "other", "x")
        w.send(encode("BLPOP", "q", "0"))  # in database 0, where q does not exist
        wait_for(lambda: blocked(c) == 1, what="blocked")
        assert c.cmd("SWAPDB", "0", "1") == OK
        assert w.read_reply() == [b"q", b"a"]
        # BLMOVE served by the swap, into a key of another shard
        w.send(encode("BLMOVE", "q2", "dst", "LEFT", "RIGHT", "0"))
        wait_for(lambda: blocked(c) == 1, what="blocked")
        c.cmd("RPUSH", "q2", "m", "n")  # in database 1 (the old 0)
        assert c.cmd("SWAPDB", "0", "1") == OK
        assert w.read_reply() == b"m"

        def state(conn):
            out = {}
            for d in ("0", "1"):
                assert conn.cmd("SELECT", d) == OK
                for k in ("q", "q2", "dst", "other"):
                    out[(d, k)] = conn.cmd("LRANGE", k, "0", "-1")
            return out

        want = state(c)
        assert want[("1", "q")] == [b"b", b"c"] and want[("0", "dst")] == [b"m"], want
        p.kill9()
        p.start()
        assert state(p.conn()) == want
    finally:
        p.cleanup()


def test_aof_blocking_stress_replay(srv):
    """Many pushers and blocked poppers, then a crash: the replayed lists
    hold exactly what was pushed and not delivered."""
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "everysec").start()
    try:
        delivered = []
        lock = threading.Lock()
        stop = threading.Event()

        def popper():
            c = p.conn()
            while not stop.is_set():
                r = c.cmd("BLPOP", "k1", "k2", "0.1")
                if r:
                    with lock:
                        delivered.append(r[1])

        def pusher(i):
            c = p.conn()
            for j in range(200):
                c.cmd("RPUSH", "k%d" % (1 + j % 2), "%d:%d" % (i, j))

        pops = [threading.Thread(target=popper) for _ in range(4)]
        pushes = [threading.Thread(target=pusher, args=(i,)) for i in range(4)]
        for t in pops + pushes:
            t.start()
        for t in pushes:
            t.join(60)
        stop.set()
        for t in pops:
            t.join(10)
        c = p.conn()
        left = c.cmd("LRANGE", "k1", "0", "-1") + c.cmd("LRANGE", "k2", "0", "-1")
        assert len(left) + len(delivered) == 800
        assert sorted(left + delivered) == sorted(b"%d:%d" % (i, j) for i in range(4) for j in range(200))
        p.stop()  # clean stop: every record is on disk
        p.start()
        c = p.conn()
        assert sorted(c.cmd("LRANGE", "k1", "0", "-1") + c.cmd("LRANGE", "k2", "0", "-1")) == sorted(left)
    finally:
        p.cleanup()
