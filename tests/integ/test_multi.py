"""Transactions: MULTI/EXEC/DISCARD/WATCH/UNWATCH, atomicity across shards,
per-key WATCH (a write to another key of the same shard does not abort)."""

import threading
import time

import redis

from harness import Err, OK, Status, fresh_server, kvd_only, timeout, wait_for

QUEUED = Status(b"QUEUED")
EXECABORT = Err(b"EXECABORT Transaction discarded because of previous errors.")


def test_multi_exec_basic(srv):
    c = srv.conn()
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "a", "1") == QUEUED
    assert c.cmd("INCR", "a") == QUEUED
    assert c.cmd("GET", "a") == QUEUED
    assert c.cmd("EXEC") == [OK, 2, b"2"]
    # an empty transaction
    assert c.cmd("MULTI") == OK
    assert c.cmd("EXEC") == []
    # wire format
    assert srv.raw(b"MULTI\r\nSET k v\r\nEXEC\r\n", replies=3) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"


def test_multi_errors(srv):
    c = srv.conn()
    assert c.cmd("EXEC") == Err(b"ERR EXEC without MULTI")
    assert c.cmd("DISCARD") == Err(b"ERR DISCARD without MULTI")
    assert c.cmd("MULTI") == OK
    assert c.cmd("MULTI") == Err(b"ERR MULTI calls can not be nested")
    assert c.cmd("WATCH", "x") == Err(b"ERR WATCH inside MULTI is not allowed")
    assert c.cmd("SET", "a", "1") == QUEUED
    # neither error aborts the transaction
    assert c.cmd("EXEC") == [OK]


def test_execabort_on_queue_errors(srv):
    c = srv.conn()
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "a") == Err(b"ERR wrong number of arguments for 'set' command")
    assert c.cmd("SET", "b", "1") == QUEUED
    assert c.cmd("EXEC") == EXECABORT
    assert c.cmd("EXISTS", "b") == 0
    assert c.cmd("MULTI") == OK
    r = c.cmd("NOSUCHCOMMAND", "x")
    assert isinstance(r, Err) and r.startswith(b"ERR unknown command 'NOSUCHCOMMAND'")
    assert c.cmd("SET", "b", "1") == QUEUED
    assert c.cmd("EXEC") == EXECABORT
    assert c.cmd("EXISTS", "b") == 0
    # the connection is usable and out of MULTI afterwards
    assert c.cmd("EXEC") == Err(b"ERR EXEC without MULTI")
    # commands not allowed inside a transaction
    assert c.cmd("MULTI") == OK
    r = c.cmd("SAVE")  # (or unknown, where SAVE is not built in: aborts too)
    assert r == Err(b"ERR Command not allowed inside a transaction") or r.startswith(b"ERR unknown command")
    assert c.cmd("EXEC") == EXECABORT


def test_runtime_errors_in_place(srv):
    c = srv.conn()
    assert c.cmd("SET", "s", "notanumber") == OK
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "a", "1") == QUEUED
    assert c.cmd("INCR", "s") == QUEUED
    assert c.cmd("INCR", "a") == QUEUED
    assert c.cmd("EXEC") == [OK, Err(b"ERR value is not an integer or out of range"), 2]


def test_discard(srv):
    c = srv.conn()
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "a", "1") == QUEUED
    assert c.cmd("DISCARD") == OK
    assert c.cmd("EXISTS", "a") == 0
    assert c.cmd("EXEC") == Err(b"ERR EXEC without MULTI")


def test_select_inside_multi(srv):
    c = srv.conn()
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "k", "db0") == QUEUED
    assert c.cmd("SELECT", "3") == QUEUED
    assert c.cmd("SET", "k", "db3") == QUEUED
    assert c.cmd("GET", "k") == QUEUED
    assert c.cmd("EXEC") == [OK, OK, OK, b"db3"]
    # the SELECT sticks after EXEC
    assert c.cmd("GET", "k") == b"db3"
    assert c.cmd("SELECT", "0") == OK
    assert c.cmd("GET", "k") == b"db0"
    c.cmd("SELECT", "3")
    c.cmd("FLUSHDB")


