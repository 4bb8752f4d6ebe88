#!/usr/bin/python3
"""kvd soak test (run by `make soak`, not by `make check`).

Starts a ThreadSanitizer build of kvd on a free loopback port and drives it
for SOAK_SECONDS (default 600) with CONNECTIONS (default 200) connections:

  model workers   each owns a private key space (c<N>:<type>:<i>) and a
                  Python model of it; every reply of a deterministic command
                  is checked against the model as it comes, and the whole
                  key space again at the end (and after a restart when the
                  server persists);
  chaos workers   every command COMMAND lists (less a deny list of ones that
                  would touch other clients' data or the server itself),
                  with random arguments over a shared chaos key space; any
                  reply will do, only crashes and hangs count;
  ttl workers     keys with 1-200 ms TTLs for the reaper; a key must be gone
                  two seconds after its deadline;
  saver           BGSAVE every few seconds (when kvd has it).

Fails on: a wrong reply, a model mismatch, the server dying, a ThreadSanitizer
report, or a stall (the watchdog: no command completed for 10 s).  Every loop
is bounded in time; the server is stopped at the end.

usage: tests/soak/soak.py --server tests/soak/build/kvd-tsan [--seconds N]
"""

import argparse
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------- RESP


class Err(bytes):
    pass


class Conn:
    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.settimeout(timeout)
        self.buf = b""

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            d = self.s.recv(1 << 16)
            if not d:
                raise ConnectionError("server closed the connection")
            self.buf += d

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(1 << 16)
            if not d:
                raise ConnectionError("server closed the connection")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            return Err(rest)
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError("unexpected reply %r" % line[:100])

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))
        v = self.read()
        STATS["commands"] += 1
        STATS["last"] = time.monotonic()
        return v

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


STATS = {"commands": 0, "last": time.monotonic(), "checks": 0, "chaos": 0, "bgsave": 0,
         "expired_ok": 0}
FAILURES = []
STOP = threading.Event()


def fail(msg):
    FAILURES.append(msg)
    STOP.set()


# ---------------------------------------------------------------- model workers

VALS = [b"", b"a", b"hello", b"12", b"-7", b"3.5", b"x" * 300, bytes(range(256))]


