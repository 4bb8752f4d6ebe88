"""Shard hand-off (shard-handoff, cmd.c): a connection whose batch meets
its shard's write lock held lists the batch for the holder and waits on its
socket; the holder runs it on (as long as the commands are plain writes to
that shard), then sends the replies. These tests load one shard from many
connections at once with redis-benchmark (its INCR and LPUSH hit one key
each) and check, beside it, that nothing is lost, doubled or reordered:
counts, every connection's replies in order, mixed batches that leave the
hand-off part way, blocked clients served by handed pushes, replies too big
for the socket, and clients killed while their batch is handed over.
INFO's shard_handoffs shows the hand-offs happened."""

import socket
import subprocess
import threading
import time

from harness import OK, Status, encode, fresh_server, kvd_only, timeout, wait_for

KVD_ONLY = True


def handoffs(srv):
    return int(srv.info("stats")["shard_handoffs"])


def bench(srv, test, n, clients=50, pipeline=16, key_space=None, wait=True):
    """redis-benchmark against srv: a bounded run (n requests) of one test."""
    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(clients),
            "-n", str(n), "-P", str(pipeline), "-t", test, "-q"]
    if key_space:
        args += ["-r", str(key_space)]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if wait:
        assert p.wait(timeout=120) == 0
    return p


@fresh_server("--shards", "1")
@timeout(180)
def test_hot_key_counts_exact_with_handoffs(srv):
    """50 pipelining connections on one counter and one list: every INCR
    and every LPUSH applied once, and batches were handed over."""
    before = handoffs(srv)
    bench(srv, "incr", 200_000)
    bench(srv, "lpush", 200_000)
    c = srv.conn()
    assert c.cmd("GET", "counter:__rand_int__") == b"200000"
    assert c.cmd("LLEN", "mylist") == 200_000
    assert handoffs(srv) > before


@fresh_server("--shards", "1")
@timeout(180)
def test_handoff_off_at_run_time(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "GET", "shard-handoff") == [b"shard-handoff", b"yes"]
    assert c.cmd("CONFIG", "SET", "shard-handoff", "no") == OK
    before = handoffs(srv)
    bench(srv, "incr", 100_000)
    assert handoffs(srv) == before
    assert c.cmd("GET", "counter:__rand_int__") == b"100000"
    assert c.cmd("CONFIG", "SET", "shard-handoff", "yes") == OK
    bench(srv, "incr", 100_000)
    assert handoffs(srv) > before
    assert c.cmd("GET", "counter:__rand_int__") == b"200000"


def run_all(threads, errors, limit=150):
    """Starts the threads, waits for them (limit seconds each at most) and
    fails on one still running or on any error they reported."""
    for t in threads:
        t.start()
    for t in threads:
        t.join(limit)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def mixed_batch(k, seq):
    """Commands of connection k's batch seq and the replies they must get:
    writes to its own keys (handed on), reads and PING (which end a run on
    another thread), MULTI/EXEC, and a shared counter."""
    a, l, s, h = "a:%d" % k, "l:%d" % k, "s:%d" % k, "h:%d" % k
    cmds, want = [], []

    def add(reply, *args):
        cmds.append(encode(*args))
        want.append(reply)

    add(OK, "SET", a, "v%d" % seq)
    add(len("v%d" % seq) + 1, "APPEND", a, "x")
    add(seq + 1, "RPUSH", l, str(seq))
    add(1, "SADD", s, "m%d" % seq)
    add(1, "HSET", h, "f%d" % seq, "1")
    add(None, "INCR", "shared")  # any integer; checked at the end
    add(("v%dx" % seq).encode(), "GET", a)
    add(seq + 1, "SCARD", s)
    add(Status(b"PONG"), "PING")
    add(seq + 2, "RPUSH", l, "t")
    add(1, "LREM", l, "1", "t")
    add(OK, "MULTI")
    add(Status(b"QUEUED"), "INCR", "m:%d" % k)
    add(Status(b"QUEUED"), "RPUSH", l, "u")
    add([seq + 1, seq + 2], "EXEC")
    add(b"u", "RPOP", l)
    add(seq + 1, "HLEN", h)
    return b"".join(cmds), want


