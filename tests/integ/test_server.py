"""Connection and server commands: PING, HELLO/RESP3, AUTH, CLIENT, COMMAND,
INFO, CONFIG, TIME."""

import re
import socket
import time

from harness import (Err, Status, OK, PONG, RespMap, Verbatim, encode, fresh_server, kvd_only,
                     parse_info, skip, wait_for, is_redis)

NOT_INT = Err(b"ERR value is not an integer or out of range")
SYNTAX = Err(b"ERR syntax error")


def arity(cmd):
    return Err(b"ERR wrong number of arguments for '%s' command" % cmd.encode())


# --------------------------------------------------------------------------
# PING ECHO QUIT RESET


def test_ping_echo(srv):
    c = srv.conn()
    assert c.cmd("PING") == PONG
    assert c.cmd("ping") == PONG
    assert c.cmd("PING", "hello") == b"hello"  # a bulk string, not a status
    assert c.cmd("PING", "") == b""
    assert c.cmd("ECHO", "hi there") == b"hi there"
    assert c.cmd("ECHO", b"\x00\xff\r\n") == b"\x00\xff\r\n"
    assert c.cmd("PING", "a", "b") == arity("ping")
    assert c.cmd("ECHO") == arity("echo")
    assert c.cmd("ECHO", "a", "b") == arity("echo")
    assert srv.raw(b"PING\r\nPING x\r\nECHO y\r\n", replies=3) == \
        b"+PONG\r\n$1\r\nx\r\n$1\r\ny\r\n"


def test_quit(srv):
    assert srv.raw(b"QUIT\r\n", expect_close=True) == b"+OK\r\n"
    assert srv.raw(b"*1\r\n$4\r\nQUIT\r\n", expect_close=True) == b"+OK\r\n"
    # commands after QUIT in the same write are not executed
    assert srv.raw(b"SET q 1\r\nQUIT\r\nSET after 1\r\n", expect_close=True) == b"+OK\r\n+OK\r\n"
    c = srv.conn()
    assert c.cmd("GET", "q") == b"1"
    assert c.cmd("EXISTS", "after") == 0


def test_reset(srv):
    c = srv.conn()
    c.cmd("SELECT", "3")
    c.cmd("SET", "in3", "x")
    c.cmd("CLIENT", "SETNAME", "myname")
    c.cmd("HELLO", "3")
    assert c.cmd("RESET") == Status(b"RESET")
    assert c.cmd("CLIENT", "GETNAME") is None
    assert c.cmd("GET", "in3") is None  # back to db 0
    c.send(b"GET nosuch\r\n")
    assert c.read_exact(5) == b"$-1\r\n"  # back to RESP2
    assert c.cmd("RESET", "x") == arity("reset")


# --------------------------------------------------------------------------
# HELLO and RESP3

HELLO_KEYS = [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]


def test_hello_resp2(srv):
    c = srv.conn()
    reply = c.cmd("HELLO")
    assert isinstance(reply, list) and len(reply) == 14, reply
    keys = reply[0::2]
    assert keys == HELLO_KEYS
    d = dict(zip(keys, reply[1::2]))
    assert d[b"proto"] == 2
    assert d[b"id"] == c.cmd("CLIENT", "ID")
    assert d[b"mode"] == b"standalone"
    assert d[b"role"] == b"master"
    assert d[b"modules"] == []
    assert isinstance(d[b"server"], bytes) and isinstance(d[b"version"], bytes)
    reply = c.cmd("HELLO", "2")
    assert dict(zip(reply[0::2], reply[1::2]))[b"proto"] == 2


def test_hello_resp3(srv):
    c = srv.conn()
    c.send(b"HELLO 3\r\n")
    head = c.read_exact(4)
    assert head == b"%7\r\n", head  # a RESP3 map
    c.buf = head + c.buf
    reply = c.read_reply()
    assert isinstance(reply, RespMap)
    assert [k for k, _ in reply] == HELLO_KEYS
    d = reply.todict()
    assert d[b"proto"] == 3
    assert d[b"modules"] == []
    # now every reply is RESP3
    c.send(b"GET nosuch\r\n")
    assert c.read_exact(3) == b"_\r\n"
    c.send(b"MGET nosuch nosuch\r\n")
    assert c.read_exact(10) == b"*2\r\n_\r\n_\r\n"
    c.send(b"CONFIG GET port\r\n")
    port = str(srv.port).encode()
    want = b"%1\r\n$4\r\nport\r\n$" + str(len(port)).encode() + b"\r\n" + port + b"\r\n"
    assert c.read_exact(len(want)) == want
    c.send(b"SET a 1\r\nGET a\r\nINCR a\r\nPING\r\nEXISTS a\r\nTYPE a\r\nSET b 2 XX GET\r\n")
    want = b"+OK\r\n$1\r\n1\r\n:2\r\n+PONG\r\n:1\r\n+string\r\n_\r\n"
    assert c.read_exact(len(want)) == want
    c.send(b"INCRBYFLOAT f 1.5\r\nTTL f\r\nSCAN 0 MATCH nomatch\r\nKEYS nomatch\r\nfoo\r\n")
    want = (b"$3\r\n1.5\r\n:-1\r\n*2\r\n$1\r\n0\r\n*0\r\n*0\r\n"
            b"-ERR unknown command 'foo', with args beginning with: \r\n")
    assert c.read_exact(len(want)) == want
    # a HELLO without a version keeps the protocol
    reply = c.cmd("HELLO")
    assert isinstance(reply, RespMap) and reply.todict()[b"proto"] == 3
    # and back to RESP2
    reply = c.cmd("HELLO", "2")
    assert isinstance(reply, list) and reply[0] == b"server"
    c.send(b"GET nosuch\r\n")
    assert c.read_exact(5) == b"$-1\r\n"


