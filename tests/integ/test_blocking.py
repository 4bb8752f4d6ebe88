"""Blocking pops: BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH served across
connections, first come first served, before anyone else can pop; timeouts
(fractions, 0 = forever, errors); disconnects while blocked; CLIENT
UNBLOCK; INFO blocked_clients; keys deleted, retyped or renamed while
clients wait; and a bounded many-client push/pop stress test."""

import socket
import threading
import time

from harness import Err, OK, Status, encode, fresh_server, kvd_only, timeout, wait_for

WRONGTYPE = Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")


def blocked(srv):
    return int(srv.info("clients")["blocked_clients"])


def block(srv, conn, *args, n=None):
    """Send a blocking command on conn and wait until the server counts it."""
    before = blocked(srv) if n is None else n - 1
    conn.send(encode(*args))
    wait_for(lambda: blocked(srv) >= before + 1, what="client blocked on %r" % (args,))


def test_blpop_served_across_connections(srv):
    a, b = srv.conn(), srv.conn()
    block(srv, a, "BLPOP", "q", "0")
    assert b.cmd("RPUSH", "q", "x") == 1
    assert a.read_reply() == [b"q", b"x"]
    assert b.cmd("EXISTS", "q") == 0
    assert blocked(srv) == 0
    # BRPOP, several keys: the first key that gets data
    block(srv, a, "BRPOP", "k1", "k2", "0")
    assert b.cmd("RPUSH", "k2", "1", "2") == 2
    assert a.read_reply() == [b"k2", b"2"]
    assert b.cmd("LRANGE", "k2", "0", "-1") == [b"1"]


def test_data_already_there(srv):
    c = srv.conn()
    c.cmd("RPUSH", "k2", "a", "b")
    assert c.cmd("BLPOP", "k1", "k2", "0") == [b"k2", b"a"]
    assert c.cmd("BRPOP", "k1", "k2", "0") == [b"k2", b"b"]
    assert c.cmd("EXISTS", "k2") == 0
    c.cmd("RPUSH", "m", "1", "2", "3")
    assert c.cmd("BLMPOP", "0", "2", "x", "m", "RIGHT", "COUNT", "2") == [b"m", [b"3", b"2"]]
    assert c.cmd("BLMOVE", "m", "d", "LEFT", "RIGHT", "0") == b"1"
    assert c.cmd("LRANGE", "d", "0", "-1") == [b"1"]
    assert c.cmd("BRPOPLPUSH", "d", "d2", "0") == b"1"


def test_fifo_order_and_served_first(srv):
    """Clients are served in the order they blocked, and a push's elements
    go to them before any other client can pop."""
    waiters = [srv.conn() for _ in range(4)]
    for i, w in enumerate(waiters):
        block(srv, w, "BLPOP", "q", "0", n=i + 1)
    p = srv.conn()
    # the push and a competing LPOP in one pipeline: the waiters win
    r = p.pipeline([("RPUSH", "q", "a", "b", "c"), ("LPOP", "q"), ("LLEN", "q")])
    assert r == [3, None, 0]
    assert [w.read_reply() for w in waiters[:3]] == [[b"q", b"a"], [b"q", b"b"], [b"q", b"c"]]
    assert blocked(srv) == 1
    assert p.cmd("LPUSH", "q", "d") == 1
    assert waiters[3].read_reply() == [b"q", b"d"]


def test_fifo_across_keys(srv):
    a, b, p = srv.conn(), srv.conn(), srv.conn()
    block(srv, a, "BLPOP", "x", "y", "0", n=1)
    block(srv, b, "BLPOP", "y", "0", n=2)
    p.cmd("RPUSH", "y", "1", "2")
    assert a.read_reply() == [b"y", b"1"]
    assert b.read_reply() == [b"y", b"2"]
    # a was served, so it no longer waits on x either
    assert blocked(srv) == 0
    assert p.cmd("RPUSH", "x", "z") == 1
    assert p.cmd("LLEN", "x") == 1


