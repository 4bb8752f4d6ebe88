"""Lists (non-blocking commands): pushes, pops with counts, indexes,
ranges, LREM/LINSERT/LPOS/LMOVE/LMPOP, error wording, encodings and their
conversion both ways, and lists meeting the keyspace commands."""

import random

from harness import Err, OK, Status, kvd_only, wait_for

WRONGTYPE = Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Err(b"ERR syntax error")
NOT_INT = Err(b"ERR value is not an integer or out of range")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def test_push_pop_basic(srv):
    c = srv.conn()
    assert c.cmd("RPUSH", "l", "a", "b", "c") == 3
    assert c.cmd("LPUSH", "l", "x", "y") == 5
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"y", b"x", b"a", b"b", b"c"]
    assert c.cmd("LLEN", "l") == 5
    assert c.cmd("LPOP", "l") == b"y"
    assert c.cmd("RPOP", "l") == b"c"
    assert c.cmd("LPOP", "l", "2") == [b"x", b"a"]
    assert c.cmd("RPUSH", "l", "d", "e") == 3
    assert c.cmd("RPOP", "l", "2") == [b"e", b"d"]
    assert c.cmd("LPOP", "l", "0") == []
    assert c.cmd("LPOP", "l", "10") == [b"b"]
    assert c.cmd("EXISTS", "l") == 0
    assert c.cmd("LPOP", "l") is None
    assert c.cmd("LPOP", "l", "0") is None
    assert c.cmd("LPOP", "l", "2") is None
    assert c.cmd("LPOP", "l", "-1") == Err(b"ERR value is out of range, must be positive")
    assert c.cmd("LPOP", "l", "x") == Err(b"ERR value is out of range, must be positive")
    assert c.cmd("LPOP", "l", "1", "2") == arity("lpop")
    assert c.cmd("LPUSHX", "l", "a") == 0
    assert c.cmd("RPUSHX", "l", "a") == 0
    assert c.cmd("EXISTS", "l") == 0
    c.cmd("RPUSH", "l", "a")
    assert c.cmd("LPUSHX", "l", "b", "c") == 3
    assert c.cmd("RPUSHX", "l", "d") == 4
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"c", b"b", b"a", b"d"]
    assert c.cmd("LLEN", "nokey") == 0
    assert c.cmd("LPUSH", "l") == arity("lpush")


def test_raw_null_shapes(srv):
    assert srv.raw(b"LPOP nokey\r\nLPOP nokey 2\r\nLMPOP 1 nokey LEFT\r\nLPOS nokey a\r\n"
                   b"LPOS nokey a COUNT 0\r\nLINDEX nokey 0\r\nLRANGE nokey 0 -1\r\n", replies=7) == \
        b"$-1\r\n*-1\r\n*-1\r\n$-1\r\n*0\r\n$-1\r\n*0\r\n"
    assert srv.raw(b"HELLO 3\r\nLPOP nokey\r\nLPOP nokey 2\r\nLMPOP 1 nokey LEFT\r\n",
                   replies=4).endswith(b"_\r\n_\r\n_\r\n")


def test_wrongtype_everywhere(srv):
    c = srv.conn()
    c.cmd("SET", "s", "x")
    c.cmd("RPUSH", "l", "a")
    for args in (("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
                 ("LPOP", "s"), ("RPOP", "s", "2"), ("LLEN", "s"), ("LINDEX", "s", "0"),
                 ("LSET", "s", "0", "x"), ("LRANGE", "s", "0", "-1"), ("LTRIM", "s", "0", "1"),
                 ("LREM", "s", "0", "a"), ("LINSERT", "s", "BEFORE", "a", "b"), ("LPOS", "s", "a"),
                 ("LMOVE", "s", "l", "LEFT", "LEFT"), ("LMOVE", "l", "s", "LEFT", "LEFT"),
                 ("RPOPLPUSH", "s", "l"), ("RPOPLPUSH", "l", "s"), ("LMPOP", "1", "s", "LEFT"),
                 ("LMPOP", "2", "s", "l", "LEFT"), ("BLPOP", "s", "0"), ("BRPOP", "s", "l", "0"),
                 ("BLMOVE", "s", "l", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "l", "s", "0"),
                 ("BLMPOP", "0", "1", "s", "LEFT")):
        assert c.cmd(*args) == WRONGTYPE, args
    # nothing was moved out of l by the failed moves
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"a"]
    # a non-empty list before the wrong type: served from the list
    c.cmd("RPUSH", "l2", "z")
    assert c.cmd("LMPOP", "2", "l2", "s", "LEFT") == [b"l2", [b"z"]]
    assert c.cmd("HSET", "l", "f", "v") == WRONGTYPE


