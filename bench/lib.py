"""Shared helpers for kvd's side-by-side benchmarks (stdlib only).

Everything a benchmark section needs: start a server (kvd = "A", reference
redis-server = "B") on a free loopback port in a temporary directory and make
sure it dies with us, talk RESP to it, read its pid / RSS / CPU times, run
redis-benchmark and parse its CSV, and turn samples into medians, ratios and
a markdown table with PASS/MISS against targets.

Every wait here is bounded in time; every server started is stopped by
Server.stop(), by stop_all() (atexit, signals) or, if this process dies hard,
by the kernel (PR_SET_PDEATHSIG) and by killing the server's process group.
"""

import atexit
import ctypes
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# --------------------------------------------------------------------------
# configuration from the environment


def env_int(name, default):
    v = os.environ.get(name, "")
    if v.strip() == "":
        return default
    try:
        return int(v.replace("_", ""))
    except ValueError:
        sys.exit(f"bench: {name}={v!r} is not an integer")


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "no", "false")


def _cpu_list(text):
    """"0-2,5" -> {0, 1, 2, 5}"""
    out = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _pin_from_env():
    """BENCH_PIN="SERVERS:CLIENTS" (CPU lists, e.g. "1:0"): both servers
    run on SERVERS, this driver and everything it starts besides the
    servers (redis-benchmark, loaders) on CLIENTS. None when unset."""
    v = os.environ.get("BENCH_PIN", "").strip()
    if not v:
        return None
    try:
        srv, cli = (_cpu_list(x) for x in v.split(":"))
    except ValueError:
        sys.exit(f"bench: BENCH_PIN={v!r} is not SERVER_CPUS:CLIENT_CPUS")
    have = os.sched_getaffinity(0)
    if not srv or not cli or not (srv | cli) <= have:
        sys.exit(f"bench: BENCH_PIN={v!r} names CPUs outside {sorted(have)}")
    return v, srv, cli


PIN = _pin_from_env()
CPUS_BEFORE_PIN = len(os.sched_getaffinity(0))
if PIN:
    os.sched_setaffinity(0, PIN[2])


def quick_or(full, quick):
    """The full-run value, or the quick-mode one under BENCH_QUICK=1."""
    return quick if QUICK else full


def log(msg=""):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# resource limits

FD_WANTED = 65536


def raise_nofile(wanted=FD_WANTED):
    """Raise RLIMIT_NOFILE as far as allowed (children inherit it).

    Returns the soft limit now in force."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------
# small RESP client (enough for INFO, DBSIZE, PING, CONFIG, FLUSHALL, ...)


class RespError(Exception):
    pass


def encode_command(*args):
    """One command as a RESP array of bulk strings (bytes)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, (bytes, bytearray)):
            a = str(a).encode()
        out.append(b"$%d\r\n" % len(a))
        out.append(bytes(a))
        out.append(b"\r\n")
    return b"".join(out)


class Client:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read_reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode(errors="replace")
        if t == b"-":
            raise RespError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            return {self.read_reply(): self.read_reply() for _ in range(n)}
        if t == b"_":
            return None
        raise RespError(f"unexpected reply type {line[:40]!r}")

    def call(self, *args):
        self.sock.sendall(encode_command(*args))
        return self.read_reply()


def parse_info(text):
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(errors="replace")
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, v = line.split(":", 1)
        out[k.strip()] = v.strip()
    return out


