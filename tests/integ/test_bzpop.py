"""Blocking sorted-set pops: BZPOPMIN, BZPOPMAX and BZMPOP served across
connections by any write that leaves members at the key (ZADD, ZINCRBY,
ZUNIONSTORE, RENAME...), first come first served; exact reply bytes in
RESP2 and RESP3 (the score a bulk string, then a double); timeouts
(fractions, errors shared with the list pops); disconnects; CLIENT
UNBLOCK; keys retyped while clients wait, waiters of lists and sorted sets
on one key; EXEC; the AOF replay of served pops; and a bounded stress
test. Passes against redis-server 7.0 but for the kvd-only tests."""

import socket
import threading
import time

from harness import Err, OK, Status, encode, kvd_only, timeout, wait_for

WRONGTYPE = Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Err(b"ERR syntax error")
NEG = Err(b"ERR timeout is negative")
BADT = Err(b"ERR timeout is not a float or out of range")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def blocked(srv):
    return int(srv.info("clients")["blocked_clients"])


def block(srv, conn, *args, n=None):
    """Send a blocking command on conn and wait until the server counts it."""
    before = blocked(srv) if n is None else n - 1
    conn.send(encode(*args))
    wait_for(lambda: blocked(srv) >= before + 1, what="client blocked on %r" % (args,))


def hello3(c):
    r = c.cmd("HELLO", "3")
    assert not isinstance(r, Err), r


def test_bzpopmin_served_across_connections(srv):
    a, b = srv.conn(), srv.conn()
    block(srv, a, "BZPOPMIN", "z", "0")
    assert b.cmd("ZADD", "z", "2", "b", "1", "a") == 2
    assert a.read_reply() == [b"z", b"a", b"1"]
    assert b.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"b", b"2"]
    assert blocked(srv) == 0
    # several keys: the first key that gets members
    block(srv, a, "BZPOPMAX", "k1", "k2", "0")
    assert b.cmd("ZADD", "k2", "1.5", "x", "-3", "y") == 2
    assert a.read_reply() == [b"k2", b"x", b"1.5"]
    assert b.cmd("ZCARD", "k2") == 1
    # the last member popped deletes the key
    block(srv, a, "BZPOPMIN", "solo", "0")
    assert b.cmd("ZADD", "solo", "7", "m") == 1
    assert a.read_reply() == [b"solo", b"m", b"7"]
    assert b.cmd("EXISTS", "solo") == 0


