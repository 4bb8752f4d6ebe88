"""Load and abuse: many concurrent connections, maxclients, garbage, churn,
atomicity of multi-key commands under concurrency.  Every loop is bounded in
count and time; all traffic goes to 127.0.0.1."""

import os
import random
import selectors
import socket
import threading
import time

from harness import (OK, PONG, RawConn, encode, fresh_server, parse_info, raise_nofile,
                     timeout, wait_for)


@fresh_server()
@timeout(90)
def test_1000_concurrent_pipelining_clients(srv):
    n_conns, n_cmds = 1000, 100
    raise_nofile(n_conns + 200)
    socks = []
    try:
        for i in range(n_conns):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            socks.append(s)
        # every connection is really open at the same time
        c = srv.conn()
        wait_for(lambda: int(parse_info(c.cmd("INFO", "clients"))["connected_clients"])
                 >= n_conns + 1, 15, interval=0.1, what="%d connected_clients" % n_conns)

        reqs, want = [], []
        for i in range(n_conns):
            sets = b"".join(encode("SET", "c%d:%d" % (i, j), "v%d:%d" % (i, j))
                            for j in range(n_cmds))
            gets = b"".join(encode("GET", "c%d:%d" % (i, j)) for j in range(n_cmds))
            reqs.append(sets + gets + encode("PING"))
            vals = [b"v%d:%d" % (i, j) for j in range(n_cmds)]
            want.append(b"+OK\r\n" * n_cmds +
                        b"".join(b"$%d\r\n%s\r\n" % (len(v), v) for v in vals) + b"+PONG\r\n")

        sel = selectors.DefaultSelector()
        out = [memoryview(r) for r in reqs]
        got = [bytearray() for _ in range(n_conns)]
        for i, s in enumerate(socks):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
        pending = set(range(n_conns))
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for key, ev in sel.select(timeout=1.0):
                i = key.data
                s = key.fileobj
                if ev & selectors.EVENT_WRITE and len(out[i]):
                    try:
                        n = s.send(out[i])
                        out[i] = out[i][n:]
                    except BlockingIOError:
                        pass
                    if not len(out[i]):
                        sel.modify(s, selectors.EVENT_READ, i)
                if ev & selectors.EVENT_READ:
                    try:
                        d = s.recv(65536)
                    except BlockingIOError:
                        continue
                    if not d:
                        raise AssertionError("server closed connection %d after %d bytes"
                                             % (i, len(got[i])))
                    got[i] += d
                    if len(got[i]) >= len(want[i]):
                        sel.unregister(s)
                        pending.discard(i)
        sel.close()
        assert not pending, "%d connections unanswered after 60 s" % len(pending)
        for i in range(n_conns):
            assert bytes(got[i]) == want[i], "connection %d got wrong replies" % i
        assert c.cmd("DBSIZE") == n_conns * n_cmds
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: int(parse_info(c.cmd("INFO", "clients"))["connected_clients"]) < 10, 20,
             what="1000 clients to be gone from connected_clients")


@fresh_server("--maxclients", "20")
def test_maxclients(srv):
    conns = []
    for i in range(20):
        c = srv.conn()
        assert c.cmd("PING") == PONG, i
        conns.append(c)
    # the 21st is told and closed
    assert srv.raw(b"PING\r\n", expect_close=True) == b"-ERR max number of clients reached\r\n"
    assert srv.raw(b"", expect_close=True) == b"-ERR max number of clients reached\r\n"
    # the others still work
    for c in conns:
        assert c.cmd("PING") == PONG
    stats = parse_info(conns[0].cmd("INFO", "stats"))
    assert int(stats["rejected_connections"]) >= 2
    # once one leaves, a newcomer gets in
    conns.pop().close()

    def newcomer_ok():
        try:
            d = srv.raw(b"PING\r\n", replies=1, timeout=2)
        except OSError:
            return False
        return d == b"+PONG\r\n"
    wait_for(newcomer_ok, 10, interval=0.1, what="a freed slot")