# --------------------------------------------------------------------------
# /proc readers

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid):
    """utime + stime of the whole process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # the command name (field 2) may contain spaces: split after its ')'
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime, stime are fields 14, 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def proc_threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------
# servers

_live = []          # servers started and not yet stopped
server_facts = {}   # label -> {"exe", "version"} of the first one started


def free_port():
    """A loopback TCP port that is free right now (the kernel picks it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _child_setup():
    # die with the driver even if it is SIGKILLed
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:
        pass


def _server_setup():
    _child_setup()
    if PIN:
        os.sched_setaffinity(0, PIN[1])


class ServerSpec:
    """How to start one side of a comparison.

    style "kvd": BIN --port N --text-port 0 --bind 127.0.0.1 --dir D
                     --save "" --appendonly no  EXTRA...
    style "redis": BIN --port N --bind 127.0.0.1 --dir D --save ''
                     --appendonly no --daemonize no  EXTRA...
    """

    def __init__(self, label, binary, style, extra=()):
        self.label = label
        self.binary = binary
        self.style = style
        self.extra = list(extra)

    def argv(self, port, d):
        if self.style == "kvd":
            a = [self.binary, "--port", str(port), "--text-port", "0",
                 "--bind", "127.0.0.1", "--dir", d, "--save", "",
                 "--appendonly", "no"]
        else:
            a = [self.binary, "--port", str(port), "--bind", "127.0.0.1",
                 "--dir", d, "--save", "", "--appendonly", "no",
                 "--daemonize", "no"]
        return a + self.extra

    def describe(self):
        return " ".join(shlex.quote(x) for x in
                        self.argv("PORT", "DIR"))

    def start(self, extra=(), timeout=15.0):
        s = Server(self, list(extra))
        s.start(timeout)
        return s


class Server:
    def __init__(self, spec, extra):
        self.spec = spec
        self.label = spec.label
        self.extra = extra
        self.proc = None
        self.pid = None
        self.port = None
        self.dir = None

    def start(self, timeout):
        last_err = None
        for _attempt in range(3):     # a port may be taken between probe and bind
            self.dir = tempfile.mkdtemp(prefix=f"kvd-bench-{self.label}-")
            self.port = free_port()
            argv = self.spec.argv(self.port, self.dir) + self.extra
            logf = open(os.path.join(self.dir, "server.log"), "wb")
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=logf,
                    stderr=subprocess.STDOUT, cwd=self.dir,
                    start_new_session=True, preexec_fn=_server_setup)
            except OSError as e:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise RuntimeError(f"{self.label}: cannot run {argv[0]}: {e}")
            finally:
                logf.close()
            _live.append(self)
            try:
                self._wait_ready(timeout)
                self.pid = self._find_pid()
                self._note_facts()
                return
            except Exception as e:  # noqa: BLE001 - report any start failure
                last_err = e
                tail = self.log_tail()
                self.stop()
                if "in use" not in tail.lower():
                    break
        raise RuntimeError(
            f"{self.label}: server did not start ({last_err}); "
            f"command: {' '.join(shlex.quote(x) for x in argv)}\n"
            f"--- log tail ---\n{tail}")

    def log_tail(self, n=20):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with status {self.proc.returncode}")
            try:
                with Client(self.port, timeout=2.0) as c:
                    if c.call("PING") == "PONG":
                        return
            except (OSError, RespError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"no PONG on port {self.port} within {timeout}s")

    def _find_pid(self):
        """The server's pid: INFO server process_id (right even behind a
        wrapper script), else the process we started."""
        try:
            pid = int(self.info("server").get("process_id", "0"))
            if pid > 0 and os.path.exists(f"/proc/{pid}/stat"):
                return pid
        except (OSError, RespError, ValueError):
            pass
        return self.proc.pid

    def _note_facts(self):
        """Remember, once per side, what really runs: the executable and
        the version fields of INFO server (for RESULTS.md)."""
        if self.label in server_facts:
            return
        try:
            exe = os.path.realpath(f"/proc/{self.pid}/exe")
        except OSError:
            exe = "?"
        try:
            inf = self.info("server")
        except (OSError, RespError):
            inf = {}
        vers = ", ".join(f"{k} {v}" for k, v in inf.items()
                         if k.endswith("_version") and "gcc" not in k)
        server_facts[self.label] = {"exe": exe, "version": vers or "?"}

    def client(self, timeout=10.0):
        return Client(self.port, timeout=timeout)

    def call(self, *args, timeout=30.0):
        with self.client(timeout) as c:
            return c.call(*args)

    def info(self, section=None):
        args = ["INFO"] + ([section] if section else [])
        return parse_info(self.call(*args))

    def used_memory(self):
        """INFO memory used_memory, or None if the server does not say."""
        try:
            return int(self.info("memory")["used_memory"])
        except (KeyError, ValueError, RespError):
            return None

    def dbsize(self):
        return int(self.call("DBSIZE"))

    def rss(self):
        return proc_rss_bytes(self.pid)

    def cpu_seconds(self):
        return proc_cpu_seconds(self.pid)

    def threads(self):
        return proc_threads(self.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        if self.proc is None:
            return
        p = self.proc
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  ! {self.label} ignored SIGTERM for {timeout}s: SIGKILL")
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(5)
        # anything left in its process group (a wrapper's child)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self in _live:
            _live.remove(self)
        if self.dir and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def stop_all():
    for s in list(_live):
        try:
            s.stop(timeout=5.0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


atexit.register(stop_all)


def _on_signal(signum, _frame):
    # turn SIGTERM/SIGHUP into an exception so that finally blocks run
    raise SystemExit(128 + signum)


class Timeout(Exception):
    pass


def _on_alarm(_signum, _frame):
    raise Timeout("BENCH_TIMEOUT reached")


def install_handlers(total_timeout):
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    signal.signal(signal.SIGALRM, _on_alarm)
    if total_timeout > 0:
        signal.alarm(total_timeout)


# --------------------------------------------------------------------------
# the two sides


def which(name):
    p = shutil.which(name)
    return p


def sides():
    """[A (kvd), B (redis)] as ServerSpecs, from KVD_BIN / REDIS_BIN."""
    kvd = os.environ.get("KVD_BIN") or os.path.join(ROOT, "src", "kvd")
    redis = os.environ.get("REDIS_BIN") or which("redis-server") \
        or "/usr/bin/redis-server"
    # the servers run in their temporary directories: absolute paths
    kvd = os.path.abspath((which(kvd) or kvd) if os.sep not in kvd else kvd)
    redis = os.path.abspath((which(redis) or redis) if os.sep not in redis
                            else redis)
    for name, b in (("KVD_BIN", kvd), ("REDIS_BIN", redis)):
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            sys.exit(f"bench: {name}: {b} is not an executable file"
                     + ("; build kvd first (make) or set KVD_BIN"
                        if name == "KVD_BIN" else
                        "; apt-get install -y redis-server redis-tools"))
    # KVD_BIN may point at redis-server itself to test the suite: then it
    # gets redis-server's arguments (redis-server rejects --text-port).
    kstyle = os.environ.get("KVD_STYLE") or (
        "redis" if "redis-server" in os.path.basename(kvd) else "kvd")
    kextra = shlex.split(os.environ.get("KVD_ARGS", ""))
    rextra = shlex.split(os.environ.get("REDIS_ARGS", ""))
    return [ServerSpec("kvd", kvd, kstyle, kextra),
            ServerSpec("redis", redis, "redis", rextra)]


def round_order(specs, rnd):
    """A B in even rounds, B A in odd ones (A B B A A B ...): no side always
    goes first, so slow drift (heat, caches, other load) evens out."""
    return list(specs) if rnd % 2 == 0 else list(reversed(specs))


# --------------------------------------------------------------------------
# redis-benchmark

BENCHMARK_BIN = os.environ.get("REDIS_BENCHMARK") or which("redis-benchmark") \
    or "/usr/bin/redis-benchmark"


def _parse_csv_line(line):
    return [f.strip().strip('"') for f in line.split('","')]


def parse_benchmark_csv(text):
    """{test name: {rps, avg, min, p50, p95, p99, max}} from --csv output."""
    out = {}
    header = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith('"'):
            continue
        fields = _parse_csv_line(line)
        if fields[0] == "test":
            header = fields
            continue
        if header is None or len(fields) != len(header):
            continue
        row = {}
        for k, v in zip(header[1:], fields[1:]):
            k = k.replace("_latency_ms", "")
            try:
                row[k] = float(v)
            except ValueError:
                row[k] = v
        out[fields[0]] = row
    return out


def parse_benchmark_text(text):
    """{rps, avg, min, p50, p95, p99, max, p999} from redis-benchmark's
    plain output of one test: its summary, and p99.9 from its "Latency by
    percentile distribution" (the first step at or past 99.9%)."""
    row = {}
    lines = text.replace("\r", "\n").splitlines()
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith("throughput summary:"):
            row["rps"] = float(line.split()[2])
        elif line.startswith("avg") and "max" in line and i + 1 < len(lines):
            keys = line.split()
            vals = lines[i + 1].split()
            if len(vals) == len(keys):
                for k, v in zip(keys, vals):
                    row[k] = float(v)
        elif "p999" not in row and "% <= " in line and "milliseconds" in line:
            pct = float(line.split("%", 1)[0])
            if pct >= 99.9:
                row["p999"] = float(line.split("<=", 1)[1].split()[0])
    return row


def run_benchmark(server, n, clients=50, pipeline=1, test=None, command=None,
                  keyspace=None, size=None, extra=(), timeout=300, p999=False):
    """One redis-benchmark run against server, with the server's CPU time
    measured around it.

    Either test ("set", "get", ...: -t) or command (a list: a custom command
    line, e.g. ["HSET", "h:__rand_int__", "f", "v"]). Returns a dict:
    rps, avg, min, p50, p95, p99, max (ms), cpu_s, cpu_us_per_req, wall_s,
    test (the name redis-benchmark printed); with p999 (one test only) also
    p999, read from the plain output's percentile distribution."""
    argv = [BENCHMARK_BIN, "-h", "127.0.0.1", "-p", str(server.port),
            "-c", str(clients), "-n", str(n), "-P", str(pipeline)]
    if not p999:
        argv.append("--csv")
    if keyspace:
        argv += ["-r", str(keyspace)]
    if size:
        argv += ["-d", str(size)]
    argv += list(extra)
    if command:
        argv += list(command)
    elif test:
        argv += ["-t", test]
    cpu0 = server.cpu_seconds()
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout,
                           preexec_fn=_child_setup)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"redis-benchmark timed out after {timeout}s: "
                           f"{' '.join(argv)}")
    wall = time.monotonic() - t0
    cpu1 = server.cpu_seconds()
    if p999:
        one = parse_benchmark_text(p.stdout)
        rows = {test or (command[0] if command else "?"): one} if {"rps", "max", "p999"} <= set(one) else {}
    else:
        rows = parse_benchmark_csv(p.stdout)
    if p.returncode != 0 or not rows:
        raise RuntimeError(
            f"redis-benchmark failed (status {p.returncode}): "
            f"{' '.join(argv)}\nstdout: {p.stdout[-800:]}\n"
            f"stderr: {p.stderr[-800:]}")
    # one test per run gives one row; with several (-t set,get) the figures
    # are the last test's, all rows are in "rows", CPU is for the whole run
    name = list(rows)[-1]
    row = dict(rows[name])
    row["test"] = name
    row["rows"] = rows
    row["cpu_s"] = cpu1 - cpu0
    row["cpu_us_per_req"] = (cpu1 - cpu0) / n * 1e6
    row["wall_s"] = wall
    if not server.alive():
        raise RuntimeError(f"{server.label} died during redis-benchmark\n"
                           + server.log_tail())
    return row


