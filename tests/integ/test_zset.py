"""Sorted sets: every command through a raw RESP connection (exact replies,
RESP2 and RESP3 shapes: doubles, [member, score] pairs), Redis's score
parsing and formatting, range syntax (exclusive, infinite, lex), LIMIT,
WEIGHTS/AGGREGATE, NaN refusals, ZRANDMEMBER counts, encodings and their
conversions, redis-py and redis-cli, and sorted sets meeting the keyspace
commands. Passes against redis-server 7.0 too, but for the kvd-only tests
(ZRANK WITHSCORE is Redis 7.2)."""

import math
import random

from harness import Err, OK, RespSet, Status, kvd_only, wait_for

KVD_ARGS = ["--enable-debug-command", "yes"]

WRONGTYPE = Err(b"WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = Err(b"ERR syntax error")
NOT_INT = Err(b"ERR value is not an integer or out of range")
NOT_FLOAT = Err(b"ERR value is not a valid float")
MINMAX = Err(b"ERR min or max is not a float")
LEXRANGE = Err(b"ERR min or max not valid string range item")
POSITIVE = Err(b"ERR value is out of range, must be positive")
NAN = Err(b"ERR resulting score is not a number (NaN)")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def test_zadd_options(srv):
    c = srv.conn()
    assert c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c") == 3
    assert c.cmd("ZADD", "z", "1", "a") == 0
    assert c.cmd("ZADD", "z", "CH", "5", "a", "2", "b", "9", "d") == 2
    assert c.cmd("ZADD", "z", "NX", "0", "a", "0", "e") == 1
    assert c.cmd("ZSCORE", "z", "a") == b"5"
    assert c.cmd("ZADD", "z", "XX", "7", "a", "7", "nope") == 0
    assert c.cmd("ZSCORE", "z", "a") == b"7" and c.cmd("ZSCORE", "z", "nope") is None
    assert c.cmd("ZADD", "z", "GT", "CH", "1", "a", "8", "b") == 1
    assert c.cmd("ZADD", "z", "LT", "CH", "100", "a", "1", "b") == 1
    assert c.cmd("ZADD", "z", "XX", "GT", "CH", "10", "a") == 1
    assert c.cmd("ZADD", "z", "NX", "XX", "1", "a") == Err(b"ERR XX and NX options at the same time are not compatible")
    assert c.cmd("ZADD", "z", "GT", "LT", "1", "a") == \
        Err(b"ERR GT, LT, and/or NX options at the same time are not compatible")
    assert c.cmd("ZADD", "z", "NX", "GT", "1", "a") == \
        Err(b"ERR GT, LT, and/or NX options at the same time are not compatible")
    assert c.cmd("ZADD", "z", "INCR", "1", "a", "2", "b") == \
        Err(b"ERR INCR option supports a single increment-element pair")
    assert c.cmd("ZADD", "z", "1") == arity("zadd")
    assert c.cmd("ZADD", "z", "1", "a", "2") == SYNTAX
    assert c.cmd("ZADD", "z", "x", "a") == NOT_FLOAT
    assert c.cmd("ZADD", "z", "nan", "a") == NOT_FLOAT
    assert c.cmd("ZADD", "z", " 1", "a") == NOT_FLOAT
    assert c.cmd("ZADD", "z", "") == arity("zadd")
    assert c.cmd("ZADD", "z", "1", "ok", "x", "bad") == NOT_FLOAT
    assert c.cmd("ZSCORE", "z", "ok") is None  # all or nothing
    assert c.cmd("ZADD", "z", "INCR", "2.5", "a") == b"12.5"
    assert c.cmd("ZADD", "z", "INCR", "XX", "1", "nope") is None
    assert c.cmd("ZADD", "z", "INCR", "NX", "1", "a") is None
    assert c.cmd("ZADD", "z", "INCR", "GT", "-1", "a") is None
    assert c.cmd("ZADD", "nokey", "XX", "1", "a") == 0
    assert c.cmd("EXISTS", "nokey") == 0
    assert c.cmd("ZADD", "z", "+inf", "i", "-inf", "j", "1e3", "k", "0x10", "h") == 4
    assert c.cmd("ZSCORE", "z", "i") == b"inf"
    assert c.cmd("ZSCORE", "z", "j") == b"-inf"
    assert c.cmd("ZSCORE", "z", "k") == b"1000"
    assert c.cmd("ZSCORE", "z", "h") == b"16"
    assert c.cmd("ZADD", "z", "INCR", "-inf", "i") == NAN
    assert c.cmd("ZINCRBY", "z", "+inf", "j") == NAN
    assert c.cmd("ZSCORE", "z", "i") == b"inf"


def test_zincrby_zrem_zcard(srv):
    c = srv.conn()
    assert c.cmd("ZINCRBY", "z", "1.5", "a") == b"1.5"
    assert c.cmd("ZINCRBY", "z", "0.1", "a") == b"1.6000000000000001"
    assert c.cmd("ZINCRBY", "z", "x", "a") == NOT_FLOAT
    assert c.cmd("ZINCRBY", "z", "1") == arity("zincrby")
    assert c.cmd("ZADD", "z", "2", "b", "3", "c") == 2
    assert c.cmd("ZCARD", "z") == 3
    assert c.cmd("ZCARD", "nokey") == 0
    assert c.cmd("ZREM", "z", "a", "x") == 1
    assert c.cmd("ZREM", "nokey", "a") == 0
    assert c.cmd("ZREM", "z", "b", "c") == 2
    assert c.cmd("EXISTS", "z") == 0


def test_score_formatting(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "0.1", "a", "1e20", "b", "-2.5", "c", "3", "d", "1.7976931348623157e308", "e",
          "5e-324", "f")
    assert c.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES") == [
        b"c", b"-2.5", b"f", b"4.9406564584124654e-324", b"a", b"0.10000000000000001", b"d", b"3",
        b"b", b"1e+20", b"e", b"1.7976931348623157e+308"]
    assert c.cmd("ZADD", "z", "1e400", "x") == NOT_FLOAT
    c.cmd("HELLO", "3")
    assert c.cmd("ZSCORE", "z", "a") == 0.1
    assert srv.raw(b"HELLO 3\r\nZSCORE z a\r\nZSCORE z nope\r\n", replies=3).endswith(
        b",0.10000000000000001\r\n_\r\n")