def test_blmpop_count_and_blmove(srv):
    a, p = srv.conn(), srv.conn()
    block(srv, a, "BLMPOP", "0", "2", "m1", "m2", "LEFT", "COUNT", "3")
    p.cmd("RPUSH", "m2", "1", "2", "3", "4", "5")
    assert a.read_reply() == [b"m2", [b"1", b"2", b"3"]]
    assert p.cmd("LRANGE", "m2", "0", "-1") == [b"4", b"5"]
    # BLMOVE to many destinations: some share the source's shard, some don't
    for i in range(12):
        dst = "dst%d" % i
        block(srv, a, "BLMOVE", "src", dst, "RIGHT", "LEFT", "0")
        p.cmd("RPUSH", "src", "a", "b")
        assert a.read_reply() == b"b"
        assert p.cmd("LRANGE", dst, "0", "-1") == [b"b"]
        assert p.cmd("LRANGE", "src", "0", "-1") == [b"a"]
        p.cmd("DEL", "src")
    block(srv, a, "BRPOPLPUSH", "src", "src", "0")
    p.cmd("RPUSH", "src", "a", "b")
    assert a.read_reply() == b"b"
    assert p.cmd("LRANGE", "src", "0", "-1") == [b"b", b"a"]


def test_blmove_chain(srv):
    """A BLMOVE served by a push feeds a client blocked on its destination."""
    a, b, p = srv.conn(), srv.conn(), srv.conn()
    block(srv, b, "BLPOP", "stage2", "0", n=1)
    block(srv, a, "BLMOVE", "stage1", "stage2", "LEFT", "RIGHT", "0", n=2)
    p.cmd("RPUSH", "stage1", "job")
    assert a.read_reply() == b"job"
    assert b.read_reply() == [b"stage2", b"job"]
    assert p.cmd("EXISTS", "stage1", "stage2") == 0


def test_timeouts(srv):
    c = srv.conn()
    t0 = time.monotonic()
    assert c.cmd("BLPOP", "q", "0.2") is None
    dt = time.monotonic() - t0
    assert 0.15 <= dt < 3, dt
    assert c.cmd("BRPOP", "q", "0.01") is None
    assert c.cmd("BLMPOP", "0.01", "1", "q", "LEFT") is None
    assert c.cmd("BLMOVE", "q", "d", "LEFT", "LEFT", "0.01") is None
    assert c.cmd("BRPOPLPUSH", "q", "d", "0.01") is None
    assert srv.raw(b"BLPOP q 0.01\r\nBLMOVE q d LEFT LEFT 0.01\r\n", replies=2) == b"*-1\r\n*-1\r\n"
    assert srv.raw(b"HELLO 3\r\nBLPOP q 0.01\r\nBLMOVE q d LEFT LEFT 0.01\r\n",
                   replies=3).endswith(b"_\r\n_\r\n")
    assert blocked(srv) == 0


def test_timeout_errors(srv):
    c = srv.conn()
    neg = Err(b"ERR timeout is negative")
    bad = Err(b"ERR timeout is not a float or out of range")
    for t in ("-1", "-0.5", "inf", "-inf", "1e30"):
        assert c.cmd("BLPOP", "q", t) == neg, t
    for t in ("abc", "1x", " 1", "nan", ""):
        assert c.cmd("BLPOP", "q", t) == bad, t
    assert c.cmd("BLMOVE", "q", "d", "LEFT", "LEFT", "-1") == neg
    assert c.cmd("BRPOPLPUSH", "q", "d", "x") == bad
    assert c.cmd("BLMPOP", "-1", "1", "q", "LEFT") == neg
    # BLMPOP checks its other arguments before the timeout
    assert c.cmd("BLMPOP", "x", "0", "q", "LEFT") == Err(b"ERR numkeys should be greater than 0")
    assert c.cmd("BLMOVE", "q", "d", "UP", "LEFT", "x") == Err(b"ERR syntax error")
    # a wrong type is reported at once, with any timeout
    c.cmd("SET", "s", "1")
    assert c.cmd("BLPOP", "s", "0") == WRONGTYPE
    assert blocked(srv) == 0