# --------------------------------------------------------------------------
# statistics and results

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def per(after, before, count):
    """(after - before) / count, None if either figure is missing."""
    if after is None or before is None:
        return None
    return (after - before) / count


def fmt(spec, value):
    return "–" if value is None else spec.format(value)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Metric:
    """One figure measured on both sides over several rounds.

    better: "higher" or "lower" (for reading the table; targets decide
    PASS/MISS). target: None, or (kind, value) with kind one of
      "ratio>=", "ratio<=" (median kvd / median redis), "kvd<=", "kvd>="
      (kvd's median in the metric's unit)."""

    def __init__(self, name, unit, fmt="{:,.0f}", better="higher",
                 target=None, group=None):
        self.name = name
        self.unit = unit
        self.fmt = fmt
        self.better = better
        self.target = target
        self.group = group
        self.samples = {"kvd": [], "redis": []}

    def add(self, label, value):
        self.samples[label].append(value)

    def med(self, label):
        return median(self.samples[label])

    def ratio(self):
        return ratio(self.med("kvd"), self.med("redis"))

    def target_text(self):
        if not self.target:
            return ""
        kind, v = self.target
        if kind.startswith("ratio"):
            return f"{'≥' if kind.endswith('>=') else '≤'} {v:g}×"
        return f"kvd {'≥' if kind.endswith('>=') else '≤'} " \
               f"{self.fmt.format(v)} {self.unit}"

    def status(self):
        if not self.target:
            return ""
        kind, v = self.target
        x = self.ratio() if kind.startswith("ratio") else self.med("kvd")
        if x is None:
            return "n/a"
        ok = x >= v if kind.endswith(">=") else x <= v
        return "PASS" if ok else "MISS"

    def cell(self, value):
        return "–" if value is None else self.fmt.format(value)

    def row(self):
        r = self.ratio()
        return [self.name + (f" ({self.unit})" if self.unit else ""),
                self.cell(self.med("kvd")), self.cell(self.med("redis")),
                "–" if r is None else f"{r:.2f}×",
                self.target_text(), self.status()]

    def to_dict(self):
        return {"name": self.name, "unit": self.unit,
                "kvd": self.samples["kvd"], "redis": self.samples["redis"],
                "ratio": self.ratio(), "target": self.target,
                "status": self.status()}


