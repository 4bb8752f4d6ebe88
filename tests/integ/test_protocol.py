"""RESP and inline request parsing: pipelining, errors, partial reads,
protocol violations (each answered with an error, then the connection is
closed), and limits that must not make the server allocate up front."""

import random
import socket
import threading
import time

from harness import (Err, OK, PONG, RawConn, encode, fresh_server, is_redis, parse_all, parse_info,
                     steady_client_count,
                     timeout, wait_for)


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


def unknown(name, *args):
    return Err(b"ERR unknown command '%s', with args beginning with: %s" % (
        name, b"".join(b"'%s' " % a for a in args)))


# --------------------------------------------------------------------------
# inline commands


def test_inline_commands(srv):
    assert srv.raw(b"SET a b\r\nGET a\r\n", replies=2) == b"+OK\r\n$1\r\nb\r\n"
    # bare LF, extra blanks, tabs, blank lines
    assert srv.raw(b"GET a\n", replies=1) == b"$1\r\nb\r\n"
    assert srv.raw(b"  SET   c   d  \r\n\tGET\tc\r\n", replies=2) == b"+OK\r\n$1\r\nd\r\n"
    assert srv.raw(b"\r\n\r\n\n   \r\nPING\r\n", replies=1) == b"+PONG\r\n"
    # command names are case-insensitive
    assert srv.raw(b"pInG\r\n", replies=1) == b"+PONG\r\n"


def test_inline_quoting(srv):
    c = srv.conn()
    c.send(b'SET k "hello world"\r\nGET k\r\n')
    assert c.read_replies(2) == [OK, b"hello world"]
    c.send(b'ECHO "a\\nb\\r\\t\\"q\\" \\\\ \\x41\\x7a"\r\n')
    assert c.read_reply() == b'a\nb\r\t"q" \\ Az'
    c.send(b"ECHO 'it\\'s'\r\n")
    assert c.read_reply() == b"it's"
    c.send(b"ECHO 'no \\n escapes'\r\n")
    assert c.read_reply() == b"no \\n escapes"
    c.send(b'ECHO ""\r\nECHO \'\'\r\n')
    assert c.read_replies(2) == [b"", b""]
    c.send(b'ECHO "\\a\\b\\q"\r\n')
    assert c.read_reply() == b"\x07\x08q"
    c.send(b'SET "sp ace" \'v a l\'\r\nGET "sp ace"\r\n')
    assert c.read_replies(2) == [OK, b"v a l"]


def test_inline_unbalanced_quotes(srv):
    err = b"-ERR Protocol error: unbalanced quotes in request\r\n"
    assert srv.raw(b'set "a b\r\n', expect_close=True) == err
    assert srv.raw(b"set 'a b\r\n", expect_close=True) == err
    # a closing quote must be followed by a blank
    assert srv.raw(b'ping "a"b\r\n', expect_close=True) == err
    # commands before the bad line are answered first
    assert srv.raw(b'PING\r\nset "a\r\nPING\r\n', expect_close=True) == b"+PONG\r\n" + err


def test_inline_too_big(srv):
    """An inline line over 64 KB without a newline is refused."""
    data = srv.raw(b"a" * (200 * 1024), expect_close=True, timeout=10)
    assert data == b"-ERR Protocol error: too big inline request\r\n"


@fresh_server()
def test_inline_nul_byte_then_64kb(srv):
    """Redis looks for the inline newline with strchr(): a NUL hides it, so
    the request stays incomplete, and past 64 KB of such buffer the client
    is refused.  Memory must never grow without bound on such input."""
    assert srv.raw(b"abc\x00def\nPING\r\n", replies=1, timeout=1) == b""
    got = srv.raw(b"abc\x00def\nPING\r\n" + b"x\n" * 40000, expect_close=True, timeout=10)
    assert got == b"-ERR Protocol error: too big inline request\r\n"
    got = srv.raw(b"abc\x00def\n" + b"x" * 70000 + b"\n", expect_close=True, timeout=10)
    assert got == b"-ERR Protocol error: too big inline request\r\n"
    # inside RESP a NUL is just a byte (the error text stops at it, as in C)
    assert srv.raw(b"*1\r\n$4\r\nPI\x00G\r\n", replies=1) == \
        b"-ERR unknown command 'PI', with args beginning with: \r\n"


def test_mixed_inline_and_resp(srv):
    data = encode("SET", "m", "1") + b"INCR m\r\n" + encode("GET", "m") + b"PING\r\n"
    assert srv.raw(data, replies=4) == b"+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n"


# --------------------------------------------------------------------------
# RESP requests