def test_disconnect_while_blocked(srv):
    p = srv.conn()
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(encode("BLPOP", "q", "0"))
        wait_for(lambda: blocked(srv) == 1, what="blocked")
        s.close()
        wait_for(lambda: blocked(srv) == 0, what="disconnect noticed")
    # nothing is left registered: the element stays for the next reader
    assert p.cmd("RPUSH", "q", "x") == 1
    assert p.cmd("LLEN", "q") == 1
    # the blocked count drops when the waiter is unregistered; the client
    # itself is freed by its thread right after
    wait_for(lambda: int(srv.info("clients")["connected_clients"]) <= 2, what="clients freed")


def test_pipelined_after_blocking(srv):
    a, p = srv.conn(), srv.conn()
    a.send(encode("BLPOP", "q", "0") + encode("PING") + encode("RPUSH", "q", "self"))
    wait_for(lambda: blocked(srv) == 1, what="blocked")
    p.cmd("RPUSH", "q", "x")
    assert a.read_replies(3) == [[b"q", b"x"], Status(b"PONG"), 1]


def test_client_unblock(srv):
    a, p = srv.conn(), srv.conn()
    aid = a.cmd("CLIENT", "ID")
    block(srv, a, "BLPOP", "q", "0")
    assert p.cmd("CLIENT", "UNBLOCK", aid) == 1
    assert a.read_reply() is None
    assert p.cmd("CLIENT", "UNBLOCK", aid) == 0
    block(srv, a, "BLMOVE", "q", "d", "LEFT", "LEFT", "0")
    assert p.cmd("CLIENT", "UNBLOCK", aid, "ERROR") == 1
    assert a.read_reply() == Err(b"UNBLOCKED client unblocked via CLIENT UNBLOCK")
    block(srv, a, "BLPOP", "q", "0")
    assert p.cmd("CLIENT", "UNBLOCK", aid, "TIMEOUT") == 1
    assert a.read_reply() is None
    assert p.cmd("CLIENT", "UNBLOCK", aid, "FOO") == \
        Err(b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    assert p.cmd("CLIENT", "UNBLOCK", "abc") == Err(b"ERR value is not an integer or out of range")
    assert p.cmd("CLIENT", "UNBLOCK", "999999") == 0
    assert blocked(srv) == 0
    assert a.cmd("PING") == Status(b"PONG")


def test_key_retyped_deleted_renamed(srv):
    a, p = srv.conn(), srv.conn()
    block(srv, a, "BLPOP", "q", "0")
    # another type: the client keeps waiting (as Redis 7.0)
    p.cmd("SET", "q", "str")
    p.cmd("HSET", "h", "f", "v")
    time.sleep(0.1)
    assert blocked(srv) == 1
    p.cmd("DEL", "q")
    assert blocked(srv) == 1
    # a list renamed onto the key serves it
    p.cmd("RPUSH", "other", "r1", "r2")
    assert p.cmd("RENAME", "other", "q") == OK
    assert a.read_reply() == [b"q", b"r1"]
    assert p.cmd("LRANGE", "q", "0", "-1") == [b"r2"]
    p.cmd("DEL", "q")
    # so does a list moved in from another database
    block(srv, a, "BLPOP", "q", "0")
    p.cmd("SELECT", "3")
    p.cmd("RPUSH", "q", "m")
    assert p.cmd("MOVE", "q", "0") == 1
    assert a.read_reply() == [b"q", b"m"]
    p.cmd("SELECT", "0")
    # ... and one copied over it
    block(srv, a, "BRPOP", "q", "0")
    p.cmd("RPUSH", "c", "c1", "c2")
    assert p.cmd("COPY", "c", "q") == 1
    assert a.read_reply() == [b"q", b"c2"]


def test_blocking_inside_multi(srv):
    """Inside MULTI a blocking command does not block: it answers as if
    its timeout had passed (null array; BLMOVE a null bulk)."""
    c = srv.conn()
    if c.cmd("MULTI") != OK:
        return  # transactions not linked into this build yet
    for args in (("BLPOP", "q", "0"), ("BLMOVE", "q", "d", "LEFT", "LEFT", "0"),
                 ("BRPOPLPUSH", "q", "d", "0"), ("BLMPOP", "0", "1", "q", "LEFT"),
                 ("RPUSH", "q", "x"), ("BLPOP", "q", "0")):
        assert c.cmd(*args) == Status(b"QUEUED")
    c.send(encode("EXEC"))
    assert c.read_exact(len(b"*6\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n:1\r\n")) == \
        b"*6\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n:1\r\n"
    assert c.read_reply() == [b"q", b"x"]
    assert blocked(srv) == 0


def test_waiters_served_after_exec(srv):
    """A transaction is atomic for blocked clients too: they are served
    after EXEC's last command, from the keys' final values, so the
    transaction's own replies are those of a run without waiters."""
    w, d = srv.conn(), srv.conn()
    block(srv, w, "BLPOP", "q", "0", n=1)
    assert d.cmd("MULTI") == OK
    for args in (("RPUSH", "q", "a", "b"), ("LPUSH", "q", "c", "d"), ("LLEN", "q"), ("RPOP", "q")):
        assert d.cmd(*args) == Status(b"QUEUED")
    assert d.cmd("EXEC") == [2, 4, 4, b"b"]
    assert w.read_reply() == [b"q", b"d"]
    assert d.cmd("LRANGE", "q", "0", "-1") == [b"c", b"a"]
    # emptied again before EXEC ends: nothing for the waiter
    block(srv, w, "BLPOP", "q2", "0", n=1)
    assert d.cmd("MULTI") == OK
    for args in (("RPUSH", "q2", "x"), ("DEL", "q2")):
        assert d.cmd(*args) == Status(b"QUEUED")
    assert d.cmd("EXEC") == [1, 1]
    assert blocked(srv) == 1
    assert d.cmd("RPUSH", "q2", "y") == 1
    assert w.read_reply() == [b"q2", b"y"]


def test_move_served_before_the_writers_reply(srv):
    """A BLMOVE waiter is served before the push that feeds it replies,
    whatever shards its two keys live in: the writer's next command can't
    overtake the move (here: feed another key a client behind it waits on)."""
    for i in range(12):  # key pairs in different shards, most of them
        src, dst, other = "src%d" % i, "dst%d" % i, "other%d" % i
        m, x, d = srv.conn(), srv.conn(), srv.conn()
        block(srv, m, "BLMOVE", src, dst, "RIGHT", "LEFT", "0", n=1)
        block(srv, x, "BLPOP", src, other, "0", n=2)
        d.send(encode("RPUSH", src, "a", "b") + encode("RPUSH", other, "o") + encode("LRANGE", dst, "0", "-1"))
        assert d.read_replies(3) == [2, 1, [b"b"]]
        assert m.read_reply() == b"b"
        got = x.read_reply()
        assert got == [src.encode(), b"a"], (i, got)
        assert d.cmd("LRANGE", other, "0", "-1") == [b"o"]
        for c in (m, x, d):
            c.close()


def test_waiters_served_after_the_command_events(srv):
    """A waiter is served after the command that feeds it, events included:
    MOVE's move_from/move_to, RENAME's rename_from/rename_to and COPY's
    copy_to come before the waiter's lpop, and a BRPOPLPUSH chain whose
    second hop lives in the shards the first one holds keeps the queue's
    order (each waiter's reply checked)."""
    sub, d = srv.conn(), srv.conn()
    d.cmd("CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        sub.send(encode("PSUBSCRIBE", "__keyevent@*__:*"))
        sub.read_reply()
        w = srv.conn()
        w.cmd("SELECT", "1")
        block(srv, w, "BLPOP", "k", "0", n=1)
        d.cmd("RPUSH", "k", "a")
        assert d.cmd("MOVE", "k", "1") == 1
        assert w.read_reply() == [b"k", b"a"]
        block(srv, w, "BLPOP", "r", "c", "0", n=1)
        d.cmd("SELECT", "1")
        d.cmd("RPUSH", "src", "b")
        assert d.cmd("RENAME", "src", "r") == OK
        assert w.read_reply() == [b"r", b"b"]
        block(srv, w, "BLPOP", "c", "0", n=1)
        d.cmd("RPUSH", "src", "c1")
        assert d.cmd("COPY", "src", "c") == 1
        assert w.read_reply() == [b"c", b"c1"]
        d.cmd("PUBLISH", "__keyevent@0__:end", "x")
        got = []
        while True:
            m = sub.read_reply()
            if m[2] == b"__keyevent@0__:end":
                break
            got.append((m[2].decode().split(":", 1)[1], m[3].decode(), m[2].decode()[11]))
        assert got == [("rpush", "k", "0"), ("move_from", "k", "0"), ("move_to", "k", "1"), ("lpop", "k", "1"),
                       ("del", "k", "1"), ("rpush", "src", "1"), ("rename_from", "src", "1"),
                       ("rename_to", "r", "1"), ("lpop", "r", "1"), ("del", "r", "1"), ("rpush", "src", "1"),
                       ("copy_to", "c", "1"), ("lpop", "c", "1"), ("del", "c", "1")], got
    finally:
        d.cmd("CONFIG", "SET", "notify-keyspace-events", "")
    # two BRPOPLPUSH from one key to another, then a client on the second
    p1, p2, x = srv.conn(), srv.conn(), srv.conn()
    d.cmd("SELECT", "0")
    for i in range(8):
        a, b = "from%d" % i, "to%d" % i
        block(srv, p1, "BRPOPLPUSH", a, b, "0", n=1)
        block(srv, p2, "BRPOPLPUSH", a, b, "0", n=2)
        block(srv, x, "BLPOP", b, "0", n=3)
        assert d.cmd("RPUSH", a, "1", "2", "3") == 3
        assert (p1.read_reply(), p2.read_reply(), x.read_reply()) == (b"3", b"2", [b.encode(), b"2"])
        assert d.cmd("LRANGE", b, "0", "-1") == [b"3"] and d.cmd("LRANGE", a, "0", "-1") == [b"1"]


def test_blocked_clients_in_client_list_and_info(srv):
    """CLIENT LIST shows a blocked client's command (cmd=blpop, flags=b),
    and INFO's clients_in_timeout_table counts those blocked with a
    timeout (0 waits for ever)."""
    a, b, d = srv.conn(), srv.conn(), srv.conn()
    aid = a.cmd("CLIENT", "ID")
    block(srv, a, "BLPOP", "q", "30", n=1)
    block(srv, b, "BZPOPMIN", "z", "0", n=2)
    lines = {int(l.split(b" ")[0][3:]): l for l in d.cmd("CLIENT", "LIST").split(b"\n") if l}
    assert b" cmd=blpop " in lines[aid] and b" flags=b " in lines[aid], lines[aid]
    info = srv.info("clients")
    assert (info["blocked_clients"], info["clients_in_timeout_table"]) == ("2", "1"), info
    assert d.cmd("RPUSH", "q", "x") == 1
    assert a.read_reply() == [b"q", b"x"]
    wait_for(lambda: srv.info("clients")["clients_in_timeout_table"] == "0", what="timeout table emptied")
    assert d.cmd("ZADD", "z", "1", "m") == 1
    assert b.read_reply() == [b"z", b"m", b"1"]


def test_blmove_destination_wrong_type(srv):
    a, p = srv.conn(), srv.conn()
    p.cmd("SET", "dst", "string")
    assert p.cmd("BLMOVE", "src", "dst", "LEFT", "LEFT", "0.01") is None
    block(srv, a, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0")
    p.cmd("RPUSH", "src", "x")
    assert a.read_reply() == WRONGTYPE
    assert p.cmd("LRANGE", "src", "0", "-1") == [b"x"]
    assert blocked(srv) == 0


def test_blocking_in_other_dbs(srv):
    a, p = srv.conn(), srv.conn()
    a.cmd("SELECT", "5")
    block(srv, a, "BLPOP", "q", "0")
    p.cmd("RPUSH", "q", "db0")  # db 0: not the waiter's key
    time.sleep(0.05)
    assert blocked(srv) == 1
    p.cmd("SELECT", "5")
    p.cmd("RPUSH", "q", "db5")
    assert a.read_reply() == [b"q", b"db5"]
    p.cmd("SELECT", "0")
    assert p.cmd("LLEN", "q") == 1
    # SWAPDB brings a list to the waiter's db
    block(srv, a, "BLPOP", "q", "0")
    assert p.cmd("SWAPDB", "0", "5") == OK
    assert a.read_reply() == [b"q", b"db0"]


def test_python_and_cli(srv):
    r = srv.client()
    out = {}

    def waiter():
        out["v"] = srv.client().blpop(["jobs"], timeout=10)

    t = threading.Thread(target=waiter)
    t.start()
    wait_for(lambda: blocked(srv) == 1, what="redis-py blocked")
    assert srv.cli("RPUSH", "jobs", "job1").strip() == "1"
    t.join(10)
    assert out["v"] == (b"jobs", b"job1")
    assert r.blpop(["jobs"], timeout=0.05) is None
    # redis-cli blocking, served by redis-py
    res = {}

    def cli_waiter():
        res["out"] = srv.cli("BRPOP", "jobs", "5")

    t = threading.Thread(target=cli_waiter)
    t.start()
    wait_for(lambda: blocked(srv) == 1, what="redis-cli blocked")
    r.rpush("jobs", "job2")
    t.join(10)
    assert res["out"] == "jobs\njob2\n"


@kvd_only
def test_text_protocol_blocking(srv):
    a = socket.create_connection(("127.0.0.1", srv.text_port))
    a.settimeout(5)
    a.sendall(b"BLPOP tq 0\n")
    wait_for(lambda: blocked(srv) == 1, what="text client blocked")
    srv.conn().cmd("RPUSH", "tq", "hello")
    data = b""
    while data.count(b"\n") < 2:
        data += a.recv(1000)
    assert data == b'1) "tq"\n2) "hello"\n'
    a.close()


@kvd_only
@fresh_server("--enable-debug-command", "yes")
def test_timeout_follows_debug_clock(srv):
    """The deadline is on kvd's clock: DEBUG JUMP-CLOCK ends a long wait."""
    c = srv.conn()
    a = srv.conn()
    block(srv, a, "BLPOP", "q", "3600")
    assert c.cmd("DEBUG", "JUMP-CLOCK", "3601000") == OK
    assert a.read_reply(timeout=5) is None


@timeout(120)
def test_stress_many_clients(srv):
    """Producers push, consumers pop with BLPOP/BRPOP/BLMOVE on the same few
    keys; every element is delivered exactly once."""
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
                k = keys[(i + j) % len(keys)]
                c.cmd("LPUSH" if j % 2 else "RPUSH", k, "%d:%d" % (i, j))
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
                if mode == 0:
                    r = c.cmd("BLPOP", *keys, "0.2")
                    v = r[1] if r else None
                elif mode == 1:
                    r = c.cmd("BRPOP", *keys, "0.2")
                    v = r[1] if r else None
                else:
                    v = c.cmd("BLMOVE", keys[i % len(keys)], "moved%d" % i, "LEFT", "RIGHT", "0.2")
                    if v is not None:
                        c.cmd("LREM", "moved%d" % i, "1", v)
                if v is not None:
                    with lock:
                        got.append(v)
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
