"""Sets: every command through a raw RESP connection (exact replies, RESP2
and RESP3 shapes, Redis's error wording), redis-py and redis-cli, the
encodings and their conversions, SPOP/SRANDMEMBER counts (negative,
INT64_MIN), propagation-relevant effects, and sets meeting the keyspace
commands (TYPE, SCAN TYPE, RENAME, COPY, MOVE, DEL, expiry, FLUSHDB).
Passes against redis-server 7.0 too, but for the kvd-only tests (packed
sets report "listpack" where 7.0 says "hashtable")."""

import random

from harness import Err, OK, RespSet, Status, kvd_only, wait_for

KVD_ARGS = ["--enable-debug-command", "yes"]

WRONGTYPE = Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Err(b"ERR syntax error")
NOT_INT = Err(b"ERR value is not an integer or out of range")
POSITIVE = Err(b"ERR value is out of range, must be positive")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def test_sadd_srem_smembers(srv):
    c = srv.conn()
    assert c.cmd("SADD", "s", "a", "b", "c", "a") == 3
    assert c.cmd("SADD", "s", "a") == 0
    assert sorted(c.cmd("SMEMBERS", "s")) == [b"a", b"b", b"c"]
    assert c.cmd("SCARD", "s") == 3
    assert c.cmd("SISMEMBER", "s", "a") == 1
    assert c.cmd("SISMEMBER", "s", "z") == 0
    assert c.cmd("SISMEMBER", "nokey", "z") == 0
    assert c.cmd("SMISMEMBER", "s", "a", "z", "c") == [1, 0, 1]
    assert c.cmd("SMISMEMBER", "nokey", "a") == [0]
    assert c.cmd("SREM", "s", "a", "z") == 1
    assert c.cmd("SREM", "nokey", "a") == 0
    assert c.cmd("SREM", "s", "b", "c") == 2
    assert c.cmd("EXISTS", "s") == 0
    assert c.cmd("SMEMBERS", "nokey") == []
    assert c.cmd("SCARD", "nokey") == 0
    assert c.cmd("SADD", "s") == arity("sadd")
    assert c.cmd("SREM", "s") == arity("srem")
    assert c.cmd("SISMEMBER", "s") == arity("sismember")
    assert c.cmd("SMISMEMBER", "s") == arity("smismember")
    # binary members
    assert c.cmd("SADD", "b", b"\x00\xff", b"") == 2
    assert sorted(c.cmd("SMEMBERS", "b")) == [b"", b"\x00\xff"]
    assert c.cmd("SISMEMBER", "b", b"") == 1


def test_integers_and_big_values(srv):
    c = srv.conn()
    vals = ["0", "-1", "9223372036854775807", "-9223372036854775808", "65536", "-70000"]
    assert c.cmd("SADD", "i", *vals) == 6
    assert sorted(c.cmd("SMEMBERS", "i"), key=int) == sorted((v.encode() for v in vals), key=int)
    # not integers as Redis reads them: leading zero, plus sign, spaces
    assert c.cmd("SADD", "i", "01", "+1", " 1", "1 ") == 4
    assert c.cmd("SISMEMBER", "i", "01") == 1
    assert c.cmd("SISMEMBER", "i", "1") == 0
    assert c.cmd("SCARD", "i") == 10


