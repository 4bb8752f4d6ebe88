"""The AOF with many connections: a connection whose reply waits for a
write (appendfsync everysec) or an fsync (always) already running leaves
the reply to the group commit (which sends it once its records are
covered) and reads on. Replies must still come
in order on every connection, with nothing lost or doubled, including for
clients that send before reading and clients that hang up with a reply
pending (whose socket number a new connection may reuse)."""

import random
import socket
import threading
import time

import harness
from persistlib import Proc

KVD_ONLY = True

CLIENTS = 24


def client_loop(port, wid, deadline, counts, errors, max_steps=400):
    """Mixes single commands, pipelines and sends that overtake unread
    replies; checks every reply against this client's own counter."""
    rnd = random.Random(wid)
    try:
        c = harness.RawConn(port, timeout=20)
        key, log = "ctr:%d" % wid, "log:%d" % wid
        n = 0
        for _ in range(max_steps):
            if time.monotonic() > deadline:
                break
            kind = rnd.randrange(3)
            if kind == 0:
                r = c.cmd("INCR", key)
                want = [n + 1]
                got = [r]
                n += 1
            elif kind == 1:
                got = c.pipeline([("INCR", key), ("GET", key), ("INCR", key), ("APPEND", log, "%d," % n)])
                want = [n + 1, str(n + 1).encode(), n + 2, None]
                got[3] = None  # APPEND's length is checked at the end
                n += 2
            else:
                # the second batch goes out before the first reply is read
                c.send(harness.encode("INCR", key))
                time.sleep(rnd.random() / 2000)
                c.send(harness.encode("GET", key) + harness.encode("INCR", key))
                got = c.read_replies(3)
                want = [n + 1, str(n + 1).encode(), n + 2]
                n += 2
            if got != want:
                errors.append("client %d: got %r, want %r" % (wid, got, want))
                return
            counts[wid] = n
        c.close()
    except Exception as e:  # noqa: BLE001
        errors.append("client %d: %r" % (wid, e))


def replies_in_order_and_durable(fsync):
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", fsync).start()
    try:
        counts, errors = {}, []
        deadline = time.monotonic() + 3.0
        ts = [threading.Thread(target=client_loop, args=(p.port, w, deadline, counts, errors), daemon=True)
              for w in range(CLIENTS)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors[:5]
        assert all(not t.is_alive() for t in ts)
        assert sum(counts.values()) > CLIENTS * 10, counts
        c = p.conn()
        for w in range(CLIENTS):
            assert int(c.cmd("GET", "ctr:%d" % w) or 0) == counts.get(w, 0), w
        c.close()
        # every acknowledged write is in the log: kill -9 and replay it
        p.kill9()
        p.start()
        c = p.conn()
        for w in range(CLIENTS):
            assert int(c.cmd("GET", "ctr:%d" % w) or 0) == counts.get(w, 0), w
        c.close()
    finally:
        p.cleanup()


@harness.timeout(90)
def test_always_many_clients_replies_in_order_and_durable(srv):
    replies_in_order_and_durable("always")


@harness.timeout(90)
def test_everysec_many_clients_replies_in_order_and_durable(srv):
    replies_in_order_and_durable("everysec")


class BusyWriters:
    """n connections INCRementing a counter (bounded) until the block ends,
    so the AOF writer is mostly at work; errors collects what went wrong."""

    def __init__(self, port, n):
        self.port, self.stop, self.errors = port, threading.Event(), []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(n)]

    def run(self):
        try:
            c = harness.RawConn(self.port, timeout=20)
            i = 0
            while not self.stop.is_set() and i < 200000:
                r = c.cmd("INCR", "busy")
                if not isinstance(r, int):
                    self.errors.append("busy writer: %r" % (r,))
                    return
                i += 1
            c.close()
        except Exception as e:  # noqa: BLE001
            self.errors.append("busy writer: %r" % (e,))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        assert not self.errors, self.errors[:5]


