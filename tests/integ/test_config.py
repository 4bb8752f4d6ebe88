"""Configuration: the file (errors with file, line and reason; include;
quoting; units), --test-config, command-line overrides, CONFIG GET/SET/
REWRITE/RESETSTAT, protected configs, the shipped etc/kvd.conf, and that
every directive is documented (etc/kvd.conf and man/kvd.conf.5)."""

import os
import re
import socket
import subprocess
import tempfile
import time

import harness
from harness import Err, OK, RawConn, fresh_server, free_port, is_redis, kvd_only, skip

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def kvd():
    return harness.CONFIG["server"]


def run_kvd(*args, timeout=20):
    p = subprocess.run([kvd()] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class Proc:
    """kvd started from a config file in a temp dir (kvd only)."""

    def __init__(self, conf, *args):
        self.conf = conf
        self.port = free_port()
        self.log = open(conf + ".out", "ab")
        self.p = subprocess.Popen([kvd(), conf, "--port", str(self.port), "--text-port", "0"] +
                                  [str(a) for a in args], stdout=self.log, stderr=subprocess.STDOUT,
                                  cwd=os.path.dirname(conf), start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                raise AssertionError("kvd exited %s: %s" % (self.p.returncode, self.out()))
            try:
                c = RawConn(self.port, timeout=2)
                r = c.cmd("PING")
                if r == harness.PONG or (isinstance(r, Err) and r.startswith(b"NOAUTH")):
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError("kvd did not start: " + self.out())

    def out(self):
        with open(self.conf + ".out", "rb") as f:
            return f.read().decode(errors="replace")

    def conn(self):
        return RawConn(self.port)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


# --------------------------------------------------------------------------
# bad configuration files: exit 1, file, line, text, reason

BAD = [
    ("nosuchdirective 1", "Bad directive or wrong number of arguments"),
    ("port", "Bad directive or wrong number of arguments"),
    ("port 1 2", "Bad directive or wrong number of arguments"),
    ("port abc", "argument couldn't be parsed into an integer"),
    ("port 70000", "argument must be between 0 and 65535 inclusive"),
    ("protected-mode maybe", "argument must be 'yes' or 'no'"),
    ("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning"),
    ("maxmemory 12zb", "argument must be a memory value"),
    ("maxmemory -1", "argument must be a memory value"),
    ("shards 3", "argument must be a power of two"),
    ("save 60", "Invalid save parameters"),
    ("save 60 x", "Invalid save parameters"),
    ('requirepass "unterminated', "Unbalanced quotes in configuration line"),
    ("requirepass 'a'b", "Unbalanced quotes in configuration line"),
    ("dir /nonexistent/kvd-test-dir", "No such file or directory"),
    ("rename-command nosuchcmd foo", "No such command in rename-command"),
    ("rename-command get", "Bad directive or wrong number of arguments"),
    ("include", "Bad directive or wrong number of arguments"),
    ("include /nonexistent/kvd-include.conf", "cannot open config file '/nonexistent/kvd-include.conf'"),
    ("client-output-buffer-limit nosuch 1 2 3", "Invalid client class specified in buffer limit configuration."),
    ("unixsocketperm 999", "argument couldn't be parsed into an octal number"),
]


@kvd_only
def test_bad_config_lines_exit_1_with_file_line_reason(srv):
    d = tempfile.mkdtemp(prefix="kvd-conf-")
    for i, (line, reason) in enumerate(BAD):
        path = write(os.path.join(d, "bad%d.conf" % i), "# a comment\n\nport 7000\n  %s\nloglevel notice\n" % line)
        for args in (["--test-config", path], [path, "--port", str(free_port())]):
            code, out, err = run_kvd(*args)
            assert code == 1, (line, code, out, err)
            want = "kvd: configuration error: %s:4: '%s': %s" % (path, line, reason)
            assert err.startswith(want), "for %r\nwant %r\ngot  %r" % (line, want, err)


@kvd_only
def test_bad_line_in_included_file_names_that_file(srv):
    d = tempfile.mkdtemp(prefix="kvd-conf-")
    inner = write(os.path.join(d, "inner.conf"), "port 7000\nhz -1\n")
    outer = write(os.path.join(d, "outer.conf"), "include %s\n" % inner)
    code, _, err = run_kvd("--test-config", outer)
    assert code == 1
    assert err.startswith("kvd: configuration error: %s:2: 'hz -1': argument must be between 0 and 2147483647 "
                          "inclusive" % inner), err
    loop = write(os.path.join(d, "loop.conf"), "include %s\n" % os.path.join(d, "loop.conf"))
    code, _, err = run_kvd("--test-config", loop)
    assert code == 1 and "include nesting too deep" in err


@kvd_only
def test_test_config_ok_and_command_line_errors(srv):
    d = tempfile.mkdtemp(prefix="kvd-conf-")
    path = write(os.path.join(d, "ok.conf"), 'port 7000\nrequirepass "with space"\nsave 900 1\nsave 300 10\n')
    code, out, err = run_kvd("--test-config", path)
    assert code == 0, err
    assert "test is successful" in out and path in out
    code, out, err = run_kvd("--test-config")
    assert code == 0, err
    code, _, err = run_kvd("--test-config", path, "--port", "99999")
    assert code == 1
    assert err.startswith("kvd: configuration error: command line: '--port 99999': argument must be "
                          "between 0 and 65535 inclusive"), err
    code, _, err = run_kvd("--test-config", "/nonexistent/kvd.conf")
    assert code == 1 and "cannot open config file '/nonexistent/kvd.conf'" in err


@kvd_only
def test_debians_redis_conf_is_accepted(srv):
    """kvd takes the redis.conf Debian's redis-server ships (what a user
    moving from Redis points it at): every directive in it is known. It
    refused the file at line 410 (proc-title-template), then at 8 more."""
    path = "/etc/redis/redis.conf"
    if not os.access(path, os.R_OK):
        skip("%s is not readable here (apt-get install redis-server)" % path)
    code, out, err = run_kvd("--test-config", path)
    assert code == 0, err
    assert "test is successful" in out, out


@kvd_only
def test_file_values_include_quotes_units_and_overrides(srv):
    d = tempfile.mkdtemp(prefix="kvd-conf-")
    inc = write(os.path.join(d, "inc.conf"), "hz 20\n")
    path = write(os.path.join(d, "kvd.conf"),
                 "# kvd test\nmaxmemory 100mb\nrequirepass \"s3 cr\\\"et\"\nsave 900 1\nsave 300 10\n"
                 "include %s\ntimeout 5\nclient-output-buffer-limit pubsub 64mb 16mb 30\n"
                 "rename-command flushall \"\"\n" % inc)
    p = Proc(path, "--timeout", "7")
    try:
        c = p.conn()
        assert c.cmd("AUTH", 's3 cr"et') == OK
        d_ = dict(zip(*[iter(c.cmd("CONFIG", "GET", "maxmemory", "save", "hz", "timeout",
                                   "client-output-buffer-limit"))] * 2))
        assert d_[b"maxmemory"] == b"104857600"
        assert d_[b"save"] == b"900 1 300 10"
        assert d_[b"hz"] == b"20"
        assert d_[b"timeout"] == b"7"  # the command line wins
        assert d_[b"client-output-buffer-limit"] == \
            b"normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 30"
        r = c.cmd("FLUSHALL")
        assert isinstance(r, Err) and r.startswith(b"ERR unknown command 'FLUSHALL'"), r
        c.close()
    finally:
        p.stop()


# --------------------------------------------------------------------------
# CONFIG GET / SET at run time (also against redis-server)


def cfg(c, *names):
    r = c.cmd("CONFIG", "GET", *names)
    return dict(zip(r[0::2], r[1::2]))


def test_config_get_globs_and_several(srv):
    c = srv.conn()
    d = cfg(c, "maxmemory*", "port", "slowlog-*")
    assert b"port" in d and b"maxmemory" in d and b"maxmemory-policy" in d
    assert b"slowlog-log-slower-than" in d and b"slowlog-max-len" in d
    assert all(k == b"port" or k.startswith(b"maxmemory") or k.startswith(b"slowlog-") for k in d)
    assert cfg(c, "?ort") == {b"port": str(srv.port).encode()}
    assert cfg(c, "nosuch*") == {}
    # a pattern matches a directive's name and its alias apart, as Redis
    c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "100")
    assert cfg(c, "hash-max-*-entries") == {b"hash-max-listpack-entries": b"100", b"hash-max-ziplist-entries": b"100"}
    assert cfg(c, "HASH-max-ZIPLIST-entries") == {b"HASH-max-ZIPLIST-entries": b"100"}
    assert cfg(c, "*slave-read-only*") == {b"slave-read-only": b"yes"}
    c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "128")


