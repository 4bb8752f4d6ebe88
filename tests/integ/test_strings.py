"""String commands: SET and its options, GET*, counters, ranges."""

import time

from harness import Err, OK

SYNTAX = Err(b"ERR syntax error")
NOT_INT = Err(b"ERR value is not an integer or out of range")
NOT_FLOAT = Err(b"ERR value is not a valid float")
OVERFLOW = Err(b"ERR increment or decrement would overflow")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def expire_err(cmd):
    return Err(b"ERR invalid expire time in '%s' command" % cmd.encode())


def test_set_get_basic(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("GET", "k") == b"v"
    assert c.cmd("GET", "missing") is None
    assert c.cmd("SET", "k", "v2") == OK
    assert c.cmd("GET", "k") == b"v2"
    # binary-safe keys and values, empty value, empty key
    blob = bytes(range(256)) * 4
    assert c.cmd("SET", b"\x00\r\n\xff", blob) == OK
    assert c.cmd("GET", b"\x00\r\n\xff") == blob
    assert c.cmd("SET", "empty", "") == OK
    assert c.cmd("GET", "empty") == b""
    assert c.cmd("SET", "", "emptykey") == OK
    assert c.cmd("GET", "") == b"emptykey"
    # wire format of the replies
    assert srv.raw(b"GET k\r\nGET missing\r\n", replies=2) == b"$2\r\nv2\r\n$-1\r\n"
    assert srv.raw(b"SET k v\r\n", replies=1) == b"+OK\r\n"


def test_set_big_value(srv):
    r = srv.client()
    big = b"x" * (4 << 20) + b"end"
    assert r.set("big", big) is True
    assert r.get("big") == big
    assert r.strlen("big") == len(big)


def test_set_ex_px(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v", "EX", "100") == OK
    assert c.cmd("TTL", "k") in (98, 99, 100)
    assert c.cmd("SET", "k", "v", "PX", "100000") == OK
    assert 99000 <= c.cmd("PTTL", "k") <= 100000
    assert c.cmd("SET", "k", "v", "ex", "50") == OK  # options are case-insensitive
    assert c.cmd("TTL", "k") in (48, 49, 50)
    # a plain SET clears the TTL
    assert c.cmd("SET", "k", "v") == OK
    assert c.cmd("TTL", "k") == -1


def test_set_exat_pxat(srv):
    c = srv.conn()
    now = int(time.time())
    assert c.cmd("SET", "k", "v", "EXAT", now + 100) == OK
    assert 98 <= c.cmd("TTL", "k") <= 100
    assert c.cmd("SET", "k", "v", "PXAT", now * 1000 + 100000) == OK
    assert 98000 <= c.cmd("PTTL", "k") <= 100000
    # a time in the past: OK, and the key is gone at once
    assert c.cmd("SET", "past", "v", "EXAT", now - 10) == OK
    assert c.cmd("GET", "past") is None
    assert c.cmd("EXISTS", "past") == 0
    assert c.cmd("SET", "past", "v", "PXAT", "1") == OK
    assert c.cmd("GET", "past") is None


def test_set_expiry_happens(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v", "PX", "100") == OK
    assert c.cmd("GET", "k") == b"v"
    deadline = time.monotonic() + 5
    while c.cmd("GET", "k") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert c.cmd("GET", "k") is None
    assert c.cmd("EXISTS", "k") == 0
    assert c.cmd("TTL", "k") == -2


def test_set_active_expiry(srv):
    """Keys nobody touches are removed by the background expiry too."""
    c = srv.conn()
    for i in range(50):
        c.cmd("SET", "tmp:%d" % i, "v", "PX", "50")
    c.cmd("SET", "keep", "v")
    deadline = time.monotonic() + 10
    while c.cmd("DBSIZE") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.cmd("DBSIZE") == 1


def test_set_nx_xx(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v1", "XX") is None
    assert c.cmd("EXISTS", "k") == 0
    assert c.cmd("SET", "k", "v1", "NX") == OK
    assert c.cmd("SET", "k", "v2", "NX") is None
    assert c.cmd("GET", "k") == b"v1"
    assert c.cmd("SET", "k", "v3", "XX") == OK
    assert c.cmd("GET", "k") == b"v3"
    assert c.cmd("SET", "k", "v4", "NX", "XX") == SYNTAX
    assert c.cmd("SET", "k", "v4", "XX", "NX") == SYNTAX
    # the same flag twice is accepted
    assert c.cmd("SET", "k", "v5", "XX", "XX") == OK
    assert c.cmd("SET", "k2", "v", "NX", "EX", "100") == OK
    assert c.cmd("TTL", "k2") in (98, 99, 100)
    assert srv.raw(b"SET k v NX\r\n", replies=1) == b"$-1\r\n"


def test_set_keepttl(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v", "EX", "100") == OK
    assert c.cmd("SET", "k", "v2", "KEEPTTL") == OK
    assert c.cmd("TTL", "k") in (98, 99, 100)
    assert c.cmd("GET", "k") == b"v2"
    assert c.cmd("SET", "k", "v3") == OK
    assert c.cmd("TTL", "k") == -1
    assert c.cmd("SET", "k", "v", "KEEPTTL", "EX", "10") == SYNTAX
    assert c.cmd("SET", "k", "v", "EX", "10", "KEEPTTL") == SYNTAX
    assert c.cmd("SET", "k", "v", "PX", "10", "EX", "10") == SYNTAX
    assert c.cmd("SET", "k", "v", "EXAT", "10", "PXAT", "10") == SYNTAX


def test_set_get_option(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v1", "GET") is None
    assert c.cmd("GET", "k") == b"v1"
    assert c.cmd("SET", "k", "v2", "GET") == b"v1"
    assert c.cmd("GET", "k") == b"v2"
    assert c.cmd("SET", "k", "v3", "GET", "EX", "100") == b"v2"
    assert c.cmd("TTL", "k") in (98, 99, 100)
    # GET with NX (allowed since 7.0): returns the old value, sets nothing
    assert c.cmd("SET", "k", "v4", "NX", "GET") == b"v3"
    assert c.cmd("GET", "k") == b"v3"
    assert c.cmd("SET", "new", "v", "NX", "GET") is None
    assert c.cmd("GET", "new") == b"v"
    assert c.cmd("SET", "k", "v5", "XX", "GET") == b"v3"
    assert c.cmd("SET", "nokey", "v", "XX", "GET") is None
    assert c.cmd("EXISTS", "nokey") == 0


def test_set_errors(srv):
    c = srv.conn()
    assert c.cmd("SET", "k", "v", "FOO") == SYNTAX
    assert c.cmd("SET", "k", "v", "EX") == SYNTAX
    assert c.cmd("SET", "k", "v", "EX", "0") == expire_err("set")
    assert c.cmd("SET", "k", "v", "EX", "-5") == expire_err("set")
    assert c.cmd("SET", "k", "v", "PX", "0") == expire_err("set")
    assert c.cmd("SET", "k", "v", "EXAT", "0") == expire_err("set")
    assert c.cmd("SET", "k", "v", "PXAT", "-1") == expire_err("set")
    assert c.cmd("SET", "k", "v", "EX", "abc") == NOT_INT
    assert c.cmd("SET", "k", "v", "PX", "1.5") == NOT_INT
    assert c.cmd("SET", "k", "v", "EX", "99999999999999999999") == NOT_INT
    # seconds that overflow once turned into milliseconds
    assert c.cmd("SET", "k", "v", "EX", "9223372036854775807") == expire_err("set")
    assert c.cmd("SET", "k", "v", "PX", "9223372036854775807") == expire_err("set")
    assert c.cmd("SET", "k") == arity("set")
    assert c.cmd("SET") == arity("set")
    assert c.cmd("GET") == arity("get")
    assert c.cmd("GET", "a", "b") == arity("get")
    assert c.cmd("EXISTS", "k") == 0  # nothing was set by the failures


def test_getset_getdel(srv):
    c = srv.conn()
    assert c.cmd("GETSET", "k", "v1") is None
    assert c.cmd("GETSET", "k", "v2") == b"v1"
    assert c.cmd("GET", "k") == b"v2"
    c.cmd("SET", "t", "v", "EX", "100")
    assert c.cmd("GETSET", "t", "w") == b"v"
    assert c.cmd("TTL", "t") == -1  # GETSET clears the TTL
    assert c.cmd("GETDEL", "k") == b"v2"
    assert c.cmd("EXISTS", "k") == 0
    assert c.cmd("GETDEL", "k") is None
    assert c.cmd("GETSET", "k") == arity("getset")
    assert c.cmd("GETDEL") == arity("getdel")


def test_getex(srv):
    c = srv.conn()
    assert c.cmd("GETEX", "missing") is None
    assert c.cmd("GETEX", "missing", "EX", "10") is None
    assert c.cmd("EXISTS", "missing") == 0
    c.cmd("SET", "k", "v")
    assert c.cmd("GETEX", "k") == b"v"
    assert c.cmd("TTL", "k") == -1
    assert c.cmd("GETEX", "k", "EX", "100") == b"v"
    assert c.cmd("TTL", "k") in (98, 99, 100)
    assert c.cmd("GETEX", "k", "PX", "50000") == b"v"
    assert 49000 <= c.cmd("PTTL", "k") <= 50000
    now = int(time.time())
    assert c.cmd("GETEX", "k", "EXAT", now + 200) == b"v"
    assert 198 <= c.cmd("TTL", "k") <= 200
    assert c.cmd("GETEX", "k", "PXAT", (now + 300) * 1000) == b"v"
    assert 298 <= c.cmd("TTL", "k") <= 300
    assert c.cmd("GETEX", "k", "PERSIST") == b"v"
    assert c.cmd("TTL", "k") == -1
    assert c.cmd("GETEX", "k", "EX", "0") == expire_err("getex")
    assert c.cmd("GETEX", "k", "EX", "-1") == expire_err("getex")
    assert c.cmd("GETEX", "k", "EX", "abc") == NOT_INT
    assert c.cmd("GETEX", "k", "FOO") == SYNTAX
    assert c.cmd("GETEX", "k", "EX", "10", "PX", "100") == SYNTAX
    assert c.cmd("GETEX", "k", "PERSIST", "EX", "10") == SYNTAX
    assert c.cmd("GETEX", "k", "EX") == SYNTAX
    assert c.cmd("TTL", "k") == -1
    # a time in the past deletes the key
    assert c.cmd("GETEX", "k", "PXAT", "1") == b"v"
    assert c.cmd("EXISTS", "k") == 0


def test_setnx_setex_psetex(srv):
    c = srv.conn()
    assert c.cmd("SETNX", "k", "v1") == 1
    assert c.cmd("SETNX", "k", "v2") == 0
    assert c.cmd("GET", "k") == b"v1"
    assert c.cmd("SETEX", "e", "100", "v") == OK
    assert c.cmd("TTL", "e") in (98, 99, 100)
    assert c.cmd("GET", "e") == b"v"
    assert c.cmd("PSETEX", "p", "100000", "v") == OK
    assert 99000 <= c.cmd("PTTL", "p") <= 100000
    assert c.cmd("SETEX", "e", "0", "v") == expire_err("setex")
    assert c.cmd("SETEX", "e", "-10", "v") == expire_err("setex")
    assert c.cmd("PSETEX", "p", "0", "v") == expire_err("psetex")
    assert c.cmd("SETEX", "e", "abc", "v") == NOT_INT
    assert c.cmd("SETEX", "e", "10") == arity("setex")
    assert c.cmd("SETNX", "k") == arity("setnx")


def test_mset_mget_msetnx(srv):
    c = srv.conn()
    assert c.cmd("MSET", "a", "1", "b", "2", "c", "3") == OK
    assert c.cmd("MGET", "a", "b", "nosuch", "c") == [b"1", b"2", None, b"3"]
    assert c.cmd("MSET", "a", "x", "a", "y") == OK  # last one wins
    assert c.cmd("GET", "a") == b"y"
    assert c.cmd("MSETNX", "d", "4", "a", "z") == 0
    assert c.cmd("EXISTS", "d") == 0
    assert c.cmd("GET", "a") == b"y"
    assert c.cmd("MSETNX", "d", "4", "e", "5") == 1
    assert c.cmd("MGET", "d", "e") == [b"4", b"5"]
    assert c.cmd("MSET", "a") == arity("mset")
    assert c.cmd("MSET", "a", "1", "b") == arity("mset")
    assert c.cmd("MSETNX", "a") == arity("msetnx")
    assert c.cmd("MGET") == arity("mget")
    # many keys at once (spread over every shard)
    args = []
    for i in range(2000):
        args += ["key:%d" % i, "val:%d" % i]
    assert c.cmd("MSET", *args) == OK
    got = c.cmd("MGET", *["key:%d" % i for i in range(2000)])
    assert got == [b"val:%d" % i for i in range(2000)]
    assert srv.raw(b"MGET a nosuch\r\n", replies=1) == b"*2\r\n$1\r\ny\r\n$-1\r\n"


def test_incr_decr(srv):
    c = srv.conn()
    assert c.cmd("INCR", "n") == 1
    assert c.cmd("INCR", "n") == 2
    assert c.cmd("DECR", "n") == 1
    assert c.cmd("DECR", "m") == -1
    assert c.cmd("INCRBY", "n", "10") == 11
    assert c.cmd("INCRBY", "n", "-20") == -9
    assert c.cmd("DECRBY", "n", "1") == -10
    assert c.cmd("DECRBY", "n", "-10") == 0
    assert c.cmd("GET", "n") == b"0"
    assert srv.raw(b"INCR n\r\n", replies=1) == b":1\r\n"
    c.cmd("SET", "s", "-5")
    assert c.cmd("INCR", "s") == -4
    c.cmd("SET", "t", "7", "EX", "100")
    assert c.cmd("INCR", "t") == 8
    assert c.cmd("TTL", "t") in (98, 99, 100)  # INCR keeps the TTL
    for bad in ["abc", " 1", "1 ", "01", "+1", "1.0", "", "0x10", "1e3",
                "99999999999999999999"]:
        c.cmd("SET", "bad", bad)
        assert c.cmd("INCR", "bad") == NOT_INT, bad
        assert c.cmd("GET", "bad") == bad.encode()
    assert c.cmd("INCRBY", "n", "abc") == NOT_INT
    assert c.cmd("INCRBY", "n", "1.5") == NOT_INT
    assert c.cmd("INCRBY", "n", "9223372036854775808") == NOT_INT
    assert c.cmd("INCR") == arity("incr")
    assert c.cmd("INCRBY", "n") == arity("incrby")


def test_incr_overflow(srv):
    c = srv.conn()
    c.cmd("SET", "max", "9223372036854775807")
    assert c.cmd("INCR", "max") == OVERFLOW
    assert c.cmd("INCRBY", "max", "1") == OVERFLOW
    assert c.cmd("DECRBY", "max", "-1") == OVERFLOW
    assert c.cmd("GET", "max") == b"9223372036854775807"
    c.cmd("SET", "min", "-9223372036854775808")
    assert c.cmd("DECR", "min") == OVERFLOW
    assert c.cmd("INCRBY", "min", "-1") == OVERFLOW
    assert c.cmd("INCR", "min") == -9223372036854775807
    # DECRBY of LLONG_MIN cannot be negated: its own message
    assert c.cmd("DECRBY", "x", "-9223372036854775808") == Err(b"ERR decrement would overflow")
    assert c.cmd("INCRBY", "y", "-9223372036854775808") == -9223372036854775808


def test_incrbyfloat(srv):
    c = srv.conn()
    c.cmd("SET", "f", "10.50")
    assert c.cmd("INCRBYFLOAT", "f", "0.1") == b"10.6"
    assert c.cmd("GET", "f") == b"10.6"
    assert c.cmd("INCRBYFLOAT", "f", "-5") == b"5.6"
    assert c.cmd("INCRBYFLOAT", "g", "1.5") == b"1.5"
    assert c.cmd("INCRBYFLOAT", "g", "-1.5") == b"0"
    assert c.cmd("INCRBYFLOAT", "h", "5.0e3") == b"5000"
    c.cmd("SET", "i", "3.0e3")
    assert c.cmd("INCRBYFLOAT", "i", "1") == b"3001"
    c.cmd("SET", "j", "1")
    assert c.cmd("INCRBYFLOAT", "j", "0.3") == b"1.3"
    c.cmd("SET", "n", "5")
    assert c.cmd("INCRBYFLOAT", "n", "2") == b"7"
    assert c.cmd("INCR", "n") == 8  # the result is still an integer string
    c.cmd("SET", "t", "1", "EX", "100")
    assert c.cmd("INCRBYFLOAT", "t", "1") == b"2"
    assert c.cmd("TTL", "t") in (98, 99, 100)
    # errors
    c.cmd("SET", "s", "abc")
    assert c.cmd("INCRBYFLOAT", "s", "1") == NOT_FLOAT
    assert c.cmd("INCRBYFLOAT", "f", "abc") == NOT_FLOAT
    assert c.cmd("INCRBYFLOAT", "f", "") == NOT_FLOAT
    assert c.cmd("INCRBYFLOAT", "f", "inf") == Err(b"ERR increment would produce NaN or Infinity")
    assert c.cmd("INCRBYFLOAT", "nf", "inf") == Err(b"ERR increment would produce NaN or Infinity")
    assert c.cmd("EXISTS", "nf") == 0
    assert c.cmd("INCRBYFLOAT", "f") == arity("incrbyfloat")
    assert srv.raw(b"INCRBYFLOAT f 1\r\n", replies=1) == b"$3\r\n6.6\r\n"


def test_append_strlen(srv):
    c = srv.conn()
    assert c.cmd("APPEND", "k", "Hello") == 5
    assert c.cmd("APPEND", "k", " World") == 11
    assert c.cmd("GET", "k") == b"Hello World"
    assert c.cmd("STRLEN", "k") == 11
    assert c.cmd("STRLEN", "missing") == 0
    assert c.cmd("APPEND", "k", "") == 11
    c.cmd("SET", "n", "10")
    assert c.cmd("APPEND", "n", "5") == 3
    assert c.cmd("INCR", "n") == 106
    assert c.cmd("STRLEN", "n") == 3
    c.cmd("SET", "t", "a", "EX", "100")
    assert c.cmd("APPEND", "t", "b") == 2
    assert c.cmd("TTL", "t") in (98, 99, 100)
    assert c.cmd("APPEND", "k") == arity("append")
    assert c.cmd("STRLEN") == arity("strlen")


def test_getrange_substr(srv):
    c = srv.conn()
    c.cmd("SET", "s", "This is a string")
    cases = [
        ((0, 3), b"This"),
        ((-3, -1), b"ing"),
        ((0, -1), b"This is a string"),
        ((10, 100), b"string"),
        ((5, 3), b""),
        ((-100, 3), b"This"),
        # Redis 7.0 clamps both negative indexes to 0: "T", not ""
        ((-100, -50), b"T"),
        ((-17, -17), b"T"),
        ((100, 200), b""),
        ((15, 15), b"g"),
        ((16, 16), b""),
        ((0, 0), b"T"),
        ((-1, -1), b"g"),
        ((3, -100), b""),
    ]
    for (a, b), want in cases:
        assert c.cmd("GETRANGE", "s", a, b) == want, (a, b)
        assert c.cmd("SUBSTR", "s", a, b) == want, (a, b)
    assert c.cmd("GETRANGE", "missing", 0, -1) == b""
    c.cmd("SET", "e", "")
    assert c.cmd("GETRANGE", "e", 0, -1) == b""
    assert c.cmd("GETRANGE", "s", "a", "1") == NOT_INT
    assert c.cmd("GETRANGE", "s", 0) == arity("getrange")
    c.cmd("SET", "n", "12345")  # may be stored as an integer
    assert c.cmd("GETRANGE", "n", 1, 2) == b"23"


def test_setrange(srv):
    c = srv.conn()
    c.cmd("SET", "k", "Hello World")
    assert c.cmd("SETRANGE", "k", 6, "Redis") == 11
    assert c.cmd("GET", "k") == b"Hello Redis"
    assert c.cmd("SETRANGE", "k", 11, "!!") == 13
    assert c.cmd("GET", "k") == b"Hello Redis!!"
    # zero padding
    assert c.cmd("SETRANGE", "z", 5, "ab") == 7
    assert c.cmd("GET", "z") == b"\x00\x00\x00\x00\x00ab"
    # an empty value on a missing key creates nothing
    assert c.cmd("SETRANGE", "none", 0, "") == 0
    assert c.cmd("SETRANGE", "none", 100, "") == 0
    assert c.cmd("EXISTS", "none") == 0
    # an empty value on an existing key leaves it alone (no padding)
    assert c.cmd("SETRANGE", "k", 100, "") == 13
    assert c.cmd("STRLEN", "k") == 13
    c.cmd("SET", "n", "123")
    assert c.cmd("SETRANGE", "n", 1, "9") == 3
    assert c.cmd("INCR", "n") == 194
    assert c.cmd("SETRANGE", "k", -1, "x") == Err(b"ERR offset is out of range")
    assert c.cmd("SETRANGE", "k", 536870912, "x") == \
        Err(b"ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert c.cmd("SETRANGE", "k", 536870911, "xy") == \
        Err(b"ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert c.cmd("SETRANGE", "k", "abc", "x") == NOT_INT
    assert c.cmd("SETRANGE", "k", 1) == arity("setrange")
    assert c.cmd("GET", "k") == b"Hello Redis!!"


def test_redis_py_string_api(srv):
    """The same commands through a real client library."""
    r = srv.client()
    assert r.set("a", "1") is True
    assert r.set("a", "2", nx=True) is None
    assert r.set("a", "3", xx=True, ex=100) is True
    assert r.ttl("a") in (98, 99, 100)
    assert r.get("a") == b"3"
    assert r.incr("a", 5) == 8
    assert r.incrbyfloat("a", 0.5) == 8.5
    assert r.mset({"x": "1", "y": "2"}) is True
    assert r.mget(["x", "y", "zz"]) == [b"1", b"2", None]
    assert r.getrange("x", 0, -1) == b"1"
    assert r.append("x", "23") == 3
    assert r.getdel("x") == b"123"
    assert r.getex("y", px=100000) == b"2"
    assert r.pttl("y") > 90000
    assert r.setex("s", 100, "v") is True
    assert r.psetex("p", 100000, "v") is True
    assert r.setnx("s", "w") is False
    assert r.setrange("s", 1, "xyz") == 4
    assert r.get("s") == b"vxyz"
    with r.pipeline(transaction=False) as p:
        for i in range(100):
            p.set("pk%d" % i, i)
            p.get("pk%d" % i)
        res = p.execute()
    assert res == [x for i in range(100) for x in (True, str(i).encode())]


def test_incrbyfloat_checks_the_key_first(srv):
    # Redis: the key's type, then its value, then the increment
    c = srv.conn()
    assert c.cmd("RPUSH", "l", "a") == 1
    assert c.cmd("INCRBYFLOAT", "l", "abc") == Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")
    assert c.cmd("SET", "s", "word") == OK
    assert c.cmd("INCRBYFLOAT", "s", "abc") == NOT_FLOAT
    assert c.cmd("INCRBYFLOAT", "missing", "abc") == NOT_FLOAT
    assert c.cmd("INCRBY", "l", "abc") == NOT_INT  # INCRBY parses first, as Redis


def test_lcs(srv):
    # the examples of Redis's LCS page, then its errors in Redis's order
    c = srv.conn()
    assert c.cmd("MSET", "key1", "ohmytext", "key2", "mynewtext") == OK
    assert c.cmd("LCS", "key1", "key2") == b"mytext"
    assert c.cmd("LCS", "key1", "key2", "LEN") == 6
    assert c.cmd("LCS", "key1", "key2", "IDX") == [
        b"matches", [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len", 6]
    assert c.cmd("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    assert c.cmd("LCS", "key1", "key2", "idx", "minmatchlen", "-5", "withmatchlen") == [
        b"matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len", 6]
    assert c.cmd("LCS", "key1", "missing", "IDX") == [b"matches", [], b"len", 0]
    assert c.cmd("LCS", "missing", "missing") == b""
    assert c.cmd("LCS", "key1", "key2", "IDX", "LEN") == Err(
        b"ERR If you want both the length and indexes, please just use IDX.")
    assert c.cmd("LCS", "key1", "key2", "MINMATCHLEN") == SYNTAX
    assert c.cmd("LCS", "key1", "key2", "MINMATCHLEN", "x") == NOT_INT
    assert c.cmd("RPUSH", "l", "a") == 1
    # the type is checked before the options
    assert c.cmd("LCS", "l", "key2", "BOGUS") == Err(b"ERR The specified keys must contain string values")
    c3 = srv.conn()
    c3.cmd("HELLO", "3")
    r = c3.cmd("LCS", "key1", "key2", "IDX", "WITHMATCHLEN")
    assert list(r) == [(b"matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]]), (b"len", 6)]