def test_resp_binary_args(srv):
    c = srv.conn()
    val = b"\r\n\x00$3\r\n*1\r\n" * 100
    assert c.cmd("SET", b"\r\n", val) == OK
    assert c.cmd("GET", b"\r\n") == val
    assert c.cmd("SET", "e", "") == OK
    assert srv.raw(b"*2\r\n$3\r\nGET\r\n$1\r\ne\r\n", replies=1) == b"$0\r\n\r\n"


def test_resp_empty_and_negative_multibulk_ignored(srv):
    # Redis skips *0 and *-N requests without replying
    assert srv.raw(b"*0\r\n*1\r\n$4\r\nPING\r\n", replies=1, expect_close=False) == b"+PONG\r\n"
    assert srv.raw(b"*-1\r\n*1\r\n$4\r\nPING\r\n", replies=1, expect_close=False) == b"+PONG\r\n"
    assert srv.raw(b"*-5\r\nPING\r\n", replies=1, expect_close=False) == b"+PONG\r\n"


def test_resp_large_argument_in_pieces(srv):
    c = srv.conn()
    val = random.Random(1).randbytes(300000)
    req = encode("SET", "big", val)
    for i in range(0, len(req), 7777):
        c.send(req[i:i + 7777])
        time.sleep(0.001)
    assert c.read_reply() == OK
    assert c.cmd("GET", "big") == val
    # and a 20 MB one in a single write
    val = b"z" * (20 << 20)
    assert c.cmd("SET", "big2", val, timeout=30) == OK
    assert c.cmd("STRLEN", "big2") == len(val)


def test_many_arguments(srv):
    c = srv.conn()
    args = []
    for i in range(100000):
        args += [b"k%d" % i, b"v%d" % i]
    assert c.cmd("MSET", *args, timeout=30) == OK
    assert c.cmd("DBSIZE") == 100000
    got = c.cmd("MGET", *[b"k%d" % i for i in range(0, 100000, 7)], timeout=30)
    assert got == [b"v%d" % i for i in range(0, 100000, 7)]


# --------------------------------------------------------------------------
# errors that keep the connection


def test_unknown_command_wording(srv):
    c = srv.conn()
    assert c.cmd("foo") == unknown(b"foo")
    assert c.cmd("foo", "a", "b") == unknown(b"foo", b"a", b"b")
    assert c.cmd("FOO", "a b") == unknown(b"FOO", b"a b")  # the name as sent
    assert srv.raw(b"foo a\r\n", replies=1) == \
        b"-ERR unknown command 'foo', with args beginning with: 'a' \r\n"
    assert srv.raw(b"foo\r\n", replies=1) == \
        b"-ERR unknown command 'foo', with args beginning with: \r\n"
    # args are listed until the text reaches 128 bytes
    assert c.cmd("foo", *["abcdefghij"] * 20) == unknown(b"foo", *[b"abcdefghij"] * 10)
    # one long argument is cut at 128 bytes, and so is the name
    assert c.cmd("foo", "y" * 200) == unknown(b"foo", b"y" * 128)
    assert c.cmd("x" * 200, "a") == unknown(b"x" * 128, b"a")
    # CR and LF never reach the error line
    assert c.cmd("foo", "a\r\nb", "c") == unknown(b"foo", b"a  b", b"c")
    assert c.cmd("get\r\n") == unknown(b"get  ")
    # an empty command name
    assert srv.raw(b"*1\r\n$0\r\n\r\n", replies=1, expect_close=False) == \
        b"-ERR unknown command '', with args beginning with: \r\n"
    # inline, '$536870913' is just an unknown command
    assert srv.raw(b"$536870913\r\n", replies=1, expect_close=False) == \
        b"-ERR unknown command '$536870913', with args beginning with: \r\n"
    assert c.cmd("PING") == PONG


def test_arity_errors(srv):
    c = srv.conn()
    cases = [("get",), ("get", "a", "b"), ("set", "a"), ("echo",), ("incr",), ("del",),
             ("exists",), ("mget",), ("select",), ("ttl",), ("rename", "a"),
             ("incrby", "a"), ("getrange", "a", "0"), ("keys",), ("type",)]
    for args in cases:
        assert c.cmd(*args) == arity(args[0]), args
    assert c.cmd("GET") == arity("get")  # lower-case in the message
    assert c.cmd("CONFIG", "GET") == arity("config|get")
    assert c.cmd("CONFIG") == arity("config")
    assert srv.raw(b"GET\r\n", replies=1, expect_close=False) == \
        b"-ERR wrong number of arguments for 'get' command\r\n"


# --------------------------------------------------------------------------
# protocol errors: reply, then close