def test_lindex_lset(srv):
    c = srv.conn()
    c.cmd("RPUSH", "l", "a", "b", "c")
    assert c.cmd("LINDEX", "l", "0") == b"a"
    assert c.cmd("LINDEX", "l", "-1") == b"c"
    assert c.cmd("LINDEX", "l", "-3") == b"a"
    assert c.cmd("LINDEX", "l", "3") is None
    assert c.cmd("LINDEX", "l", "-4") is None
    assert c.cmd("LINDEX", "l", "x") == NOT_INT
    assert c.cmd("LSET", "l", "1", "B") == OK
    assert c.cmd("LSET", "l", "-1", "C") == OK
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"a", b"B", b"C"]
    assert c.cmd("LSET", "l", "3", "x") == Err(b"ERR index out of range")
    assert c.cmd("LSET", "nokey", "0", "x") == Err(b"ERR no such key")
    assert c.cmd("LSET", "l", "x", "x") == NOT_INT


def test_lrange_ltrim(srv):
    c = srv.conn()
    items = [b"%d" % i for i in range(10)]
    c.cmd("RPUSH", "l", *items)
    for s, e in ((0, -1), (2, 5), (-3, -1), (-100, 100), (5, 2), (9, 9), (10, 20), (-1, -2), (0, 0)):
        want = items[s if s >= 0 else max(0, 10 + s):(e + 1 if e >= 0 else 10 + e + 1) or None] \
            if True else None
        # compute as Redis does
        ss = s + 10 if s < 0 else s
        ee = e + 10 if e < 0 else e
        ss = max(ss, 0)
        want = [] if ss > ee or ss >= 10 else items[ss:min(ee, 9) + 1]
        assert c.cmd("LRANGE", "l", str(s), str(e)) == want, (s, e)
    assert c.cmd("LRANGE", "l", "a", "1") == NOT_INT
    assert c.cmd("LTRIM", "l", "2", "-3") == OK
    assert c.cmd("LRANGE", "l", "0", "-1") == items[2:8]
    assert c.cmd("LTRIM", "l", "1", "1") == OK
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"3"]
    assert c.cmd("LTRIM", "l", "5", "1") == OK
    assert c.cmd("EXISTS", "l") == 0
    assert c.cmd("LTRIM", "nokey", "0", "1") == OK
    assert c.cmd("LTRIM", "l", "a", "1") == NOT_INT


def test_lrem(srv):
    c = srv.conn()
    c.cmd("RPUSH", "l", "a", "b", "a", "c", "a", "b")
    assert c.cmd("LREM", "l", "1", "a") == 1
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"b", b"a", b"c", b"a", b"b"]
    assert c.cmd("LREM", "l", "-1", "b") == 1
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"b", b"a", b"c", b"a"]
    assert c.cmd("LREM", "l", "0", "a") == 2
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"b", b"c"]
    assert c.cmd("LREM", "l", "0", "zz") == 0
    assert c.cmd("LREM", "l", "0", "b") == 1
    assert c.cmd("LREM", "l", "-5", "c") == 1
    assert c.cmd("EXISTS", "l") == 0
    assert c.cmd("LREM", "nokey", "0", "a") == 0
    assert c.cmd("LREM", "l", "x", "a") == NOT_INT


