"""Hashes: every H* command, its error wording, the listpack/hashtable
encodings and their conversion, and hashes meeting the keyspace commands
(TYPE, SCAN TYPE, RENAME, COPY, MOVE, expiry, FLUSHDB)."""

import random

from harness import Err, OK, Status, kvd_only, wait_for

WRONGTYPE = Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Err(b"ERR syntax error")
NOT_INT = Err(b"ERR value is not an integer or out of range")
NOT_FLOAT = Err(b"ERR value is not a valid float")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def test_hset_hget_basic(srv):
    c = srv.conn()
    assert c.cmd("HSET", "h", "a", "1", "b", "2") == 2
    assert c.cmd("HSET", "h", "a", "10", "c", "3") == 1
    assert c.cmd("HGET", "h", "a") == b"10"
    assert c.cmd("HGET", "h", "zz") is None
    assert c.cmd("HGET", "nokey", "a") is None
    assert c.cmd("HMGET", "h", "a", "zz", "c") == [b"10", None, b"3"]
    assert c.cmd("HMGET", "nokey", "a", "b") == [None, None]
    assert c.cmd("HLEN", "h") == 3
    assert c.cmd("HLEN", "nokey") == 0
    assert c.cmd("HEXISTS", "h", "b") == 1
    assert c.cmd("HEXISTS", "h", "zz") == 0
    assert c.cmd("HSTRLEN", "h", "a") == 2
    assert c.cmd("HSTRLEN", "h", "zz") == 0
    assert c.cmd("HMSET", "h", "d", "4") == OK
    assert c.cmd("HSETNX", "h", "d", "x") == 0
    assert c.cmd("HSETNX", "h", "e", "5") == 1
    assert c.cmd("HGET", "h", "d") == b"4"
    # listpack hashes keep insertion order, as Redis
    assert c.cmd("HKEYS", "h") == [b"a", b"b", b"c", b"d", b"e"]
    assert c.cmd("HVALS", "h") == [b"10", b"2", b"3", b"4", b"5"]
    assert c.cmd("HGETALL", "h") == [b"a", b"10", b"b", b"2", b"c", b"3", b"d", b"4", b"e", b"5"]
    assert c.cmd("HGETALL", "nokey") == []
    assert c.cmd("HKEYS", "nokey") == []


def test_hash_arity_and_errors(srv):
    c = srv.conn()
    assert c.cmd("HSET", "h", "a") == arity("hset")
    assert c.cmd("HSET", "h", "a", "1", "b") == arity("hset")
    assert c.cmd("HMSET", "h", "a") == arity("hmset")
    assert c.cmd("HGET", "h") == arity("hget")
    assert c.cmd("HDEL", "h") == arity("hdel")
    assert c.cmd("EXISTS", "h") == 0


def test_hash_wrongtype_everywhere(srv):
    c = srv.conn()
    c.cmd("SET", "s", "x")
    for args in (("HSET", "s", "a", "1"), ("HMSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"),
                 ("HGET", "s", "a"), ("HMGET", "s", "a"), ("HDEL", "s", "a"), ("HLEN", "s"),
                 ("HSTRLEN", "s", "a"), ("HEXISTS", "s", "a"), ("HKEYS", "s"), ("HVALS", "s"),
                 ("HGETALL", "s"), ("HINCRBY", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "1"),
                 ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "2"), ("HSCAN", "s", "0")):
        assert c.cmd(*args) == WRONGTYPE, args
    c.cmd("HSET", "h", "a", "1")
    for args in (("GET", "h"), ("APPEND", "h", "x"), ("INCR", "h"), ("LPUSH", "h", "x"),
                 ("LRANGE", "h", "0", "-1")):
        assert c.cmd(*args) == WRONGTYPE, args