PROTO_ERRORS = [
    (b"*12345678901234567890\r\n", b"invalid multibulk length"),
    (b"*2147483648\r\n", b"invalid multibulk length"),
    (b"*abc\r\n", b"invalid multibulk length"),
    (b"*+1\r\n", b"invalid multibulk length"),
    (b"*1\r\n$536870913\r\n", b"invalid bulk length"),
    (b"*1\r\n$12345678901234567890\r\n", b"invalid bulk length"),
    (b"*1\r\n$-2\r\nPING\r\n", b"invalid bulk length"),
    (b"*1\r\n$-1\r\n", b"invalid bulk length"),
    (b"*1\r\n$abc\r\n", b"invalid bulk length"),
    (b"*1\r\n$ 3\r\nfoo\r\n", b"invalid bulk length"),
    (b"*2\r\n$3\r\nGET\r\n$-1\r\n", b"invalid bulk length"),
    (b"*1\r\nx\r\n", b"expected '$', got 'x'"),
    (b"*1\r\n:4\r\n", b"expected '$', got ':'"),
    (b"*2\r\n$4\r\nPING\r\n+OK\r\n", b"expected '$', got '+'"),
]


def test_protocol_errors_close(srv):
    for req, msg in PROTO_ERRORS:
        got = srv.raw(req, expect_close=True, timeout=5)
        assert got == b"-ERR Protocol error: " + msg + b"\r\n", (req, got)
    # the replies to earlier commands in the same write come first
    got = srv.raw(b"PING\r\n*1\r\nx\r\n", expect_close=True)
    assert got == b"+PONG\r\n-ERR Protocol error: expected '$', got 'x'\r\n"
    c = srv.conn()
    assert c.cmd("PING") == PONG


def test_protocol_error_byte_by_byte(srv):
    """The same errors when the request trickles in."""
    for req, msg in [(b"*1\r\n$536870913\r\n", b"invalid bulk length"),
                     (b"*1\r\nx\r\n", b"expected '$', got 'x'"),
                     (b'set "a b\r\n', b"unbalanced quotes in request")]:
        c = srv.conn()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i in range(len(req)):
                c.send(req[i:i + 1])
                time.sleep(0.002)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.read_until_close(5) == b"-ERR Protocol error: " + msg + b"\r\n"


def test_huge_counts_allocate_nothing(srv):
    """Announced lengths alone must not make the server allocate them.

    Redis 7.0 accepts multibulk counts up to INT_MAX; kvd keeps DESIGN.md's
    limit of 1,048,576 arguments per request and refuses larger counts."""
    rss0 = srv.rss_kb()
    conns = []
    big_count = b"*2147483647\r\n" if is_redis() else b"*1048576\r\n"
    for _ in range(10):
        c = srv.conn()
        c.send(big_count)  # valid: the largest count the server takes
        conns.append(c)
    for _ in range(10):
        c = srv.conn()
        c.send(b"*1\r\n$536870912\r\n")  # valid: exactly proto-max-bulk-len
        conns.append(c)
    for _ in range(10):
        c = srv.conn()
        c.send((b"*1048577\r\n" if is_redis() else b"*1048576\r\n") + b"$3\r\nSET\r\n")
        conns.append(c)
    time.sleep(0.5)
    for c in conns:
        assert not c.is_closed(0.01), "server closed a valid (if huge) request"
    if not is_redis():
        assert srv.raw(b"*1048577\r\n", expect_close=True) == \
            b"-ERR Protocol error: invalid multibulk length\r\n"
    d = srv.conn()
    assert d.cmd("PING") == PONG
    grown = srv.rss_kb() - rss0
    assert grown < 100 * 1024, "RSS grew by %d KB for 30 announced-but-unsent requests" % grown
    for c in conns:
        c.close()
    assert d.cmd("PING") == PONG


@fresh_server("--requirepass", "pw")
def test_unauthenticated_limits(srv):
    """Before AUTH, Redis caps request sizes tightly."""
    assert srv.raw(b"*11\r\n", expect_close=True) == \
        b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    assert srv.raw(b"*1\r\n$16385\r\n", expect_close=True) == \
        b"-ERR Protocol error: unauthenticated bulk length\r\n"
    # within the caps: the ordinary NOAUTH error and the connection stays
    assert srv.raw(b"*1\r\n$4\r\nPING\r\n", replies=1, expect_close=False) == \
        b"-NOAUTH Authentication required.\r\n"
    c = srv.conn()
    assert c.cmd("AUTH", "pw") == OK
    assert c.cmd("ECHO", "x" * 20000) == b"x" * 20000


# --------------------------------------------------------------------------
# pipelining and partial reads


def test_pipeline_one_write(srv):
    n = 2000
    req = b"".join(encode("SET", "p%d" % i, "v%d" % i) + encode("GET", "p%d" % i)
                   for i in range(n))
    c = srv.conn()
    c.send(req)
    replies = c.read_replies(2 * n, timeout=30)
    for i in range(n):
        assert replies[2 * i] == OK
        assert replies[2 * i + 1] == b"v%d" % i
    assert c.cmd("DBSIZE") == n