TABLE_HEADER = ["figure", "kvd", "redis", "kvd/redis", "target", ""]


def markdown_table(header, rows):
    def esc(c):
        return str(c).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else "---:"
                            for i in range(len(header))) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(esc(c) for c in r) + " |")
    return "\n".join(lines)


def text_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]
    out = []
    for j, r in enumerate([header] + rows):
        cells = [str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def metrics_table(metrics, markdown=True):
    rows = [m.row() for m in metrics]
    return (markdown_table if markdown else text_table)(TABLE_HEADER, rows)


# --------------------------------------------------------------------------
# machine and repository facts for RESULTS.md

def _cmd(argv, default=""):
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=10, cwd=ROOT).stdout.strip() or default
    except (OSError, subprocess.TimeoutExpired):
        return default


def git_commit():
    c = _cmd(["git", "rev-parse", "--short", "HEAD"], "(no commit)")
    if c != "(no commit)" and _cmd(["git", "status", "--porcelain",
                                    "--untracked-files=no"]):
        c += " (with uncommitted changes)"
    return c


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine_facts():
    ncpu = CPUS_BEFORE_PIN  # the machine's, not what BENCH_PIN left us
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            mem = f"{kb / 1048576:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {"nproc": ncpu, "cpu": cpu_model(), "kernel": os.uname().release,
            "memory": mem}