def test_hdel_deletes_emptied_hash(srv):
    c = srv.conn()
    c.cmd("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert c.cmd("HDEL", "h", "a", "zz", "a") == 1
    assert c.cmd("HDEL", "h", "b", "c") == 2
    assert c.cmd("EXISTS", "h") == 0
    assert c.cmd("TYPE", "h") == Status(b"none")
    assert c.cmd("HDEL", "h", "a") == 0
    # the same for the hashtable encoding
    args = []
    for i in range(300):
        args += ["f%d" % i, "v"]
    c.cmd("HSET", "big", *args)
    assert c.cmd("HDEL", "big", *["f%d" % i for i in range(300)]) == 300
    assert c.cmd("EXISTS", "big") == 0


def test_hincrby(srv):
    c = srv.conn()
    assert c.cmd("HINCRBY", "h", "n", "5") == 5
    assert c.cmd("HINCRBY", "h", "n", "-7") == -2
    assert c.cmd("HINCRBY", "h", "n", "x") == NOT_INT
    assert c.cmd("HINCRBY", "h", "n", "1.5") == NOT_INT
    c.cmd("HSET", "h", "s", "abc", "big", "9223372036854775807", "sp", " 1")
    assert c.cmd("HINCRBY", "h", "s", "1") == Err(b"ERR hash value is not an integer")
    assert c.cmd("HINCRBY", "h", "sp", "1") == Err(b"ERR hash value is not an integer")
    assert c.cmd("HINCRBY", "h", "big", "1") == Err(b"ERR increment or decrement would overflow")
    assert c.cmd("HINCRBY", "h", "big", "-1") == 9223372036854775806
    c.cmd("HSET", "h", "min", "-9223372036854775808")
    assert c.cmd("HINCRBY", "h", "min", "-1") == Err(b"ERR increment or decrement would overflow")
    # the type check comes after the increment's
    c.cmd("SET", "s", "1")
    assert c.cmd("HINCRBY", "s", "f", "x") == NOT_INT
    assert c.cmd("HINCRBY", "s", "f", "1") == WRONGTYPE


def test_hincrbyfloat(srv):
    c = srv.conn()
    assert c.cmd("HINCRBYFLOAT", "h", "f", "10.5") == b"10.5"
    assert c.cmd("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert c.cmd("HINCRBYFLOAT", "h", "f", "-10.6") == b"0"
    assert c.cmd("HINCRBYFLOAT", "h", "f", "5.0e3") == b"5000"
    assert c.cmd("HINCRBYFLOAT", "h", "f", "abc") == NOT_FLOAT
    # CVE-2023-28856 family: inf and nan never get in
    for bad in ("inf", "-inf", "+inf", "Infinity"):
        assert c.cmd("HINCRBYFLOAT", "h", "f", bad) == Err(b"ERR value is NaN or Infinity"), bad
    assert c.cmd("HINCRBYFLOAT", "h", "f", "nan") == NOT_FLOAT
    c.cmd("HSET", "h", "huge", "1.1e4932")
    assert c.cmd("HINCRBYFLOAT", "h", "huge", "1.1e4932") == \
        Err(b"ERR increment would produce NaN or Infinity")
    assert c.cmd("HGET", "h", "huge") == b"1.1e4932"
    c.cmd("HSET", "h", "str", "x1")
    assert c.cmd("HINCRBYFLOAT", "h", "str", "1") == Err(b"ERR hash value is not a float")
    c.cmd("HSET", "h", "int", "3")
    assert c.cmd("HINCRBYFLOAT", "h", "int", "1.25") == b"4.25"


def test_hrandfield(srv):
    c = srv.conn()
    assert c.cmd("HRANDFIELD", "nokey") is None
    assert c.cmd("HRANDFIELD", "nokey", "3") == []
    assert c.cmd("HRANDFIELD", "nokey", "-3", "WITHVALUES") == []
    fields = {b"f%d" % i: b"v%d" % i for i in range(5)}
    c.cmd("HSET", "h", *[x for kv in fields.items() for x in kv])
    for _ in range(20):
        assert c.cmd("HRANDFIELD", "h") in fields
    assert c.cmd("HRANDFIELD", "h", "0") == []
    r = c.cmd("HRANDFIELD", "h", "3")
    assert len(r) == 3 and len(set(r)) == 3 and set(r) <= set(fields)
    r = c.cmd("HRANDFIELD", "h", "10")
    assert sorted(r) == sorted(fields)
    r = c.cmd("HRANDFIELD", "h", "-10")
    assert len(r) == 10 and set(r) <= set(fields)
    r = c.cmd("HRANDFIELD", "h", "-7", "WITHVALUES")
    assert len(r) == 14
    for f, v in zip(r[0::2], r[1::2]):
        assert fields[f] == v
    r = c.cmd("HRANDFIELD", "h", "2", "withvalues")
    assert len(r) == 4 and fields[r[0]] == r[1]
    assert c.cmd("HRANDFIELD", "h", "1", "foo") == SYNTAX
    assert c.cmd("HRANDFIELD", "h", "1", "withvalues", "x") == SYNTAX
    assert c.cmd("HRANDFIELD", "h", "x") == NOT_INT


def test_hrandfield_count_overflow(srv):
    """CVE-2023-25155: counts near INT64_MIN must not overflow."""
    c = srv.conn()
    c.cmd("HSET", "h", "a", "1", "b", "2")
    rng = Err(b"ERR value is out of range, value must between -9223372036854775807 and "
              b"9223372036854775807")
    assert c.cmd("HRANDFIELD", "h", "-9223372036854775808") == rng
    assert c.cmd("HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES") == rng
    assert c.cmd("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES") == \
        Err(b"ERR value is out of range")
    assert c.cmd("HRANDFIELD", "h", "-9223372036854770000", "WITHVALUES") == \
        Err(b"ERR value is out of range")
    assert c.cmd("HRANDFIELD", "h", "9223372036854775807", "WITHVALUES") == \
        Err(b"ERR value is out of range")
    # a huge positive count is "the whole hash"
    assert sorted(c.cmd("HRANDFIELD", "h", "9223372036854775807")) == [b"a", b"b"]
    assert c.cmd("PING") == Status(b"PONG")


def test_hrandfield_resp3_pairs(srv):
    c = srv.conn()
    c.cmd("HELLO", "3")
    c.cmd("HSET", "h", "a", "1", "b", "2")
    r = c.cmd("HRANDFIELD", "h", "2", "WITHVALUES")
    assert sorted(r) == [[b"a", b"1"], [b"b", b"2"]]
    r = c.cmd("HRANDFIELD", "h", "-3", "WITHVALUES")
    assert len(r) == 3 and all(len(p) == 2 for p in r)
    m = c.cmd("HGETALL", "h")
    assert dict(m) == {b"a": b"1", b"b": b"2"}


def test_hscan(srv):
    c = srv.conn()
    c.cmd("HSET", "small", "a", "1", "b", "2", "ab", "3")
    cur, items = c.cmd("HSCAN", "small", "0")
    assert cur == b"0" and pairs(items) == {b"a": b"1", b"b": b"2", b"ab": b"3"}
    cur, items = c.cmd("HSCAN", "small", "0", "MATCH", "a*")
    assert cur == b"0" and pairs(items) == {b"a": b"1", b"ab": b"3"}
    assert c.cmd("HSCAN", "nokey", "0") == [b"0", []]
    assert c.cmd("HSCAN", "small", "0", "COUNT", "0") == SYNTAX
    assert c.cmd("HSCAN", "small", "x") == Err(b"ERR invalid cursor")
    assert c.cmd("HSCAN", "small", "0", "foo", "bar") == SYNTAX
    # a hashtable: a full iteration returns every field at least once
    want = {}
    args = []
    for i in range(1000):
        want[b"field:%d" % i] = b"%d" % i
        args += ["field:%d" % i, str(i)]
    c.cmd("HSET", "big", *args)
    got = {}
    cur = b"0"
    calls = 0
    while True:
        cur, items = c.cmd("HSCAN", "big", cur, "COUNT", "50")
        got.update(pairs(items))
        calls += 1
        if cur == b"0":
            break
        assert calls < 1000
    assert got == want
    assert calls > 2
    # MATCH on a hashtable
    got = {}
    cur = b"0"
    while True:
        cur, items = c.cmd("HSCAN", "big", cur, "MATCH", "field:99*")
        got.update(pairs(items))
        if cur == b"0":
            break
    assert set(got) == {b"field:99"} | {b"field:99%d" % i for i in range(10)}


def test_hash_binary_and_large(srv):
    r = srv.client()
    blob = bytes(range(256)) * 8
    r.hset("h", b"\x00\r\n\xff", blob)
    r.hset("h", b"", b"")
    assert r.hget("h", b"\x00\r\n\xff") == blob
    assert r.hget("h", b"") == b""
    assert r.hstrlen("h", b"\x00\r\n\xff") == len(blob)
    big = b"x" * (1 << 20)
    r.hset("h", "big", big)
    assert r.hget("h", "big") == big
    assert r.hlen("h") == 3
    assert r.hgetall("h") == {b"\x00\r\n\xff": blob, b"": b"", b"big": big}


def test_hash_encoding_conversion(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "4") == OK
    assert c.cmd("CONFIG", "SET", "hash-max-listpack-value", "8") == OK
    try:
        c.cmd("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4")
        assert c.cmd("OBJECT", "ENCODING", "h") == b"listpack"
        c.cmd("HSET", "h", "e", "5")
        assert c.cmd("OBJECT", "ENCODING", "h") == b"hashtable"
        assert pairs(c.cmd("HGETALL", "h")) == {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4",
                                                  b"e": b"5"}
        # it does not convert back
        c.cmd("HDEL", "h", "a", "b", "c")
        assert c.cmd("OBJECT", "ENCODING", "h") == b"hashtable"
        # a long value converts, at exactly one byte over the limit
        c.cmd("HSET", "v", "f", "12345678")
        assert c.cmd("OBJECT", "ENCODING", "v") == b"listpack"
        c.cmd("HSET", "v", "g", "123456789")
        assert c.cmd("OBJECT", "ENCODING", "v") == b"hashtable"
        assert c.cmd("HGET", "v", "g") == b"123456789"
        # a long field too
        c.cmd("HSET", "w", "123456789", "x")
        assert c.cmd("OBJECT", "ENCODING", "w") == b"hashtable"
        # HINCRBYFLOAT producing a long value
        c.cmd("HSET", "x", "f", "1")
        c.cmd("HINCRBYFLOAT", "x", "f", "0.000000001")
        assert c.cmd("OBJECT", "ENCODING", "x") == b"hashtable"
    finally:
        c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "128")
        c.cmd("CONFIG", "SET", "hash-max-listpack-value", "64")


def test_hash_model_random_ops(srv):
    """Random HSET/HDEL/HINCRBY against a dict, with small limits so the
    hash crosses between encodings."""
    c = srv.conn()
    c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "16")
    try:
        rnd = random.Random(5)
        model = {}
        for i in range(2000):
            op = rnd.random()
            f = b"f%d" % rnd.randrange(40)
            if op < 0.5:
                v = b"v%d" % rnd.randrange(1000)
                new = f not in model
                assert c.cmd("HSET", "h", f, v) == (1 if new else 0)
                model[f] = v
            elif op < 0.8:
                assert c.cmd("HDEL", "h", f) == (1 if f in model else 0)
                model.pop(f, None)
            else:
                cur = int(model.get(f, b"0")) if model.get(f, b"0").lstrip(b"-").isdigit() else None
                if cur is None:
                    continue
                assert c.cmd("HINCRBY", "h", f, "3") == cur + 3
                model[f] = b"%d" % (cur + 3)
            if i % 100 == 0:
                assert pairs(c.cmd("HGETALL", "h")) == model
                assert c.cmd("HLEN", "h") == len(model)
        assert pairs(c.cmd("HGETALL", "h")) == model
    finally:
        c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "128")