def test_resp3_shapes(srv):
    c = srv.conn()
    c.cmd("HELLO", "3")
    c.cmd("SADD", "s", "a", "b")
    r = c.cmd("SMEMBERS", "s")
    assert isinstance(r, RespSet) and sorted(r) == [b"a", b"b"]
    assert isinstance(c.cmd("SMEMBERS", "nokey"), RespSet)
    assert isinstance(c.cmd("SINTER", "s", "s"), RespSet)
    assert isinstance(c.cmd("SUNION", "s", "nokey"), RespSet)
    assert isinstance(c.cmd("SDIFF", "s", "nokey"), RespSet)
    assert c.cmd("SISMEMBER", "s", "a") == 1
    assert c.cmd("SMISMEMBER", "s", "a", "x") == [1, 0]
    r = c.cmd("SRANDMEMBER", "s", "5")
    assert not isinstance(r, RespSet) and sorted(r) == [b"a", b"b"]
    assert c.cmd("SPOP", "nokey") is None
    assert isinstance(c.cmd("SPOP", "nokey", "2"), RespSet)
    r = c.cmd("SPOP", "s", "5")
    assert isinstance(r, RespSet) and sorted(r) == [b"a", b"b"]
    assert srv.raw(b"HELLO 3\r\nSPOP nokey 0\r\nSPOP nokey\r\nSRANDMEMBER nokey\r\nSRANDMEMBER nokey 3\r\n",
                   replies=5).endswith(b"~0\r\n_\r\n_\r\n*0\r\n")
    assert srv.raw(b"SPOP nokey 0\r\nSPOP nokey\r\nSRANDMEMBER nokey\r\nSMEMBERS nokey\r\n", replies=4) == \
        b"*0\r\n$-1\r\n$-1\r\n*0\r\n"


