"""kvd's human text protocol (the --text-port): one command per line, replies
rendered as redis-cli renders them.  kvd-only: redis-server has no such port.

Where the rendering must match redis-cli, the tests compare the text port's
output with `redis-cli --no-raw` run against kvd's own RESP port."""

import socket
import time

from harness import OK

KVD_ONLY = True

END = b'"__end__"\n'


def text(srv, data, timeout=10):
    """Send lines to the text port; return everything answered before a
    final sentinel ECHO (so no idle waiting is needed)."""
    if isinstance(data, str):
        data = data.encode()
    if data and not data.endswith(b"\n"):
        data += b"\n"
    s = socket.create_connection(("127.0.0.1", srv.text_port), timeout=timeout)
    try:
        s.sendall(data + b"ECHO __end__\n")
        buf = b""
        deadline = time.monotonic() + timeout
        while not buf.endswith(END):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            d = s.recv(65536)
            if not d:
                raise AssertionError("text port closed the connection; got %r" % buf)
            buf += d
        return buf[:-len(END)]
    finally:
        s.close()


def test_text_session_exact_via_nc(srv):
    """The session from the design document, byte for byte."""
    transcript = (b'SET name "vimla"\n'
                  b'GET name\n'
                  b'SET session_token "abc123" 60\n'
                  b'DELETE name\n')
    assert srv.nc(transcript) == b'OK\n"vimla"\nOK\nOK\n'
    c = srv.conn()
    assert c.cmd("EXISTS", "name") == 0
    assert c.cmd("GET", "session_token") == b"abc123"
    assert c.cmd("TTL", "session_token") in (59, 60)


def test_text_ttl_shorthand(srv):
    out = text(srv, b"SET k v 60\nTTL k\n")
    assert out in (b"OK\n(integer) 60\n", b"OK\n(integer) 59\n"), out
    c = srv.conn()
    assert c.cmd("TTL", "k") in (59, 60)


def test_resp_set_ttl_shorthand(srv):
    """The bare TTL after the value works over RESP too."""
    c = srv.conn()
    assert c.cmd("SET", "k", "v", "60") == OK
    assert c.cmd("TTL", "k") in (59, 60)
    assert c.cmd("GET", "k") == b"v"


def test_text_scalars(srv):
    assert text(srv, "PING") == b"PONG\n"
    assert text(srv, "GET nosuch") == b"(nil)\n"
    assert text(srv, "SET n 41\nINCR n") == b"OK\n(integer) 42\n"
    assert text(srv, "GET n") == b'"42"\n'
    assert text(srv, "SET e ''\nGET e") == b'OK\n""\n'
    assert text(srv, "TYPE n") == b"string\n"
    assert text(srv, "foo a") == b"(error) ERR unknown command 'foo', with args beginning with: 'a' \n"
    assert text(srv, "GET") == b"(error) ERR wrong number of arguments for 'get' command\n"


def test_text_del_vs_delete(srv):
    assert text(srv, "MSET a 1 b 2 c 3\nDEL a b nosuch") == b"OK\n(integer) 2\n"
    assert text(srv, "DELETE c") == b"OK\n"
    assert text(srv, "DELETE c") == b"(nil)\n"
    assert text(srv, "DELETE nosuch1 nosuch2") == b"(nil)\n"
    assert text(srv, "SET x 1\nDELETE nosuch x") == b"OK\nOK\n"
    c = srv.conn()
    assert c.cmd("EXISTS", "a", "b", "c", "x") == 0
    # DEL keeps Redis's integer reply over RESP too
    c.cmd("SET", "y", "1")
    assert c.cmd("DEL", "y") == 1