def version_of(binary):
    out = _cmd([binary, "--version"], "?")
    return out.splitlines()[0] if out else "?"


# --------------------------------------------------------------------------
# bulk load over one pipelined connection, idle connections


def set_payload(n, key_fmt=b"key:%08d", val_fmt=b"v%09d"):
    """RESP for n SETs: keys key:00000000.., 10-byte values v000000000..
    (not integers, so that neither server can store them as numbers)."""
    k0 = key_fmt % 0
    v0 = val_fmt % 0
    head = b"*3\r\n$3\r\nSET\r\n$%d\r\n" % len(k0)
    mid = b"\r\n$%d\r\n" % len(v0)
    one = head + key_fmt + mid + val_fmt + b"\r\n"
    if len(key_fmt % (n - 1)) != len(k0) or len(val_fmt % (n - 1)) != len(v0):
        raise ValueError("key/value formats must have a fixed width")
    return b"".join([one % (i, i) for i in range(n)])


def pipelined_load(server, payload, n_replies, reply=b"+OK\r\n",
                   timeout=300.0):
    """Send payload on one connection while reading the replies; returns
    the wall time from the first byte sent to the last reply read. Every
    reply must equal `reply` (all the same length)."""
    import threading
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    errors = []

    def sender():
        try:
            view = memoryview(payload)
            step = 1 << 20
            for i in range(0, len(view), step):
                sock.sendall(view[i:i + step])
        except OSError as e:
            errors.append(e)

    want = len(reply) * n_replies
    got = 0
    chunks = []
    deadline = time.monotonic() + timeout
    t = threading.Thread(target=sender, daemon=True)
    t0 = time.monotonic()
    t.start()
    try:
        while got < want:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.label}: load not done in "
                                   f"{timeout}s ({got // len(reply)} of "
                                   f"{n_replies} replies)")
            try:
                chunk = sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                raise RuntimeError(f"{server.label}: connection closed after "
                                   f"{got // len(reply)} replies")
            if chunk[:1] == b"-" or b"\r\n-" in chunk:
                raise RuntimeError(f"{server.label}: error reply during load: "
                                   f"{chunk[:200]!r}")
            chunks.append(chunk)
            got += len(chunk)
        elapsed = time.monotonic() - t0
    finally:
        sock.close()
        t.join(10)
    data = b"".join(chunks)
    if data != reply * n_replies:
        raise RuntimeError(f"{server.label}: unexpected replies during load")
    if errors:
        raise RuntimeError(f"{server.label}: send failed: {errors[0]}")
    return elapsed


def open_idle_connections(server, count, timeout=120.0):
    """Open count connections, PING once on each and read the PONG.
    Returns the list of sockets (the caller closes them: close_all)."""
    socks = []
    deadline = time.monotonic() + timeout
    ping = encode_command("PING")
    try:
        for i in range(count):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.label}: only {i} of {count} "
                                   f"connections in {timeout}s")
            s = socket.create_connection(("127.0.0.1", server.port),
                                         timeout=10)
            socks.append(s)
            s.sendall(ping)
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                buf += chunk
            if buf != b"+PONG\r\n":
                raise RuntimeError(f"{server.label}: connection {i + 1}: "
                                   f"PING answered {buf[:120]!r}")
        return socks
    except BaseException:
        close_all(socks)
        raise


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    del socks[:]