def test_hello_resp3_info_is_verbatim(srv):
    c = srv.conn()
    c.cmd("HELLO", "3")
    c.cmd("SET", "a", "1")
    v = c.cmd("INFO", "keyspace")
    assert isinstance(v, Verbatim), repr(v)[:100]
    assert v.startswith(b"txt:# Keyspace\r\n")
    v = c.cmd("CLIENT", "INFO")
    assert isinstance(v, Verbatim) and v.startswith(b"txt:id=")


def test_hello_errors(srv):
    c = srv.conn()
    assert c.cmd("HELLO", "4") == Err(b"NOPROTO unsupported protocol version")
    assert c.cmd("HELLO", "1") == Err(b"NOPROTO unsupported protocol version")
    assert c.cmd("HELLO", "abc") == Err(b"ERR Protocol version is not an integer or out of range")
    assert c.cmd("HELLO", "3", "SETNAME") == Err(b"ERR Syntax error in HELLO option 'SETNAME'")
    assert c.cmd("HELLO", "3", "FOO") == Err(b"ERR Syntax error in HELLO option 'FOO'")
    # the connection is still RESP2 after the failures
    c.send(b"GET nosuch\r\n")
    assert c.read_exact(5) == b"$-1\r\n"
    reply = c.cmd("HELLO", "2", "SETNAME", "hello-name")
    assert reply[0] == b"server"
    assert c.cmd("CLIENT", "GETNAME") == b"hello-name"


# --------------------------------------------------------------------------
# AUTH


def test_auth_without_password(srv):
    c = srv.conn()
    assert c.cmd("AUTH", "foo") == Err(
        b"ERR AUTH <password> called without any password configured for the default user. "
        b"Are you sure your configuration is correct?")
    assert c.cmd("AUTH", "nouser", "pw") == \
        Err(b"WRONGPASS invalid username-password pair or user is disabled.")
    assert c.cmd("AUTH", "default", "anything") == OK  # the default user has nopass
    assert c.cmd("AUTH") == arity("auth")
    assert c.cmd("AUTH", "a", "b", "c") == SYNTAX
    assert c.cmd("PING") == PONG


@fresh_server("--requirepass", "s3cret")
def test_auth_with_requirepass(srv):
    c = srv.conn()
    assert c.cmd("GET", "x") == Err(b"NOAUTH Authentication required.")
    assert c.cmd("PING") == Err(b"NOAUTH Authentication required.")
    assert c.cmd("AUTH", "wrong") == \
        Err(b"WRONGPASS invalid username-password pair or user is disabled.")
    assert c.cmd("AUTH", "s3cret") == OK
    assert c.cmd("SET", "x", "1") == OK
    c2 = srv.conn()
    assert c2.cmd("AUTH", "default", "s3cret") == OK
    assert c2.cmd("GET", "x") == b"1"
    c3 = srv.conn()
    assert c3.cmd("HELLO", "3", "AUTH", "default", "bad") == \
        Err(b"WRONGPASS invalid username-password pair or user is disabled.")
    reply = c3.cmd("HELLO", "3", "AUTH", "default", "s3cret")
    assert isinstance(reply, RespMap)
    # unauthenticated clients may still QUIT
    assert srv.raw(b"QUIT\r\n", expect_close=True) == b"+OK\r\n"
    r = srv.client(password="s3cret")
    assert r.get("x") == b"1"


# --------------------------------------------------------------------------
# CLIENT


def client_fields(line):
    if isinstance(line, bytes):
        line = line.decode()
    out = {}
    for part in line.strip().split(" "):
        k, _, v = part.partition("=")
        out[k] = v
    return out


CLIENT_FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db",
                 "sub", "psub", "multi", "qbuf", "obl", "oll", "omem", "cmd", "user", "resp"]