def test_reply_bytes_when_data_is_there(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2.5", "b", "3", "c", "4", "d")
    want2 = (b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
             b"*3\r\n$1\r\nz\r\n$1\r\nd\r\n$1\r\n4\r\n"
             b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n")
    got = srv.raw(encode("BZPOPMIN", "nokey", "z", "0") + encode("BZPOPMAX", "z", "0")
                  + encode("BZMPOP", "0", "2", "nokey", "z", "MIN"), replies=3)
    assert got == want2
    c.cmd("ZADD", "z", "1", "a", "2.5", "b", "4", "d")
    want3 = (b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n"
             b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n"
             b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n")
    got = srv.raw(encode("HELLO", "3") + encode("BZPOPMIN", "z", "0")
                  + encode("BZMPOP", "0", "1", "z", "MAX", "COUNT", "2")
                  + encode("BZMPOP", "0", "1", "z", "MIN", "COUNT", "10"), replies=4)
    assert got.endswith(want3), got
    assert c.cmd("EXISTS", "z") == 0


def test_fifo_order_and_served_first(srv):
    """Clients are served in the order they blocked, and a write's members
    go to them before any other client can pop."""
    waiters = [srv.conn() for _ in range(4)]
    for i, w in enumerate(waiters):
        block(srv, w, "BZPOPMIN", "z", "0", n=i + 1)
    p = srv.conn()
    r = p.pipeline([("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZPOPMIN", "z"), ("ZCARD", "z")])
    assert r == [3, [], 0]
    assert [w.read_reply() for w in waiters[:3]] == \
        [[b"z", b"a", b"1"], [b"z", b"b", b"2"], [b"z", b"c", b"3"]]
    assert blocked(srv) == 1
    assert p.cmd("ZADD", "z", "9", "d") == 1
    assert waiters[3].read_reply() == [b"z", b"d", b"9"]
    # BZMPOP with a count takes its share, the next waiter the rest
    a, b = srv.conn(), srv.conn()
    block(srv, a, "BZMPOP", "0", "2", "x", "y", "MAX", "COUNT", "2", n=1)
    block(srv, b, "BZPOPMAX", "y", "0", n=2)
    assert p.cmd("ZADD", "y", "1", "m1", "2", "m2", "3", "m3", "4", "m4") == 4
    assert a.read_reply() == [b"y", [[b"m4", b"4"], [b"m3", b"3"]]]
    assert b.read_reply() == [b"y", b"m2", b"2"]
    assert p.cmd("ZRANGE", "y", "0", "-1") == [b"m1"]
    assert blocked(srv) == 0


def test_served_by_other_writes(srv):
    a, p = srv.conn(), srv.conn()
    block(srv, a, "BZPOPMIN", "z", "0")
    assert p.cmd("ZINCRBY", "z", "1.25", "m") == b"1.25"
    assert a.read_reply() == [b"z", b"m", b"1.25"]
    p.cmd("ZADD", "s1", "1", "u", "2", "v")
    p.cmd("ZADD", "s2", "5", "u")
    block(srv, a, "BZMPOP", "0", "1", "z", "MIN", "COUNT", "5")
    assert p.cmd("ZUNIONSTORE", "z", "2", "s1", "s2") == 2
    assert a.read_reply() == [b"z", [[b"v", b"2"], [b"u", b"6"]]]
    assert p.cmd("EXISTS", "z") == 0
    block(srv, a, "BZPOPMAX", "z", "0")
    assert p.cmd("ZRANGESTORE", "z", "s1", "0", "0") == 1
    assert a.read_reply() == [b"z", b"u", b"1"]
    # a sorted set renamed, copied or moved onto the key
    block(srv, a, "BZPOPMIN", "z", "0")
    assert p.cmd("RENAME", "s2", "z") == OK
    assert a.read_reply() == [b"z", b"u", b"5"]
    block(srv, a, "BZPOPMIN", "z", "0")
    assert p.cmd("COPY", "s1", "z") == 1
    assert a.read_reply() == [b"z", b"u", b"1"]
    assert p.cmd("ZRANGE", "s1", "0", "-1") == [b"u", b"v"]
    assert p.cmd("DEL", "z") == 1
    block(srv, a, "BZPOPMIN", "z", "0")
    p.cmd("SELECT", "4")
    p.cmd("ZADD", "z", "3", "w")
    assert p.cmd("MOVE", "z", "0") == 1
    assert a.read_reply() == [b"z", b"w", b"3"]
    p.cmd("SELECT", "0")
    # in another database, and brought in by SWAPDB
    a.cmd("SELECT", "5")
    block(srv, a, "BZPOPMAX", "z", "0")
    p.cmd("ZADD", "z", "1", "db0")
    time.sleep(0.05)
    assert blocked(srv) == 1
    assert p.cmd("SWAPDB", "0", "5") == OK
    assert a.read_reply() == [b"z", b"db0", b"1"]
    assert blocked(srv) == 0


def test_timeouts(srv):
    c = srv.conn()
    t0 = time.monotonic()
    assert c.cmd("BZPOPMIN", "z", "0.2") is None
    dt = time.monotonic() - t0
    assert 0.15 <= dt < 3, dt
    assert c.cmd("BZPOPMAX", "z", "y", "0.01") is None
    assert c.cmd("BZMPOP", "0.01", "1", "z", "MIN") is None
    assert srv.raw(encode("BZPOPMIN", "z", "0.01") + encode("BZMPOP", "0.01", "1", "z", "MAX"),
                   replies=2) == b"*-1\r\n*-1\r\n"
    assert srv.raw(encode("HELLO", "3") + encode("BZPOPMAX", "z", "0.01")
                   + encode("BZMPOP", "0.01", "1", "z", "MAX", "COUNT", "3"),
                   replies=3).endswith(b"_\r\n_\r\n")
    assert blocked(srv) == 0


def test_argument_errors(srv):
    c = srv.conn()
    for t in ("-1", "-0.5", "inf", "-inf", "1e30"):
        assert c.cmd("BZPOPMIN", "z", t) == NEG, t
        assert c.cmd("BZMPOP", t, "1", "z", "MIN") == NEG, t
    for t in ("abc", "1x", " 1", "nan", ""):
        assert c.cmd("BZPOPMAX", "z", t) == BADT, t
        assert c.cmd("BZMPOP", t, "1", "z", "MAX") == BADT, t
    assert c.cmd("BZPOPMIN", "z") == arity("bzpopmin")
    assert c.cmd("BZPOPMAX") == arity("bzpopmax")
    assert c.cmd("BZMPOP", "0", "1", "z") == arity("bzmpop")
    numkeys = Err(b"ERR numkeys should be greater than 0")
    count = Err(b"ERR count should be greater than 0")
    assert c.cmd("BZMPOP", "0", "0", "z", "MIN") == numkeys
    assert c.cmd("BZMPOP", "0", "x", "z", "MIN") == numkeys
    assert c.cmd("BZMPOP", "0", "5", "z", "MIN") == SYNTAX
    assert c.cmd("BZMPOP", "0", "1", "z", "LEFT") == SYNTAX
    assert c.cmd("BZMPOP", "0", "1", "z", "MIN", "COUNT") == SYNTAX
    assert c.cmd("BZMPOP", "0", "1", "z", "MIN", "COUNT", "1", "COUNT", "2") == SYNTAX
    assert c.cmd("BZMPOP", "0", "1", "z", "MIN", "COUNT", "0") == count
    assert c.cmd("BZMPOP", "0", "1", "z", "MIN", "COUNT", "-1") == count
    # BZMPOP checks its other arguments before the timeout
    assert c.cmd("BZMPOP", "x", "0", "z", "MIN") == numkeys
    assert c.cmd("BZMPOP", "abc", "1", "z", "FOO") == SYNTAX
    assert c.cmd("BZMPOP", "-1", "1", "z", "MIN", "COUNT", "x") == count
    # a wrong type is reported at once (the keys are tried in order)
    c.cmd("SET", "s", "1")
    assert c.cmd("BZPOPMIN", "s", "0") == WRONGTYPE
    assert c.cmd("BZPOPMIN", "nokey", "s", "0") == WRONGTYPE
    assert c.cmd("BZMPOP", "0", "2", "nokey", "s", "MIN") == WRONGTYPE
    assert c.cmd("BZPOPMIN", "s", "x") == BADT
    c.cmd("ZADD", "z", "1", "a")
    assert c.cmd("BZPOPMIN", "z", "s", "0") == [b"z", b"a", b"1"]
    assert blocked(srv) == 0


def test_disconnect_while_blocked(srv):
    p = srv.conn()
    for args in (("BZPOPMIN", "z", "0"), ("BZMPOP", "0", "1", "z", "MAX", "COUNT", "2")):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(encode(*args))
        wait_for(lambda: blocked(srv) == 1, what="blocked")
        s.close()
        wait_for(lambda: blocked(srv) == 0, what="disconnect noticed")
    # nothing is left registered: the members stay for the next reader
    assert p.cmd("ZADD", "z", "1", "a", "2", "b") == 2
    assert p.cmd("ZCARD", "z") == 2


def test_client_unblock_and_pipelining(srv):
    a, p = srv.conn(), srv.conn()
    aid = a.cmd("CLIENT", "ID")
    block(srv, a, "BZPOPMIN", "z", "0")
    assert p.cmd("CLIENT", "UNBLOCK", aid) == 1
    assert a.read_reply() is None
    block(srv, a, "BZMPOP", "0", "1", "z", "MIN")
    assert p.cmd("CLIENT", "UNBLOCK", aid, "ERROR") == 1
    assert a.read_reply() == Err(b"UNBLOCKED client unblocked via CLIENT UNBLOCK")
    assert p.cmd("CLIENT", "UNBLOCK", aid) == 0
    assert blocked(srv) == 0
    # what the peer sends while blocked runs afterwards
    a.send(encode("BZPOPMAX", "z", "0") + encode("PING") + encode("ZADD", "z", "5", "self"))
    wait_for(lambda: blocked(srv) == 1, what="blocked")
    p.cmd("ZADD", "z", "1", "x")
    assert a.read_replies(3) == [[b"z", b"x", b"1"], Status(b"PONG"), 1]


def test_key_retyped_and_mixed_waiters(srv):
    a, b, p = srv.conn(), srv.conn(), srv.conn()
    block(srv, a, "BZPOPMIN", "k", "0", n=1)
    # another type: the client keeps waiting (as Redis 7.0)
    p.cmd("SET", "k", "str")
    time.sleep(0.05)
    assert blocked(srv) == 1
    p.cmd("DEL", "k")
    # a list at the key serves a list waiter behind the sorted-set waiter
    block(srv, b, "BLPOP", "k", "0", n=2)
    p.cmd("RPUSH", "k", "l1")
    assert b.read_reply() == [b"k", b"l1"]
    assert blocked(srv) == 1
    # and a sorted set serves the sorted-set waiter behind a list waiter
    p.cmd("DEL", "k")
    block(srv, b, "BRPOP", "k", "0", n=2)
    p.cmd("ZADD", "k", "1", "m", "2", "n")
    assert a.read_reply() == [b"k", b"m", b"1"]
    assert blocked(srv) == 1
    assert p.cmd("ZRANGE", "k", "0", "-1") == [b"n"]
    p.cmd("DEL", "k")
    p.cmd("RPUSH", "k", "l2")
    assert b.read_reply() == [b"k", b"l2"]
    assert blocked(srv) == 0


def test_resp3_served(srv):
    a, p = srv.conn(), srv.conn()
    hello3(a)
    block(srv, a, "BZPOPMAX", "z", "0")
    p.cmd("ZADD", "z", "2.5", "m")
    assert a.read_exact(len(b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,2.5\r\n")) == b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,2.5\r\n"
    block(srv, a, "BZMPOP", "0", "1", "z", "MIN", "COUNT", "5")
    p.cmd("ZADD", "z", "inf", "big", "-1", "n")
    want = b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nn\r\n,-1\r\n*2\r\n$3\r\nbig\r\n,inf\r\n"
    assert a.read_exact(len(want)) == want
    # and in RESP2 the score is a bulk string
    b = srv.conn()
    block(srv, b, "BZMPOP", "0", "1", "z", "MAX")
    p.cmd("ZADD", "z", "-inf", "small")
    want = b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$5\r\nsmall\r\n$4\r\n-inf\r\n"
    assert b.read_exact(len(want)) == want


def test_inside_multi(srv):
    """Inside MULTI they do not block: they answer as if timed out."""
    c = srv.conn()
    assert c.cmd("MULTI") == OK
    for args in (("BZPOPMIN", "z", "0"), ("BZMPOP", "0", "1", "z", "MIN"), ("ZADD", "z", "1", "x"),
                 ("BZPOPMAX", "z", "0")):
        assert c.cmd(*args) == Status(b"QUEUED")
    assert c.cmd("EXEC") == [None, None, 1, [b"z", b"x", b"1"]]
    assert blocked(srv) == 0


def test_python_and_cli(srv):
    r = srv.client()
    out = {}

    def waiter():
        out["v"] = srv.client().bzpopmin(["jobs"], timeout=10)

    t = threading.Thread(target=waiter)
    t.start()
    wait_for(lambda: blocked(srv) == 1, what="redis-py blocked")
    assert srv.cli("ZADD", "jobs", "3", "job1").strip() == "1"
    t.join(10)
    assert out["v"] == (b"jobs", b"job1", 3.0)
    assert r.bzpopmax(["jobs"], timeout=0.05) is None
    res = {}

    def cli_waiter():
        res["out"] = srv.cli("BZMPOP", "5", "1", "jobs", "MAX", "COUNT", "2")

    t = threading.Thread(target=cli_waiter)
    t.start()
    wait_for(lambda: blocked(srv) == 1, what="redis-cli blocked")
    r.zadd("jobs", {"j2": 2, "j3": 3})
    t.join(10)
    assert res["out"] == "jobs\nj3\n3\nj2\n2\n"


@kvd_only
def test_aof_replays_served_pops(srv):
    from persistlib import Proc
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", "always").start()
    try:
        c, w = p.conn(), p.conn()

        def nblocked():
            for line in c.cmd("INFO", "clients").decode().split("\r\n"):
                if line.startswith("blocked_clients:"):
                    return int(line.split(":")[1])
            return -1

        w.send(encode("BZPOPMIN", "z", "0"))
        wait_for(lambda: nblocked() == 1, what="blocked")
        assert c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c") == 3
        assert w.read_reply() == [b"z", b"a", b"1"]
        w.send(encode("BZMPOP", "0", "1", "m", "MAX", "COUNT", "2"))
        wait_for(lambda: nblocked() == 1, what="blocked")
        c.cmd("ZADD", "m", "1", "x", "2", "y", "3", "z")
        assert w.read_reply() == [b"m", [[b"z", b"3"], [b"y", b"2"]]]
        # served at once: logged as ZREM
        assert w.cmd("BZPOPMAX", "z", "0") == [b"z", b"c", b"3"]
        w.send(encode("BZPOPMAX", "gone", "0"))
        wait_for(lambda: nblocked() == 1, what="blocked")
        c.cmd("ZADD", "gone", "1", "only")
        assert w.read_reply() == [b"gone", b"only", b"1"]
        want = (c.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES"), c.cmd("ZRANGE", "m", "0", "-1", "WITHSCORES"),
                c.cmd("EXISTS", "gone"))
        assert want == ([b"b", b"2"], [b"x", b"1"], 0)
        p.kill9()
        p.start()
        c = p.conn()
        got = (c.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES"), c.cmd("ZRANGE", "m", "0", "-1", "WITHSCORES"),
               c.cmd("EXISTS", "gone"))
        assert got == want
    finally:
        p.cleanup()


@timeout(120)
def test_stress_many_clients(srv):
    """Producers ZADD, consumers pop with BZPOPMIN/BZPOPMAX/BZMPOP on the
    same few keys; every member is delivered exactly once."""
    keys = ["s0", "s1", "s2"]
    nprod, ncons, per = 6, 8, 300
    total = nprod * per
    got = []
    lock = threading.Lock()
    errors = []

    def producer(i):
        try:
            c = srv.conn(timeout=30)
            for j in range(per):
                c.cmd("ZADD", keys[(i + j) % len(keys)], str(j), "%d:%d" % (i, j))
        except Exception as e:  # pragma: no cover
            errors.append(e)

    def consumer(i):
        try:
            c = srv.conn(timeout=30)
            while True:
                with lock:
                    if len(got) >= total:
                        return
                mode = i % 3
                if mode == 2:
                    r = c.cmd("BZMPOP", "0.2", str(len(keys)), *keys, "MIN", "COUNT", "3")
                    vals = [m for m, _ in r[1]] if r else []
                else:
                    r = c.cmd("BZPOPMIN" if mode == 0 else "BZPOPMAX", *keys, "0.2")
                    vals = [r[1]] if r else []
                with lock:
                    got.extend(vals)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=consumer, args=(i,)) for i in range(ncons)]
    threads += [threading.Thread(target=producer, args=(i,)) for i in range(nprod)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 90
    for t in threads:
        t.join(max(1, deadline - time.monotonic()))
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "stress threads did not finish"
    assert len(got) == total
    assert len(set(got)) == total
    c = srv.conn()
    assert c.cmd("EXISTS", *keys) == 0
    wait_for(lambda: blocked(srv) == 0, what="no blocked clients left")