def test_text_quoting_and_escapes(srv):
    c = srv.conn()
    assert text(srv, b'SET k "a\\nb"') == b"OK\n"
    assert c.cmd("GET", "k") == b"a\nb"
    assert text(srv, b"GET k") == b'"a\\nb"\n'
    assert text(srv, b"SET k 'it\\'s'") == b"OK\n"
    assert c.cmd("GET", "k") == b"it's"
    assert text(srv, b"GET k") == b'"it\'s"\n'
    assert text(srv, b'SET k "\\x41\\x42"') == b"OK\n"
    assert c.cmd("GET", "k") == b"AB"
    assert text(srv, b'SET k "tab\\there \\"q\\" back\\\\slash"') == b"OK\n"
    assert c.cmd("GET", "k") == b'tab\there "q" back\\slash'
    assert text(srv, b"SET k 'no \\n escape'") == b"OK\n"
    assert c.cmd("GET", "k") == b"no \\n escape"
    assert text(srv, b'SET "key with spaces" "value with spaces"') == b"OK\n"
    assert c.cmd("GET", "key with spaces") == b"value with spaces"
    # non-printable bytes are shown escaped, as redis-cli shows them
    c.cmd("SET", "bin", b"\x01\xff\"\\\r\n\t")
    assert text(srv, b"GET bin").decode() == srv.cli("GET", "bin", tty=True)


def test_text_blank_lines_and_crlf(srv):
    assert text(srv, b"\n\n   \n\t\nPING\n\n") == b"PONG\n"
    assert text(srv, b"PING\r\nSET a b\r\nGET a\r\n") == b'PONG\nOK\n"b"\n'


def test_text_arrays(srv):
    assert text(srv, "MSET a 1 b 2\nMGET a b nosuch") == b'OK\n1) "1"\n2) "2"\n3) (nil)\n'
    assert text(srv, "KEYS nomatch*") == b"(empty array)\n"
    c = srv.conn()
    c.cmd("MSET", *[x for i in range(12) for x in ("k%02d" % i, "v%d" % i)])
    args = ["k%02d" % i for i in range(12)]
    out = text(srv, "MGET " + " ".join(args))
    assert out.decode() == srv.cli("MGET", *args, tty=True)
    assert out.startswith(b' 1) "v0"\n') and b'\n12) "v11"\n' in out


def test_text_nested_arrays_like_redis_cli(srv):
    c = srv.conn()
    c.cmd("MSET", "k1", "1", "k2", "2", "k3", "3")
    for cmd in (["SCAN", "0", "COUNT", "100"],
                ["COMMAND", "INFO", "get"],
                ["COMMAND", "INFO", "get", "set", "nosuchcommand"],
                ["CONFIG", "GET", "port"],
                ["ECHO", "x"]):
        want = srv.cli(*cmd, tty=True)
        got = text(srv, " ".join(cmd)).decode()
        assert got == want, "%s:\n--- text port ---\n%s--- redis-cli ---\n%s" % (cmd, got, want)


def test_text_pipelined_and_byte_at_a_time(srv):
    script = b"".join(b"SET k%d %d\nINCR k%d\n" % (i, i, i) for i in range(200))
    out = text(srv, script)
    assert out == b"".join(b"OK\n(integer) %d\n" % (i + 1) for i in range(200))
    s = socket.create_connection(("127.0.0.1", srv.text_port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = b'SET slow "v a l"\r\nGET slow\nMGET slow nosuch\nECHO __end__\n'
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(0.001)
    buf = b""
    deadline = time.monotonic() + 10
    while not buf.endswith(END) and time.monotonic() < deadline:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    s.close()
    assert buf == b'OK\n"v a l"\n1) "v a l"\n2) (nil)\n' + END


def test_text_and_resp_share_data(srv):
    c = srv.conn()
    c.cmd("SET", "from_resp", "1")
    assert text(srv, "GET from_resp\nSET from_text 2") == b'"1"\nOK\n'
    assert c.cmd("GET", "from_text") == b"2"
    assert text(srv, "SELECT 3\nSET indb3 x\nDBSIZE") == b"OK\nOK\n(integer) 1\n"
    assert c.cmd("EXISTS", "indb3") == 0


def test_text_quit_and_errors_keep_server(srv):
    s = socket.create_connection(("127.0.0.1", srv.text_port), timeout=5)
    s.sendall(b"QUIT\n")
    buf = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        buf += d
    s.close()
    assert buf == b"OK\n"
    # a bad line does not take the server down
    s = socket.create_connection(("127.0.0.1", srv.text_port), timeout=5)
    s.sendall(b'SET "unbalanced\n')
    s.settimeout(2)
    try:
        s.recv(1000)
    except socket.timeout:
        pass
    s.close()
    assert text(srv, "PING") == b"PONG\n"


def test_text_info_readable(srv):
    out = text(srv, "INFO server")
    assert b"# Server" in out and b"tcp_port" in out