@timeout(60)
def test_pipeline_large_while_reading(srv):
    """50,000 pipelined commands written while replies are read concurrently."""
    n = 50000
    c = srv.conn(timeout=30)
    req = b"".join(encode("INCR", "ctr") for _ in range(n))
    errors = []

    def writer():
        try:
            c.sock.sendall(req)
        except Exception as e:
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    replies = c.read_replies(n, timeout=45)
    t.join(10)
    assert not errors, errors
    assert replies == list(range(1, n + 1))


def test_pipeline_with_errors_in_between(srv):
    req = b"SET a 1\r\nfoo\r\nINCR a\r\nGET\r\nGET a\r\n"
    want = (b"+OK\r\n-ERR unknown command 'foo', with args beginning with: \r\n:2\r\n"
            b"-ERR wrong number of arguments for 'get' command\r\n$1\r\n2\r\n")
    assert srv.raw(req, replies=5, expect_close=False) == want


TRANSCRIPT = (
    b"*1\r\n$4\r\nPING\r\n"
    b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$6\r\nva\r\nl\x00\r\n"
    b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"
    b"PING\r\n"
    b"SET k2 \"hello world\"\r\n"
    b"GET k2\r\n"
    b"\r\n"
    b"*3\r\n$3\r\nSET\r\n$1\r\nn\r\n$1\r\n0\r\n"
    b"INCR n\n"
    b"*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$3\r\n100\r\n"
    b"MGET key k2 nosuch\r\n"
    b"foo bar\r\n"
    b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
    b"*0\r\n"
    b"*2\r\n$4\r\nECHO\r\n$12\r\n*1\r\n$4\r\nPING\r\n"
)
TRANSCRIPT_REPLIES = 13


def test_byte_at_a_time_same_replies(srv):
    whole = srv.raw(TRANSCRIPT, replies=TRANSCRIPT_REPLIES, expect_close=False)
    vals, rest = parse_all(whole)
    assert len(vals) == TRANSCRIPT_REPLIES and rest == b""
    assert vals[2] == b"va\r\nl\x00" and vals[8] == 101 and vals[12] == b"*1\r\n$4\r\nPING"
    c = srv.conn()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(TRANSCRIPT)):
        c.send(TRANSCRIPT[i:i + 1])
        time.sleep(0.001)
    got = c.read_exact(len(whole))
    assert got == whole


def test_random_chunks_same_replies(srv):
    whole = srv.raw(TRANSCRIPT * 5, replies=TRANSCRIPT_REPLIES * 5, expect_close=False)
    rng = random.Random(42)
    for _ in range(5):
        c = srv.conn()
        data = TRANSCRIPT * 5
        i = 0
        while i < len(data):
            n = rng.randint(1, 40)
            c.send(data[i:i + n])
            i += n
            if rng.random() < 0.3:
                time.sleep(0.001)
        got = c.read_exact(len(whole), timeout=10)
        assert got == whole


def connected(c):
    return int(parse_info(c.cmd("INFO", "clients"))["connected_clients"])


def test_disconnect_mid_request(srv):
    """Clients that vanish half-way through a request disturb nobody."""
    bystander = srv.conn()
    assert bystander.cmd("SET", "steady", "1") == OK
    base = steady_client_count(bystander)
    full = encode("SET", "partial", "x" * 1000)
    cuts = sorted(set([1, 2, 4, 5, 10, 14, 20, 30, 100, 500, len(full) - 3, len(full) - 1]))
    for cut in cuts:
        c = RawConn(srv.port)
        c.send(full[:cut])
        time.sleep(0.005)
        c.close()
        assert bystander.cmd("INCR", "steady") > 1
    # inline too
    for part in [b"SET partial", b"SET partial v", b'SET partial "v']:
        c = RawConn(srv.port)
        c.send(part)
        c.close()
    # abrupt reset (RST) instead of FIN
    import struct
    for cut in (5, 20, 300):
        c = RawConn(srv.port)
        c.send(full[:cut])
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    assert bystander.cmd("EXISTS", "partial") == 0
    assert bystander.cmd("GET", "steady") == str(len(cuts) + 1).encode()
    wait_for(lambda: connected(bystander) == base, 15, what="half-sent clients to be gone")


def test_disconnect_with_unread_replies(srv):
    """A client that pipelines big replies and leaves without reading them."""
    c0 = srv.conn()
    c0.cmd("SET", "big", "x" * 100000)
    base = connected(c0)
    for _ in range(5):
        c = RawConn(srv.port)
        c.send(encode("GET", "big") * 300)  # 30 MB of replies, never read
        time.sleep(0.05)
        c.close()
    assert c0.cmd("PING") == PONG
    assert c0.cmd("STRLEN", "big") == 100000
    wait_for(lambda: connected(c0) == base, 10, what="abandoned clients to be gone")