def test_zscore_zmscore_zrank(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert c.cmd("ZMSCORE", "z", "a", "nope", "c") == [b"1", None, b"3"]
    assert c.cmd("ZMSCORE", "nokey", "a", "b") == [None, None]
    assert c.cmd("ZMSCORE", "z") == arity("zmscore")
    assert c.cmd("ZRANK", "z", "a") == 0
    assert c.cmd("ZRANK", "z", "c") == 2
    assert c.cmd("ZREVRANK", "z", "c") == 0
    assert c.cmd("ZRANK", "z", "nope") is None
    assert c.cmd("ZRANK", "nokey", "a") is None
    assert c.cmd("ZREVRANK", "nokey", "a") is None


@kvd_only
def test_zrank_withscore(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1.5", "a", "2", "b")
    assert c.cmd("ZRANK", "z", "b", "WITHSCORE") == [1, b"2"]
    assert c.cmd("ZREVRANK", "z", "b", "WITHSCORE") == [0, b"2"]
    assert c.cmd("ZRANK", "z", "nope", "WITHSCORE") is None
    assert c.cmd("ZRANK", "z", "a", "FOO") == SYNTAX
    assert c.cmd("ZRANK", "z", "a", "WITHSCORE", "x") == arity("zrank")
    assert srv.raw(b"ZRANK z nope WITHSCORE\r\nHELLO 3\r\nZRANK z a WITHSCORE\r\nZRANK z nope WITHSCORE\r\n",
                   replies=4).startswith(b"*-1\r\n")
    c.cmd("HELLO", "3")
    assert c.cmd("ZRANK", "z", "a", "WITHSCORE") == [0, 1.5]


def test_zrange_rank(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    assert c.cmd("ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c", b"d"]
    assert c.cmd("ZRANGE", "z", "1", "2", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert c.cmd("ZRANGE", "z", "-2", "100") == [b"c", b"d"]
    assert c.cmd("ZRANGE", "z", "-100", "0") == [b"a"]
    assert c.cmd("ZRANGE", "z", "3", "1") == []
    assert c.cmd("ZRANGE", "z", "5", "10") == []
    assert c.cmd("ZRANGE", "z", "0", "1", "REV") == [b"d", b"c"]
    assert c.cmd("ZREVRANGE", "z", "0", "1", "WITHSCORES") == [b"d", b"4", b"c", b"3"]
    assert c.cmd("ZRANGE", "z", "0", "x") == NOT_INT
    assert c.cmd("ZRANGE", "z", "0", "1", "FOO") == SYNTAX
    assert c.cmd("ZRANGE", "z", "0", "1", "LIMIT", "0", "1") == \
        Err(b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    assert c.cmd("ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1") == \
        Err(b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    assert c.cmd("ZREVRANGE", "z", "0", "1", "REV") == SYNTAX
    assert c.cmd("ZRANGE", "nokey", "0", "-1") == []
    assert c.cmd("ZRANGE", "z", "0") == arity("zrange")


def test_zrange_byscore(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "-inf", "m", "inf", "p")
    assert c.cmd("ZRANGE", "z", "(1", "3", "BYSCORE") == [b"b", b"c"]
    assert c.cmd("ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2") == [b"a", b"b"]
    assert c.cmd("ZRANGE", "z", "+inf", "(2", "BYSCORE", "REV", "WITHSCORES") == \
        [b"p", b"inf", b"d", b"4", b"c", b"3"]
    assert c.cmd("ZRANGEBYSCORE", "z", "2", "(4", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert c.cmd("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2") == []
    assert c.cmd("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "4", "-1") == [b"d", b"p"]
    assert c.cmd("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "0") == []
    assert c.cmd("ZRANGEBYSCORE", "z", "(", "2") == [b"a", b"b"]   # "(" is exclusive 0
    assert c.cmd("ZRANGEBYSCORE", "z", " 3", "3") == [b"c"]         # strtod takes leading blanks
    assert c.cmd("ZRANGEBYSCORE", "z", "3", "1") == []
    assert c.cmd("ZRANGEBYSCORE", "z", "(3", "3") == []
    assert c.cmd("ZRANGEBYSCORE", "z", "x", "3") == MINMAX
    assert c.cmd("ZRANGEBYSCORE", "z", "1", "nan") == MINMAX
    assert c.cmd("ZRANGEBYSCORE", "z", "1", "2", "REV") == SYNTAX
    assert c.cmd("ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "1") == SYNTAX
    assert c.cmd("ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "x", "1") == NOT_INT
    assert c.cmd("ZREVRANGEBYSCORE", "z", "3", "1") == [b"c", b"b", b"a"]
    assert c.cmd("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2", "WITHSCORES") == \
        [b"d", b"4", b"c", b"3"]
    assert c.cmd("ZCOUNT", "z", "-inf", "+inf") == 6
    assert c.cmd("ZCOUNT", "z", "(1", "(4") == 2
    assert c.cmd("ZCOUNT", "z", "x", "1") == MINMAX
    assert c.cmd("ZCOUNT", "nokey", "0", "1") == 0


def test_zrange_bylex(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "0", "a", "0", "aa", "0", "ab", "0", "b", "0", "c")
    assert c.cmd("ZRANGE", "z", "[aa", "(b", "BYLEX") == [b"aa", b"ab"]
    assert c.cmd("ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "1", "2") == [b"aa", b"ab"]
    assert c.cmd("ZRANGE", "z", "+", "[b", "BYLEX", "REV") == [b"c", b"b"]
    assert c.cmd("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == \
        Err(b"ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    assert c.cmd("ZRANGEBYLEX", "z", "-", "(ab") == [b"a", b"aa"]
    assert c.cmd("ZRANGEBYLEX", "z", "a", "+") == LEXRANGE
    assert c.cmd("ZRANGEBYLEX", "z", "-a", "+") == LEXRANGE
    assert c.cmd("ZRANGEBYLEX", "z", "+", "-") == []
    assert c.cmd("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "0", "2") == [b"c", b"b"]
    assert c.cmd("ZREVRANGEBYLEX", "z", "[ab", "[a") == [b"ab", b"aa", b"a"]
    assert c.cmd("ZLEXCOUNT", "z", "[a", "[b") == 4
    assert c.cmd("ZLEXCOUNT", "z", "-", "+") == 5
    assert c.cmd("ZLEXCOUNT", "z", "x", "+") == LEXRANGE
    assert c.cmd("ZLEXCOUNT", "nokey", "-", "+") == 0


def test_zrangestore(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert c.cmd("ZRANGESTORE", "d", "z", "0", "1") == 2
    assert c.cmd("ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
    assert c.cmd("ZRANGESTORE", "d", "z", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "1") == 1
    assert c.cmd("ZRANGE", "d", "0", "-1") == [b"c"]
    assert c.cmd("ZRANGESTORE", "d", "z", "[b", "+", "BYLEX") == 2
    assert c.cmd("ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES") == SYNTAX
    assert c.cmd("ZRANGESTORE", "d", "z", "5", "10") == 0
    assert c.cmd("EXISTS", "d") == 0
    c.cmd("SET", "d", "v")
    assert c.cmd("ZRANGESTORE", "d", "nokey", "0", "-1") == 0
    assert c.cmd("EXISTS", "d") == 0
    assert c.cmd("ZRANGESTORE", "z", "z", "0", "0") == 1
    assert c.cmd("ZRANGE", "z", "0", "-1") == [b"a"]
    c.cmd("SET", "s", "v")
    assert c.cmd("ZRANGESTORE", "d", "s", "0", "-1") == WRONGTYPE


def test_zremrange(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
    assert c.cmd("ZREMRANGEBYRANK", "z", "0", "0") == 1
    assert c.cmd("ZREMRANGEBYRANK", "z", "-1", "-1") == 1
    assert c.cmd("ZREMRANGEBYRANK", "z", "5", "10") == 0
    assert c.cmd("ZREMRANGEBYRANK", "z", "x", "1") == NOT_INT
    assert c.cmd("ZREMRANGEBYSCORE", "z", "(2", "3") == 1
    assert c.cmd("ZREMRANGEBYSCORE", "z", "x", "3") == MINMAX
    assert c.cmd("ZRANGE", "z", "0", "-1") == [b"b", b"d"]
    assert c.cmd("ZREMRANGEBYLEX", "z", "x", "+") == LEXRANGE
    c.cmd("ZADD", "l", "0", "a", "0", "b", "0", "c")
    assert c.cmd("ZREMRANGEBYLEX", "l", "(a", "+") == 2
    assert c.cmd("ZREMRANGEBYLEX", "l", "-", "+") == 1
    assert c.cmd("EXISTS", "l") == 0
    assert c.cmd("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 2
    assert c.cmd("EXISTS", "z") == 0
    assert c.cmd("ZREMRANGEBYRANK", "nokey", "0", "-1") == 0


def test_zpop_and_zmpop(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
    assert c.cmd("ZPOPMIN", "z") == [b"a", b"1"]
    assert c.cmd("ZPOPMAX", "z") == [b"d", b"4"]
    assert c.cmd("ZPOPMIN", "z", "0") == []
    assert c.cmd("ZPOPMIN", "z", "-1") == POSITIVE
    assert c.cmd("ZPOPMIN", "z", "x") == POSITIVE
    assert c.cmd("ZPOPMIN", "z", "1", "2") == SYNTAX
    assert c.cmd("ZPOPMAX", "z", "10") == [b"c", b"3", b"b", b"2"]
    assert c.cmd("EXISTS", "z") == 0
    assert c.cmd("ZPOPMIN", "z") == []
    assert c.cmd("ZPOPMIN", "z", "3") == []
    c.cmd("ZADD", "z", "1", "a", "2", "b", "3", "c")
    assert c.cmd("ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2") == [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    assert c.cmd("ZMPOP", "1", "z", "MIN") == [b"z", [[b"a", b"1"]]]
    assert c.cmd("ZMPOP", "1", "z", "MIN") is None
    assert c.cmd("ZMPOP", "0", "z", "MIN") == Err(b"ERR numkeys should be greater than 0")
    assert c.cmd("ZMPOP", "x", "z", "MIN") == Err(b"ERR numkeys should be greater than 0")
    assert c.cmd("ZMPOP", "5", "z", "MIN") == SYNTAX
    assert c.cmd("ZMPOP", "1", "z", "FOO") == SYNTAX
    assert c.cmd("ZMPOP", "1", "z", "MIN", "COUNT", "0") == Err(b"ERR count should be greater than 0")
    assert c.cmd("ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1") == SYNTAX
    c.cmd("SET", "s", "v")
    assert c.cmd("ZMPOP", "2", "s", "z", "MIN") == WRONGTYPE
    assert c.cmd("ZPOPMIN", "s") == WRONGTYPE
    assert srv.raw(b"ZMPOP 1 nokey MIN\r\nZPOPMIN nokey\r\nHELLO 3\r\nZMPOP 1 nokey MIN\r\n",
                   replies=4).startswith(b"*-1\r\n*0\r\n")


def test_resp3_pairs(srv):
    c = srv.conn()
    c.cmd("HELLO", "3")
    c.cmd("ZADD", "z", "1", "a", "2.5", "b", "3", "c")
    assert c.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES") == [[b"a", 1.0], [b"b", 2.5], [b"c", 3.0]]
    assert c.cmd("ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c"]
    assert c.cmd("ZRANGEBYSCORE", "z", "2", "3", "WITHSCORES") == [[b"b", 2.5], [b"c", 3.0]]
    assert c.cmd("ZSCORE", "z", "b") == 2.5
    assert c.cmd("ZMSCORE", "z", "a", "x") == [1.0, None]
    assert c.cmd("ZINCRBY", "z", "1", "a") == 2.0
    assert c.cmd("ZADD", "z", "INCR", "1", "a") == 3.0
    assert c.cmd("ZUNION", "1", "z", "WITHSCORES") == [[b"b", 2.5], [b"a", 3.0], [b"c", 3.0]]
    assert c.cmd("ZPOPMIN", "z") == [b"b", 2.5]
    assert c.cmd("ZPOPMIN", "z", "1") == [[b"a", 3.0]]
    assert c.cmd("ZMPOP", "1", "z", "MAX") == [b"z", [[b"c", 3.0]]]
    c.cmd("ZADD", "z", "1", "a")
    r = c.cmd("ZRANDMEMBER", "z", "2", "WITHSCORES")
    assert r == [[b"a", 1.0]]
    assert c.cmd("ZRANDMEMBER", "z", "-2", "WITHSCORES") == [[b"a", 1.0], [b"a", 1.0]]
    # ZSCAN scores stay bulk strings
    assert c.cmd("ZSCAN", "z", "0") == [b"0", [b"a", b"1"]]
    assert srv.raw(b"HELLO 3\r\nZADD z 1 a\r\nZRANGE z 0 -1 WITHSCORES\r\n", replies=3).endswith(
        b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n")


def test_zrandmember(srv):
    c = srv.conn()
    members = [b"m%d" % i for i in range(30)]
    args = []
    for i, m in enumerate(members):
        args += [str(i), m]
    c.cmd("ZADD", "z", *args)
    assert c.cmd("ZRANDMEMBER", "z") in members
    assert c.cmd("ZRANDMEMBER", "nokey") is None
    assert c.cmd("ZRANDMEMBER", "nokey", "3") == []
    assert c.cmd("ZRANDMEMBER", "z", "0") == []
    for n in (1, 5, 10, 29, 30, 50):
        r = c.cmd("ZRANDMEMBER", "z", str(n))
        assert len(r) == min(n, 30) and len(set(r)) == len(r) and set(r) <= set(members)
    r = c.cmd("ZRANDMEMBER", "z", "-40")
    assert len(r) == 40 and set(r) <= set(members)
    r = c.cmd("ZRANDMEMBER", "z", "3", "WITHSCORES")
    assert len(r) == 6
    for m, s in zip(r[::2], r[1::2]):
        assert int(s) == members.index(m)
    assert c.cmd("ZRANDMEMBER", "z", "-9223372036854775808") == Err(
        b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert c.cmd("ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES") == Err(b"ERR value is out of range")
    assert c.cmd("ZRANDMEMBER", "z", "1", "FOO") == SYNTAX
    assert c.cmd("ZRANDMEMBER", "z", "x") == NOT_INT


def test_union_inter_diff(srv):
    c = srv.conn()
    c.cmd("ZADD", "z1", "1", "a", "2", "b", "3", "c")
    c.cmd("ZADD", "z2", "10", "b", "20", "c", "30", "d")
    c.cmd("SADD", "s", "a", "d", "e")
    assert c.cmd("ZUNION", "2", "z1", "z2", "WITHSCORES") == \
        [b"a", b"1", b"b", b"12", b"c", b"23", b"d", b"30"]
    assert c.cmd("ZUNION", "2", "z1", "z2", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES") == \
        [b"a", b"2", b"b", b"5", b"c", b"10", b"d", b"15"]
    assert c.cmd("ZINTER", "2", "z1", "z2", "AGGREGATE", "MIN", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert c.cmd("ZINTER", "2", "z1", "s", "WITHSCORES") == [b"a", b"2"]
    assert c.cmd("ZUNION", "2", "z1", "s") == [b"d", b"e", b"a", b"b", b"c"]
    assert c.cmd("ZDIFF", "2", "z1", "z2", "WITHSCORES") == [b"a", b"1"]
    assert c.cmd("ZDIFF", "2", "z1", "z1") == []
    assert c.cmd("ZDIFF", "1", "nokey") == []
    assert c.cmd("ZINTER", "2", "z1", "nokey") == []
    assert c.cmd("ZDIFF", "2", "z1", "z2", "WEIGHTS", "1", "2") == SYNTAX
    assert c.cmd("ZUNION", "2", "z1", "z2", "AGGREGATE", "FOO") == SYNTAX
    assert c.cmd("ZUNION", "2", "z1", "z2", "WEIGHTS", "1", "x") == Err(b"ERR weight value is not a float")
    assert c.cmd("ZUNION", "2", "z1", "z2", "WEIGHTS", "1") == SYNTAX
    assert c.cmd("ZUNION", "0", "z1") == Err(b"ERR at least 1 input key is needed for 'zunion' command")
    assert c.cmd("ZUNION", "x", "z1") == NOT_INT
    assert c.cmd("ZUNION", "3", "z1", "z2") == SYNTAX
    assert c.cmd("ZUNIONSTORE", "out", "2", "z1", "z2", "WEIGHTS", "1", "2") == 4
    assert c.cmd("ZRANGE", "out", "0", "-1", "WITHSCORES") == \
        [b"a", b"1", b"b", b"22", b"c", b"43", b"d", b"60"]
    assert c.cmd("ZUNIONSTORE", "out", "2", "z1", "z2", "WITHSCORES") == SYNTAX
    assert c.cmd("ZINTERSTORE", "out", "2", "z1", "z2") == 2
    assert c.cmd("ZDIFFSTORE", "out", "2", "z2", "z1") == 1
    assert c.cmd("ZRANGE", "out", "0", "-1", "WITHSCORES") == [b"d", b"30"]
    assert c.cmd("ZINTERSTORE", "out", "2", "z1", "nokey") == 0
    assert c.cmd("EXISTS", "out") == 0
    assert c.cmd("ZINTERSTORE", "z1", "2", "z1", "z2") == 2
    assert c.cmd("ZRANGE", "z1", "0", "-1", "WITHSCORES") == [b"b", b"12", b"c", b"23"]
    assert c.cmd("ZINTERSTORE", "out", "0", "z1") == \
        Err(b"ERR at least 1 input key is needed for 'zinterstore' command")
    c.cmd("SET", "str", "v")
    assert c.cmd("ZUNION", "2", "z1", "str") == WRONGTYPE
    assert c.cmd("ZUNIONSTORE", "out", "1", "str") == WRONGTYPE
    # inf * 0 and inf + -inf give 0, as Redis
    c.cmd("ZADD", "inf", "inf", "a", "-inf", "b")
    assert c.cmd("ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES") == [b"a", b"0", b"b", b"0"]
    assert c.cmd("ZUNION", "2", "inf", "inf", "WEIGHTS", "1", "-1", "WITHSCORES") == [b"a", b"0", b"b", b"0"]


def test_zintercard(srv):
    c = srv.conn()
    c.cmd("ZADD", "a", "1", "x", "2", "y", "3", "z")
    c.cmd("ZADD", "b", "1", "y", "2", "z", "3", "w")
    c.cmd("SADD", "s", "z")
    assert c.cmd("ZINTERCARD", "2", "a", "b") == 2
    assert c.cmd("ZINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert c.cmd("ZINTERCARD", "3", "a", "b", "s") == 1
    assert c.cmd("ZINTERCARD", "2", "a", "nokey") == 0
    assert c.cmd("ZINTERCARD", "0", "a") == Err(b"ERR at least 1 input key is needed for 'zintercard' command")
    assert c.cmd("ZINTERCARD", "3", "a", "b") == SYNTAX
    assert c.cmd("ZINTERCARD", "2", "a", "b", "LIMIT", "-1") == Err(b"ERR LIMIT can't be negative")
    assert c.cmd("ZINTERCARD", "2", "a", "b", "WITHSCORES") == SYNTAX


def test_zscan(srv):
    c = srv.conn()
    args = []
    for i in range(300):
        args += [str(i), "m%d" % i]
    c.cmd("ZADD", "big", *args)
    seen = {}
    cursor = b"0"
    for _ in range(10000):
        cursor, batch = c.cmd("ZSCAN", "big", cursor, "COUNT", "25")
        for m, s in zip(batch[::2], batch[1::2]):
            seen[m] = s
        if cursor == b"0":
            break
    assert seen == {b"m%d" % i: b"%d" % i for i in range(300)}
    cursor, batch = c.cmd("ZSCAN", "big", "0", "MATCH", "m29?", "COUNT", "1000")
    assert cursor == b"0" and sorted(batch[::2]) == sorted(b"m29%d" % i for i in range(10))
    c.cmd("ZADD", "small", "1.5", "a", "2", "b")
    assert c.cmd("ZSCAN", "small", "0") == [b"0", [b"a", b"1.5", b"b", b"2"]]
    assert c.cmd("ZSCAN", "small", "0", "MATCH", "b") == [b"0", [b"b", b"2"]]
    assert c.cmd("ZSCAN", "nokey", "0") == [b"0", []]
    assert c.cmd("ZSCAN", "small", "x") == Err(b"ERR invalid cursor")
    assert c.cmd("ZSCAN", "small", "0", "COUNT", "0") == SYNTAX


def test_encodings(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a")
    assert c.cmd("OBJECT", "ENCODING", "z") == b"listpack"
    c.cmd("ZADD", "z", *sum([[str(i), "m%d" % i] for i in range(127)], []))
    assert c.cmd("ZCARD", "z") == 128 and c.cmd("OBJECT", "ENCODING", "z") == b"listpack"
    c.cmd("ZADD", "z", "0", "one-more")
    assert c.cmd("OBJECT", "ENCODING", "z") == b"skiplist"
    assert c.cmd("ZRANGE", "z", "0", "2") == [b"m0", b"one-more", b"a"]
    c.cmd("ZADD", "long", "1", "x" * 65)
    assert c.cmd("OBJECT", "ENCODING", "long") == b"skiplist"
    c.cmd("ZADD", "l2", "1", "a")
    c.cmd("ZADD", "l2", "1", "x" * 65)
    assert c.cmd("OBJECT", "ENCODING", "l2") == b"skiplist"
    # results of commands fit back in a listpack
    assert c.cmd("ZRANGESTORE", "small", "z", "0", "9") == 10
    assert c.cmd("OBJECT", "ENCODING", "small") == b"listpack"
    assert c.cmd("ZUNIONSTORE", "u", "1", "small") == 10
    assert c.cmd("OBJECT", "ENCODING", "u") == b"listpack"
    assert c.cmd("ZUNIONSTORE", "u", "1", "z") == 129
    assert c.cmd("OBJECT", "ENCODING", "u") == b"skiplist"
    c.cmd("CONFIG", "SET", "zset-max-listpack-entries", "0")
    try:
        c.cmd("ZADD", "zz", "1", "a")
        assert c.cmd("OBJECT", "ENCODING", "zz") == b"skiplist"
    finally:
        c.cmd("CONFIG", "SET", "zset-max-listpack-entries", "128")


def test_keyspace_commands(srv):
    c = srv.conn()
    c.cmd("ZADD", "z", "1", "a", "2", "b")
    assert c.cmd("TYPE", "z") == Status(b"zset")
    c.cmd("SADD", "s", "x")
    _, keys = c.cmd("SCAN", "0", "TYPE", "zset", "COUNT", "1000")
    assert keys == [b"z"]
    assert c.cmd("RENAME", "z", "y") == OK
    assert c.cmd("COPY", "y", "w") == 1
    c.cmd("ZADD", "w", "3", "c")
    assert c.cmd("ZCARD", "y") == 2 and c.cmd("ZCARD", "w") == 3
    assert c.cmd("MOVE", "w", "2") == 1
    c.cmd("SELECT", "2")
    assert c.cmd("ZRANGE", "w", "0", "-1") == [b"a", b"b", b"c"]
    c.cmd("SELECT", "0")
    c.cmd("ZADD", "e", "1", "a")
    c.cmd("PEXPIRE", "e", "20")
    wait_for(lambda: c.cmd("EXISTS", "e") == 0, what="zset expiry")
    assert c.cmd("ZSCORE", "e", "a") is None
    assert c.cmd("DEL", "y") == 1
    c.cmd("ZADD", "f", "1", "a")
    assert c.cmd("FLUSHDB") == OK and c.cmd("DBSIZE") == 0


def test_wrongtype_everywhere(srv):
    c = srv.conn()
    c.cmd("SET", "s", "v")
    for args in (("ZADD", "s", "1", "a"), ("ZINCRBY", "s", "1", "a"), ("ZREM", "s", "a"), ("ZCARD", "s"),
                 ("ZCOUNT", "s", "0", "1"), ("ZLEXCOUNT", "s", "-", "+"), ("ZSCORE", "s", "a"),
                 ("ZMSCORE", "s", "a"), ("ZRANK", "s", "a"), ("ZREVRANK", "s", "a"), ("ZRANGE", "s", "0", "1"),
                 ("ZREVRANGE", "s", "0", "1"), ("ZRANGEBYSCORE", "s", "0", "1"),
                 ("ZREVRANGEBYSCORE", "s", "1", "0"), ("ZRANGEBYLEX", "s", "-", "+"),
                 ("ZREVRANGEBYLEX", "s", "+", "-"), ("ZREMRANGEBYRANK", "s", "0", "1"),
                 ("ZREMRANGEBYSCORE", "s", "0", "1"), ("ZREMRANGEBYLEX", "s", "-", "+"), ("ZPOPMIN", "s"),
                 ("ZPOPMAX", "s", "2"), ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "s", "2"), ("ZSCAN", "s", "0"),
                 ("ZUNION", "1", "s"), ("ZINTER", "1", "s"), ("ZDIFF", "1", "s"), ("ZINTERCARD", "1", "s")):
        assert c.cmd(*args) == WRONGTYPE, args
    c.cmd("ZADD", "z", "1", "a")
    assert c.cmd("GET", "z") == WRONGTYPE
    assert c.cmd("SADD", "z", "a") == WRONGTYPE


def test_redis_py_and_cli(srv):
    r = srv.client()
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": 3}) == 3
    assert r.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.5), (b"c", 3.0)]
    assert r.zscore("z", "b") == 2.5
    assert r.zincrby("z", 1, "a") == 2.0
    assert r.zrank("z", "a") == 0
    assert r.zrevrank("z", "a") == 2
    assert r.zcount("z", 2, 3) == 3
    assert r.zrangebyscore("z", "(2", "+inf") == [b"b", b"c"]
    assert r.zrevrangebyscore("z", "+inf", "-inf", start=0, num=1) == [b"c"]
    assert r.zpopmin("z") == [(b"a", 2.0)]
    assert r.zpopmax("z", 1) == [(b"c", 3.0)]
    assert r.zcard("z") == 1
    assert r.zmscore("z", ["b", "x"]) == [2.5, None]
    r.zadd("l", {"a": 0, "b": 0, "c": 0})
    assert r.zrangebylex("l", "[b", "+") == [b"b", b"c"]
    assert r.zlexcount("l", "-", "+") == 3
    assert r.zremrangebylex("l", "-", "(b") == 1
    assert r.zunionstore("u", ["z", "l"]) == 2
    assert r.zinterstore("i", ["z", "u"], aggregate="MAX") == 1
    assert r.zrangestore("rs", "u", 0, 0) == 1
    assert r.zrem("u", "b", "c") == 2
    cursor, pairs = r.zscan("z", 0)
    assert cursor == 0 and pairs == [(b"b", 2.5)]
    assert srv.cli("ZADD", "c", "1", "x", "2", "y").strip() == "2"
    assert srv.cli("ZRANGE", "c", "0", "-1", "WITHSCORES").split() == ["x", "1", "y", "2"]
    assert srv.cli("ZSCORE", "c", "y").strip() == "2"
    assert srv.cli("ZCARD", "c").strip() == "2"
    out = srv.cli("ZRANGE", "c", "0", "-1", "WITHSCORES", tty=True)
    assert '1) "x"' in out and '2) "1"' in out
    assert srv.cli("ZPOPMAX", "c").split() == ["y", "2"]


def test_random_model(srv):
    """Random ZADD/ZINCRBY/ZREM/ZREMRANGEBYSCORE/ZUNIONSTORE against Python dicts."""
    c = srv.conn()
    rnd = random.Random(7)
    keys = ["z0", "z1", "z2"]
    ref = {k: {} for k in keys}
    members = [b"m%d" % i for i in range(60)] + [b"long" + b"x" * 70]

    def sorted_items(d):
        return sorted(d.items(), key=lambda kv: (kv[1], kv[0]))

    def fmt(v):
        return b"%.17g" % v

    for step in range(1500):
        k, k2, k3 = (rnd.choice(keys) for _ in range(3))
        m = rnd.choice(members)
        s = rnd.randrange(-20, 20) / 4
        op = rnd.randrange(6)
        if op <= 1:
            added = m not in ref[k]
            assert c.cmd("ZADD", k, repr(s), m) == (1 if added else 0)
            ref[k][m] = s
        elif op == 2:
            new = ref[k].get(m, 0) + s
            assert c.cmd("ZINCRBY", k, repr(s), m) == fmt(new)
            ref[k][m] = new
        elif op == 3:
            assert c.cmd("ZREM", k, m) == (1 if m in ref[k] else 0)
            ref[k].pop(m, None)
        elif op == 4:
            lo, hi = sorted((rnd.randrange(-6, 6), rnd.randrange(-6, 6)))
            gone = [x for x, v in ref[k].items() if lo <= v <= hi]
            assert c.cmd("ZREMRANGEBYSCORE", k, lo, hi) == len(gone)
            for x in gone:
                del ref[k][x]
        else:
            out = dict(ref[k2])
            for x, v in ref[k3].items():
                out[x] = out.get(x, 0) + v
            assert c.cmd("ZUNIONSTORE", k, "2", k2, k3) == len(out)
            ref[k] = out
        if step % 100 == 0:
            for key in keys:
                want = []
                for x, v in sorted_items(ref[key]):
                    want += [x, fmt(v)]
                assert c.cmd("ZRANGE", key, "0", "-1", "WITHSCORES") == want
    for key in keys:
        items = sorted_items(ref[key])
        assert c.cmd("ZRANGE", key, "0", "-1") == [x for x, _ in items]
        for rank, (x, _) in enumerate(items):
            assert c.cmd("ZRANK", key, x) == rank


def test_differential_findings(srv):
    """What the differential test found: ZPOPMIN with count 0 still checks
    the type; a packed sorted set stored by ZUNIONSTORE keeps no sign on a
    zero score (Redis's listpack), while ZUNION's reply does."""
    c = srv.conn()
    assert c.cmd("SET", "s", "x") == OK
    assert c.cmd("ZPOPMIN", "s", "0") == WRONGTYPE
    assert c.cmd("ZPOPMAX", "s", "0") == WRONGTYPE
    assert c.cmd("ZPOPMIN", "missing", "0") == []
    assert c.cmd("ZADD", "src", "0", "a", "1", "b") == 2
    assert c.cmd("ZUNIONSTORE", "d", "1", "src", "WEIGHTS", "-1") == 2
    assert c.cmd("ZRANGE", "d", "0", "-1", "WITHSCORES") == [b"b", b"-1", b"a", b"0"]
    assert c.cmd("ZINTERSTORE", "d", "1", "src", "WEIGHTS", "-1") == 2
    assert c.cmd("ZSCORE", "d", "a") == b"0"
    assert c.cmd("ZUNION", "1", "src", "WEIGHTS", "-1", "WITHSCORES") == [b"b", b"-1", b"a", b"-0"]


def test_inter_nan_product(srv):
    # inf x weight 0 is NaN: ZINTER does not reset it to 0 before adding it
    # (Redis), so the sum becomes 0; MIN and MAX keep what they had
    c = srv.conn()
    assert c.cmd("ZADD", "a", "-inf", "m", "3", "n") == 2
    assert c.cmd("ZINTER", "3", "a", "a", "a", "WEIGHTS", "0.5", "0.5", "0", "WITHSCORES") == [
        b"m", b"0", b"n", b"3"]
    assert c.cmd("ZINTER", "2", "a", "a", "WEIGHTS", "1", "0", "AGGREGATE", "MIN", "WITHSCORES") == [
        b"m", b"-inf", b"n", b"0"]
    assert c.cmd("ZINTER", "2", "a", "a", "WEIGHTS", "0", "1", "AGGREGATE", "MAX", "WITHSCORES") == [
        b"m", b"0", b"n", b"3"]
    # ZUNION resets each NaN product to 0 first
    assert c.cmd("ZUNION", "2", "a", "a", "WEIGHTS", "1", "0", "WITHSCORES") == [
        b"m", b"-inf", b"n", b"3"]


def test_union_sums_smallest_first(srv):
    # ZUNION and ZUNIONSTORE aggregate the smallest input first, as Redis:
    # in the order given, 0.1 + 0.2 + 0.3 would round to 0.6000000000000001,
    # and inf + -inf (reset to 0) would come before the 0.5 instead of after
    c = srv.conn()
    assert c.cmd("ZADD", "big", "0.1", "x", "1", "p", "1", "q") == 3
    assert c.cmd("ZADD", "one", "0.2", "x") == 1
    assert c.cmd("ZADD", "two", "0.3", "x", "1", "r") == 2
    assert c.cmd("ZUNION", "3", "big", "one", "two", "WITHSCORES")[:2] == [b"x", b"0.59999999999999998"]
    assert c.cmd("ZUNIONSTORE", "dst", "3", "big", "one", "two") == 4
    assert c.cmd("ZSCORE", "dst", "x") == b"0.59999999999999998"
    assert c.cmd("ZADD", "inf", "inf", "x") == 1
    assert c.cmd("ZUNION", "3", "big", "inf", "inf", "WEIGHTS", "0.5", "1", "-1", "WITHSCORES")[:2] == [
        b"x", b"0.050000000000000003"]


def test_lex_range_limit_on_an_empty_range(srv):
    # an empty lex range ((m4 above (m2) selects nothing, LIMIT offset or
    # not, whatever the scores (Redis checks the range before walking)
    c = srv.conn()
    assert c.cmd("ZADD", "z", "1", "1", "-inf", "m7") == 2
    for z in ("z", "big"):
        if z == "big":  # the same in the skip-list encoding
            assert c.cmd("ZADD", "big", "1", "1", "-inf", "m7", "2", "x" * 100) == 3
        assert c.cmd("ZRANGEBYLEX", z, "(m4", "(m2") == []
        assert c.cmd("ZRANGEBYLEX", z, "(m4", "(m2", "LIMIT", "1", "1") == []
        assert c.cmd("ZREVRANGEBYLEX", z, "(m2", "(m4", "LIMIT", "1", "1") == []
        assert c.cmd("ZRANGE", z, "(m4", "(m2", "BYLEX", "LIMIT", "1", "1") == []
        assert c.cmd("ZLEXCOUNT", z, "(m4", "(m2") == 0
        assert c.cmd("ZRANGEBYSCORE", z, "(3", "(2", "LIMIT", "1", "1") == []


def test_rangestore_zero_sign_as_redis(srv):
    # ZRANGESTORE's destination starts packed when the count fits and turns
    # into a skip list at the first member too long to pack: a zero stored
    # before that loses its sign, as in Redis's listpack
    c = srv.conn()
    long = "l" * 70  # over zset-max-listpack-value (64): a skip list
    assert c.cmd("ZADD", "s0", "0", "a", "1.5", "b", "2", long) == 3
    assert c.cmd("ZUNIONSTORE", "src", "1", "s0", "WEIGHTS", "-1") == 3
    assert c.cmd("ZSCORE", "src", "a") == b"-0"  # 0 x -1, kept in the skip list
    # a (-0) first, the long member last: a is stored while packed
    assert c.cmd("ZRANGESTORE", "dst", "src", "0", "-1", "REV") == 3
    assert c.cmd("ZSCORE", "dst", "a") == b"0"
    assert c.cmd("OBJECT", "ENCODING", "dst") == b"skiplist"
    # the long member first: a skip list from the start keeps the sign
    assert c.cmd("ZRANGESTORE", "dst2", "src", "0", "-1") == 3
    assert c.cmd("ZSCORE", "dst2", "a") == b"-0"


def test_zscan_packed_integral_scores(srv):
    # ZSCAN of a packed sorted set gives an integral score within +-2^62 as
    # an integer, as Redis 7.0's listpack does; the other replies use the
    # double's shortest form
    c = srv.conn()
    assert c.cmd("ZADD", "z", "123456789012345678", "a", "4611686018427387904", "b",
                 "9223372036854774784", "c", "0.5", "d", "-0", "e") == 5
    assert c.cmd("ZSCAN", "z", "0") == [b"0", [b"e", b"0", b"d", b"0.5", b"a", b"123456789012345680",
                                              b"b", b"4611686018427387904", b"c", b"9.2233720368547748e+18"]]
    assert c.cmd("ZSCORE", "z", "a") == b"1.2345678901234568e+17"


def test_pop_empty_members(srv):
    # every popped member empty: under UBSan this once passed NULL to memcmp
    c = srv.conn()
    assert c.cmd("ZADD", "z", "1", "", "2", "a") == 2
    assert c.cmd("ZPOPMIN", "z") == [b"", b"1"]
    assert c.cmd("ZADD", "z", "0", "") == 1
    assert c.cmd("ZMPOP", "1", "z", "MIN") == [b"z", [[b"", b"0"]]]
    assert c.cmd("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", b"2"]