class Model:
    """One connection's private key space and its expected contents."""

    def __init__(self, wid, conn, have, rng):
        self.p = "c%d:" % wid
        self.c = conn
        self.have = have
        self.rng = rng
        self.data = {}   # key(bytes) -> ('s', bytes) | ('l', list) | ('h', dict) | ('S', set) | ('z', dict)
        self.ops = [self.op_string]
        if "rpush" in have and "lrange" in have:
            self.ops.append(self.op_list)
        if "hset" in have and "hgetall" in have:
            self.ops.append(self.op_hash)
        if "sadd" in have and "smembers" in have:
            self.ops.append(self.op_set)
        if "zadd" in have and "zrange" in have:
            self.ops.append(self.op_zset)
        if "multi" in have and "exec" in have:
            self.ops.append(self.op_multi)

    def key(self, t):
        return ("%s%s:%d" % (self.p, t, self.rng.randrange(8))).encode()

    def expect(self, args, got, want):
        STATS["checks"] += 1
        if got != want:
            fail("%s: %r answered %r, model says %r" % (self.p, args[:6], got, want))

    def run(self, *args):
        return self.c.cmd(*args)

    def check(self, *args, want):
        self.expect(args, self.run(*args), want)

    # strings
    def op_string(self):
        r = self.rng
        k = self.key("s")
        cur = self.data.get(k)
        v = r.choice(VALS)
        op = r.randrange(9)
        if op == 0:
            self.check("SET", k, v, want=b"OK")
            self.data[k] = ("s", v)
        elif op == 1:
            self.check("GET", k, want=cur[1] if cur else None)
        elif op == 2:
            self.check("APPEND", k, v, want=len((cur[1] if cur else b"") + v))
            self.data[k] = ("s", (cur[1] if cur else b"") + v)
        elif op == 3:
            n = r.randrange(-1000, 1000)
            old = cur[1] if cur else b"0"
            try:
                num = int(old)
                ok = str(num).encode() == old and -2**63 <= num + n < 2**63
            except ValueError:
                ok = False
            got = self.run("INCRBY", k, n)
            if ok:
                self.expect(("INCRBY", k, n), got, num + n)
                self.data[k] = ("s", str(num + n).encode())
            elif not isinstance(got, Err):
                fail("INCRBY on %r gave %r" % (old, got))
        elif op == 4:
            self.check("DEL", k, want=1 if cur else 0)
            self.data.pop(k, None)
        elif op == 5:
            self.check("STRLEN", k, want=len(cur[1]) if cur else 0)
        elif op == 6:
            off = r.randrange(0, 50)
            old = cur[1] if cur else b""
            if not v:  # nothing written, no key created
                self.check("SETRANGE", k, off, v, want=len(old))
                return
            new = old + b"\0" * (off - len(old)) if len(old) < off else old
            new = new[:off] + v + new[off + len(v):]
            self.check("SETRANGE", k, off, v, want=len(new))
            self.data[k] = ("s", new)
        elif op == 7:
            k2 = self.key("s")
            self.check("MSET", k, v, k2, b"m", want=b"OK")
            self.data[k] = ("s", v)
            self.data[k2] = ("s", b"m")
        else:
            s, e = r.randrange(-20, 20), r.randrange(-20, 20)
            old = cur[1] if cur else b""
            self.check("GETRANGE", k, s, e, want=getrange(old, s, e))

    def op_list(self):
        r = self.rng
        k = self.key("l")
        cur = self.data.get(k, ("l", []))[1]
        op = r.randrange(6)
        v = r.choice(VALS)
        if op == 0:
            self.check("RPUSH", k, v, want=len(cur) + 1)
            self.data[k] = ("l", cur + [v])
        elif op == 1:
            self.check("LPUSH", k, v, want=len(cur) + 1)
            self.data[k] = ("l", [v] + cur)
        elif op == 2:
            self.check("LPOP", k, want=cur[0] if cur else None)
            self.setl(k, cur[1:])
        elif op == 3:
            self.check("RPOP", k, want=cur[-1] if cur else None)
            self.setl(k, cur[:-1])
        elif op == 4:
            self.check("LLEN", k, want=len(cur))
        else:
            self.check("LRANGE", k, 0, -1, want=cur)

    def setl(self, k, lst):
        if lst:
            self.data[k] = ("l", lst)
        else:
            self.data.pop(k, None)

    def op_hash(self):
        r = self.rng
        k = self.key("h")
        cur = dict(self.data.get(k, ("h", {}))[1])
        f = b"f%d" % r.randrange(6)
        op = r.randrange(4)
        if op == 0:
            v = r.choice(VALS)
            self.check("HSET", k, f, v, want=0 if f in cur else 1)
            cur[f] = v
        elif op == 1:
            self.check("HGET", k, f, want=cur.get(f))
        elif op == 2:
            self.check("HDEL", k, f, want=1 if f in cur else 0)
            cur.pop(f, None)
        else:
            got = self.run("HGETALL", k)
            self.expect(("HGETALL", k), pairs(got), cur)
        if cur:
            self.data[k] = ("h", cur)
        else:
            self.data.pop(k, None)

    def op_set(self):
        r = self.rng
        k = self.key("S")
        cur = set(self.data.get(k, ("S", set()))[1])
        m = b"m%d" % r.randrange(10)
        op = r.randrange(4)
        if op == 0:
            self.check("SADD", k, m, want=0 if m in cur else 1)
            cur.add(m)
        elif op == 1:
            self.check("SREM", k, m, want=1 if m in cur else 0)
            cur.discard(m)
        elif op == 2:
            self.check("SCARD", k, want=len(cur))
        else:
            got = self.run("SMEMBERS", k)
            self.expect(("SMEMBERS", k), set(got) if isinstance(got, list) else got, cur)
        if cur:
            self.data[k] = ("S", cur)
        else:
            self.data.pop(k, None)

    def op_zset(self):
        r = self.rng
        k = self.key("z")
        cur = dict(self.data.get(k, ("z", {}))[1])
        m = b"m%d" % r.randrange(10)
        op = r.randrange(3)
        if op == 0:
            sc = r.randrange(-50, 50)
            self.check("ZADD", k, sc, m, want=0 if m in cur else 1)
            cur[m] = sc
        elif op == 1:
            self.check("ZREM", k, m, want=1 if m in cur else 0)
            cur.pop(m, None)
        else:
            got = self.run("ZRANGE", k, 0, -1, "WITHSCORES")
            want = []
            for mm, sc in sorted(cur.items(), key=lambda x: (x[1], x[0])):
                want += [mm, str(sc).encode()]
            self.expect(("ZRANGE", k), got, want)
        if cur:
            self.data[k] = ("z", cur)
        else:
            self.data.pop(k, None)

    def op_multi(self):
        k = self.key("s")
        v = self.rng.choice(VALS)
        self.check("MULTI", want=b"OK")
        self.check("SET", k, v, want=b"QUEUED")
        self.check("GET", k, want=b"QUEUED")
        self.check("EXEC", want=[b"OK", v])
        self.data[k] = ("s", v)

    def step(self):
        self.rng.choice(self.ops)()

    def verify_all(self, conn=None):
        c = conn or self.c
        for k, (t, v) in sorted(self.data.items()):
            if t == "s":
                got = c.cmd("GET", k)
            elif t == "l":
                got = c.cmd("LRANGE", k, 0, -1)
            elif t == "h":
                got = pairs(c.cmd("HGETALL", k))
            elif t == "S":
                got = set(c.cmd("SMEMBERS", k))
            else:
                got = c.cmd("ZRANGE", k, 0, -1, "WITHSCORES")
                want = []
                for mm, sc in sorted(v.items(), key=lambda x: (x[1], x[0])):
                    want += [mm, str(sc).encode()]
                v = want
            if got != v:
                fail("final check %s: server has %r, model %r" % (k, got if not isinstance(got, bytes) else got[:80], v))
                return
        # no extra keys
        cur, seen = b"0", set()
        while True:
            cur, keys = c.cmd("SCAN", cur, "MATCH", self.p + "*", "COUNT", 1000)
            seen.update(keys)
            if cur == b"0":
                break
        extra = seen - set(self.data)
        if extra:
            fail("final check %s: keys not in the model: %r" % (self.p, sorted(extra)[:5]))


