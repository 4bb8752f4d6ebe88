"""Fixtures and helpers for kvd's integration tests (see tests/integ/run).

A test is a function `test_*(srv)` in a file `tests/integ/test_*.py`.  `srv`
is a running server (kvd, or redis-server with `run --redis`): a Server below.
Tests in one file share a server; the runner empties it (FLUSHALL) before each
test and closes the clients the previous test left open.  Decorators:

    @kvd_only            skipped against redis-server (text protocol, DELETE...)
    @fresh_server(*args) the test gets a server of its own, started with args
    @timeout(seconds)    per-test limit (default 60 s)

A file may set SERVER_ARGS (both servers), KVD_ARGS or REDIS_ARGS (one of
them), or KVD_ONLY = True.

Clients: srv.client() is redis-py (RESP2, bytes); srv.conn() a raw RESP
connection whose cmd() returns exactly what the server sent (Status, Err,
int, bytes, None, lists, RESP3 types); srv.raw() sends bytes and returns the
bytes of the reply; srv.cli() runs redis-cli; srv.nc() pipes a transcript
through netcat.  Everything talks to 127.0.0.1 only.
"""

import collections
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# Filled in by the runner.
CONFIG = {"redis": False, "server": None, "verbose": False}

DEFAULT_TIMEOUT = 60.0


class SkipTest(Exception):
    pass


def skip(reason):
    raise SkipTest(reason)


def is_redis():
    return CONFIG["redis"]


# --------------------------------------------------------------------------
# decorators


def kvd_only(fn):
    fn.kvd_only = True
    return fn


def fresh_server(*args):
    def deco(fn):
        fn.fresh_server = list(args)
        return fn
    return deco


def timeout(seconds):
    def deco(fn):
        fn.timeout = float(seconds)
        return fn
    return deco


# --------------------------------------------------------------------------
# RESP values and codec