def test_whole_db_commands_inside_multi(srv):
    """KEYS, DBSIZE, FLUSHDB, SWAPDB, COPY, MOVE lock for themselves outside
    a transaction: inside one they must neither deadlock nor break it."""
    c = srv.conn()
    for i in range(20):
        c.cmd("SET", "key:%d" % i, i)
    assert c.cmd("MULTI") == OK
    for cmd in (("SET", "x", "1"), ("DBSIZE",), ("KEYS", "x"), ("COPY", "x", "y"),
                ("MOVE", "y", "5"), ("INFO", "keyspace"), ("SCAN", "0", "COUNT", "1000"),
                ("RANDOMKEY",), ("FLUSHDB",), ("DBSIZE",), ("SET", "z", "1"),
                ("SWAPDB", "0", "5"), ("DBSIZE",)):
        assert c.cmd(*cmd) == QUEUED
    r = c.cmd("EXEC")
    assert r[0] == OK and r[1] == 21 and r[2] == [b"x"] and r[3] == 1 and r[4] == 1
    assert r[8] == OK and r[9] == 0 and r[10] == OK and r[11] == OK and r[12] == 1
    assert c.cmd("GET", "y") == b"1"  # db 5's y came over with the swap
    assert c.cmd("SELECT", "5") == OK
    assert c.cmd("GET", "z") == b"1"
    c.cmd("FLUSHALL")
    # FLUSHALL inside a transaction
    c.cmd("SELECT", "0")
    c.cmd("SET", "a", "1")
    assert c.cmd("MULTI") == OK
    assert c.cmd("FLUSHALL") == QUEUED
    assert c.cmd("SET", "b", "2") == QUEUED
    assert c.cmd("EXEC") == [OK, OK]
    assert c.cmd("KEYS", "*") == [b"b"]


def test_watch_abort_on_change(srv):
    c, other = srv.conn(), srv.conn()
    c.cmd("SET", "x", "1")
    assert c.cmd("WATCH", "x") == OK
    assert other.cmd("SET", "x", "2") == OK
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "y", "1") == QUEUED
    assert c.cmd("EXEC") is None
    assert c.cmd("EXISTS", "y") == 0
    # wire format of the aborted EXEC
    assert srv.raw(b"WATCH q\r\nSET q 1\r\nMULTI\r\nPING\r\nEXEC\r\n", replies=5).endswith(b"*-1\r\n")


def test_watch_no_change(srv):
    c, other = srv.conn(), srv.conn()
    assert c.cmd("WATCH", "x", "y") == OK
    other.cmd("SET", "unrelated", "1")
    other.cmd("GET", "x")
    assert c.cmd("MULTI") == OK
    assert c.cmd("SET", "x", "1") == QUEUED
    assert c.cmd("EXEC") == [OK]
    # EXEC unwatches: a later change does not abort the next transaction
    other.cmd("SET", "x", "2")
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") == [Status(b"PONG")]


def test_watch_own_change_aborts(srv):
    c = srv.conn()
    assert c.cmd("WATCH", "x") == OK
    assert c.cmd("SET", "x", "1") == OK
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") is None


def test_watch_delete_and_expire_commands(srv):
    c, other = srv.conn(), srv.conn()
    for cmd in (("DEL", "x"), ("EXPIRE", "x", "100"), ("RENAME", "x", "x2"), ("APPEND", "x", "z"),
                ("RENAME", "other", "x"), ("PERSIST", "x")):
        c.cmd("FLUSHALL")
        c.cmd("SET", "x", "1", "EX", "1000")
        c.cmd("SET", "other", "1")
        assert c.cmd("WATCH", "x") == OK
        assert other.cmd(*cmd) in (1, OK, 2), cmd
        assert c.cmd("MULTI") == OK
        assert c.cmd("PING") == QUEUED
        assert c.cmd("EXEC") is None, cmd


def test_unwatch(srv):
    c, other = srv.conn(), srv.conn()
    assert c.cmd("WATCH", "x") == OK
    assert c.cmd("UNWATCH") == OK
    other.cmd("SET", "x", "1")
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") == [Status(b"PONG")]
    # DISCARD unwatches too
    assert c.cmd("WATCH", "x") == OK
    assert c.cmd("MULTI") == OK
    assert c.cmd("DISCARD") == OK
    other.cmd("SET", "x", "2")
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") == [Status(b"PONG")]


def test_watch_flushall_touches_existing_keys_only(srv):
    c = srv.conn()
    c.cmd("SET", "x", "1")
    assert c.cmd("WATCH", "x") == OK
    assert c.cmd("FLUSHALL") == OK
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") is None
    # a watched key that did not exist is not touched by FLUSHALL / FLUSHDB
    for flush in ("FLUSHALL", "FLUSHDB"):
        assert c.cmd("WATCH", "x") == OK
        assert c.cmd(flush) == OK
        assert c.cmd("MULTI") == OK
        assert c.cmd("PING") == QUEUED
        assert c.cmd("EXEC") == [Status(b"PONG")]