def test_config_set_units_and_atomicity(srv):
    c = srv.conn()
    try:
        assert c.cmd("CONFIG", "SET", "maxmemory", "1gb") == OK
        assert cfg(c, "maxmemory") == {b"maxmemory": b"1073741824"}
        assert c.cmd("CONFIG", "SET", "maxmemory", "100MB", "hz", "15") == OK
        assert cfg(c, "maxmemory", "hz") == {b"maxmemory": b"104857600", b"hz": b"15"}
        # one bad value: nothing changes
        r = c.cmd("CONFIG", "SET", "hz", "20", "maxmemory", "12zb")
        assert r == Err(b"ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
                        b"argument must be a memory value")
        assert cfg(c, "maxmemory", "hz") == {b"maxmemory": b"104857600", b"hz": b"15"}
        r = c.cmd("CONFIG", "SET", "hz", "20", "hz", "30")
        assert r == Err(b"ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter")
        r = c.cmd("CONFIG", "SET", "hz", "20", "daemonize", "yes")
        assert r == Err(b"ERR CONFIG SET failed (possibly related to argument 'daemonize') - "
                        b"can't set immutable config")
        assert cfg(c, "hz") == {b"hz": b"15"}
        assert c.cmd("CONFIG", "SET", "save", "100 10 20 1") == OK
        assert cfg(c, "save") == {b"save": b"100 10 20 1"}
        assert c.cmd("CONFIG", "SET", "save", "100") == \
            Err(b"ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters")
        assert c.cmd("CONFIG", "SET", "loglevel", "VERBOSE") == OK
        assert cfg(c, "loglevel") == {b"loglevel": b"verbose"}
    finally:
        c.cmd("CONFIG", "SET", "maxmemory", "0", "hz", "10", "save", "", "loglevel", "notice")