def getrange(s, start, end):
    n = len(s)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start, end = max(start, 0), max(end, 0)
    end = min(end, n - 1)
    if start > end or n == 0:
        return b""
    return s[start:end + 1]


def pairs(lst):
    if not isinstance(lst, list):
        return lst
    return dict(zip(lst[0::2], lst[1::2]))


# ---------------------------------------------------------------- chaos

DENY = {"shutdown", "debug", "monitor", "subscribe", "psubscribe", "ssubscribe", "sync", "psync",
        "replicaof", "slaveof", "quit", "reset", "failover", "migrate", "hello", "auth", "client",
        "cluster", "module", "flushall", "flushdb", "swapdb", "config", "select", "multi", "exec",
        "watch", "unwatch", "discard", "keys", "save", "bgrewriteaof", "acl", "script", "function",
        "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "wait", "waitaof",
        "lastsave", "bgsave", "pubsub", "move", "latency", "memory", "slowlog", "object",
        "randomkey", "dbsize", "scan", "info", "command", "readonly", "readwrite", "replconf",
        "punsubscribe", "unsubscribe", "sunsubscribe", "role", "time", "echo", "ping", "lolwut"}
CHAOS_KEYS = [b"x:k%d" % i for i in range(6)]
CHAOS_ARGS = CHAOS_KEYS + [b"0", b"1", b"-1", b"2", b"10", b"0.5", b"a", b"b", b"", b"NX", b"XX",
                           b"EX", b"WITHSCORES", b"LIMIT", b"COUNT", b"-inf", b"+inf", b"(1",
                           b"[a", b"-", b"+", b"LEFT", b"RIGHT", b"BEFORE", b"AFTER"]