def test_watch_swapdb(srv):
    c, other = srv.conn(), srv.conn()
    other.cmd("SELECT", "1")
    other.cmd("SET", "x", "1")
    assert c.cmd("WATCH", "x") == OK   # missing in db 0, exists in db 1
    assert other.cmd("SWAPDB", "0", "1") == OK
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") is None
    other.cmd("FLUSHALL")


def test_watch_expired_key(srv):
    c = srv.conn()
    c.cmd("SET", "x", "1", "PX", "100")
    assert c.cmd("WATCH", "x") == OK
    time.sleep(0.25)
    # expired after WATCH (whether or not it was deleted yet): EXEC fails
    assert c.cmd("MULTI") == OK
    assert c.cmd("PING") == QUEUED
    assert c.cmd("EXEC") is None


def test_watch_already_expired_key(srv):
    c = srv.conn()
    c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        c.cmd("SET", "x", "1", "PX", "10")
        time.sleep(0.05)
        assert c.cmd("WATCH", "x") == OK    # logically expired already
        assert c.cmd("GET", "x") is None
        assert c.cmd("MULTI") == OK
        assert c.cmd("PING") == QUEUED
        assert c.cmd("EXEC") == [Status(b"PONG")]
    finally:
        c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_resp3_aborted_exec_is_null(srv):
    c = srv.conn()
    c.cmd("HELLO", "3")
    c.cmd("WATCH", "x")
    c.cmd("SET", "x", "1")
    c.send(b"MULTI\r\nPING\r\nEXEC\r\n")
    assert c.read_exact(len(b"+OK\r\n+QUEUED\r\n_\r\n")) == b"+OK\r\n+QUEUED\r\n_\r\n"


def test_redis_py_pipeline_transaction(srv):
    r = srv.client()
    p = r.pipeline(transaction=True)
    p.set("a", 1).incrby("a", 10).get("a").mset({"b": 2, "c": 3}).mget("a", "b", "c")
    assert p.execute() == [True, 11, b"11", True, [b"11", b"2", b"3"]]


def test_redis_py_watch_error(srv):
    r, other = srv.client(), srv.client()
    r.set("counter", 1)
    with r.pipeline() as p:
        p.watch("counter")
        v = int(p.get("counter"))
        other.set("counter", 100)
        p.multi()
        p.set("counter", v + 1)
        try:
            p.execute()
            raise AssertionError("expected WatchError")
        except redis.WatchError:
            pass
    assert r.get("counter") == b"100"


@kvd_only
@fresh_server("--shards", "1")
def test_watch_other_key_same_shard_no_abort(srv):
    """With one shard every key shares it: per-key WATCH must still let a
    write to another key through without aborting."""
    r, other = srv.client(), srv.client()
    r.set("counter", 1)
    with r.pipeline() as p:
        p.watch("counter")
        v = int(p.get("counter"))
        other.set("neighbour", "x")
        other.incr("another")
        other.delete("third")
        p.multi()
        p.set("counter", v + 1)
        assert p.execute() == [True]
    assert r.get("counter") == b"2"


def test_watch_other_key_no_abort(srv):
    r, other = srv.client(), srv.client()
    r.set("counter", 1)
    with r.pipeline() as p:
        p.watch("counter")
        v = int(p.get("counter"))
        for i in range(50):
            other.set("neighbour:%d" % i, "x")
        p.multi()
        p.set("counter", v + 1)
        assert p.execute() == [True]


def test_redis_cli_transaction(srv):
    out = srv.cli(input="MULTI\nSET a 1\nINCR a\nEXEC\n")
    assert out.split("\n")[:5] == ["OK", "QUEUED", "QUEUED", "OK", "2"]


@kvd_only
def test_text_protocol_transaction(srv):
    out = srv.nc("MULTI\nSET a 1\nINCR a\nEXEC\n")
    assert out == b'OK\nQUEUED\nQUEUED\n1) OK\n2) (integer) 2\n'


