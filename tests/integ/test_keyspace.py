"""Generic key commands: DEL, EXISTS, KEYS, SCAN, RENAME, COPY, MOVE, DBs."""

import threading
import time

from harness import Err, Status, OK, timeout

SYNTAX = Err(b"ERR syntax error")
NOT_INT = Err(b"ERR value is not an integer or out of range")
DB_RANGE = Err(b"ERR DB index is out of range")
NO_KEY = Err(b"ERR no such key")
SAME = Err(b"ERR source and destination objects are the same")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def test_del_unlink(srv):
    c = srv.conn()
    c.cmd("MSET", "a", "1", "b", "2", "c", "3", "d", "4")
    assert c.cmd("DEL", "a") == 1
    assert c.cmd("DEL", "a") == 0
    assert c.cmd("DEL", "b", "c", "nosuch", "b") == 2
    assert c.cmd("UNLINK", "d", "nosuch") == 1
    assert c.cmd("DBSIZE") == 0
    assert c.cmd("DEL") == arity("del")
    assert c.cmd("UNLINK") == arity("unlink")
    assert srv.raw(b"DEL x\r\n", replies=1) == b":0\r\n"


def test_exists_touch_type(srv):
    c = srv.conn()
    c.cmd("MSET", "a", "1", "b", "2")
    assert c.cmd("EXISTS", "a") == 1
    assert c.cmd("EXISTS", "nosuch") == 0
    assert c.cmd("EXISTS", "a", "a", "b", "nosuch", "a") == 4  # duplicates count
    assert c.cmd("TOUCH", "a", "b", "nosuch", "a") == 3
    assert c.cmd("TYPE", "a") == Status(b"string")
    assert c.cmd("TYPE", "nosuch") == Status(b"none")
    assert srv.raw(b"TYPE a\r\n", replies=1) == b"+string\r\n"
    assert c.cmd("EXISTS") == arity("exists")
    assert c.cmd("TYPE") == arity("type")