def test_config_set_clamps_and_percent_as_redis(srv):
    """What Redis takes and clamps, or takes as a percentage: hz within
    1..500, repl-backlog-size at least 16 KB, maxmemory-clients as <n>%
    (0..100), an empty client-output-buffer-limit changing nothing. kvd
    kept hz 0 and 65536 and a 1-byte backlog as given, refused "5%" and
    the empty limit."""
    c = srv.conn()
    pre = "ERR CONFIG SET failed (possibly related to argument '%s') - "
    try:
        for v, shown in [("0", b"1"), ("501", b"500"), ("500", b"500"), ("1", b"1")]:
            assert c.cmd("CONFIG", "SET", "hz", v) == OK
            assert cfg(c, "hz") == {b"hz": shown}
        for v, shown in [("1", b"16384"), ("1k", b"16384"), ("16385", b"16385")]:
            assert c.cmd("CONFIG", "SET", "repl-backlog-size", v) == OK
            assert cfg(c, "repl-backlog-size") == {b"repl-backlog-size": shown}
        for v, shown in [("5%", b"5%"), ("100%", b"100%"), ("0%", b"0"), ("1gb", b"1073741824")]:
            assert c.cmd("CONFIG", "SET", "maxmemory-clients", v) == OK
            assert cfg(c, "maxmemory-clients") == {b"maxmemory-clients": shown}
        assert c.cmd("CONFIG", "SET", "maxmemory-clients", "101%") == \
            Err((pre % "maxmemory-clients").encode() + b"percentage argument must be less or equal to 100")
        for v in ["-5%", "abc%", "%", "5.5%", "05%", "abc", "-1"]:
            assert c.cmd("CONFIG", "SET", "maxmemory-clients", v) == \
                Err((pre % "maxmemory-clients").encode() + b"argument must be a memory or percent value"), v
        assert cfg(c, "maxmemory-clients") == {b"maxmemory-clients": b"1073741824"}
        before = cfg(c, "client-output-buffer-limit")
        assert c.cmd("CONFIG", "SET", "client-output-buffer-limit", "") == OK
        assert cfg(c, "client-output-buffer-limit") == before
        assert c.cmd("CONFIG", "SET", "client-output-buffer-limit", " ") == \
            Err((pre % "client-output-buffer-limit").encode() + b"Wrong number of arguments in buffer limit configuration.")
    finally:
        c.cmd("CONFIG", "SET", "hz", "10", "repl-backlog-size", "1mb", "maxmemory-clients", "0")