@fresh_server()
@timeout(90)
def test_garbage_senders(srv):
    """1 GB of random bytes (at most) while a second client keeps getting PONG."""
    rss0 = srv.rss_kb()
    stop = threading.Event()
    ping_errors, latencies = [], []

    def pinger():
        try:
            p = RawConn(srv.port, timeout=10)
            deadline = time.monotonic() + 70
            while not stop.is_set() and time.monotonic() < deadline:
                t0 = time.monotonic()
                r = p.cmd("PING")
                latencies.append(time.monotonic() - t0)
                if r != PONG:
                    ping_errors.append(r)
                    return
                time.sleep(0.01)
            p.close()
        except Exception as e:
            ping_errors.append(e)

    pt = threading.Thread(target=pinger, daemon=True)
    pt.start()
    # Fixed seeds: a failure reproduces.  (Several of these streams have a NUL
    # before their first newline, which Redis answers only at 64 KB.)
    payloads = [random.Random(seed).randbytes(1 << 20) for seed in range(8)]
    results = []
    max_rss = [0]

    def garbage(idx, budget):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        sent, closed = 0, False
        deadline = time.monotonic() + 30
        try:
            while sent < budget and time.monotonic() < deadline:
                try:
                    s.sendall(payloads[idx])
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                except socket.timeout:
                    break
                sent += len(payloads[idx])
                if sent % (32 << 20) == 0:
                    max_rss[0] = max(max_rss[0], srv.rss_kb())
            if not closed:
                # did the server close it meanwhile?
                s.settimeout(5)
                try:
                    while s.recv(65536):
                        pass
                    closed = True
                except (ConnectionResetError, BrokenPipeError):
                    closed = True
                except socket.timeout:
                    pass
        finally:
            s.close()
        results.append((idx, sent, closed))

    threads = [threading.Thread(target=garbage, args=(i, (1 << 30) // 8), daemon=True)
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    time.sleep(0.2)
    stop.set()
    pt.join(15)
    max_rss[0] = max(max_rss[0], srv.rss_kb())
    assert not ping_errors, ping_errors
    assert latencies, "pinger never ran"
    assert max(latencies) < 2.0, "a PING took %.2f s" % max(latencies)
    assert len(results) == 8
    print("garbage: MB sent before close %s; max RSS growth %d KB; max PING %.3f s"
          % (sorted(r[1] >> 20 for r in results), max_rss[0] - rss0, max(latencies)))
    for idx, sent, closed in results:
        assert closed, "garbage connection %d not closed after %d MB" % (idx, sent >> 20)
    grown = max_rss[0] - rss0
    assert grown < 200 * 1024, "RSS grew by %d MB under garbage" % (grown >> 10)
    c = srv.conn()
    assert c.cmd("SET", "after", "garbage") == OK
    assert c.cmd("GET", "after") == b"garbage"


@fresh_server()
@timeout(90)
def test_stream_of_big_random_values(srv):
    """512 MB of well-formed SETs with 1 MB random values over two connections:
    memory stays near what is stored, and a PING gets through meanwhile."""
    rss0 = srv.rss_kb()
    blob = os.urandom(1 << 20)
    errors = []
    done = []

    def sender(tid):
        try:
            c = RawConn(srv.port, timeout=30)
            deadline = time.monotonic() + 40
            sent = 0
            for i in range(256):
                if time.monotonic() > deadline:
                    break
                v = blob[i:] + blob[:i]
                c.send(encode("SET", "blob:%d" % tid, v))
                sent += 1
            replies = c.read_replies(sent, timeout=30)
            assert replies == [OK] * sent, replies[:3]
            assert c.cmd("STRLEN", "blob:%d" % tid) == 1 << 20
            done.append(sent)
            c.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(t,), daemon=True) for t in range(2)]
    for t in threads:
        t.start()
    p = srv.conn()
    worst = 0.0
    peak = 0
    while any(t.is_alive() for t in threads):
        t0 = time.monotonic()
        assert p.cmd("PING") == PONG
        worst = max(worst, time.monotonic() - t0)
        peak = max(peak, srv.rss_kb())
        time.sleep(0.02)
    for t in threads:
        t.join(1)
    assert not errors, errors
    assert len(done) == 2
    assert worst < 2.0, "PING took %.2f s during the stream" % worst
    grown = peak - rss0
    print("big values: RSS growth %d MB, worst PING %.3f s" % (grown >> 10, worst))
    assert grown < 100 * 1024, "RSS grew by %d MB storing 2 MB of values" % (grown >> 10)


@fresh_server()
@timeout(60)
def test_connection_churn(srv):
    """2,000 short-lived connections leave nothing behind."""
    c = srv.conn()
    c.cmd("PING")
    base = int(parse_info(c.cmd("INFO", "clients"))["connected_clients"])
    errors = []

    def churn(tid, n):
        try:
            for i in range(n):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                s.sendall(encode("SET", "churn:%d" % tid, i) + encode("PING"))
                buf = b""
                while not buf.endswith(b"+PONG\r\n"):
                    d = s.recv(100)
                    if not d:
                        raise AssertionError("closed early: %r" % buf)
                    buf += d
                assert buf == b"+OK\r\n+PONG\r\n", buf
                s.close()
        except Exception as e:
            errors.append(e)

    rss0 = srv.rss_kb()
    threads = [threading.Thread(target=churn, args=(t, 500), daemon=True) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(45)
    assert not errors, errors[:3]
    wait_for(lambda: int(parse_info(c.cmd("INFO", "clients"))["connected_clients"]) == base,
             10, what="connected_clients back to %d" % base)
    assert c.cmd("MGET", *["churn:%d" % t for t in range(4)]) == [b"499"] * 4
    stats = parse_info(c.cmd("INFO", "stats"))
    assert int(stats["total_connections_received"]) >= 2000
    grown = srv.rss_kb() - rss0
    print("churn: RSS growth %d KB" % grown)
    assert grown < 64 * 1024, "RSS grew by %d KB after 2,000 closed connections" % grown


@timeout(60)
def test_concurrent_incr_is_atomic(srv):
    n_threads, n_incr = 8, 2000
    errors = []

    def worker():
        try:
            c = RawConn(srv.port)
            for _ in range(n_incr // 100):
                replies = c.pipeline([("INCR", "counter")] * 50 + [("INCRBY", "counter", "1")] * 50)
                assert all(isinstance(r, int) for r in replies), replies
            c.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(45)
    assert not errors, errors[:3]
    c = srv.conn()
    assert c.cmd("GET", "counter") == str(n_threads * n_incr).encode()


@timeout(60)
def test_multikey_commands_are_atomic(srv):
    """A reader never sees half of an MSET; DEL of many keys is all or nothing."""
    keys = ["atom:%d" % i for i in range(16)]
    c = srv.conn()
    c.cmd("MSET", *[x for k in keys for x in (k, "0")])
    stop = threading.Event()
    errors = []
    writes = [0]

    def writer(tid):
        try:
            w = RawConn(srv.port)
            i = 0
            while not stop.is_set() and i < 100000:
                i += 1
                v = "%d-%d" % (tid, i)
                w.cmd("MSET", *[x for k in keys for x in (k, v)])
                writes[0] += 1
            w.close()
        except Exception as e:
            errors.append(e)

    def reader():
        try:
            r = RawConn(srv.port)
            n = 0
            while not stop.is_set() and n < 100000:
                n += 1
                vals = r.cmd("MGET", *keys)
                if len(set(vals)) != 1:
                    errors.append(AssertionError("torn MSET seen by MGET: %r" % vals))
                    return
            r.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(2)]
    threads += [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(20)
    assert not errors, errors[:3]
    assert writes[0] > 50
