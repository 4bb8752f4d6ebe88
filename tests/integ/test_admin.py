"""Introspection: SLOWLOG, MONITOR, INFO (as python3-redis parses it),
errorstats, CLIENT LIST/INFO fields, CLIENT KILL filters, LATENCY DOCTOR."""

import re
import time

from harness import Err, OK, Status, fresh_server, is_redis, parse_info, wait_for

CLIENT_FIELDS_70 = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                    "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl",
                    "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp"]


def fields(line):
    return [kv.split("=", 1)[0] for kv in line.split(" ")]


def fdict(line):
    return dict(kv.split("=", 1) for kv in line.split(" "))


# --------------------------------------------------------------------------
# SLOWLOG


def test_slowlog_basics(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0") == OK
    try:
        assert c.cmd("SLOWLOG", "RESET") == OK
        c.cmd("CLIENT", "SETNAME", "slowpoke")
        c.cmd("SET", "k", "v")
        c.cmd("GET", "k")
        entries = c.cmd("SLOWLOG", "GET", "2")
        assert len(entries) == 2
        newest, older = entries
        assert newest[3] == [b"GET", b"k"]
        assert older[3] == [b"SET", b"k", b"v"]
        assert newest[0] == older[0] + 1                      # ids grow
        assert abs(newest[1] - time.time()) < 5               # unix time
        assert isinstance(newest[2], int) and newest[2] >= 0  # microseconds
        assert newest[4] == ("%s:%d" % c.sock.getsockname()).encode()
        assert newest[5] == b"slowpoke"
        n = c.cmd("SLOWLOG", "LEN")
        assert n >= 3
        assert len(c.cmd("SLOWLOG", "GET", "-1")) >= 3
        assert len(c.cmd("SLOWLOG", "GET")) <= 10
        assert c.cmd("SLOWLOG", "GET", "0") == []
        assert c.cmd("SLOWLOG", "RESET") == OK
        assert c.cmd("SLOWLOG", "LEN") <= 1  # the RESET itself may be logged after it ran
        # errors, as Redis
        assert c.cmd("SLOWLOG", "GET", "-2") == Err(b"ERR count should be greater than or equal to -1")
        assert c.cmd("SLOWLOG", "GET", "abc") == Err(b"ERR count should be greater than or equal to -1")
        assert c.cmd("SLOWLOG", "GET", "1", "2") == Err(
            b"ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.")
        assert c.cmd("SLOWLOG", "LEN", "x") == Err(b"ERR wrong number of arguments for 'slowlog|len' command")
        assert c.cmd("SLOWLOG", "FOO") == Err(b"ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.")
        assert c.cmd("SLOWLOG") == Err(b"ERR wrong number of arguments for 'slowlog' command")
        help_ = c.cmd("SLOWLOG", "HELP")
        assert help_[0] == Status(b"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    finally:
        c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def test_slowlog_truncates_and_redacts(srv):
    c = srv.conn()
    c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        c.cmd("SLOWLOG", "RESET")
        c.cmd("SET", "big", "a" * 200)
        e = c.cmd("SLOWLOG", "GET", "1")[0]
        assert e[3] == [b"SET", b"big", b"a" * 128 + b"... (72 more bytes)"]
        c.cmd("DEL", *["k%d" % i for i in range(40)])
        e = c.cmd("SLOWLOG", "GET", "1")[0]
        assert len(e[3]) == 32
        assert e[3][:3] == [b"DEL", b"k0", b"k1"]
        assert e[3][-1] == b"... (10 more arguments)"
        c.cmd("AUTH", "secret")
        e = c.cmd("SLOWLOG", "GET", "1")[0]
        assert e[3] == [b"AUTH", b"(redacted)"]
    finally:
        c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def test_slowlog_threshold_and_max_len(srv):
    c = srv.conn()
    c.cmd("SLOWLOG", "RESET")
    c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "-1")  # disabled
    c.cmd("SET", "a", "1")
    assert c.cmd("SLOWLOG", "LEN") == 0
    c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000000")  # 10 s: nothing that slow
    c.cmd("SET", "a", "1")
    assert c.cmd("SLOWLOG", "LEN") == 0
    try:
        assert c.cmd("CONFIG", "SET", "slowlog-max-len", "3", "slowlog-log-slower-than", "0") == OK
        for i in range(10):
            c.cmd("SET", "k%d" % i, "v")
        assert c.cmd("SLOWLOG", "LEN") == 3
        got = c.cmd("SLOWLOG", "GET", "-1")
        assert got[0][3] == [b"SLOWLOG", b"LEN"]  # newest first
        assert got[1][3] == [b"SET", b"k9", b"v"] and got[2][3] == [b"SET", b"k8", b"v"]
    finally:
        c.cmd("CONFIG", "SET", "slowlog-max-len", "128", "slowlog-log-slower-than", "10000")
        c.cmd("SLOWLOG", "RESET")


# --------------------------------------------------------------------------
# MONITOR

LINE = re.compile(rb'^\+(\d{10})\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)$')


def monitor_lines(m, n, timeout=5):
    """Read n monitor status lines from raw connection m."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        v = m.read_reply(timeout=max(0.1, deadline - time.monotonic()))
        out.append(bytes(v))
    return out


def test_monitor_streams_commands(srv):
    m = srv.conn()
    assert m.cmd("MONITOR") == OK
    c = srv.conn()
    c.cmd("SET", "a", "b c")
    c.cmd("GET", "a")
    c.cmd("SELECT", "2")
    c.cmd("SET", "q\x01", "y\"z")
    c.cmd("CONFIG", "GET", "port")   # admin commands are not shown
    c.cmd("NOSUCHCMD", "x")          # nor rejected ones
    c.cmd("GET")
    c.cmd("PING")
    lines = monitor_lines(m, 5)
    addr = ("%s:%d" % c.sock.getsockname()).encode()
    parsed = []
    for l in lines:
        mo = LINE.match(b"+" + l)
        assert mo, l
        assert abs(int(mo.group(1)) - time.time()) < 5
        assert mo.group(4) == addr
        parsed.append((int(mo.group(3)), mo.group(5)))
    assert parsed == [
        (0, b'"SET" "a" "b c"'),
        (0, b'"GET" "a"'),
        (2, b'"SELECT" "2"'),
        (2, b'"SET" "q\\x01" "y\\"z"'),
        (2, b'"PING"'),
    ]


def test_monitor_redacts_auth_and_stops_on_close(srv):
    m = srv.conn()
    assert m.cmd("MONITOR") == OK
    c = srv.conn()
    c.cmd("AUTH", "hunter2")
    c.cmd("ECHO", "after")
    lines = monitor_lines(m, 2)
    assert lines[0].endswith(b'"AUTH" "(redacted)"')
    assert lines[1].endswith(b'"ECHO" "after"')
    assert b"hunter2" not in b"".join(lines)
    m.close()
    # the server keeps working once the monitor is gone
    for _ in range(50):
        assert c.cmd("PING") == Status(b"PONG")


def test_monitor_flag_in_client_list(srv):
    m = srv.conn()
    mid = m.cmd("CLIENT", "ID")
    assert m.cmd("MONITOR") == OK
    c = srv.conn()
    lines = c.cmd("CLIENT", "LIST").decode().splitlines()
    mine = [fdict(l) for l in lines if fdict(l)["id"] == str(mid)]
    assert mine and mine[0]["flags"] == "O" and mine[0]["cmd"] == "monitor"


def test_monitor_with_redis_cli(srv):
    import subprocess
    p = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", str(srv.port), "MONITOR"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        c = srv.conn()
        wait_for(lambda: "flags=O" in c.cmd("CLIENT", "LIST").decode(), 5, what="monitor to start")
        c.cmd("SET", "x", "1")
        line = p.stdout.readline()
        if line.strip() == b"OK":
            line = p.stdout.readline()
        assert re.match(rb'^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "x" "1"\n$', line), line
    finally:
        p.kill()
        p.wait()


# --------------------------------------------------------------------------
# INFO


def test_info_parsed_by_redis_py(srv):
    r = srv.client()
    r.set("a", "1")
    r.set("b", "2", ex=100)
    info = r.info()
    for f in ["redis_version", "process_id", "tcp_port", "uptime_in_seconds", "connected_clients",
              "used_memory", "used_memory_human", "mem_allocator", "loading", "rdb_changes_since_last_save",
              "total_connections_received", "total_commands_processed", "keyspace_hits", "keyspace_misses",
              "role", "used_cpu_sys", "used_cpu_user", "maxmemory", "maxmemory_policy"]:
        assert f in info, f
    assert info["role"] == "master"
    assert info["tcp_port"] == srv.port
    assert info["db0"] == {"keys": 2, "expires": 1, "avg_ttl": info["db0"]["avg_ttl"]}
    assert set(info["db0"]) == {"keys", "expires", "avg_ttl"}  # exporters break on extra fields
    assert info["process_supervised"] == "no"
    everything = r.info("everything")
    assert "cmdstat_set" in everything
    assert set(everything["cmdstat_set"]) >= {"calls", "usec", "usec_per_call", "rejected_calls",
                                              "failed_calls"}
    several = parse_info(srv.conn().cmd("INFO", "memory", "cpu", "replication"))
    assert several["#sections"] == ["Memory", "Replication", "CPU"]
    dflt = parse_info(srv.conn().cmd("INFO", "default"))
    assert "Commandstats" not in dflt["#sections"] and "Keyspace" in dflt["#sections"]
    assert "Errorstats" in dflt["#sections"]
    allsec = parse_info(srv.conn().cmd("INFO", "all"))
    assert "Commandstats" in allsec["#sections"] and "Latencystats" in allsec["#sections"]


@fresh_server()
def test_info_errorstats(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    c.cmd("SET", "s", "x")
    c.cmd("AUTH", "nobody", "pw")  # WRONGPASS
    c.cmd("NOSUCH")                # ERR unknown command
    c.cmd("GET")                   # ERR arity
    c.cmd("INCR", "s")             # ERR not an integer
    e = parse_info(c.cmd("INFO", "errorstats"))
    assert e["#sections"] == ["Errorstats"]
    assert e["errorstat_WRONGPASS"] == "count=1"
    assert e["errorstat_ERR"] == "count=3"
    assert parse_info(c.cmd("INFO", "stats"))["total_error_replies"] == "4"
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    e = parse_info(c.cmd("INFO", "errorstats"))
    assert "errorstat_ERR" not in e
    r = srv.client()
    assert "errorstat_ERR" not in r.info("errorstats")


# --------------------------------------------------------------------------
# CLIENT


def test_client_list_fields_as_redis_70(srv):
    c = srv.conn()
    c.cmd("CLIENT", "SETNAME", "fields")
    line = c.cmd("CLIENT", "INFO").decode().rstrip("\n")
    got = fields(line)
    # exactly Redis 7.0's fields in its order; 7.2's lib-name/lib-ver may follow
    assert got[:len(CLIENT_FIELDS_70)] == CLIENT_FIELDS_70, got
    assert got[len(CLIENT_FIELDS_70):] in ([], ["lib-name", "lib-ver"])
    d = fdict(line)
    assert d["cmd"] == "client|info" and d["flags"] == "N" and d["name"] == "fields"
    other = srv.conn()
    other.cmd("PING")
    for l in c.cmd("CLIENT", "LIST").decode().splitlines():
        assert fields(l)[:len(CLIENT_FIELDS_70)] == CLIENT_FIELDS_70
    assert fdict(c.cmd("CLIENT", "LIST", "ID", str(other.cmd("CLIENT", "ID"))).decode().strip())["cmd"] \
        in ("client|id", "client")


def test_client_kill_filters(srv):
    c = srv.conn()
    a = srv.conn()
    a.cmd("PING")
    assert c.cmd("CLIENT", "KILL", "TYPE", "foo") == Err(b"ERR Unknown client type 'foo'")
    assert c.cmd("CLIENT", "KILL", "USER", "nobody") == Err(b"ERR No such user 'nobody'")
    assert c.cmd("CLIENT", "KILL", "TYPE", "master") == 0
    assert c.cmd("CLIENT", "KILL", "SKIPME", "maybe") == Err(b"ERR syntax error")
    assert c.cmd("CLIENT", "KILL", "ID") == Err(b"ERR No such client")  # the old CLIENT KILL addr form
    # my own id with the default SKIPME yes: nothing killed (as Redis)
    assert c.cmd("CLIENT", "KILL", "ID", str(c.cmd("CLIENT", "ID"))) == 0
    # by laddr: every client but me
    n = c.cmd("CLIENT", "KILL", "LADDR", "127.0.0.1:%d" % srv.port, "TYPE", "normal")
    assert n >= 1
    assert a.is_closed(3)
    assert c.cmd("PING") == Status(b"PONG")
    assert c.cmd("CLIENT", "NO-EVICT", "on") == OK
    assert c.cmd("CLIENT", "NO-EVICT", "maybe") == Err(b"ERR syntax error")
    # the flag shows in CLIENT INFO as 'e' (Redis 7.0) and goes away with off
    assert b" flags=e " in c.cmd("CLIENT", "INFO")
    assert c.cmd("CLIENT", "NO-EVICT", "OFF") == OK
    assert b" flags=N " in c.cmd("CLIENT", "INFO")


def test_latency_doctor(srv):
    c = srv.conn()
    text = c.cmd("LATENCY", "DOCTOR")
    assert isinstance(text, bytes) and len(text) > 0