def hang_up_with_reply_pending(fsync):
    """Clients that write and close at once while the AOF is being written:
    every write is applied, and no reply meant for them reaches a new
    connection that got the same socket number."""
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", fsync).start()
    try:
        N = 300
        with BusyWriters(p.port, 6):
            time.sleep(0.2)
            for i in range(N):
                s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
                s.sendall(harness.encode("SET", "gone:%d" % i, "v%d" % i))
                s.close()
                if i % 10 == 0:
                    # a new connection (maybe on a reused socket number) gets only its own reply
                    c = p.conn()
                    assert c.cmd("PING") == harness.PONG
                    assert c.cmd("ECHO", "mine:%d" % i) == b"mine:%d" % i
                    c.close()
        c = p.conn()
        deadline = time.monotonic() + 10
        while c.cmd("GET", "gone:%d" % (N - 1)) is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the last connection's SET may still be in flight
        for i in range(N):
            assert c.cmd("GET", "gone:%d" % i) == b"v%d" % i, i
        assert c.cmd("PING") == harness.PONG
        c.close()
    finally:
        p.cleanup()


@harness.timeout(90)
def test_always_hang_up_with_reply_pending(srv):
    hang_up_with_reply_pending("always")


@harness.timeout(90)
def test_everysec_hang_up_with_reply_pending(srv):
    hang_up_with_reply_pending("everysec")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@harness.timeout(60)
def test_idle_server_uses_no_cpu(srv):
    """The AOF thread (which also writes for deferred replies) sleeps when
    there is nothing to do, with the AOF off as with it on."""
    for args in (("--appendonly", "no"), ("--appendonly", "yes", "--appendfsync", "always"),
                 ("--appendonly", "yes", "--appendfsync", "everysec")):
        p = Proc("--save", "", *args).start()
        try:
            c = p.conn()
            assert c.cmd("SET", "k", "v") == harness.OK
            c.close()
            time.sleep(0.3)
            t0 = cpu_ticks(p.proc.pid)
            time.sleep(1.5)
            used = cpu_ticks(p.proc.pid) - t0
            # a thread spinning would show ~150 ticks (1.5 s of a CPU)
            assert used < 20, "%s: %d ticks of CPU in 1.5 s idle" % (args, used)
        finally:
            p.cleanup()


def slow_reader(fsync):
    """A client that sends large reads then a write whose reply is large
    too, and reads slowly: the write's reply must not be stranded behind a
    socket still full of the earlier ones (a deferred reply whose send came
    back short would wait for a request that never comes)."""
    p = Proc("--save", "", "--appendonly", "yes", "--appendfsync", fsync).start()
    try:
        c = p.conn()
        big, mid = b"b" * (2 << 20), b"m" * 60000
        assert c.cmd("SET", "big", big) == harness.OK
        assert c.cmd("SET", "mid", mid) == harness.OK
        c.close()
        with BusyWriters(p.port, 4):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
            for k in range(12):
                s.sendall(harness.encode("GET", "big") * 4 + harness.encode("SET", "mid", mid, "GET"))
                want = (len(big) + len(b"$%d\r\n\r\n" % len(big))) * 4 + len(mid) + len(b"$60000\r\n\r\n")
                got = 0
                deadline = time.monotonic() + 20
                while got < want:
                    assert time.monotonic() < deadline, "burst %d: %d of %d bytes" % (k, got, want)
                    chunk = s.recv(min(65536, want - got))
                    assert chunk, "connection closed"
                    got += len(chunk)
                    time.sleep(0.002)  # slower than the server: its socket stays full
            s.close()
    finally:
        p.cleanup()


@harness.timeout(120)
def test_always_slow_reader_gets_every_reply(srv):
    slow_reader("always")


@harness.timeout(120)
def test_everysec_slow_reader_gets_every_reply(srv):
    slow_reader("everysec")