class Status(bytes):
    """A simple-string reply (+OK).  Equal only to another Status."""

    def __eq__(self, other):
        return isinstance(other, Status) and bytes(self) == bytes(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = bytes.__hash__

    def __repr__(self):
        return "Status(%s)" % bytes.__repr__(self)


class Err(bytes):
    """An error reply (-ERR ...), the whole line.  Equal only to another Err."""

    def __eq__(self, other):
        return isinstance(other, Err) and bytes(self) == bytes(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = bytes.__hash__

    def __repr__(self):
        return "Err(%s)" % bytes.__repr__(self)


class Verbatim(bytes):
    pass


class Push(list):
    pass


class RespSet(list):
    """RESP3 set (~): kept as a list, order as sent."""


class RespMap(list):
    """RESP3 map (%): a list of (key, value) pairs, order as sent."""

    def todict(self):
        return dict(self)


class Incomplete(Exception):
    pass


class ProtocolViolation(Exception):
    pass


OK = Status(b"OK")
PONG = Status(b"PONG")
NULL = object()  # marker for RESP3 '_' when a test wants to tell it apart


def encode(*args):
    """Encode one command as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        elif isinstance(a, float):
            a = repr(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete()
    return buf[pos:end], end + 2


def parse(buf, pos=0):
    """Parse one RESP2/RESP3 reply at buf[pos:]; return (value, next pos).

    Raises Incomplete when more bytes are needed."""
    if pos >= len(buf):
        raise Incomplete()
    t = buf[pos:pos + 1]
    line, pos = _line(buf, pos + 1)
    if t == b"+":
        return Status(line), pos
    if t == b"-":
        return Err(line), pos
    if t == b":":
        return int(line), pos
    if t == b"(":
        return int(line), pos
    if t == b",":
        return float(line.decode()), pos
    if t == b"#":
        if line not in (b"t", b"f"):
            raise ProtocolViolation("bad boolean %r" % line)
        return line == b"t", pos
    if t == b"_":
        if line != b"":
            raise ProtocolViolation("bad null %r" % line)
        return None, pos
    if t in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            raise Incomplete()
        data = buf[pos:pos + n]
        if buf[pos + n:pos + n + 2] != b"\r\n":
            raise ProtocolViolation("bulk not followed by CRLF")
        pos += n + 2
        if t == b"=":
            return Verbatim(data), pos
        if t == b"!":
            return Err(data), pos
        return data, pos
    if t in (b"*", b">", b"~"):
        n = int(line)
        if n < 0:
            return None, pos
        items = []
        for _ in range(n):
            v, pos = parse(buf, pos)
            items.append(v)
        if t == b">":
            return Push(items), pos
        if t == b"~":
            return RespSet(items), pos
        return items, pos
    if t == b"%":
        n = int(line)
        items = RespMap()
        for _ in range(n):
            k, pos = parse(buf, pos)
            v, pos = parse(buf, pos)
            items.append((k, v))
        return items, pos
    if t == b"|":
        n = int(line)
        for _ in range(2 * n):
            _, pos = parse(buf, pos)
        return parse(buf, pos)
    raise ProtocolViolation("unknown reply type %r at %d in %r" % (t, pos, buf[:200]))


def parse_all(buf):
    """Parse every complete reply in buf; return (values, leftover bytes)."""
    vals = []
    pos = 0
    while pos < len(buf):
        try:
            v, pos = parse(buf, pos)
        except Incomplete:
            break
        vals.append(v)
    return vals, buf[pos:]


def count_replies(buf):
    return len(parse_all(buf)[0])


# --------------------------------------------------------------------------
# raw connection


class RawConn:
    """A plain TCP connection speaking RESP by hand."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        self.port = port
        self.history = collections.deque(maxlen=6)  # (command, reply), shown on failure

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out waiting for reply; have %r" % self.buf[:300])
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(1 << 16)
        except socket.timeout:
            raise socket.timeout("timed out waiting for reply; have %r" % self.buf[:300])
        except ConnectionResetError:
            d = b""
        if not d:
            self.closed = True
            raise ConnectionError("server closed the connection; have %r" % self.buf[:300])
        self.buf += d

    def read_reply(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                v, pos = parse(self.buf)
                self.buf = self.buf[pos:]
                return v
            except Incomplete:
                self._fill(deadline)

    def read_replies(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while len(out) < n:
            try:
                v, pos = parse(self.buf)
                self.buf = self.buf[pos:]
                out.append(v)
            except Incomplete:
                self._fill(deadline)
        return out

    def read_exact(self, n, timeout=None):
        """Read exactly n raw bytes (no parsing)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_until_close(self, timeout=5.0):
        """Read until EOF; return everything.  Fails if no EOF in time."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            try:
                self._fill(deadline)
            except ConnectionError:
                break
        d, self.buf = self.buf, b""
        return d

    def is_closed(self, wait=0.3):
        """True if the server has closed (EOF/reset) within `wait` seconds.
        Data that arrives meanwhile is kept in the buffer."""
        if self.closed:
            return True
        deadline = time.monotonic() + wait
        while True:
            try:
                self._fill(deadline)
            except socket.timeout:
                return False
            except ConnectionError:
                return True

    def cmd(self, *args, timeout=None):
        """Send one command, return its reply (errors are returned as Err)."""
        self.send(encode(*args))
        try:
            v = self.read_reply(timeout)
        except Exception as e:
            self.history.append((args, e))
            raise
        self.history.append((args, v))
        return v

    call = cmd

    def pipeline(self, cmds, timeout=None):
        self.send(b"".join(encode(*c) for c in cmds))
        return self.read_replies(len(cmds), timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# the server fixture


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ServerError(Exception):
    pass


class Server:
    def __init__(self, extra_args=(), name="server"):
        self.redis = CONFIG["redis"]
        self.path = "redis-server" if self.redis else CONFIG["server"]
        self.extra_args = list(extra_args)
        self.name = name
        self.proc = None
        self.dir = None
        self.port = None
        self.text_port = None
        self._clients = []
        self._logf = None

    # ---- life cycle

    def argv(self):
        if self.redis:
            return [self.path, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", self.dir, "--save", "", "--appendonly", "no",
                    "--daemonize", "no"] + self.extra_args
        return [self.path, "--port", str(self.port), "--text-port", str(self.text_port),
                "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
                "--appendonly", "no"] + self.extra_args

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="kvd-integ-")
        last = None
        for _attempt in range(3):
            self.port = free_port()
            self.text_port = None if self.redis else free_port()
            try:
                self._start_once()
                return self
            except ServerError as e:
                last = e
                self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)  # the error carries the log
        raise last

    def _start_once(self):
        self.logpath = os.path.join(self.dir, "server.log")
        self._logf = open(self.logpath, "ab")
        argv = self.argv()
        self._logf.write(("### %s\n" % " ".join(repr(a) if a == "" else a for a in argv)).encode())
        self._logf.flush()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                         stderr=subprocess.STDOUT, cwd=self.dir,
                                         start_new_session=True)
        except OSError as e:
            raise ServerError("cannot start %s: %s" % (self.path, e))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("server exited with status %s during start-up:\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.settimeout(1)
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                d = s.recv(100)
                s.close()
                if d.startswith(b"+PONG") or d.startswith(b"-NOAUTH"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise ServerError("server did not answer PING within 10 s:\n%s" % self.log_tail())

    @property
    def pid(self):
        return self.proc.pid

    def alive(self, wait=0.0):
        """True if the process runs and answers PING (retrying up to `wait` s,
        e.g. while closed connections still hold maxclients slots)."""
        deadline = time.monotonic() + wait
        while True:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                c = RawConn(self.port, timeout=5)
                try:
                    reply = c.cmd("PING")
                finally:
                    c.close()
                if reply == PONG or (isinstance(reply, Err) and reply.startswith(b"NOAUTH")):
                    return True
            except OSError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _kill(self):
        self.close_clients()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        if self._logf:
            self._logf.close()
            self._logf = None

    SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"WARNING: ThreadSanitizer",
                       b"runtime error:", b"ThreadSanitizer: CHECK failed")

    def stop(self, keep_dir=False):
        self._kill()
        # a sanitizer build reports into the server log: keep what it said
        self.sanitizer_report = None
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
            hits = [data.find(m) for m in self.SANITIZER_MARKS if m in data]
            if hits:
                start = min(hits)
                self.sanitizer_report = data[max(0, start - 200):start + 6000].decode("utf-8", "replace")
        except (OSError, AttributeError):
            pass
        if self.dir and not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines=60):
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()
        except (OSError, AttributeError):
            return "(no log)"
        text = data.decode("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])

    # ---- clients

    def client(self, protocol=2, db=0, **kw):
        """A redis-py client (one connection, bytes replies, RESP2)."""
        import redis
        if protocol != 2:
            raise ValueError("redis-py 4.3 speaks RESP2 only; use srv.conn() and HELLO 3")
        kw.setdefault("socket_timeout", 20)
        kw.setdefault("socket_connect_timeout", 5)
        r = redis.Redis(host="127.0.0.1", port=self.port, db=db, decode_responses=False,
                        single_connection_client=True, **kw)
        self._clients.append(r)
        return r

    def conn(self, port=None, timeout=10.0):
        c = RawConn(port or self.port, timeout=timeout)
        self._clients.append(c)
        return c

    def close_clients(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self._clients = []

    def raw(self, data, expect_close=None, replies=None, timeout=3.0, idle=0.3, port=None):
        """Send bytes on a new connection and return the bytes received.

        replies=N: stop reading after N complete RESP replies (fast);
        otherwise read until the server closes or is silent for `idle` s.
        expect_close=True/False: assert the server did / did not close the
        connection (within `timeout` / `idle` s after the replies)."""
        if isinstance(data, str):
            data = data.encode()
        c = RawConn(port or self.port, timeout=timeout)
        try:
            try:
                c.send(data)
            except (BrokenPipeError, ConnectionResetError):
                c.closed = True
            deadline = time.monotonic() + timeout
            if replies is not None:
                while count_replies(c.buf) < replies and not c.closed:
                    try:
                        c._fill(deadline)
                    except ConnectionError:
                        break
                    except socket.timeout:
                        break
            if expect_close:
                while not c.closed:
                    try:
                        c._fill(deadline)
                    except (ConnectionError, socket.timeout):
                        break
            elif replies is None or expect_close is False:
                wait = idle
                while not c.closed:
                    before = len(c.buf)
                    if c.is_closed(wait):
                        break
                    if len(c.buf) == before or time.monotonic() > deadline:
                        break
            data = c.buf
            self.last_closed = c.closed
            if expect_close is True:
                assert c.closed, "server did not close the connection; got %r" % data[:300]
            if expect_close is False:
                assert not c.closed, "server closed the connection; got %r" % data[:300]
            return data
        finally:
            c.close()

    def cli(self, *args, input=None, timeout=20, port=None, tty=False):
        """Run redis-cli -p PORT args...; return stdout as str.

        tty=True passes --no-raw (what a person at a terminal sees)."""
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(port or self.port)]
        if tty:
            argv.append("--no-raw")
        argv += [str(a) for a in args]
        p = subprocess.run(argv, input=input.encode() if isinstance(input, str) else input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.stdout.decode("utf-8", "surrogateescape")

    def nc(self, transcript, port=None, quit_after=1, half_close=False, timeout=20):
        """Pipe transcript through `nc -q1 127.0.0.1 PORT`; return stdout bytes.

        port defaults to the text port.  half_close adds -N (shutdown the
        socket after stdin ends) so the server sees EOF at once."""
        if isinstance(transcript, str):
            transcript = transcript.encode()
        argv = ["nc", "-q%d" % quit_after]
        if half_close:
            argv.append("-N")
        argv += ["127.0.0.1", str(port or self.text_port)]
        p = subprocess.run(argv, input=transcript, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return p.stdout

    # ---- introspection

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def info(self, section=None):
        c = RawConn(self.port)
        try:
            v = c.cmd("INFO", section) if section else c.cmd("INFO")
        finally:
            c.close()
        return parse_info(v)


def parse_info(data):
    """INFO text -> {field: value string}; also '#sections' -> list."""
    out = {"#sections": []}
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode()
    for line in data.split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            out["#sections"].append(line[2:])
            continue
        k, _, v = line.partition(":")
        out[k] = v
    return out


def drain_until_closed(sock, timeout=10):
    """Reads sock until the server closes or resets it, or until timeout
    seconds pass with nothing to read. Returns how many bytes came."""
    sock.settimeout(timeout)
    total = 0
    while True:
        try:
            d = sock.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        total += len(d)
    return total


def wait_for(pred, timeout=5.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


def raise_nofile(n=16384):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard) if hard != resource.RLIM_INFINITY else max(soft, n)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def steady_client_count(conn, timeout=10):
    """connected_clients once it stops changing: connections of earlier
    tests may still be closing (slowly, on a loaded machine or under the
    sanitizers)."""
    def count():
        return int(parse_info(conn.cmd("INFO", "clients"))["connected_clients"])
    prev = [count()]

    def steady():
        time.sleep(0.1)
        now = count()
        same = now == prev[0]
        prev[0] = now
        return same
    wait_for(steady, timeout, what="a steady client count")
    return prev[0]