def test_keys_patterns(srv):
    c = srv.conn()
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "h*llo",
             "a?b", "aXb", "x[y]z", "foo", "foo:bar", "foo:baz", "Foo"]
    for n in names:
        c.cmd("SET", n, "1")

    def keys(p):
        return sorted(k.decode() for k in c.cmd("KEYS", p))

    assert keys("*") == sorted(names)
    assert keys("h?llo") == sorted(["hello", "hallo", "hxllo", "hbllo", "h*llo"])
    assert keys("h*llo") == sorted(["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "h*llo"])
    assert keys("h[ae]llo") == ["hallo", "hello"]
    assert keys("h[^e]llo") == sorted(["hallo", "hxllo", "hbllo", "h*llo"])
    assert keys("h[a-b]llo") == ["hallo", "hbllo"]
    assert keys("h\\*llo") == ["h*llo"]
    assert keys("a\\?b") == ["a?b"]
    assert keys("x\\[y\\]z") == ["x[y]z"]
    assert keys("foo:*") == ["foo:bar", "foo:baz"]
    assert keys("foo") == ["foo"]
    assert keys("FOO") == []  # case-sensitive
    assert keys("nomatch*") == []
    assert srv.raw(b"KEYS nomatch*\r\n", replies=1) == b"*0\r\n"
    assert c.cmd("KEYS") == arity("keys")


def test_keys_does_not_return_expired(srv):
    c = srv.conn()
    c.cmd("SET", "live", "1")
    c.cmd("SET", "dead", "1", "PX", "1")
    time.sleep(0.05)
    assert c.cmd("KEYS", "*") == [b"live"]
    assert c.cmd("DBSIZE") in (1, 2)  # DBSIZE may still count it until reaped


@timeout(30)
def test_keys_pathological_glob(srv):
    """A key of 5,000 'a's against a*a*...*b must not backtrack exponentially."""
    c = srv.conn()
    c.cmd("SET", "a" * 5000, "1")
    c.cmd("SET", "a" * 5000 + "b", "1")
    t0 = time.monotonic()
    got = c.cmd("KEYS", "a*a*a*a*a*a*a*a*a*a*b", timeout=25)
    assert got == [b"a" * 5000 + b"b"]
    got = c.cmd("KEYS", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c", timeout=25)
    assert got == []
    assert time.monotonic() - t0 < 10
    c.cmd("SET", "x" * 5000, "1")
    assert c.cmd("KEYS", "[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*y", timeout=25) == []
    assert time.monotonic() - t0 < 10
    assert c.cmd("PING") == Status(b"PONG")


def scan_all(c, *extra, limit=100000):
    cursor = b"0"
    seen = []
    for _ in range(limit):
        reply = c.cmd("SCAN", cursor, *extra)
        assert isinstance(reply, list) and len(reply) == 2, reply
        cursor, keys = reply
        assert isinstance(cursor, bytes) and cursor.isdigit(), cursor
        seen.extend(keys)
        if cursor == b"0":
            return seen
    raise AssertionError("SCAN did not finish in %d calls" % limit)


def test_scan_full_iteration(srv):
    c = srv.conn()
    assert c.cmd("SCAN", "0") == [b"0", []]
    names = set(b"key:%d" % i for i in range(1000))
    for batch in range(0, 1000, 100):
        args = []
        for i in range(batch, batch + 100):
            args += ["key:%d" % i, "v"]
        c.cmd("MSET", *args)
    seen = scan_all(c)
    assert set(seen) == names
    seen = scan_all(c, "COUNT", "7")
    assert set(seen) == names
    seen = scan_all(c, "COUNT", "100000")
    assert set(seen) == names


def test_scan_match_type_count(srv):
    c = srv.conn()
    for i in range(200):
        c.cmd("SET", "user:%d" % i, "x")
        c.cmd("SET", "item:%d" % i, "y")
    seen = scan_all(c, "MATCH", "user:*", "COUNT", "10")
    assert set(seen) == set(b"user:%d" % i for i in range(200))
    seen = scan_all(c, "MATCH", "user:1?", "COUNT", "1000")
    assert set(seen) == set(b"user:%d" % i for i in range(10, 20))
    seen = scan_all(c, "TYPE", "string")
    assert len(set(seen)) == 400
    assert scan_all(c, "TYPE", "list") == []
    assert scan_all(c, "TYPE", "nosuchtype") == []
    seen = scan_all(c, "MATCH", "item:*", "TYPE", "string", "COUNT", "50")
    assert set(seen) == set(b"item:%d" % i for i in range(200))
    assert c.cmd("SCAN", "abc") == Err(b"ERR invalid cursor")
    assert c.cmd("SCAN", "0", "COUNT", "0") == SYNTAX
    assert c.cmd("SCAN", "0", "COUNT", "abc") == NOT_INT
    assert c.cmd("SCAN", "0", "FOO") == SYNTAX
    assert c.cmd("SCAN", "0", "MATCH") == SYNTAX
    assert c.cmd("SCAN") == arity("scan")


@timeout(60)
def test_scan_while_keys_are_added(srv):
    """Every key present for the whole scan is returned at least once."""
    c = srv.conn()
    base = set()
    for batch in range(0, 2000, 200):
        args = []
        for i in range(batch, batch + 200):
            args += ["base:%d" % i, "v"]
            base.add(b"base:%d" % i)
        c.cmd("MSET", *args)
    stop = threading.Event()
    errors = []

    def writer():
        try:
            w = srv.conn()
            i = 0
            deadline = time.monotonic() + 30
            while not stop.is_set() and i < 50000 and time.monotonic() < deadline:
                args = []
                for j in range(50):
                    args += ["new:%d" % (i + j), "v"]
                w.cmd("MSET", *args)
                i += 50
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        time.sleep(0.05)
        for _ in range(3):
            seen = scan_all(c, "COUNT", "20")
            missing = base - set(seen)
            assert not missing, "SCAN missed %d keys, e.g. %r" % (len(missing), sorted(missing)[:5])
    finally:
        stop.set()
        t.join(35)
    assert not errors, errors
    assert c.cmd("DBSIZE") >= 2000


def test_randomkey(srv):
    c = srv.conn()
    assert c.cmd("RANDOMKEY") is None
    assert srv.raw(b"RANDOMKEY\r\n", replies=1) == b"$-1\r\n"
    c.cmd("SET", "only", "1")
    assert c.cmd("RANDOMKEY") == b"only"
    names = set(b"k%d" % i for i in range(20))
    for n in names:
        c.cmd("SET", n, "1")
    got = set(c.cmd("RANDOMKEY") for _ in range(200))
    assert got <= names | {b"only"}
    assert len(got) > 3


def test_rename(srv):
    c = srv.conn()
    assert c.cmd("RENAME", "nosuch", "x") == NO_KEY
    assert c.cmd("RENAME", "nosuch", "nosuch") == NO_KEY
    c.cmd("SET", "a", "1", "EX", "100")
    c.cmd("SET", "b", "2")
    assert c.cmd("RENAME", "a", "b") == OK  # overwrites
    assert c.cmd("GET", "b") == b"1"
    assert c.cmd("EXISTS", "a") == 0
    assert c.cmd("TTL", "b") in (98, 99, 100)  # the TTL moves with the value
    c.cmd("SET", "c", "3")
    assert c.cmd("RENAME", "c", "b") == OK
    assert c.cmd("TTL", "b") == -1  # the destination's TTL does not survive
    assert c.cmd("RENAME", "b", "b") == OK
    assert c.cmd("GET", "b") == b"3"
    assert c.cmd("RENAME", "b") == arity("rename")


def test_renamenx(srv):
    c = srv.conn()
    assert c.cmd("RENAMENX", "nosuch", "x") == NO_KEY
    c.cmd("SET", "a", "1")
    c.cmd("SET", "b", "2")
    assert c.cmd("RENAMENX", "a", "b") == 0
    assert c.cmd("GET", "a") == b"1"
    assert c.cmd("RENAMENX", "a", "c") == 1
    assert c.cmd("GET", "c") == b"1"
    assert c.cmd("EXISTS", "a") == 0
    assert c.cmd("RENAMENX", "c", "c") == 0


def test_copy(srv):
    c = srv.conn()
    assert c.cmd("COPY", "nosuch", "x") == 0
    c.cmd("SET", "a", "1", "EX", "100")
    assert c.cmd("COPY", "a", "b") == 1
    assert c.cmd("GET", "b") == b"1"
    assert c.cmd("TTL", "b") in (98, 99, 100)
    c.cmd("SET", "a", "2")
    assert c.cmd("GET", "b") == b"1"  # a real copy
    assert c.cmd("COPY", "a", "b") == 0
    assert c.cmd("COPY", "a", "b", "REPLACE") == 1
    assert c.cmd("GET", "b") == b"2"
    assert c.cmd("TTL", "b") == -1
    assert c.cmd("COPY", "a", "a") == SAME
    assert c.cmd("COPY", "a", "a", "DB", "0") == SAME
    assert c.cmd("COPY", "a", "a", "DB", "1") == 1
    assert c.cmd("COPY", "a", "z", "DB", "1") == 1
    assert c.cmd("COPY", "a", "z", "DB", "16") == DB_RANGE
    assert c.cmd("COPY", "a", "z", "DB", "abc") == NOT_INT
    assert c.cmd("COPY", "a", "z", "FOO") == SYNTAX
    assert c.cmd("COPY", "a") == arity("copy")
    assert c.cmd("SELECT", "1") == OK
    assert c.cmd("MGET", "a", "z") == [b"2", b"2"]
    assert c.cmd("SELECT", "0") == OK
    assert c.cmd("EXISTS", "z") == 0


def test_move(srv):
    c = srv.conn()
    c.cmd("SET", "a", "1", "EX", "100")
    assert c.cmd("MOVE", "a", "1") == 1
    assert c.cmd("EXISTS", "a") == 0
    assert c.cmd("MOVE", "a", "1") == 0
    assert c.cmd("MOVE", "nosuch", "1") == 0
    c.cmd("SET", "a", "local")
    assert c.cmd("MOVE", "a", "1") == 0  # already there: nothing moves
    assert c.cmd("GET", "a") == b"local"
    assert c.cmd("MOVE", "a", "0") == SAME
    assert c.cmd("MOVE", "a", "16") == DB_RANGE
    assert c.cmd("MOVE", "a", "-1") == DB_RANGE
    assert c.cmd("MOVE", "a", "x") == NOT_INT
    c.cmd("SELECT", "1")
    assert c.cmd("GET", "a") == b"1"
    assert c.cmd("TTL", "a") in (98, 99, 100)


def test_select_and_databases(srv):
    c = srv.conn()
    assert c.cmd("SELECT", "16") == DB_RANGE
    assert c.cmd("SELECT", "-1") == DB_RANGE
    assert c.cmd("SELECT", "abc") == NOT_INT
    assert c.cmd("SELECT") == arity("select")
    c.cmd("SET", "k", "db0")
    assert c.cmd("SELECT", "15") == OK
    assert c.cmd("GET", "k") is None
    c.cmd("SET", "k", "db15")
    assert c.cmd("DBSIZE") == 1
    assert c.cmd("SELECT", "0") == OK
    assert c.cmd("GET", "k") == b"db0"
    # each connection has its own selected database
    r1 = srv.client(db=15)
    assert r1.get("k") == b"db15"
    assert c.cmd("GET", "k") == b"db0"


def test_swapdb(srv):
    c = srv.conn()
    other = srv.conn()
    c.cmd("SET", "k", "zero")
    c.cmd("SET", "t", "v", "EX", "100")
    other.cmd("SELECT", "1")
    other.cmd("SET", "k", "one")
    assert c.cmd("SWAPDB", "0", "1") == OK
    # both connections see the swapped contents at once
    assert c.cmd("GET", "k") == b"one"
    assert c.cmd("EXISTS", "t") == 0
    assert other.cmd("GET", "k") == b"zero"
    assert other.cmd("TTL", "t") in (98, 99, 100)
    assert c.cmd("SWAPDB", "0", "0") == OK
    assert c.cmd("SWAPDB", "0", "16") == Err(b"ERR DB index is out of range")
    assert c.cmd("SWAPDB", "a", "1") == Err(b"ERR invalid first DB index")
    assert c.cmd("SWAPDB", "0", "b") == Err(b"ERR invalid second DB index")
    assert c.cmd("SWAPDB", "0") == arity("swapdb")


def test_dbsize_flushdb_flushall(srv):
    c = srv.conn()
    assert c.cmd("DBSIZE") == 0
    c.cmd("MSET", "a", "1", "b", "2", "c", "3")
    assert c.cmd("DBSIZE") == 3
    c.cmd("SELECT", "2")
    c.cmd("MSET", "x", "1", "y", "2")
    assert c.cmd("DBSIZE") == 2
    assert c.cmd("FLUSHDB") == OK
    assert c.cmd("DBSIZE") == 0
    c.cmd("SELECT", "0")
    assert c.cmd("DBSIZE") == 3
    c.cmd("SELECT", "2")
    c.cmd("SET", "x", "1")
    assert c.cmd("FLUSHALL") == OK
    assert c.cmd("DBSIZE") == 0
    c.cmd("SELECT", "0")
    assert c.cmd("DBSIZE") == 0
    for opt in ("ASYNC", "SYNC", "async", "sync"):
        c.cmd("MSET", "a", "1", "b", "2")
        assert c.cmd("FLUSHALL", opt) == OK
        assert c.cmd("DBSIZE") == 0
        c.cmd("MSET", "a", "1", "b", "2")
        assert c.cmd("FLUSHDB", opt) == OK
        assert c.cmd("DBSIZE") == 0
    assert c.cmd("FLUSHALL", "FOO") == SYNTAX
    assert c.cmd("FLUSHDB", "FOO") == SYNTAX
    assert c.cmd("FLUSHALL", "ASYNC", "SYNC") == SYNTAX
    assert c.cmd("DBSIZE", "x") == arity("dbsize")


def test_flushall_big_async(srv):
    c = srv.conn()
    for batch in range(0, 50000, 1000):
        args = []
        for i in range(batch, batch + 1000):
            args += ["k%d" % i, "v"]
        c.cmd("MSET", *args)
    assert c.cmd("DBSIZE") == 50000
    assert c.cmd("FLUSHALL", "ASYNC") == OK
    assert c.cmd("DBSIZE") == 0
    assert c.cmd("GET", "k1") is None
    c.cmd("SET", "k1", "new")
    assert c.cmd("GET", "k1") == b"new"


def test_expire_ttl_persist(srv):
    c = srv.conn()
    assert c.cmd("TTL", "nosuch") == -2
    assert c.cmd("PTTL", "nosuch") == -2
    assert c.cmd("EXPIRE", "nosuch", "10") == 0
    c.cmd("SET", "k", "v")
    assert c.cmd("TTL", "k") == -1
    assert c.cmd("PTTL", "k") == -1
    assert c.cmd("EXPIRE", "k", "100") == 1
    assert c.cmd("TTL", "k") in (98, 99, 100)
    assert c.cmd("PEXPIRE", "k", "200000") == 1
    assert 199000 <= c.cmd("PTTL", "k") <= 200000
    now = int(time.time())
    assert c.cmd("EXPIREAT", "k", now + 300) == 1
    assert 298 <= c.cmd("TTL", "k") <= 300
    assert c.cmd("PEXPIREAT", "k", (now + 400) * 1000) == 1
    assert 398 <= c.cmd("TTL", "k") <= 400
    assert c.cmd("PERSIST", "k") == 1
    assert c.cmd("PERSIST", "k") == 0
    assert c.cmd("TTL", "k") == -1
    assert c.cmd("EXPIRE", "k", "abc") == NOT_INT
    # a non-positive TTL deletes the key
    assert c.cmd("EXPIRE", "k", "0") == 1
    assert c.cmd("EXISTS", "k") == 0
    c.cmd("SET", "k", "v")
    assert c.cmd("EXPIRE", "k", "-5") == 1
    assert c.cmd("EXISTS", "k") == 0
    # 7.0 options
    c.cmd("SET", "k", "v")
    assert c.cmd("EXPIRE", "k", "100", "XX") == 0
    assert c.cmd("EXPIRE", "k", "100", "NX") == 1
    assert c.cmd("EXPIRE", "k", "200", "NX") == 0
    assert c.cmd("EXPIRE", "k", "50", "GT") == 0
    assert c.cmd("EXPIRE", "k", "200", "GT") == 1
    assert c.cmd("EXPIRE", "k", "300", "LT") == 0
    assert c.cmd("EXPIRE", "k", "150", "LT") == 1
    assert c.cmd("TTL", "k") in (148, 149, 150)
    assert c.cmd("EXPIRE", "k", "10", "NX", "XX") == \
        Err(b"ERR NX and XX, GT or LT options at the same time are not compatible")
    assert c.cmd("EXPIRE", "k", "10", "FOO") == Err(b"ERR Unsupported option FOO")


def test_scan_family_cursor_parsing(srv):
    """One cursor parser for SCAN, HSCAN, SSCAN and ZSCAN, as Redis's
    strtoul: '+5', '01', '' and '-1' (wraps) are taken; leading space and
    values past 2^64 are "invalid cursor" (HSCAN once refused '-1')."""
    c = srv.conn()
    c.cmd("HSET", "h", "f", "v")
    c.cmd("SADD", "s", "m")
    c.cmd("ZADD", "z", "1", "m")
    bad = Err(b"ERR invalid cursor")
    for cmd in (["SCAN"], ["HSCAN", "h"], ["SSCAN", "s"], ["ZSCAN", "z"]):
        for ok in ("0", "+5", "01", "", "-1"):
            r = c.cmd(*(cmd + [ok]))
            assert isinstance(r, list) and len(r) == 2, (cmd, ok, r)
        for no in (" 5", "18446744073709551616", "5x"):
            assert c.cmd(*(cmd + [no])) == bad, (cmd, no)