@timeout(120)
def test_concurrent_transfers_keep_total(srv):
    """Threads move amounts between counters in cross-shard transactions
    while readers sum all counters in a transaction: the total never
    changes and no transaction is half-visible. Bounded in time."""
    n_counters, start_amount = 16, 1000
    keys = ["acct:%d" % i for i in range(n_counters)]
    setup = srv.client()
    for k in keys:
        setup.set(k, start_amount)
    total = n_counters * start_amount
    stop = threading.Event()
    errors = []
    counts = {"transfers": 0, "reads": 0, "watch_retries": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + 6

    def mover(seed):
        import random
        rnd = random.Random(seed)
        r = srv.client()
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                a, b = rnd.sample(keys, 2)
                amt = rnd.randint(1, 20)
                p = r.pipeline(transaction=True)
                p.decrby(a, amt).incrby(b, amt)
                p.execute()
                with lock:
                    counts["transfers"] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def checked_mover(seed):
        """WATCH-based: never lets a counter go negative."""
        import random
        rnd = random.Random(seed)
        r = srv.client()
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                a, b = rnd.sample(keys, 2)
                with r.pipeline() as p:
                    try:
                        p.watch(a, b)
                        va = int(p.get(a))
                        amt = min(va, rnd.randint(1, 50))
                        p.multi()
                        p.decrby(a, amt).incrby(b, amt)
                        p.execute()
                    except redis.WatchError:
                        with lock:
                            counts["watch_retries"] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def reader():
        r = srv.client()
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                p = r.pipeline(transaction=True)
                for k in keys:
                    p.get(k)
                vals = p.execute()
                s = sum(int(v) for v in vals)
                if s != total:
                    errors.append("transactional read saw total %d != %d" % (s, total))
                    stop.set()
                # MGET locks all its shards at once too
                s2 = sum(int(v) for v in r.mget(keys))
                if s2 != total:
                    errors.append("MGET saw total %d != %d" % (s2, total))
                    stop.set()
                with lock:
                    counts["reads"] += 1
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(6)]
    threads += [threading.Thread(target=checked_mover, args=(100 + i,)) for i in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    assert not errors, errors[:5]
    assert counts["transfers"] > 50 and counts["reads"] > 10, counts
    assert sum(int(v) for v in setup.mget(keys)) == total


def test_exec_refused_at_the_edge_aborts(srv):
    """EXEC refused before it runs (here NOAUTH) answers EXECABORT with the
    reason, as Redis's rejectCommand, and discards the transaction and its
    WATCH; it answered the bare error."""
    a = srv.conn()
    assert a.cmd("CONFIG", "SET", "requirepass", "s3cret") == OK
    try:
        b = srv.conn()
        assert b.cmd("EXEC") == Err(b"EXECABORT Transaction discarded because of: NOAUTH Authentication required.")
        assert b.cmd("MULTI") == Err(b"NOAUTH Authentication required.")
        assert b.cmd("AUTH", "s3cret") == OK
        assert b.cmd("EXEC") == Err(b"ERR EXEC without MULTI")
    finally:
        assert a.cmd("CONFIG", "SET", "requirepass", "") == OK


@kvd_only
def test_misconf_refuses_a_transactions_writes(srv):
    """While writes are refused (MISCONF: the last snapshot failed), a
    transaction can't write: a write refused while queued aborts it at
    EXEC, and EXEC of writes queued before the failure answers EXECABORT
    with the reason, as Redis does. Both ran the writes before."""
    from persistlib import Proc, wait_info
    p = Proc("--save", "3600 1", "--enable-debug-command", "yes").start()
    try:
        a, b = p.conn(), p.conn()
        assert a.cmd("MULTI") == OK and a.cmd("SET", "k", "1") == QUEUED
        assert b.cmd("PERSIST-FAULT", "WRITE", "1", "1") == OK
        assert b.cmd("BGSAVE") == Status(b"Background saving started")
        wait_info(b, "rdb_last_bgsave_status", "err")
        misconf = b.cmd("SET", "x", "1")
        assert misconf.startswith(b"MISCONF ") and misconf.endswith(b"about the RDB error."), misconf
        r = a.cmd("EXEC")
        assert r == Err(b"EXECABORT Transaction discarded because of: " + bytes(misconf)), r
        assert b.cmd("EXISTS", "k") == 0
        # a write refused while queued: EXEC aborts (reads alone would run)
        assert a.cmd("MULTI") == OK
        assert a.cmd("SET", "k2", "2") == misconf
        assert a.cmd("GET", "k") == QUEUED
        assert a.cmd("EXEC") == EXECABORT
        assert a.cmd("MULTI") == OK and a.cmd("GET", "k") == QUEUED
        assert a.cmd("EXEC") == [None]
        assert b.cmd("EXISTS", "k", "k2") == 0
    finally:
        p.cleanup()