@fresh_server("--shards", "1")
@timeout(180)
def test_mixed_batches_beside_a_hot_key_keep_order(srv):
    """While redis-benchmark keeps the one shard's lock busy, 8 connections
    send batches mixing handed writes with reads, PING, MULTI/EXEC and a
    shared counter: each gets exactly its replies, in order."""
    load = bench(srv, "lpush", 3_000_000, wait=False)
    try:
        wait_for(lambda: handoffs(srv) > 0, 30, what="hand-offs under load")
        nconn, batches = 8, 60
        errors = []

        def worker(k):
            try:
                c = srv.conn(timeout=60)
                for seq in range(batches):
                    data, want = mixed_batch(k, seq)
                    c.send(data)
                    got = c.read_replies(len(want), timeout=60)
                    for i, (g, w) in enumerate(zip(got, want)):
                        if w is None:
                            assert isinstance(g, int), (k, seq, i, g)
                        else:
                            assert g == w, (k, seq, i, g, w)
            except Exception as e:  # reported by the main thread
                errors.append(repr(e))

        run_all([threading.Thread(target=worker, args=(k,)) for k in range(nconn)], errors)
        c = srv.conn()
        assert c.cmd("GET", "shared") == str(nconn * batches).encode()
        for k in range(nconn):
            assert c.cmd("LRANGE", "l:%d" % k, "0", "-1") == [str(i).encode() for i in range(batches)]
            assert c.cmd("GET", "m:%d" % k) == str(batches).encode()
    finally:
        load.kill()
        load.wait()


@fresh_server("--shards", "1")
@timeout(180)
def test_blocked_clients_served_by_handed_pushes(srv):
    """Consumers blocked in BLPOP on the hot shard are served by pushes that
    other threads ran for their producers: every element delivered once."""
    load = bench(srv, "incr", 3_000_000, wait=False)
    try:
        wait_for(lambda: handoffs(srv) > 0, 30, what="hand-offs under load")
        nprod, ncons, per = 6, 6, 400
        total = nprod * per
        got, errors = [], []
        lock = threading.Lock()

        def producer(i):
            try:
                c = srv.conn(timeout=60)
                for j in range(0, per, 8):
                    c.send(b"".join(encode("RPUSH", "q%d" % (j % 3), "%d:%d" % (i, j + x)) for x in range(8)))
                    c.read_replies(8, timeout=60)
            except Exception as e:
                errors.append(repr(e))

        def consumer():
            try:
                c = srv.conn(timeout=60)
                while True:
                    with lock:
                        if len(got) >= total:
                            return
                    r = c.cmd("BLPOP", "q0", "q1", "q2", "0.2", timeout=30)
                    if r:
                        with lock:
                            got.append(r[1])
            except Exception as e:
                errors.append(repr(e))

        run_all([threading.Thread(target=producer, args=(i,)) for i in range(nprod)] +
                [threading.Thread(target=consumer) for _ in range(ncons)], errors)
        assert sorted(got) == sorted(("%d:%d" % (i, j)).encode() for i in range(nprod) for j in range(per))
    finally:
        load.kill()
        load.wait()


@fresh_server("--shards", "1")
@timeout(180)
def test_replies_bigger_than_the_socket_takes(srv):
    """A client pipelines SET ... GET on a 256 KB value without reading
    while the shard is busy: the thread that ran its batch sends what the
    socket takes and its own thread the rest; every reply arrives whole."""
    load = bench(srv, "incr", 3_000_000, wait=False)
    try:
        wait_for(lambda: handoffs(srv) > 0, 30, what="hand-offs under load")
        big = [bytes([65 + i % 26]) * (256 * 1024) for i in range(41)]
        c = srv.conn(timeout=60)
        assert c.cmd("SET", "big", big[0]) == OK
        data = b"".join(encode("SET", "big", big[i], "GET") for i in range(1, 41))
        for rnd in range(5):
            # sent from a thread: 10 MB each way would fill both directions
            sender = threading.Thread(target=c.send, args=(data,))
            sender.start()
            time.sleep(0.3)  # the reply socket fills before we read
            got = c.read_replies(40, timeout=60)
            sender.join(60)
            assert got == big[0:40], rnd
            assert c.cmd("SET", "big", big[0], "GET") == big[40]
    finally:
        load.kill()
        load.wait()


