"""Lock coalescing inside a pipelined batch: a connection thread may keep a
shard's lock from one command to the next of the same batch when both need
that shard. With --shards 1 every key shares the one shard, so each test
here runs the cases where a lock kept too long would hang or corrupt: a
blocking command after a write, a whole-database write that waits for a
snapshot, a read that finds an expired key, MONITOR, and many connections
pipelining on one key."""

import threading
import time

from harness import OK, Status, encode, fresh_server, kvd_only, timeout, wait_for


def blocked(srv):
    return int(srv.info("clients")["blocked_clients"])


@kvd_only
@fresh_server("--shards", "1")
@timeout(30)
def test_block_after_write_in_one_batch(srv):
    """The write's lock is not kept while the BLPOP of the same batch
    waits: another connection can still push to the (same-shard) key."""
    a, b = srv.conn(), srv.conn()
    a.send(encode("SET", "x", "1") + encode("BLPOP", "q", "0"))
    wait_for(lambda: blocked(srv) == 1, what="BLPOP blocked")
    assert b.cmd("LPUSH", "q", "v", timeout=5) == 1
    assert a.read_replies(2, timeout=5) == [OK, [b"q", b"v"]]
    assert b.cmd("GET", "x") == b"1"


@kvd_only
@fresh_server("--shards", "1", "--appendonly", "yes", "--save", "")
@timeout(120)
def test_flushall_during_bgsave_after_write_in_one_batch(srv):
    """FLUSHALL under the AOF waits for a running snapshot, which needs the
    shard the SET before it locked: the SET's lock must be gone by then."""
    c = srv.conn()
    n, step = 400_000, 10_000
    for base in range(0, n, step):
        c.send(b"".join(encode("SET", "key:%d" % i, "value:%d" % i) for i in range(base, base + step)))
        assert c.read_replies(step, timeout=30) == [OK] * step
    assert c.cmd("BGSAVE") == Status(b"Background saving started")
    d = srv.conn()
    d.send(encode("SET", "x", "1") + encode("FLUSHALL") + encode("SET", "y", "2"))
    assert d.read_replies(3, timeout=60) == [OK, OK, OK]
    assert c.cmd("DBSIZE") == 1
    wait_for(lambda: srv.info("persistence")["rdb_bgsave_in_progress"] == "0", 60,
             what="BGSAVE done")


@kvd_only
@fresh_server("--shards", "1")
@timeout(30)
def test_expired_key_read_between_writes(srv):
    """A read that finds an expired key deletes it after the command (a
    write lock on the shard): with the batch's lock kept from the SET
    before, that must not deadlock, and the key must go."""
    c = srv.conn()
    assert c.cmd("SET", "a", "1", "PX", "1") == OK
    time.sleep(0.05)
    c.send(encode("SET", "b", "1") + encode("GET", "a") + encode("SET", "c", "1") +
           encode("DBSIZE"))
    assert c.read_replies(4, timeout=5) == [OK, None, OK, 2]


@kvd_only
@fresh_server("--shards", "1")
@timeout(30)
def test_monitor_sees_a_coalesced_batch(srv):
    m, c = srv.conn(), srv.conn()
    assert m.cmd("MONITOR") == OK
    c.send(b"".join(encode("RPUSH", "l", str(i)) for i in range(20)))
    assert c.read_replies(20, timeout=5) == list(range(1, 21))
    seen = [m.read_reply(timeout=5) for _ in range(20)]
    assert [s.split(b'"')[-2] for s in seen] == [str(i).encode() for i in range(20)]


@fresh_server("--shards", "1")
@timeout(90)
def test_many_connections_pipelining_one_key(srv):
    """20 connections each send 100 batches of 16 commands on one counter
    and one list: every INCR counted once, every element pushed once and
    each connection's elements in its own order."""
    nconn, batches, per = 20, 100, 16
    errors = []

    def worker(k):
        try:
            c = srv.conn()
            seq = 0
            for _ in range(batches):
                out = []
                for j in range(per):
                    if j % 2:
                        out.append(encode("INCR", "n"))
                    else:
                        out.append(encode("RPUSH", "l", "%d:%d" % (k, seq)))
                        seq += 1
                c.send(b"".join(out))
                r = c.read_replies(per, timeout=30)
                assert all(isinstance(v, int) for v in r), r
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(nconn)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    assert errors == []
    c = srv.conn()
    assert c.cmd("GET", "n") == str(nconn * batches * per // 2).encode()
    items = c.cmd("LRANGE", "l", "0", "-1")
    assert len(items) == nconn * batches * per // 2
    last = {}
    for it in items:
        k, s = map(int, it.split(b":"))
        assert s == last.get(k, -1) + 1
        last[k] = s