PROTECTED = ["dir", "dbfilename"]  # immutable in Redis 7.0 but protected in kvd: logfile pidfile appenddirname


def test_protected_configs_refused(srv):
    c = srv.conn()
    for name in PROTECTED:
        r = c.cmd("CONFIG", "SET", name, "/tmp")
        assert r == Err(b"ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config"
                        % name.encode()), (name, r)


@kvd_only
def test_protected_file_configs_refused_in_kvd(srv):
    c = srv.conn()
    for name in ["logfile", "pidfile", "appenddirname"]:
        r = c.cmd("CONFIG", "SET", name, "/tmp/x")
        assert r == Err(b"ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config"
                        % name.encode()), (name, r)
    r = c.cmd("CONFIG", "SET", "enable-protected-configs", "yes")
    assert r == Err(b"ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - "
                    b"can't set immutable config")


@kvd_only
@fresh_server("--enable-protected-configs", "yes")
def test_protected_configs_allowed_when_enabled(srv):
    c = srv.conn()
    d = tempfile.mkdtemp(prefix="kvd-prot-")
    assert c.cmd("CONFIG", "SET", "dir", d) == OK
    assert cfg(c, "dir") == {b"dir": os.path.realpath(d).encode()}
    assert c.cmd("CONFIG", "SET", "dir", "/nonexistent/x") == \
        Err(b"ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory")
    log = os.path.join(d, "kvd.log")
    assert c.cmd("CONFIG", "SET", "logfile", log, "loglevel", "verbose") == OK
    c.cmd("CONFIG", "SET", "loglevel", "notice")
    harness.wait_for(lambda: os.path.exists(log), 5, what="log file")
    pid = os.path.join(d, "kvd.pid")
    assert c.cmd("CONFIG", "SET", "pidfile", pid) == OK
    with open(pid) as f:
        assert int(f.read()) == srv.pid


@kvd_only
@fresh_server("--enable-protected-configs", "local")
def test_protected_configs_local(srv):
    c = srv.conn()  # over loopback: allowed
    assert c.cmd("CONFIG", "SET", "dbfilename", "other.snap") == OK


# --------------------------------------------------------------------------
# CONFIG REWRITE