@fresh_server("--shards", "1")
@timeout(180)
def test_one_reply_bigger_than_the_socket_takes(srv):
    """A handed SET ... GET whose reply (16 MB, more than the socket takes
    while the client is not reading) ends the run on the other thread: the
    connection's own thread takes its batch back and sends the reply.
    Repeated while sorted-set inserts keep the shard's lock busy, so that
    most of the 20 are handed over."""
    # sorted-set inserts hold the shard's lock most of the time
    load = bench(srv, "zadd", 3_000_000, key_space=100_000, wait=False)
    try:
        wait_for(lambda: handoffs(srv) > 0, 30, what="hand-offs under load")
        vals = [bytes([97 + i % 26]) * (16 << 20) for i in range(21)]
        c = srv.conn(timeout=60)
        assert c.cmd("SET", "big", vals[0], timeout=60) == OK
        for i in range(1, 21):
            c.send(encode("SET", "big", vals[i], "GET"))
            time.sleep(0.2)  # not reading: the socket fills
            assert c.read_reply(timeout=60) == vals[i - 1], i
    finally:
        load.kill()
        load.wait()


@fresh_server("--shards", "1")
@timeout(180)
def test_replies_while_the_client_stops_reading(srv):
    """A client sends 120 SET ... GET of 48 KB values, one every 5 ms, and
    reads nothing for a second: the socket's send queue fills, so a handed
    batch's reply goes out in part from the thread that ran it and the rest
    from the connection's own thread (woken for it). Every reply arrives
    whole and in order."""
    load = bench(srv, "zadd", 3_000_000, key_space=100_000, wait=False)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    try:
        wait_for(lambda: handoffs(srv) > 0, 30, what="hand-offs under load")
        n = 120
        vals = [bytes([65 + i % 26]) * (48 * 1024) for i in range(n + 1)]
        s.sendall(encode("SET", "w", vals[0]))
        errors = []

        def sender():
            try:
                for i in range(1, n + 1):
                    s.sendall(encode("SET", "w", vals[i], "GET"))
                    time.sleep(0.005)
            except Exception as e:
                errors.append(repr(e))

        t = threading.Thread(target=sender)
        t.start()
        time.sleep(1.0)  # not reading
        want = b"+OK\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(v), v) for v in vals[:n])
        got = b""
        while len(got) < len(want):
            d = s.recv(1 << 20)
            assert d, "closed after %d bytes" % len(got)
            got += d
        t.join(30)
        assert errors == []
        assert got == want
    finally:
        s.close()
        load.kill()
        load.wait()


@fresh_server("--shards", "1")
@timeout(180)
def test_clients_killed_while_handed_over(srv):
    """CLIENT KILL on the pipelining connections of a hot key, five times
    over: the server keeps serving and its counter stays consistent."""
    c = srv.conn()
    for _ in range(5):
        load = bench(srv, "incr", 3_000_000, wait=False)
        try:
            wait_for(lambda: handoffs(srv) > 0, 30, what="hand-offs under load")
            time.sleep(0.2)
            killed = c.cmd("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            assert isinstance(killed, int) and killed > 0
        finally:
            load.kill()
            load.wait()
        # ours and INFO's own
        wait_for(lambda: int(srv.info("clients")["connected_clients"]) <= 2, 30, what="killed clients gone")
    n = int(c.cmd("GET", "counter:__rand_int__"))
    assert c.cmd("INCR", "counter:__rand_int__") == n + 1
    assert c.cmd("PING") == Status(b"PONG")