def test_hash_keyspace_commands(srv):
    c = srv.conn()
    c.cmd("HSET", "h", "a", "1")
    assert c.cmd("TYPE", "h") == Status(b"hash")
    c.cmd("SET", "s", "x")
    cur, keys = c.cmd("SCAN", "0", "TYPE", "hash", "COUNT", "1000")
    assert keys == [b"h"]
    assert c.cmd("RENAME", "h", "h2") == OK
    assert c.cmd("HGET", "h2", "a") == b"1"
    assert c.cmd("COPY", "h2", "h3") == 1
    c.cmd("HSET", "h3", "b", "2")
    assert c.cmd("HLEN", "h2") == 1  # a deep copy
    assert c.cmd("HLEN", "h3") == 2
    assert c.cmd("MOVE", "h3", "1") == 1
    c.cmd("SELECT", "1")
    assert c.cmd("HGET", "h3", "b") == b"2"
    c.cmd("SELECT", "0")
    assert c.cmd("DEL", "h2") == 1
    c.cmd("HSET", "e", "a", "1")
    assert c.cmd("PEXPIRE", "e", "50") == 1
    wait_for(lambda: c.cmd("EXISTS", "e") == 0, what="hash expiry")
    c.cmd("HSET", "f", "a", "1")
    assert c.cmd("FLUSHDB") == OK
    assert c.cmd("EXISTS", "f") == 0
    c.cmd("SELECT", "1")
    c.cmd("FLUSHDB")
    c.cmd("SELECT", "0")


@kvd_only
def test_hash_text_protocol(srv):
    out = srv.nc(b"HSET h a 1 b 2\nHGETALL h\nHGET h zz\n", half_close=True)
    assert out == b'(integer) 2\n1) "a"\n2) "1"\n3) "b"\n4) "2"\n(nil)\n', out


def test_hash_redis_cli(srv):
    assert srv.cli("HSET", "h", "name", "kvd").strip() == "1"
    assert srv.cli("HGET", "h", "name").strip() == "kvd"
    assert srv.cli("HGETALL", "h", tty=True) == '1) "name"\n2) "kvd"\n'


def test_hscan_checks_the_key_before_options(srv):
    # Redis: cursor, then key, then options: a missing key answers an empty
    # scan even with a COUNT it would refuse
    c = srv.conn()
    assert c.cmd("HSCAN", "missing", "0", "COUNT", "0") == [b"0", []]
    assert c.cmd("HSCAN", "missing", "x") == Err(b"ERR invalid cursor")
    assert c.cmd("HSET", "h", "f", "v") == 1
    assert c.cmd("HSCAN", "h", "0", "COUNT", "0") == Err(b"ERR syntax error")