def test_spop_srandmember_counts(srv):
    c = srv.conn()
    members = [b"m%d" % i for i in range(20)]
    c.cmd("SADD", "s", *members)
    assert c.cmd("SRANDMEMBER", "s", "-9223372036854775808") == Err(
        b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert c.cmd("SRANDMEMBER", "s", "abc") == NOT_INT
    assert c.cmd("SRANDMEMBER", "s", "1", "2") == SYNTAX
    assert c.cmd("SRANDMEMBER", "s", "0") == []
    r = c.cmd("SRANDMEMBER", "s", "-50")
    assert len(r) == 50 and set(r) <= set(members)
    for n in (1, 5, 15, 19, 20, 25):
        r = c.cmd("SRANDMEMBER", "s", str(n))
        assert len(r) == min(n, 20) and len(set(r)) == len(r) and set(r) <= set(members)
    assert c.cmd("SRANDMEMBER", "s") in members
    assert c.cmd("SRANDMEMBER", "nokey", "-5") == []
    assert c.cmd("SPOP", "s", "-1") == POSITIVE
    assert c.cmd("SPOP", "s", "x") == POSITIVE
    assert c.cmd("SPOP", "s", "1", "2") == SYNTAX
    assert c.cmd("SPOP", "s", "0") == []
    popped = c.cmd("SPOP", "s", "5")
    assert len(set(popped)) == 5
    one = c.cmd("SPOP", "s")
    assert one in members and one not in popped
    left = c.cmd("SMEMBERS", "s")
    assert len(left) == 14 and not (set(left) & (set(popped) | {one}))
    assert sorted(c.cmd("SPOP", "s", "100")) == sorted(left)
    assert c.cmd("EXISTS", "s") == 0
    # intset sets, popped one at a time until gone
    c.cmd("SADD", "i", "1", "2", "3")
    got = sorted(int(c.cmd("SPOP", "i")) for _ in range(3))
    assert got == [1, 2, 3] and c.cmd("EXISTS", "i") == 0


def test_smove(srv):
    c = srv.conn()
    c.cmd("SADD", "a", "x", "y")
    c.cmd("SADD", "b", "z")
    c.cmd("SET", "str", "v")
    assert c.cmd("SMOVE", "a", "b", "x") == 1
    assert sorted(c.cmd("SMEMBERS", "b")) == [b"x", b"z"]
    assert c.cmd("SMOVE", "a", "b", "nope") == 0
    assert c.cmd("SMOVE", "nokey", "b", "x") == 0
    assert c.cmd("SMOVE", "nokey", "str", "x") == 0
    assert c.cmd("SMOVE", "a", "str", "y") == WRONGTYPE
    assert c.cmd("SMOVE", "str", "a", "y") == WRONGTYPE
    assert c.cmd("SMOVE", "a", "a", "y") == 1
    assert c.cmd("SMOVE", "a", "a", "nope") == 0
    assert c.cmd("SMOVE", "a", "new", "y") == 1
    assert c.cmd("EXISTS", "a") == 0
    assert c.cmd("SMEMBERS", "new") == [b"y"]
    assert c.cmd("SMOVE", "b", "new", "x") == 1
    assert c.cmd("SMOVE", "b", "new", "z") == 1
    assert c.cmd("EXISTS", "b") == 0
    assert sorted(c.cmd("SMEMBERS", "new")) == [b"x", b"y", b"z"]
    assert c.cmd("SMOVE", "a", "b") == arity("smove")


def test_set_operations(srv):
    c = srv.conn()
    c.cmd("SADD", "a", "1", "2", "3", "x")
    c.cmd("SADD", "b", "2", "3", "4", "x", "y")
    c.cmd("SADD", "c", "3", "x", "z")
    c.cmd("SET", "str", "v")
    assert sorted(c.cmd("SINTER", "a", "b", "c")) == [b"3", b"x"]
    assert sorted(c.cmd("SINTER", "a")) == [b"1", b"2", b"3", b"x"]
    assert c.cmd("SINTER", "a", "nokey") == []
    assert c.cmd("SINTER", "nokey", "str") == WRONGTYPE
    assert sorted(c.cmd("SUNION", "a", "b", "nokey")) == [b"1", b"2", b"3", b"4", b"x", b"y"]
    assert sorted(c.cmd("SDIFF", "a", "b")) == [b"1"]
    assert sorted(c.cmd("SDIFF", "b", "a", "c")) == [b"4", b"y"]
    assert c.cmd("SDIFF", "nokey", "a") == []
    assert c.cmd("SDIFF", "a", "a") == []
    assert c.cmd("SUNION", "a", "str") == WRONGTYPE
    assert c.cmd("SDIFF", "a", "str") == WRONGTYPE
    assert c.cmd("SINTERSTORE", "d", "a", "b") == 3
    assert sorted(c.cmd("SMEMBERS", "d")) == [b"2", b"3", b"x"]
    assert c.cmd("SUNIONSTORE", "d", "a", "c") == 5
    assert c.cmd("SDIFFSTORE", "d", "a", "c") == 2
    assert sorted(c.cmd("SMEMBERS", "d")) == [b"1", b"2"]
    # a destination that is a source, and one of another type (replaced)
    assert c.cmd("SINTERSTORE", "a", "a", "c") == 2
    assert sorted(c.cmd("SMEMBERS", "a")) == [b"3", b"x"]
    assert c.cmd("SUNIONSTORE", "str", "a") == 2
    assert c.cmd("TYPE", "str") == Status(b"set")
    # an empty result deletes the destination, and drops its TTL with it
    c.cmd("EXPIRE", "d", "100")
    assert c.cmd("SINTERSTORE", "d", "a", "nokey") == 0
    assert c.cmd("EXISTS", "d") == 0
    assert c.cmd("SDIFFSTORE", "d", "a", "a") == 0
    assert c.cmd("SUNIONSTORE", "d", "nokey") == 0
    assert c.cmd("EXISTS", "d") == 0
    c.cmd("SET", "str", "v")
    assert c.cmd("SINTERSTORE", "d", "a", "str") == WRONGTYPE
    assert c.cmd("SINTERSTORE", "d") == arity("sinterstore")


def test_sintercard(srv):
    c = srv.conn()
    c.cmd("SADD", "a", "1", "2", "3", "4")
    c.cmd("SADD", "b", "2", "3", "4", "5")
    assert c.cmd("SINTERCARD", "2", "a", "b") == 3
    assert c.cmd("SINTERCARD", "2", "a", "b", "LIMIT", "2") == 2
    assert c.cmd("SINTERCARD", "2", "a", "b", "LIMIT", "0") == 3
    assert c.cmd("SINTERCARD", "1", "a") == 4
    assert c.cmd("SINTERCARD", "2", "a", "nokey") == 0
    assert c.cmd("SINTERCARD", "0", "a") == Err(b"ERR numkeys should be greater than 0")
    assert c.cmd("SINTERCARD", "x", "a") == Err(b"ERR numkeys should be greater than 0")
    assert c.cmd("SINTERCARD", "3", "a", "b") == Err(b"ERR Number of keys can't be greater than number of args")
    assert c.cmd("SINTERCARD", "1", "a", "LIMIT", "-1") == Err(b"ERR LIMIT can't be negative")
    assert c.cmd("SINTERCARD", "1", "a", "LIMIT") == SYNTAX
    assert c.cmd("SINTERCARD", "1", "a", "b") == SYNTAX
    c.cmd("SET", "str", "v")
    assert c.cmd("SINTERCARD", "2", "a", "str") == WRONGTYPE


def test_sscan(srv):
    c = srv.conn()
    members = {b"m%d" % i for i in range(500)}
    c.cmd("SADD", "big", *members)
    seen = set()
    cursor = b"0"
    for _ in range(10000):
        cursor, batch = c.cmd("SSCAN", "big", cursor, "COUNT", "20")
        seen.update(batch)
        if cursor == b"0":
            break
    assert seen == members
    cursor, batch = c.cmd("SSCAN", "big", "0", "MATCH", "m1?", "COUNT", "1000")
    assert cursor == b"0" and sorted(batch) == sorted(b"m1%d" % i for i in range(10))
    c.cmd("SADD", "small", "1", "2", "3")
    assert c.cmd("SSCAN", "small", "0") == [b"0", [b"1", b"2", b"3"]]
    assert c.cmd("SSCAN", "nokey", "0") == [b"0", []]
    assert c.cmd("SSCAN", "small", "x") == Err(b"ERR invalid cursor")
    assert c.cmd("SSCAN", "small", "0", "COUNT", "0") == SYNTAX
    assert c.cmd("SSCAN", "small", "0", "COUNT", "x") == NOT_INT
    assert c.cmd("SSCAN", "small", "0", "TYPE", "set") == SYNTAX
    assert c.cmd("SSCAN", "small", "0", "MATCH") == SYNTAX
    c.cmd("SET", "str", "v")
    assert c.cmd("SSCAN", "str", "0") == WRONGTYPE


def test_wrongtype_everywhere(srv):
    c = srv.conn()
    c.cmd("SET", "str", "v")
    for args in (("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SISMEMBER", "str", "a"),
                 ("SMISMEMBER", "str", "a"), ("SCARD", "str"), ("SPOP", "str"), ("SPOP", "str", "2"),
                 ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"), ("SINTER", "str"),
                 ("SUNION", "str"), ("SDIFF", "str"), ("SINTERSTORE", "d", "str"), ("SSCAN", "str", "0")):
        assert c.cmd(*args) == WRONGTYPE, args
    c.cmd("SADD", "set", "a")
    assert c.cmd("GET", "set") == WRONGTYPE
    assert c.cmd("APPEND", "set", "a") == WRONGTYPE


def test_encodings_integers(srv):
    c = srv.conn()
    c.cmd("SADD", "i", *[str(i) for i in range(512)])
    assert c.cmd("OBJECT", "ENCODING", "i") == b"intset"
    c.cmd("SADD", "i", "512")
    assert c.cmd("OBJECT", "ENCODING", "i") == b"hashtable"
    assert c.cmd("SCARD", "i") == 513
    c.cmd("SADD", "j", "1", "2")
    c.cmd("SADD", "j", "x" * 65)
    assert c.cmd("OBJECT", "ENCODING", "j") == b"hashtable"
    c.cmd("CONFIG", "SET", "set-max-intset-entries", "2")
    try:
        c.cmd("SADD", "k", "1", "2")
        assert c.cmd("OBJECT", "ENCODING", "k") == b"intset"
        c.cmd("SADD", "k", "3")
        assert c.cmd("OBJECT", "ENCODING", "k") in (b"hashtable", b"listpack")
    finally:
        c.cmd("CONFIG", "SET", "set-max-intset-entries", "512")


@kvd_only
def test_encodings_packed(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "GET", "set-max-listpack-entries") == [b"set-max-listpack-entries", b"128"]
    c.cmd("SADD", "s", "a", "b")
    assert c.cmd("OBJECT", "ENCODING", "s") == b"listpack"
    c.cmd("SADD", "i", "1", "2")
    c.cmd("SADD", "i", "x")
    assert c.cmd("OBJECT", "ENCODING", "i") == b"listpack"
    c.cmd("SADD", "s", *[b"m%d" % i for i in range(126)])
    assert c.cmd("SCARD", "s") == 128
    assert c.cmd("OBJECT", "ENCODING", "s") == b"listpack"
    c.cmd("SADD", "s", "one-more")
    assert c.cmd("OBJECT", "ENCODING", "s") == b"hashtable"
    c.cmd("SADD", "long", "a")
    c.cmd("SADD", "long", "y" * 65)
    assert c.cmd("OBJECT", "ENCODING", "long") == b"hashtable"
    c.cmd("CONFIG", "SET", "set-max-listpack-entries", "0")
    try:
        c.cmd("SADD", "h", "a")
        assert c.cmd("OBJECT", "ENCODING", "h") == b"hashtable"
    finally:
        c.cmd("CONFIG", "SET", "set-max-listpack-entries", "128")
    # stored results start again from the smallest encoding
    c.cmd("SADD", "n1", "1", "2", "3")
    c.cmd("SADD", "n2", "2", "3", "x")
    assert c.cmd("SINTERSTORE", "r", "n1", "n2") == 2
    assert c.cmd("OBJECT", "ENCODING", "r") == b"intset"
    assert c.cmd("SUNIONSTORE", "r", "n1", "n2") == 4
    assert c.cmd("OBJECT", "ENCODING", "r") == b"listpack"


def test_keyspace_commands(srv):
    c = srv.conn()
    c.cmd("SADD", "s", "a", "b")
    assert c.cmd("TYPE", "s") == Status(b"set")
    c.cmd("SET", "str", "v")
    cursor, keys = c.cmd("SCAN", "0", "TYPE", "set", "COUNT", "1000")
    assert keys == [b"s"]
    assert c.cmd("RENAME", "s", "t") == OK
    assert sorted(c.cmd("SMEMBERS", "t")) == [b"a", b"b"]
    assert c.cmd("COPY", "t", "u") == 1
    c.cmd("SADD", "u", "c")
    assert c.cmd("SCARD", "t") == 2 and c.cmd("SCARD", "u") == 3
    assert c.cmd("MOVE", "u", "1") == 1
    assert c.cmd("EXISTS", "u") == 0
    c.cmd("SELECT", "1")
    assert c.cmd("SCARD", "u") == 3
    assert c.cmd("COPY", "u", "t", "DB", "0") == 0
    assert c.cmd("COPY", "u", "t", "DB", "0", "REPLACE") == 1
    c.cmd("SELECT", "0")
    assert c.cmd("SCARD", "t") == 3
    assert c.cmd("DEL", "t") == 1
    assert c.cmd("EXISTS", "t") == 0
    c.cmd("SADD", "e", "a")
    assert c.cmd("PEXPIRE", "e", "20") == 1
    wait_for(lambda: c.cmd("EXISTS", "e") == 0, what="set expiry")
    assert c.cmd("SISMEMBER", "e", "a") == 0
    c.cmd("SADD", "f", "a")
    assert c.cmd("FLUSHDB") == OK
    assert c.cmd("DBSIZE") == 0


@kvd_only
def test_expiry_with_jump_clock(srv):
    c = srv.conn()
    c.cmd("SADD", "e", "a", "b")
    c.cmd("EXPIRE", "e", "100")
    assert c.cmd("SCARD", "e") == 2
    c.cmd("DEBUG", "JUMP-CLOCK", "101000")
    assert c.cmd("SCARD", "e") == 0
    assert c.cmd("SADD", "e", "x") == 1
    assert c.cmd("TTL", "e") == -1


def test_redis_py_and_cli(srv):
    r = srv.client()
    assert r.sadd("s", "a", "b", "c") == 3
    assert r.smembers("s") == {b"a", b"b", b"c"}
    assert r.sismember("s", "a")
    assert r.smismember("s", ["a", "x"]) == [1, 0]
    assert r.scard("s") == 3
    assert r.srem("s", "c") == 1
    assert r.smove("s", "t", "a")
    assert r.sunion("s", "t") == {b"a", b"b"}
    assert r.sinter("s", "t") == set()
    assert r.sdiff("s", "t") == {b"b"}
    assert r.sinterstore("d", ["s", "t"]) == 0
    assert r.sunionstore("d", ["s", "t"]) == 2
    assert r.sdiffstore("d", ["d", "t"]) == 1
    assert r.spop("d") == b"b"
    assert r.srandmember("s") == b"b"
    assert r.srandmember("t", 2) == [b"a"]
    assert r.sintercard(2, ["s", "t"]) == 0
    cursor, members = r.sscan("s", 0)
    assert cursor == 0 and members == [b"b"]
    assert srv.cli("SADD", "c", "x", "y").strip() == "2"
    assert sorted(srv.cli("SMEMBERS", "c").split()) == ["x", "y"]
    assert srv.cli("SISMEMBER", "c", "x").strip() == "1"
    assert srv.cli("SCARD", "c").strip() == "2"
    out = srv.cli("SRANDMEMBER", "c", "-3", tty=True)
    assert out.count(")") == 3
    assert srv.cli("SPOP", "c", "5").split() in (["x", "y"], ["y", "x"])
    srv.cli("SET", "str", "v")
    assert "WRONGTYPE" in srv.cli("SADD", "str", "x")


def test_random_model(srv):
    """Random SADD/SREM/SMOVE/S*STORE against Python sets, on both servers."""
    c = srv.conn()
    rnd = random.Random(8)
    keys = ["k0", "k1", "k2"]
    ref = {k: set() for k in keys}
    universe = [b"%d" % i for i in range(40)] + [b"m%d" % i for i in range(40)] + [b"x" * 70]
    for step in range(1500):
        k, k2, k3 = (rnd.choice(keys) for _ in range(3))
        m = rnd.choice(universe)
        op = rnd.randrange(7)
        if op <= 1:
            ms = rnd.sample(universe, rnd.randrange(1, 4))
            assert c.cmd("SADD", k, *ms) == len(set(ms) - ref[k])
            ref[k] |= set(ms)
        elif op == 2:
            assert c.cmd("SREM", k, m) == (m in ref[k])
            ref[k].discard(m)
        elif op == 3:
            moved = m in ref[k]
            assert c.cmd("SMOVE", k, k2, m) == moved
            if moved and k != k2:
                ref[k].discard(m)
                ref[k2].add(m)
        elif op == 4:
            res = ref[k2] & ref[k3]
            assert c.cmd("SINTERSTORE", k, k2, k3) == len(res)
            ref[k] = set(res)
        elif op == 5:
            res = ref[k2] | ref[k3]
            assert c.cmd("SUNIONSTORE", k, k2, k3) == len(res)
            ref[k] = set(res)
        else:
            res = ref[k2] - ref[k3]
            assert c.cmd("SDIFFSTORE", k, k2, k3) == len(res)
            ref[k] = set(res)
        if step % 100 == 0:
            for key in keys:
                assert set(c.cmd("SMEMBERS", key)) == ref[key]
                assert c.cmd("EXISTS", key) == (1 if ref[key] else 0)
    for key in keys:
        assert set(c.cmd("SMEMBERS", key)) == ref[key]