def test_client_id_name(srv):
    c = srv.conn()
    cid = c.cmd("CLIENT", "ID")
    assert isinstance(cid, int) and cid > 0
    assert c.cmd("CLIENT", "ID") == cid
    other = srv.conn()
    assert other.cmd("CLIENT", "ID") != cid
    assert c.cmd("CLIENT", "GETNAME") is None
    assert c.cmd("CLIENT", "SETNAME", "worker-1") == OK
    assert c.cmd("CLIENT", "GETNAME") == b"worker-1"
    assert c.cmd("CLIENT", "SETNAME", "a b") == \
        Err(b"ERR Client names cannot contain spaces, newlines or special characters.")
    assert c.cmd("CLIENT", "SETNAME", "a\nb") == \
        Err(b"ERR Client names cannot contain spaces, newlines or special characters.")
    assert c.cmd("CLIENT", "GETNAME") == b"worker-1"
    assert c.cmd("CLIENT", "SETNAME", "") == OK  # clears the name
    assert c.cmd("CLIENT", "GETNAME") is None
    assert c.cmd("CLIENT", "SETNAME") == arity("client|setname")
    assert c.cmd("CLIENT", "FOO") == Err(b"ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
    assert c.cmd("CLIENT") == arity("client")


def test_client_reply(srv):
    """CLIENT REPLY OFF, ON and SKIP, as Redis: OFF and SKIP answer
    nothing, SKIP drops the next command's reply, errors included while
    OFF; a wrong mode is a syntax error. CLIENT REPLY was in COMMAND's
    table and answered "unknown subcommand". Also CLIENT LIST ID of an id
    no client has (0, -1) lists nothing (kvd refused it)."""
    wire = (b"CLIENT REPLY OFF\r\nPING\r\nSET a 1\r\nGET x y\r\nCLIENT REPLY maybe\r\nCLIENT REPLY ON\r\n"
            b"PING\r\nCLIENT REPLY SKIP\r\nECHO skipped\r\nECHO shown\r\nCLIENT REPLY SKIP\r\n"
            b"CLIENT REPLY SKIP\r\nECHO s2\r\nECHO shown2\r\nCLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\n"
            b"CLIENT REPLY ON\r\nGET a\r\nCLIENT REPLY maybe\r\n")
    assert srv.raw(wire, replies=7) == (b"+OK\r\n+PONG\r\n$5\r\nshown\r\n$6\r\nshown2\r\n+OK\r\n$1\r\n1\r\n"
                                        b"-ERR syntax error\r\n")
    c = srv.conn()
    assert c.cmd("CLIENT", "LIST", "ID", "0", "-1") == b""
    assert c.cmd("CLIENT", "LIST", "ID", "x") == Err(b"ERR Invalid client ID")
    assert c.cmd("CLIENT", "REPLY") == Err(b"ERR wrong number of arguments for 'client|reply' command")


def test_client_reply_keeps_pushes(srv):
    """Under CLIENT REPLY OFF or SKIP, Redis still sends what is pushed:
    (un)subscribe confirmations and messages, in both protocols, also from
    inside EXEC (without the EXEC's own reply); RESET turns replies on
    again (its +RESET goes out) but leaves a SKIP it is subject to; inside
    EXEC, OFF and ON take effect between replies; a monitor's feed is a
    reply, dropped while OFF. kvd dropped the confirmations, the +RESET
    and the messages taken during a SUBSCRIBE, and fed the monitor."""
    def last_cmd(cm):
        w = cm.lower().split()
        return w[0] + "|" + w[1] if w[0] == "client" else w[0]

    def run(pre, seq):
        a, b = srv.conn(), srv.conn()
        try:
            aid = a.cmd("CLIENT", "ID")
            if pre:
                assert a.cmd(*pre) is not None
            for cm in seq:
                a.send(encode(*cm.split()))
            # a's commands have run once CLIENT LIST shows its last one
            want = b" cmd=%s " % last_cmd(seq[-1]).encode()
            wait_for(lambda: want in b.cmd("CLIENT", "LIST", "ID", str(aid)), 10, what="a's commands run")
            assert isinstance(b.cmd("PUBLISH", "ch", "hello"), int)
            assert b.cmd("SET", "k", "v") == OK
            # RESET answers in every state, after what was sent before it,
            # and turns replies on for the ECHO that marks the end
            a.send(encode("RESET") + encode("ECHO", "__end__"))
            end = b"+RESET\r\n$7\r\n__end__\r\n"
            out = a.buf
            deadline = time.monotonic() + 10
            a.sock.settimeout(1)
            while not out.endswith(end) and time.monotonic() < deadline:
                try:
                    d = a.sock.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    break
                out += d
            assert out.endswith(end), out
            return re.sub(rb"\+\d+\.\d+ \[0 127\.0\.0\.1:\d+\]", b"+T", out[:-len(end)])
        finally:
            a.close()
            b.close()

    sub = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    msg = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    assert run(None, ["CLIENT REPLY OFF", "SUBSCRIBE ch"]) == sub + msg
    assert run(None, ["CLIENT REPLY SKIP", "SUBSCRIBE ch", "PING"]) == sub + b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" + msg
    assert run(None, ["CLIENT REPLY OFF", "SUBSCRIBE ch", "UNSUBSCRIBE ch"]) == \
        sub + b"*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n"
    assert run(None, ["CLIENT REPLY OFF", "UNSUBSCRIBE"]) == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    assert run(None, ["CLIENT REPLY OFF", "SSUBSCRIBE ch"]) == b"*3\r\n$10\r\nssubscribe\r\n$2\r\nch\r\n:1\r\n"
    assert run(None, ["CLIENT REPLY OFF", "SUBSCRIBE", "PING"]) == b""  # (errors are replies)
    assert run(None, ["CLIENT REPLY OFF", "SUBSCRIBE ch", "RESET"]) == sub + b"+RESET\r\n"
    assert run(None, ["CLIENT REPLY SKIP", "RESET", "PING"]) == b"+PONG\r\n"
    assert run(["HELLO", "3"], ["CLIENT REPLY OFF", "SUBSCRIBE ch"]) == \
        b">3" + sub[2:] + b">3" + msg[2:]
    assert run(None, ["CLIENT REPLY OFF", "MULTI", "SET a 1", "SUBSCRIBE ch", "EXEC"]) == sub + msg
    assert run(None, ["MULTI", "CLIENT REPLY OFF", "SUBSCRIBE ch", "GET a", "EXEC"]) == \
        b"+OK\r\n" + b"+QUEUED\r\n" * 3 + b"*3\r\n" + sub + msg
    assert run(None, ["MULTI", "CLIENT REPLY OFF", "SET a 1", "CLIENT REPLY ON", "GET a", "EXEC"]) == \
        b"+OK\r\n" + b"+QUEUED\r\n" * 4 + b"*4\r\n+OK\r\n$1\r\n1\r\n"
    assert run(None, ["CLIENT REPLY OFF", "MONITOR"]) == b""
    assert run(None, ["MONITOR", "CLIENT REPLY OFF"]) == b"+OK\r\n"
    assert run(None, ["MONITOR"]) == b'+OK\r\n+T "PUBLISH" "ch" "hello"\r\n+T "SET" "k" "v"\r\n'


def test_client_info_list(srv):
    c = srv.conn()
    c.cmd("CLIENT", "SETNAME", "lister")
    c.cmd("SELECT", "2")
    info = c.cmd("CLIENT", "INFO")
    assert isinstance(info, bytes) and info.endswith(b"\n") and info.count(b"\n") == 1
    f = client_fields(info)
    for k in CLIENT_FIELDS:
        assert k in f, "CLIENT INFO lacks %s: %r" % (k, info)
    assert int(f["id"]) == c.cmd("CLIENT", "ID")
    assert f["name"] == "lister"
    assert f["db"] == "2"
    assert f["cmd"] == "client|info"
    assert f["resp"] == "2"
    assert f["addr"].startswith("127.0.0.1:")
    assert f["laddr"] == "127.0.0.1:%d" % srv.port
    local = c.sock.getsockname()
    assert f["addr"] == "%s:%d" % local
    other = srv.conn()
    oid = other.cmd("CLIENT", "ID")
    listing = c.cmd("CLIENT", "LIST")
    lines = listing.decode().strip("\n").split("\n")
    ids = [int(client_fields(l)["id"]) for l in lines]
    assert int(f["id"]) in ids and oid in ids
    for l in lines:
        for k in CLIENT_FIELDS:
            assert k in client_fields(l), l
    # filters
    only = c.cmd("CLIENT", "LIST", "ID", str(oid))
    assert [int(client_fields(l)["id"]) for l in only.decode().strip().split("\n")] == [oid]
    assert c.cmd("CLIENT", "LIST", "ID", "999999") == b""
    typed = c.cmd("CLIENT", "LIST", "TYPE", "normal")
    assert len(typed.decode().strip().split("\n")) == len(lines)
    assert c.cmd("CLIENT", "LIST", "TYPE", "foo") == Err(b"ERR Unknown client type 'foo'")
    assert c.cmd("CLIENT", "INFO", "x") == arity("client|info")


def test_client_kill(srv):
    c = srv.conn()
    victim = srv.conn()
    vid = victim.cmd("CLIENT", "ID")
    assert c.cmd("CLIENT", "KILL", "ID", str(vid)) == 1
    assert victim.is_closed(3)
    assert c.cmd("CLIENT", "KILL", "ID", str(vid)) == 0
    assert c.cmd("CLIENT", "KILL", "ID", "0") == Err(b"ERR client-id should be greater than 0")
    assert c.cmd("CLIENT", "KILL", "ID", "abc") == Err(b"ERR client-id should be greater than 0")
    # by address, new and old forms
    v2 = srv.conn()
    v2.cmd("PING")
    addr = "%s:%d" % v2.sock.getsockname()
    assert c.cmd("CLIENT", "KILL", "ADDR", addr) == 1
    assert v2.is_closed(3)
    v3 = srv.conn()
    v3.cmd("PING")
    addr = "%s:%d" % v3.sock.getsockname()
    assert c.cmd("CLIENT", "KILL", addr) == OK
    assert v3.is_closed(3)
    assert c.cmd("CLIENT", "KILL", "1.2.3.4:5") == Err(b"ERR No such client")
    assert c.cmd("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == 0
    # filters skip the caller unless SKIPME no; then the reply comes first
    myid = c.cmd("CLIENT", "ID")
    assert c.cmd("CLIENT", "KILL", "ID", str(myid)) == 0
    assert c.cmd("CLIENT", "KILL", "ID", str(myid), "SKIPME", "maybe") == SYNTAX
    c.send(b"CLIENT KILL ID %d SKIPME no\r\n" % myid)
    assert c.read_exact(4) == b":1\r\n"
    assert c.is_closed(3)
    # the killed client disappears from CLIENT LIST
    d = srv.conn()
    wait_for(lambda: b"id=%d " % vid not in d.cmd("CLIENT", "LIST"), 5,
             what="killed client to leave CLIENT LIST")


def test_client_setinfo(srv):
    """CLIENT SETINFO is Redis 7.2; Debian's redis-server is 7.0."""
    c = srv.conn()
    reply = c.cmd("CLIENT", "SETINFO", "LIB-NAME", "kvd-tests")
    if is_redis() and reply == Err(b"ERR unknown subcommand 'SETINFO'. Try CLIENT HELP."):
        skip("redis-server < 7.2 has no CLIENT SETINFO")
    assert reply == OK
    assert c.cmd("CLIENT", "SETINFO", "LIB-VER", "1.2.3") == OK
    f = client_fields(c.cmd("CLIENT", "INFO"))
    assert f.get("lib-name") == "kvd-tests" and f.get("lib-ver") == "1.2.3", f
    assert isinstance(c.cmd("CLIENT", "SETINFO", "FOO", "x"), Err)
    assert isinstance(c.cmd("CLIENT", "SETINFO", "LIB-NAME", "a b"), Err)


# --------------------------------------------------------------------------
# COMMAND


def test_command_count_list(srv):
    c = srv.conn()
    n = c.cmd("COMMAND", "COUNT")
    assert isinstance(n, int) and n >= 40
    names = c.cmd("COMMAND", "LIST")
    assert isinstance(names, list)
    # Redis 7.0 lists subcommands ("config|get") too; COUNT counts top-level ones
    assert len([x for x in names if b"|" not in x]) == n
    for want in [b"get", b"set", b"ping", b"del", b"scan", b"command", b"incrbyfloat",
                 b"hello", b"client", b"config", b"info", b"getex", b"copy"]:
        assert want in names, want
    assert all(x == x.lower() for x in names)
    allinfo = c.cmd("COMMAND")
    assert isinstance(allinfo, list) and len(allinfo) == n
    assert sorted(e[0] for e in allinfo) == sorted(x for x in names if b"|" not in x)
    ge = c.cmd("COMMAND", "LIST", "FILTERBY", "PATTERN", "ge*")
    assert b"get" in ge and b"getrange" in ge and b"set" not in ge


def test_command_info(srv):
    c = srv.conn()
    reply = c.cmd("COMMAND", "INFO", "get", "nosuch", "SET", "mset", "ping")
    assert len(reply) == 5
    get, nosuch, set_, mset, ping = reply
    assert nosuch is None
    assert get[0] == b"get" and get[1] == 2
    assert Status(b"readonly") in get[2] and Status(b"fast") in get[2]
    assert get[3:6] == [1, 1, 1]
    assert len(get) == 10  # 7.0: name arity flags first last step acl tips keyspecs subcmds
    assert set_[0] == b"set" and set_[1] == -3
    assert Status(b"write") in set_[2]
    assert set_[3:6] == [1, 1, 1]
    assert mset[0] == b"mset" and mset[1] == -3 and mset[3:6] == [1, -1, 2]
    assert ping[0] == b"ping" and ping[1] == -1 and ping[3:6] == [0, 0, 0]
    assert c.cmd("COMMAND", "INFO") != arity("command|info")  # 7.0: all commands
    # wire format: flags are status replies
    raw = srv.raw(b"COMMAND INFO get\r\n", replies=1)
    assert raw.startswith(b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n")


def test_command_info_flags_categories_keyspecs(srv):
    """What cluster clients and proxies read: movablekeys on commands whose
    keys need COMMAND GETKEYS, the @blocking and @dangerous categories, and
    key-spec flags spelled as Redis spells them."""
    c = srv.conn()
    blpop, zus, get, flushall = c.cmd("COMMAND", "INFO", "blpop", "zunionstore", "get", "flushall")
    assert Status(b"blocking") in blpop[2]
    assert Status(b"@blocking") in blpop[6] and Status(b"@list") in blpop[6]
    assert Status(b"@blocking") not in get[6]
    assert Status(b"movablekeys") in zus[2]
    assert Status(b"movablekeys") not in get[2]
    assert Status(b"@dangerous") in flushall[6]
    spec = get[8][0]
    flags = spec[spec.index(b"flags") + 1]
    assert Status(b"RO") in flags and Status(b"access") in flags
    blocking = c.cmd("COMMAND", "LIST", "FILTERBY", "ACLCAT", "blocking")
    for name in [b"blpop", b"brpop", b"blmove", b"bzpopmin", b"bzmpop"]:
        assert name in blocking, name
    assert b"get" not in blocking and b"lpush" not in blocking
    assert b"flushall" in c.cmd("COMMAND", "LIST", "FILTERBY", "ACLCAT", "dangerous")


def test_command_docs_getkeys(srv):
    c = srv.conn()
    docs = c.cmd("COMMAND", "DOCS", "get")
    assert isinstance(docs, list) and docs[0] == b"get"
    d = dict(zip(docs[1][0::2], docs[1][1::2]))
    assert b"summary" in d and b"since" in d and b"group" in d
    assert d[b"group"] == b"string"
    assert c.cmd("COMMAND", "DOCS", "nosuch") == []
    assert c.cmd("COMMAND", "GETKEYS", "SET", "k", "v") == [b"k"]
    assert c.cmd("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert c.cmd("COMMAND", "GETKEYS", "DEL", "x", "y", "z") == [b"x", b"y", b"z"]
    assert c.cmd("COMMAND", "GETKEYS", "RENAME", "a", "b") == [b"a", b"b"]
    assert c.cmd("COMMAND", "GETKEYS", "GET") == arity("command|getkeys")
    assert c.cmd("COMMAND", "GETKEYS", "PING", "x") == Err(b"ERR The command has no key arguments")
    assert c.cmd("COMMAND", "GETKEYS", "nosuch", "x") == Err(b"ERR Invalid command specified")
    assert c.cmd("COMMAND", "GETKEYS", "SET", "a") == \
        Err(b"ERR Invalid number of arguments specified for command")
    assert c.cmd("COMMAND", "FOO") == Err(b"ERR unknown subcommand 'FOO'. Try COMMAND HELP.")


def test_redis_py_command_parsing(srv):
    """redis-py parses COMMAND output on its own; it must not choke."""
    r = srv.client()
    cmds = r.command()
    assert "get" in cmds and cmds["get"]["arity"] == 2
    assert r.command_count() == len(cmds)


# --------------------------------------------------------------------------
# INFO

SECTION_FIELDS = {
    "server": ["redis_version", "redis_mode", "os", "arch_bits", "process_id", "run_id",
               "tcp_port", "uptime_in_seconds", "uptime_in_days", "hz", "executable",
               "config_file"],
    "clients": ["connected_clients", "maxclients", "blocked_clients"],
    "memory": ["used_memory", "used_memory_human", "used_memory_rss", "used_memory_rss_human",
               "used_memory_peak", "used_memory_peak_human", "maxmemory", "maxmemory_human",
               "maxmemory_policy", "mem_fragmentation_ratio", "mem_allocator"],
    "stats": ["total_connections_received", "total_commands_processed",
              "instantaneous_ops_per_sec", "total_net_input_bytes", "total_net_output_bytes",
              "rejected_connections", "expired_keys", "evicted_keys", "keyspace_hits",
              "keyspace_misses"],
    "persistence": ["loading", "rdb_changes_since_last_save", "rdb_last_save_time",
                    "aof_enabled"],
    "replication": ["role", "connected_slaves"],
    "cpu": ["used_cpu_sys", "used_cpu_user"],
}


def test_info_sections(srv):
    c = srv.conn()
    c.cmd("SET", "a", "1")
    c.cmd("SET", "b", "1", "EX", "100")
    c.cmd("SELECT", "3")
    c.cmd("SET", "c", "1")
    text = c.cmd("INFO")
    assert isinstance(text, bytes) and text.startswith(b"# Server\r\n")
    assert text.endswith(b"\r\n")
    info = parse_info(text)
    for sec in ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                "Keyspace"]:
        assert sec in info["#sections"], sec
    for sec, fields in SECTION_FIELDS.items():
        for f in fields:
            assert f in info, "INFO lacks %s (section %s)" % (f, sec)
    assert info["tcp_port"] == str(srv.port)
    assert info["process_id"] == str(srv.pid)
    assert info["redis_mode"] == "standalone"
    assert info["role"] == "master"
    assert int(info["connected_clients"]) >= 1
    assert int(info["used_memory"]) > 0
    assert info["db0"].startswith("keys=2,expires=1,avg_ttl=")
    assert info["db3"] == "keys=1,expires=0,avg_ttl=0"
    assert "db1" not in info  # empty databases are not listed
    # one section, case-insensitive
    ks = parse_info(c.cmd("INFO", "KEYSPACE"))
    assert ks["#sections"] == ["Keyspace"]
    assert set(ks) == {"#sections", "db0", "db3"}
    for sec in SECTION_FIELDS:
        one = parse_info(c.cmd("INFO", sec))
        assert len(one["#sections"]) == 1, (sec, one["#sections"])
        for f in SECTION_FIELDS[sec]:
            assert f in one, (sec, f)
    two = parse_info(c.cmd("INFO", "server", "clients"))
    assert two["#sections"] == ["Server", "Clients"]
    assert c.cmd("INFO", "nosuchsection") == b""
    everything = parse_info(c.cmd("INFO", "everything"))
    assert "Commandstats" in everything["#sections"]
    assert parse_info(c.cmd("INFO", "all"))["#sections"][:2] == ["Server", "Clients"]


def test_info_stats_count(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    c.cmd("SET", "a", "1")
    for _ in range(3):
        c.cmd("GET", "a")
    for _ in range(2):
        c.cmd("GET", "nosuch")
    s = parse_info(c.cmd("INFO", "stats"))
    assert s["keyspace_hits"] == "3"
    assert s["keyspace_misses"] == "2"
    assert int(s["total_commands_processed"]) >= 6
    before = int(parse_info(c.cmd("INFO", "stats"))["total_connections_received"])
    for _ in range(3):
        srv.raw(b"PING\r\n", replies=1)
    after = int(parse_info(c.cmd("INFO", "stats"))["total_connections_received"])
    assert after >= before + 3
    c.cmd("SET", "e", "1", "PX", "1")
    time.sleep(0.05)
    c.cmd("GET", "e")
    assert int(parse_info(c.cmd("INFO", "stats"))["expired_keys"]) >= 1
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    s = parse_info(c.cmd("INFO", "stats"))
    assert s["keyspace_hits"] == "0" and s["keyspace_misses"] == "0"
    assert s["expired_keys"] == "0"


def test_info_connected_clients(srv):
    c = srv.conn()

    def count():
        return int(parse_info(c.cmd("INFO", "clients"))["connected_clients"])
    # connections of earlier tests may still be closing (slowly, under the
    # sanitizers): wait until the count is steady before taking the base
    prev = [count()]

    def steady():
        time.sleep(0.1)
        now = count()
        same = now == prev[0]
        prev[0] = now
        return same
    wait_for(steady, 10, what="a steady client count")
    base = prev[0]
    extra = [srv.conn() for _ in range(5)]
    for e in extra:
        e.cmd("PING")
    assert int(parse_info(c.cmd("INFO", "clients"))["connected_clients"]) == base + 5
    for e in extra:
        e.close()
    wait_for(lambda: int(parse_info(c.cmd("INFO", "clients"))["connected_clients"]) == base,
             5, what="connected_clients to drop back")


# --------------------------------------------------------------------------
# CONFIG


def config_dict(reply):
    return dict(zip(reply[0::2], reply[1::2]))


def test_config_get(srv):
    c = srv.conn()
    d = config_dict(c.cmd("CONFIG", "GET", "port"))
    assert d == {b"port": str(srv.port).encode()}
    d = config_dict(c.cmd("CONFIG", "GET", "port", "bind", "save", "appendonly", "databases",
                          "maxclients", "dir"))
    assert d[b"port"] == str(srv.port).encode()
    assert d[b"bind"] == b"127.0.0.1"
    assert d[b"save"] == b""
    assert d[b"appendonly"] == b"no"
    assert d[b"databases"] == b"16"
    assert d[b"maxclients"].isdigit()
    assert d[b"dir"].startswith(b"/")
    d = config_dict(c.cmd("CONFIG", "GET", "max*"))
    for k in [b"maxclients", b"maxmemory", b"maxmemory-policy"]:
        assert k in d, k
    assert all(k.startswith(b"max") for k in d)
    d = config_dict(c.cmd("CONFIG", "GET", "*"))
    assert len(d) > 20 and b"port" in d and b"timeout" in d
    # case-insensitive; Redis 7.0 echoes the name as the caller spelt it
    assert list(config_dict(c.cmd("CONFIG", "GET", "PORT")).values()) == [str(srv.port).encode()]
    assert c.cmd("CONFIG", "GET", "nosuchparam") == []
    assert c.cmd("CONFIG", "GET") == arity("config|get")
    assert c.cmd("CONFIG", "FOO") == Err(b"ERR unknown subcommand 'FOO'. Try CONFIG HELP.")


@fresh_server()
def test_config_set(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == OK
    assert config_dict(c.cmd("CONFIG", "GET", "maxmemory-policy")) == \
        {b"maxmemory-policy": b"allkeys-lru"}
    assert c.cmd("CONFIG", "SET", "maxmemory", "100mb") == OK
    assert config_dict(c.cmd("CONFIG", "GET", "maxmemory")) == {b"maxmemory": b"104857600"}
    assert c.cmd("CONFIG", "SET", "timeout", "300", "maxmemory", "0") == OK
    d = config_dict(c.cmd("CONFIG", "GET", "timeout", "maxmemory"))
    assert d == {b"timeout": b"300", b"maxmemory": b"0"}
    assert c.cmd("CONFIG", "SET", "nosuch", "1") == \
        Err(b"ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'")
    assert c.cmd("CONFIG", "SET", "maxclients", "abc") == Err(
        b"ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
        b"argument couldn't be parsed into an integer")
    assert c.cmd("CONFIG", "SET", "maxmemory-policy", "bogus") == Err(
        b"ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
        b"argument(s) must be one of the following: volatile-lru, volatile-lfu, "
        b"volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
    assert config_dict(c.cmd("CONFIG", "GET", "maxmemory-policy")) == \
        {b"maxmemory-policy": b"allkeys-lru"}
    assert c.cmd("CONFIG", "SET", "timeout") == arity("config|set")
    assert c.cmd("CONFIG", "SET", "timeout", "1", "maxmemory") == SYNTAX


@fresh_server()
def test_config_set_timeout_closes_idle(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "SET", "timeout", "1") == OK
    idle = srv.conn()
    idle.cmd("PING")
    assert idle.is_closed(15), "idle client not closed within 15 s of timeout 1"
    assert c.is_closed(5)  # so was the one that set it, idle meanwhile
    c2 = srv.conn()
    assert c2.cmd("CONFIG", "SET", "timeout", "0") == OK


def test_time_dbsize(srv):
    c = srv.conn()
    t = c.cmd("TIME")
    assert isinstance(t, list) and len(t) == 2
    assert all(isinstance(x, bytes) and x.isdigit() for x in t)
    secs, usecs = int(t[0]), int(t[1])
    assert abs(secs + usecs / 1e6 - time.time()) < 2
    assert 0 <= usecs < 1000000
    assert c.cmd("TIME", "x") == arity("time")
    assert c.cmd("DBSIZE") == 0
    c.cmd("MSET", "a", "1", "b", "2")
    assert c.cmd("DBSIZE") == 2


def test_role(srv):
    """ROLE: a master (kvd has no replicas): [master, offset, []], in both
    protocols, and through redis-py (health checks ask it)."""
    c = srv.conn()
    r = c.cmd("ROLE")
    assert r[0] == b"master" and isinstance(r[1], int) and r[2] == [], r
    assert c.cmd("ROLE", "x") == arity("role")
    c.cmd("HELLO", "3")
    assert c.cmd("ROLE")[0] == b"master"
    assert srv.client().role()[0] in (b"master", "master")


def test_redis_py_server_api(srv):
    r = srv.client()
    assert r.ping() is True
    assert r.echo("x") == b"x"
    info = r.info()
    assert "redis_version" in info and info["tcp_port"] == srv.port
    assert r.config_get("port") == {"port": str(srv.port)} or \
        r.config_get("port") == {b"port": str(srv.port).encode()}
    assert r.client_setname("pyclient") is True
    assert r.client_getname() in ("pyclient", b"pyclient")
    assert r.client_id() > 0
    assert isinstance(r.client_list(), list)
    assert r.dbsize() == 0
    assert isinstance(r.time(), tuple)


@kvd_only
def test_info_kvd_fields(srv):
    """kvd's own INFO fields, beside Redis's."""
    c = srv.conn()
    info = parse_info(c.cmd("INFO", "server"))
    assert info["#sections"] == ["Server"]
    v = info.get("kvd_version", "")
    assert v and all(p.isdigit() for p in v.split(".")), v
    assert info["redis_version"].startswith("7."), info["redis_version"]
    assert info["text_port"] == str(srv.text_port)
    shards = int(info["shards"])
    assert shards > 0 and shards & (shards - 1) == 0, shards
    assert info["databases"] == "16"
    assert config_dict(c.cmd("CONFIG", "GET", "text-port")) == \
        {b"text-port": str(srv.text_port).encode()}
