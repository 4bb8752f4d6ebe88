"""redis-cli against the server: what a person sees in a terminal (--no-raw)
and what scripts see (raw output when stdout is not a terminal)."""


def test_cli_basic_raw(srv):
    assert srv.cli("SET", "a", "hello") == "OK\n"
    assert srv.cli("GET", "a") == "hello\n"
    assert srv.cli("GET", "nosuch") == "\n"
    assert srv.cli("INCR", "n") == "1\n"
    assert srv.cli("MGET", "a", "nosuch") == "hello\n\n"
    assert srv.cli("PING") == "PONG\n"
    assert srv.cli("DEL", "a", "n") == "2\n"


def test_cli_tty_rendering(srv):
    assert srv.cli("SET", "a", "hello", tty=True) == "OK\n"
    assert srv.cli("GET", "a", tty=True) == '"hello"\n'
    assert srv.cli("GET", "nosuch", tty=True) == "(nil)\n"
    assert srv.cli("INCR", "n", tty=True) == "(integer) 1\n"
    assert srv.cli("MGET", "a", "nosuch", tty=True) == '1) "hello"\n2) (nil)\n'
    assert srv.cli("KEYS", "nomatch*", tty=True) == "(empty array)\n"
    assert srv.cli("foo", "bar", tty=True) == \
        "(error) ERR unknown command 'foo', with args beginning with: 'bar' \n"
    assert srv.cli("GET", tty=True) == \
        "(error) ERR wrong number of arguments for 'get' command\n"
    assert srv.cli("SET", "bin", "a\nb\"\\\x01", tty=True) == "OK\n"
    assert srv.cli("GET", "bin", tty=True) == '"a\\nb\\"\\\\\\x01"\n'
    assert srv.cli("SET", "empty", "", tty=True) == "OK\n"
    assert srv.cli("GET", "empty", tty=True) == '""\n'


def test_cli_nested_arrays(srv):
    r = srv.client()
    r.mset({"k1": "1", "k2": "2", "k3": "3"})
    out = srv.cli("SCAN", "0", "COUNT", "100", tty=True)
    lines = out.split("\n")
    assert lines[0] == '1) "0"'
    assert lines[1].startswith('2) 1) "k')
    assert lines[2].startswith('   2) "k') and lines[3].startswith('   3) "k')
    assert lines[4] == ""
    out = srv.cli("COMMAND", "INFO", "get", tty=True)
    assert out.startswith('1)  1) "get"\n    2) (integer) 2\n    3) 1) readonly\n       2) fast\n')


def test_cli_stdin_and_options(srv):
    assert srv.cli(input="SET x 1\nINCR x\nGET x\n") == "OK\n2\n2\n"
    assert srv.cli("-x", "SET", "y", input="val ue") == "OK\n"
    assert srv.cli("GET", "y") == "val ue\n"
    assert srv.cli("-n", "2", "SET", "z", "1") == "OK\n"
    assert srv.cli("-n", "2", "DBSIZE") == "1\n"
    assert srv.cli("DBSIZE") == "2\n"
    assert srv.cli("--csv", "MGET", "x", "y", "nosuch") == '"2","val ue",NULL\n'


def test_cli_scan_and_pipe(srv):
    r = srv.client()
    for i in range(300):
        r.set("scan:%d" % i, i)
    r.set("other", 1)
    out = srv.cli("--scan", "--pattern", "scan:*")
    assert sorted(out.split()) == sorted("scan:%d" % i for i in range(300))
    data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\np%d\r\n$1\r\n1\r\n" % (len(str(i)) + 1, i)
                    for i in range(1000))
    out = srv.cli("--pipe", input=data)
    assert out.endswith("errors: 0, replies: 1000\n"), out
    assert r.dbsize() == 1301


def test_cli_info_and_resp3(srv):
    out = srv.cli("INFO", "server")
    assert out.startswith("# Server\r\n") or out.startswith("# Server\n")
    assert "tcp_port:%d" % srv.port in out
    out = srv.cli("-3", "HELLO", "3", tty=True)
    assert out.startswith('1# "server" => ')
    assert '3# "proto" => (integer) 3\n' in out
    assert '7# "modules" => (empty array)\n' in out
    assert srv.cli("-3", "GET", "nosuch", tty=True) == "(nil)\n"