@kvd_only
def test_config_rewrite_keeps_comments_and_order_and_survives_restart(srv):
    d = tempfile.mkdtemp(prefix="kvd-rw-")
    original = ("# top comment\n"
                "\n"
                "hz 10\n"
                "# memory\n"
                "maxmemory 10mb\n"
                "  # indented comment\n"
                "timeout 0\n"
                "save 900 1\n"
                "save 300 10\n"
                "requirepass \"\"\n")
    path = write(os.path.join(d, "kvd.conf"), original)
    p = Proc(path)
    try:
        c = p.conn()
        assert c.cmd("CONFIG", "SET", "maxmemory", "1gb", "timeout", "30", "slowlog-max-len", "77",
                     "maxmemory-policy", "allkeys-lru") == OK
        assert c.cmd("CONFIG", "SET", "requirepass", "pa ss") == OK
        assert c.cmd("AUTH", "pa ss") == OK
        assert c.cmd("CONFIG", "REWRITE") == OK
        c.close()
    finally:
        p.stop()
    text = open(path).read()
    lines = text.splitlines()
    assert lines[0] == "# top comment" and lines[1] == ""
    assert lines.index("# memory") < lines.index("maxmemory 1gb") < lines.index("  # indented comment") \
        < lines.index("timeout 30")
    assert "save 900 1 300 10" in lines and sum(l.startswith("save ") for l in lines) == 1
    assert 'requirepass "pa ss"' in lines
    gen = lines.index("# Generated by CONFIG REWRITE")
    assert "slowlog-max-len 77" in lines[gen:] and "maxmemory-policy allkeys-lru" in lines[gen:]
    assert not any(l.startswith("port ") for l in lines[:gen])
    # restart from the rewritten file: the values stay
    p = Proc(path)
    try:
        c = p.conn()
        assert c.cmd("AUTH", "pa ss") == OK
        d_ = cfg(c, "maxmemory", "timeout", "slowlog-max-len", "maxmemory-policy", "save")
        assert d_ == {b"maxmemory": b"1073741824", b"timeout": b"30", b"slowlog-max-len": b"77",
                      b"maxmemory-policy": b"allkeys-lru", b"save": b"900 1 300 10"}
        c.close()
    finally:
        p.stop()
    code, _, err = run_kvd("--test-config", path)
    assert code == 0, err


def test_config_rewrite_without_file(srv):
    c = srv.conn()
    assert c.cmd("CONFIG", "REWRITE") == Err(b"ERR The server is running without a config file")


def test_config_resetstat(srv):
    c = srv.conn()
    c.cmd("SET", "a", "1")
    c.cmd("GET", "a")
    c.cmd("NOSUCHCOMMAND")
    assert c.cmd("CONFIG", "RESETSTAT") == OK
    info = harness.parse_info(c.cmd("INFO", "everything"))
    assert info["keyspace_hits"] == "0" and info["total_error_replies"] == "0"
    assert "cmdstat_get" not in info
    assert c.cmd("CONFIG", "RESETSTAT", "x") == \
        Err(b"ERR wrong number of arguments for 'config|resetstat' command")


# --------------------------------------------------------------------------
# the shipped configuration and the documentation of every directive


def all_directives(c):
    r = c.cmd("CONFIG", "GET", "*")
    return sorted(set(x.decode() for x in r[0::2]))


@kvd_only
def test_shipped_kvd_conf_runs_as_shipped(srv):
    conf = os.path.join(ROOT, "etc", "kvd.conf")
    code, out, err = run_kvd("--test-config", conf)
    assert code == 0, err
    # and it really starts (ports moved to free ones; it stays in the foreground)
    d = tempfile.mkdtemp(prefix="kvd-shipped-")
    copy = write(os.path.join(d, "kvd.conf"), open(conf).read())
    p = Proc(copy)
    try:
        c = p.conn()
        assert c.cmd("PING") == harness.PONG
        c.close()
    finally:
        p.stop()


@kvd_only
def test_every_directive_documented(srv):
    c = srv.conn()
    names = all_directives(c)
    assert len(names) > 50
    conf = open(os.path.join(ROOT, "etc", "kvd.conf")).read()
    man = open(os.path.join(ROOT, "man", "kvd.conf.5")).read().replace("\\-", "-")
    # (CONFIG GET * lists aliases too: they are documented as such)
    conf_missing = [n for n in names
                    if not re.search(r"^#? ?%s(\s|$)|(alias|also)\s+(#\s*)?%s\b" % (re.escape(n), re.escape(n)),
                                     conf, re.M)]
    man_missing = [n for n in names if not re.search(r"^\.B %s\s*$|^\.BI? \"?%s[\" ]|(alias|also) %s\b" % (
        re.escape(n), re.escape(n), re.escape(n)), man, re.M)]
    assert not conf_missing, "etc/kvd.conf does not document: %s" % " ".join(conf_missing)
    assert not man_missing, "man/kvd.conf.5 does not document: %s" % " ".join(man_missing)