def test_linsert(srv):
    c = srv.conn()
    c.cmd("RPUSH", "l", "a", "c")
    assert c.cmd("LINSERT", "l", "BEFORE", "c", "b") == 3
    assert c.cmd("LINSERT", "l", "after", "c", "d") == 4
    assert c.cmd("LINSERT", "l", "before", "a", "0") == 5
    assert c.cmd("LINSERT", "l", "before", "zz", "x") == -1
    assert c.cmd("LRANGE", "l", "0", "-1") == [b"0", b"a", b"b", b"c", b"d"]
    assert c.cmd("LINSERT", "nokey", "before", "a", "x") == 0
    assert c.cmd("LINSERT", "l", "middle", "a", "x") == SYNTAX
    assert c.cmd("EXISTS", "nokey") == 0


def test_lpos(srv):
    c = srv.conn()
    c.cmd("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert c.cmd("LPOS", "l", "c") == 2
    assert c.cmd("LPOS", "l", "c", "RANK", "2") == 6
    assert c.cmd("LPOS", "l", "c", "RANK", "-1") == 7
    assert c.cmd("LPOS", "l", "c", "RANK", "-3") == 2
    assert c.cmd("LPOS", "l", "c", "RANK", "4") is None
    assert c.cmd("LPOS", "l", "c", "COUNT", "0") == [2, 6, 7]
    assert c.cmd("LPOS", "l", "c", "COUNT", "2") == [2, 6]
    assert c.cmd("LPOS", "l", "c", "COUNT", "2", "RANK", "-1") == [7, 6]
    assert c.cmd("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7") == [2, 6]
    assert c.cmd("LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1") == 7
    assert c.cmd("LPOS", "l", "c", "RANK", "-1", "MAXLEN", "3", "COUNT", "0") == [7, 6]
    assert c.cmd("LPOS", "l", "zz", "COUNT", "0") == []
    assert c.cmd("LPOS", "l", "zz") is None
    assert c.cmd("LPOS", "l", "c", "RANK", "0") == Err(
        b"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        b"or use negative to start from the end of the list")
    assert c.cmd("LPOS", "l", "c", "COUNT", "-1") == Err(b"ERR COUNT can't be negative")
    assert c.cmd("LPOS", "l", "c", "MAXLEN", "-1") == Err(b"ERR MAXLEN can't be negative")
    assert c.cmd("LPOS", "l", "c", "RANK", "x") == NOT_INT
    assert c.cmd("LPOS", "l", "c", "FOO") == SYNTAX
    assert c.cmd("LPOS", "l", "c", "RANK") == SYNTAX
    # no overflow at the extreme rank
    assert c.cmd("LPOS", "l", "c", "RANK", "-9223372036854775808") == 7
    assert c.cmd("LPOS", "l", "c", "RANK", "9223372036854775807") is None


def test_lmove_rpoplpush(srv):
    c = srv.conn()
    c.cmd("RPUSH", "src", "a", "b", "c")
    assert c.cmd("RPOPLPUSH", "src", "dst") == b"c"
    assert c.cmd("LMOVE", "src", "dst", "LEFT", "RIGHT") == b"a"
    assert c.cmd("LRANGE", "dst", "0", "-1") == [b"c", b"a"]
    assert c.cmd("LMOVE", "src", "dst", "left", "left") == b"b"
    assert c.cmd("EXISTS", "src") == 0
    assert c.cmd("LMOVE", "src", "dst", "LEFT", "LEFT") is None
    assert c.cmd("LMOVE", "dst", "dst", "LEFT", "RIGHT") == b"b"  # rotation
    assert c.cmd("LRANGE", "dst", "0", "-1") == [b"c", b"a", b"b"]
    c.cmd("RPUSH", "one", "x")
    assert c.cmd("RPOPLPUSH", "one", "one") == b"x"
    assert c.cmd("LRANGE", "one", "0", "-1") == [b"x"]
    assert c.cmd("LMOVE", "dst", "x", "UP", "LEFT") == SYNTAX
    assert c.cmd("LMOVE", "dst", "x", "LEFT", "DOWN") == SYNTAX


def test_lmpop(srv):
    c = srv.conn()
    c.cmd("RPUSH", "b", "1", "2", "3")
    assert c.cmd("LMPOP", "2", "a", "b", "LEFT") == [b"b", [b"1"]]
    assert c.cmd("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "5") == [b"b", [b"3", b"2"]]
    assert c.cmd("EXISTS", "b") == 0
    assert c.cmd("LMPOP", "2", "a", "b", "LEFT") is None
    for args, err in ((("0", "a", "LEFT"), b"ERR numkeys should be greater than 0"),
                      (("x", "a", "LEFT"), b"ERR numkeys should be greater than 0"),
                      (("2", "a", "LEFT"), b"ERR syntax error"),
                      (("1", "a", "UP"), b"ERR syntax error"),
                      (("1", "a", "LEFT", "COUNT", "0"), b"ERR count should be greater than 0"),
                      (("1", "a", "LEFT", "COUNT", "1", "COUNT", "2"), b"ERR syntax error"),
                      (("1", "a", "LEFT", "FOO"), b"ERR syntax error")):
        assert c.cmd("LMPOP", *args) == Err(err), args


def test_list_binary_and_large(srv):
    r = srv.client()
    blob = bytes(range(256)) * 4
    r.rpush("l", blob, b"", b"\x00\r\n")
    assert r.lrange("l", 0, -1) == [blob, b"", b"\x00\r\n"]
    big = b"y" * (3 << 20)
    r.lpush("l", big)
    assert r.lindex("l", 0) == big
    assert r.lpos("l", b"\x00\r\n") == 3
    assert r.rpop("l") == b"\x00\r\n"
    assert r.lpop("l") == big
    assert r.llen("l") == 2


@kvd_only
def test_list_encoding_conversion(srv):
    """Redis 7.0 calls every list a quicklist; kvd (as Redis 7.2) reports
    listpack while the list is small."""
    c = srv.conn()
    assert c.cmd("CONFIG", "SET", "list-max-listpack-size", "4") == OK
    try:
        c.cmd("RPUSH", "l", "a", "b", "c", "d")
        assert c.cmd("OBJECT", "ENCODING", "l") == b"listpack"
        c.cmd("RPUSH", "l", "e")
        assert c.cmd("OBJECT", "ENCODING", "l") == b"quicklist"
        assert c.cmd("LRANGE", "l", "0", "-1") == [b"a", b"b", b"c", b"d", b"e"]
        c.cmd("RPOP", "l", "2")
        assert c.cmd("OBJECT", "ENCODING", "l") == b"quicklist"  # 3 > 4/2
        c.cmd("RPOP", "l")
        assert c.cmd("OBJECT", "ENCODING", "l") == b"listpack"  # back at half the limit
        assert c.cmd("LRANGE", "l", "0", "-1") == [b"a", b"b"]
        # LINSERT and LSET past the limits
        c.cmd("RPUSH", "l", "c", "d")
        c.cmd("LINSERT", "l", "BEFORE", "a", "z")
        assert c.cmd("OBJECT", "ENCODING", "l") == b"quicklist"
        assert c.cmd("LRANGE", "l", "0", "-1") == [b"z", b"a", b"b", b"c", b"d"]
        # a size limit: -1 is 4 KiB
        c.cmd("CONFIG", "SET", "list-max-listpack-size", "-1")
        c.cmd("RPUSH", "s", "x" * 1000)
        assert c.cmd("OBJECT", "ENCODING", "s") == b"listpack"
        c.cmd("LSET", "s", "0", "x" * 5000)
        assert c.cmd("OBJECT", "ENCODING", "s") == b"quicklist"
        assert c.cmd("LINDEX", "s", "0") == b"x" * 5000
        c.cmd("CONFIG", "SET", "list-max-listpack-size", "-2")
        c.cmd("RPUSH", "t", "small")
        assert c.cmd("OBJECT", "ENCODING", "t") == b"listpack"
        c.cmd("RPUSH", "t", "y" * 9000)
        assert c.cmd("OBJECT", "ENCODING", "t") == b"quicklist"
    finally:
        c.cmd("CONFIG", "SET", "list-max-listpack-size", "-2")


def test_list_model_random_ops(srv):
    """Random list commands against a Python list, with a small listpack
    limit so the list converts back and forth."""
    c = srv.conn()
    c.cmd("CONFIG", "SET", "list-max-listpack-size", "8")
    try:
        rnd = random.Random(7)
        m = []
        for i in range(3000):
            op = rnd.randrange(12)
            v = b"%d" % rnd.randrange(20)
            if op == 0:
                n = rnd.randrange(1, 6)
                vals = [b"%d" % rnd.randrange(20) for _ in range(n)]
                assert c.cmd("LPUSH", "l", *vals) == len(m) + n
                m[0:0] = vals[::-1]
            elif op == 1:
                n = rnd.randrange(1, 6)
                vals = [b"%d" % rnd.randrange(20) for _ in range(n)]
                assert c.cmd("RPUSH", "l", *vals) == len(m) + n
                m.extend(vals)
            elif op == 2:
                n = rnd.randrange(1, 4)
                r = c.cmd("LPOP", "l", n)
                assert r == (m[:n] if m else None)
                del m[:n]
            elif op == 3:
                r = c.cmd("RPOP", "l")
                assert r == (m.pop() if m else None)
            elif op == 4 and m:
                idx = rnd.randrange(-len(m), len(m))
                assert c.cmd("LSET", "l", idx, v) == OK
                m[idx] = v
            elif op == 5:
                cnt = rnd.randrange(-2, 3)
                r = c.cmd("LREM", "l", cnt, v)
                idxs = [i for i, x in enumerate(m) if x == v]
                if cnt < 0:
                    idxs = idxs[::-1][:-cnt]
                elif cnt > 0:
                    idxs = idxs[:cnt]
                assert r == len(idxs)
                for i in sorted(idxs, reverse=True):
                    del m[i]
            elif op == 6:
                pivot = b"%d" % rnd.randrange(20)
                where = rnd.choice(["BEFORE", "AFTER"])
                r = c.cmd("LINSERT", "l", where, pivot, v)
                if not m:
                    assert r == 0
                elif pivot not in m:
                    assert r == -1
                else:
                    i = m.index(pivot)
                    m.insert(i if where == "BEFORE" else i + 1, v)
                    assert r == len(m)
            elif op == 7 and len(m) > 4:
                s, e = rnd.randrange(0, 3), rnd.randrange(-3, 0)
                assert c.cmd("LTRIM", "l", s, e) == OK
                m = m[s:len(m) + e + 1]
            elif op == 8:
                idx = rnd.randrange(-20, 20)
                want = m[idx] if -len(m) <= idx < len(m) else None
                assert c.cmd("LINDEX", "l", idx) == want
            elif op == 9:
                want = [i for i, x in enumerate(m) if x == v]
                assert c.cmd("LPOS", "l", v, "COUNT", "0") == want
            elif op == 10 and m:
                assert c.cmd("LMOVE", "l", "l", "LEFT", "RIGHT") == m[0]
                m.append(m.pop(0))
            elif op == 11 and m:
                assert c.cmd("RPOPLPUSH", "l", "l") == m[-1]
                m.insert(0, m.pop())
            if i % 50 == 0:
                assert c.cmd("LRANGE", "l", "0", "-1") == m
                assert c.cmd("LLEN", "l") == len(m)
                assert c.cmd("EXISTS", "l") == (1 if m else 0)
        assert c.cmd("LRANGE", "l", "0", "-1") == m
    finally:
        c.cmd("CONFIG", "SET", "list-max-listpack-size", "-2")


def test_big_list(srv):
    c = srv.conn()
    n = 20000
    for i in range(0, n, 1000):
        c.cmd("RPUSH", "l", *[b"%d" % j for j in range(i, i + 1000)])
    assert c.cmd("LLEN", "l") == n
    assert c.cmd("LINDEX", "l", "12345") == b"12345"
    assert c.cmd("LRANGE", "l", "100", "104") == [b"100", b"101", b"102", b"103", b"104"]
    assert c.cmd("LRANGE", "l", "-2", "-1") == [b"19998", b"19999"]
    assert c.cmd("LINSERT", "l", "AFTER", "10000", "new") == n + 1
    assert c.cmd("LINDEX", "l", "10001") == b"new"
    assert c.cmd("LREM", "l", "0", "new") == 1
    assert c.cmd("LPOS", "l", "15000") == 15000
    assert c.cmd("LTRIM", "l", "10", "-11") == OK
    assert c.cmd("LLEN", "l") == n - 20
    assert c.cmd("LPOP", "l", "3") == [b"10", b"11", b"12"]


def test_list_keyspace_commands(srv):
    c = srv.conn()
    c.cmd("RPUSH", "l", "a", "b")
    assert c.cmd("TYPE", "l") == Status(b"list")
    c.cmd("SET", "s", "x")
    cur, keys = c.cmd("SCAN", "0", "TYPE", "list", "COUNT", "1000")
    assert keys == [b"l"]
    assert c.cmd("RENAME", "l", "l2") == OK
    assert c.cmd("COPY", "l2", "l3") == 1
    c.cmd("RPUSH", "l3", "c")
    assert c.cmd("LRANGE", "l2", "0", "-1") == [b"a", b"b"]
    assert c.cmd("LRANGE", "l3", "0", "-1") == [b"a", b"b", b"c"]
    assert c.cmd("MOVE", "l3", "2") == 1
    c.cmd("SELECT", "2")
    assert c.cmd("LLEN", "l3") == 3
    c.cmd("FLUSHDB")
    c.cmd("SELECT", "0")
    c.cmd("PEXPIRE", "l2", "30")
    wait_for(lambda: c.cmd("EXISTS", "l2") == 0, what="list expiry")
    big = ["x%d" % i for i in range(500)]
    c.cmd("RPUSH", "big", *big)
    assert c.cmd("COPY", "big", "big2") == 1
    assert c.cmd("LRANGE", "big2", "0", "-1") == [x.encode() for x in big]
    assert c.cmd("DEL", "big", "big2") == 2


def test_list_python_and_cli(srv):
    r = srv.client()
    assert r.rpush("q", "one", "two") == 2
    assert r.lrange("q", 0, -1) == [b"one", b"two"]
    assert r.lpop("q") == b"one"
    assert srv.cli("RPUSH", "q", "three").strip() == "2"
    assert srv.cli("LRANGE", "q", "0", "-1", tty=True) == '1) "two"\n2) "three"\n'
    assert srv.cli("LPOP", "nokey", tty=True) == "(nil)\n"


def test_check_order_as_redis(srv):
    """Which check answers first when two fail (found by the differential
    test): LINDEX and LSET look at the key before the index, LPOS words a
    bad COUNT or MAXLEN as a negative one."""
    c = srv.conn()
    assert c.cmd("SET", "s", "x") == OK
    assert c.cmd("LINDEX", "s", "nan") == WRONGTYPE
    assert c.cmd("LINDEX", "missing", "nan") is None
    assert c.cmd("LSET", "s", "nan", "v") == WRONGTYPE
    assert c.cmd("LSET", "missing", "nan", "v") == Err(b"ERR no such key")
    assert c.cmd("RPUSH", "l", "a") == 1
    assert c.cmd("LINDEX", "l", "nan") == NOT_INT
    assert c.cmd("LSET", "l", "nan", "v") == NOT_INT
    assert c.cmd("LPOS", "l", "a", "COUNT", "1.5") == Err(b"ERR COUNT can't be negative")
    assert c.cmd("LPOS", "l", "a", "MAXLEN", "x") == Err(b"ERR MAXLEN can't be negative")
    assert c.cmd("LPOS", "l", "a", "RANK", "x") == NOT_INT