CHAOS_BLOCKING_ARGS = [a for a in CHAOS_ARGS if a not in (b"0", b"10", b"2")] + [b"0.01"]


def chaos_worker(port, cmds, seed):
    rng = random.Random(seed)
    c = Conn(port)
    while not STOP.is_set():
        name, arity, flags = rng.choice(cmds)
        n = arity if arity > 0 else -arity + rng.randrange(4)
        # blocking commands get no 0 (forever) or long timeouts
        pool = CHAOS_BLOCKING_ARGS if "blocking" in flags else CHAOS_ARGS
        args = [name]
        for i in range(1, n):
            args.append(rng.choice(CHAOS_KEYS) if i == 1 else rng.choice(pool))
        try:
            c.cmd(*args)
            STATS["chaos"] += 1
        except (ConnectionError, OSError) as e:
            if STOP.is_set():
                break
            fail("chaos %r: %r" % (args[:6], e))
            break
    c.close()


# ---------------------------------------------------------------- TTLs, BGSAVE, watchdog


def ttl_worker(port, wid, seed):
    rng = random.Random(seed)
    c = Conn(port)
    pending = {}
    i = 0
    while not STOP.is_set():
        k = b"t%d:%d" % (wid, i)
        i += 1
        ms = rng.randrange(1, 200)
        if c.cmd("SET", k, b"v", "PX", ms) != b"OK":
            fail("SET PX failed")
            break
        pending[k] = time.monotonic() + ms / 1000.0
        now = time.monotonic()
        for kk, dl in list(pending.items()):
            if now > dl + 2.0:
                # gone by now, whether the reaper or a lookup took it
                if c.cmd("EXISTS", kk) != 0:
                    fail("key %r still there %.1f s after its deadline" % (kk, now - dl))
                STATS["expired_ok"] += 1
                del pending[kk]
        STOP.wait(0.005)
    c.close()


def saver(port):
    c = Conn(port, timeout=60)
    while not STOP.wait(3.0):
        v = c.cmd("BGSAVE")
        if isinstance(v, Err) and b"in progress" not in v and b"already" not in v:
            fail("BGSAVE: %r" % v)
            break
        STATS["bgsave"] += 1
    c.close()


def watchdog(limit=10.0):
    while not STOP.wait(1.0):
        idle = time.monotonic() - STATS["last"]
        if idle > limit:
            fail("watchdog: no command completed for %.0f s (deadlock?)" % idle)


# ---------------------------------------------------------------- server


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_server(path, d, port, extra):
    env = dict(os.environ)
    env["TSAN_OPTIONS"] = "halt_on_error=0 second_deadlock_stack=1 history_size=4 log_path=%s/tsan" % d
    log = open(os.path.join(d, "server.log"), "ab")
    argv = [path, "--port", str(port), "--text-port", "0", "--bind", "127.0.0.1", "--dir", d,
            "--maxclients", "1000"] + extra
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=d,
                         start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("server exited during start-up (status %s)" % p.returncode)
        try:
            c = Conn(port, timeout=5)
            if c.cmd("PING") == b"PONG":
                c.close()
                return p
        except OSError:
            time.sleep(0.2)
    p.kill()
    raise RuntimeError("server did not answer within 60 s")


def stop_server(p, timeout=60):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
            return None
    return p.returncode


def tsan_reports(d):
    n = 0
    for f in glob.glob(os.path.join(d, "tsan*")):
        with open(f, errors="replace") as fh:
            n += fh.read().count("WARNING: ThreadSanitizer")
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--connections", type=int, default=int(os.environ.get("SOAK_CONNECTIONS", 200)))
    ap.add_argument("--keep", action="store_true", help="keep the server's directory")
    a = ap.parse_args()
    a.server = os.path.abspath(a.server)

    d = tempfile.mkdtemp(prefix="kvd-soak-")
    port = free_port()
    p = start_server(a.server, d, port, ["--save", ""])
    probe = Conn(port)
    rows = probe.cmd("COMMAND")
    have = {r[0].decode(): r for r in rows}
    persist = "bgsave" in have
    aof = persist and not isinstance(probe.cmd("CONFIG", "SET", "appendonly", "yes"), Err)
    if persist:
        probe.cmd("CONFIG", "SET", "save", "5 100")
    probe.close()
    cmds = [(n, r[1], [f.decode() for f in r[2]]) for n, r in have.items() if n not in DENY]
    print("soak: %d commands (%d for chaos), persistence: %s, aof: %s, %d connections, %.0f s, dir %s"
          % (len(have), len(cmds), persist, aof, a.connections, a.seconds, d), flush=True)

    n_chaos = max(1, a.connections // 5)
    n_ttl = max(1, a.connections // 20)
    n_model = a.connections - n_chaos - n_ttl - (1 if persist else 0)
    models = []
    threads = []

    def model_worker(m):
        try:
            while not STOP.is_set():
                m.step()
        except Exception as e:  # noqa: BLE001
            if not STOP.is_set():
                fail("model %s: %r" % (m.p, e))

    for i in range(n_model):
        m = Model(i, Conn(port), have, random.Random(1000 + i))
        models.append(m)
        threads.append(threading.Thread(target=model_worker, args=(m,), daemon=True))
    for i in range(n_chaos):
        threads.append(threading.Thread(target=chaos_worker, args=(port, cmds, 5000 + i), daemon=True))
    for i in range(n_ttl):
        threads.append(threading.Thread(target=ttl_worker, args=(port, i, 9000 + i), daemon=True))
    if persist:
        threads.append(threading.Thread(target=saver, args=(port,), daemon=True))
    wd = threading.Thread(target=watchdog, daemon=True)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    wd.start()
    last_report = t0
    while not STOP.is_set() and time.monotonic() - t0 < a.seconds:
        STOP.wait(1.0)
        if p.poll() is not None:
            fail("server died with status %s" % p.returncode)
        if time.monotonic() - last_report >= 60:
            last_report = time.monotonic()
            print("  %4.0f s: %d commands (%d checked, %d chaos, %d expired keys verified, %d BGSAVE)"
                  % (last_report - t0, STATS["commands"], STATS["checks"], STATS["chaos"],
                     STATS["expired_ok"], STATS["bgsave"]), flush=True)
    elapsed = time.monotonic() - t0
    ok_so_far = not FAILURES
    STOP.set()
    for t in threads:
        t.join(30)
    if ok_so_far:
        FAILURES.clear()
        vc = Conn(port, timeout=120)
        for m in models:
            m.verify_all(vc)
        vc.close()
    total = STATS["commands"]
    if persist and not FAILURES:
        # restart from what was persisted and check the model again
        stop_server(p, 120)
        p = start_server(a.server, d, port, ["--save", ""] + (["--appendonly", "yes"] if aof else []))
        vc = Conn(port, timeout=120)
        for m in models:
            m.verify_all(vc)
        vc.close()
        print("  restart: data reloaded and checked against the model", flush=True)
    for m in models:
        m.c.close()
    code = stop_server(p, 120)
    reports = tsan_reports(d)
    print("soak: %.0f s, %d commands (%.0f/s), %d replies checked against the model, %d chaos commands,"
          " %d expired keys verified, %d BGSAVE, server exit %s, ThreadSanitizer reports: %d"
          % (elapsed, total, total / max(elapsed, 1), STATS["checks"], STATS["chaos"],
             STATS["expired_ok"], STATS["bgsave"], code, reports), flush=True)
    if reports:
        FAILURES.append("%d ThreadSanitizer reports (see %s/tsan.*)" % (reports, d))
        a.keep = True
    if code not in (0, None) and not FAILURES:
        FAILURES.append("server exited with status %s" % code)
    if FAILURES:
        print("FAILED:", flush=True)
        for f in FAILURES[:20]:
            print("  " + f)
        print("server dir kept: %s" % d)
        print("0 passed, 1 failed")
        return 1
    if not a.keep:
        shutil.rmtree(d, ignore_errors=True)
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
