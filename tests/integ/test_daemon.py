"""Running kvd for real: daemon mode (readiness, pidfile, failures on
stderr), signals (SIGTERM, SIGHUP log reopening), the start-up log, the
init script (start/status/stop/restart with temporary paths), systemd
notification through $NOTIFY_SOCKET."""

import os
import signal
import socket
import subprocess
import tempfile
import time

import harness
from harness import RawConn, free_port, wait_for

KVD_ONLY = True

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def kvd():
    return harness.CONFIG["server"]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def ping(port):
    try:
        c = RawConn(port, timeout=3)
        r = c.cmd("PING")
        c.close()
        return r == harness.PONG
    except OSError:
        return False


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


def kill_wait(pid, sig=signal.SIGTERM, timeout=10):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    wait_for(lambda: not alive(pid), timeout, what="pid %d to exit" % pid)


def daemon_args(d, port, *extra):
    return [kvd(), "--daemonize", "yes", "--port", str(port), "--text-port", "0", "--bind", "127.0.0.1",
            "--dir", d, "--pidfile", os.path.join(d, "kvd.pid"), "--logfile", os.path.join(d, "kvd.log")] + \
        list(extra)


# --------------------------------------------------------------------------
# daemon mode


def test_daemonize_pidfile_sigterm(srv):
    d = tempfile.mkdtemp(prefix="kvd-daemon-")
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.run(daemon_args(d, port, "--save", "3600 1"), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stderr == b"" and p.stdout == b""
    # the parent returned only once the server was ready: no waiting needed
    assert ping(port), "not answering right after the parent exited"
    pidfile = os.path.join(d, "kvd.pid")
    pid = read_pid(pidfile)
    c = RawConn(port)
    info = harness.parse_info(c.cmd("INFO", "server"))
    assert int(info["process_id"]) == pid
    c.cmd("SET", "k", "v")
    c.close()
    log = open(os.path.join(d, "kvd.log")).read()
    for needle in ["kvd 0.", "pid=%d" % pid, "allocator=", "port %d" % port, "16 databases x 64 shards",
                   "persistence:", "Ready to accept connections"]:
        assert needle in log, (needle, log)
    assert log.index("persistence:") < log.index("Ready to accept connections")
    kill_wait(pid)
    assert not os.path.exists(pidfile), "pidfile left behind"
    log = open(os.path.join(d, "kvd.log")).read()
    assert "received SIGTERM" in log and "bye bye" in log
    # a final snapshot where persistence exists (the persistence work adds SAVE)
    c2 = None
    if any(os.path.exists(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".snap")):
        assert os.path.getsize(os.path.join(d, "kvd.snap")) > 0
    assert time.monotonic() - t0 < 30


def test_daemonize_bind_failure_reported_by_parent(srv):
    d = tempfile.mkdtemp(prefix="kvd-daemon-")
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        p = subprocess.run(daemon_args(d, port), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    finally:
        busy.close()
    assert p.returncode != 0
    err = p.stderr.decode()
    assert str(port) in err and ("in use" in err or "bind" in err), err
    assert not os.path.exists(os.path.join(d, "kvd.pid"))


def test_daemonize_bad_logfile_reported_by_parent(srv):
    d = tempfile.mkdtemp(prefix="kvd-daemon-")
    args = daemon_args(d, free_port())
    args[args.index("--logfile") + 1] = "/nonexistent/dir/kvd.log"
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode != 0
    assert "cannot open log file '/nonexistent/dir/kvd.log'" in p.stderr.decode()


def test_sighup_reopens_rotated_log(srv):
    d = tempfile.mkdtemp(prefix="kvd-daemon-")
    port = free_port()
    p = subprocess.run(daemon_args(d, port), stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    pid = read_pid(os.path.join(d, "kvd.pid"))
    try:
        log = os.path.join(d, "kvd.log")
        os.rename(log, log + ".1")  # what logrotate does
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: os.path.exists(log) and "log file reopened" in open(log).read(), 5,
                 what="a new log file after SIGHUP")
        assert "Ready to accept connections" in open(log + ".1").read()
        assert "Ready to accept" not in open(log).read()
        assert ping(port)
    finally:
        kill_wait(pid)


def test_foreground_log_and_second_sigint(srv):
    d = tempfile.mkdtemp(prefix="kvd-fg-")
    port = free_port()
    p = subprocess.Popen([kvd(), "--port", str(port), "--text-port", "0", "--bind", "127.0.0.1", "--dir", d,
                          "--save", ""], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: ping(port), 10, what="kvd to start")
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
        assert p.returncode == 0
        text = out.decode()
        assert "Ready to accept connections" in text and "received SIGINT" in text
        assert "persistence: none" in text
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# --------------------------------------------------------------------------
# systemd notification


def notify_socket(d, abstract=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "kvd-test-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
        s.bind("\0" + name)
        env = "@" + name
    else:
        path = os.path.join(d, "notify.sock")
        s.bind(path)
        env = path
    s.settimeout(10)
    return s, env


def run_supervised(abstract, mode="systemd", extra=()):
    d = tempfile.mkdtemp(prefix="kvd-notify-")
    s, env = notify_socket(d, abstract)
    port = free_port()
    e = dict(os.environ, NOTIFY_SOCKET=env)
    p = subprocess.Popen([kvd(), "--port", str(port), "--text-port", "0", "--bind", "127.0.0.1", "--dir", d,
                          "--save", "", "--supervised", mode] + list(extra),
                         env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return s, p, port


def test_systemd_notify_ready_and_stopping(srv):
    for abstract in (False, True):
        s, p, port = run_supervised(abstract, extra=("--daemonize", "yes"))
        try:
            msgs = s.recv(4096).decode()
            assert "READY=1" in msgs and "STATUS=Ready to accept connections" in msgs, msgs
            assert ping(port)
            assert p.poll() is None, "a supervised kvd must not fork, even with daemonize yes"
            c = RawConn(port)
            assert harness.parse_info(c.cmd("INFO", "server"))["process_supervised"] == "systemd"
            c.close()
            p.send_signal(signal.SIGTERM)
            msgs = s.recv(4096).decode()
            assert "STOPPING=1" in msgs, msgs
            assert p.wait(10) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            s.close()


def test_supervised_auto_uses_notify_socket(srv):
    s, p, port = run_supervised(False, mode="auto")
    try:
        assert "READY=1" in s.recv(4096).decode()
    finally:
        p.terminate()
        p.wait(10)
        s.close()


# --------------------------------------------------------------------------
# the init script


def init(cmd, env, timeout=60):
    p = subprocess.run(["sh", os.path.join(ROOT, "etc", "init.d", "kvd"), cmd], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode()


def test_init_script_start_status_stop_restart(srv):
    import shutil
    if not shutil.which("start-stop-daemon"):
        harness.skip("start-stop-daemon (Debian's dpkg) not installed")
    d = tempfile.mkdtemp(prefix="kvd-init-")
    port = free_port()
    conf = os.path.join(d, "kvd.conf")
    with open(conf, "w") as f:
        f.write("port %d\ntext-port 0\nbind 127.0.0.1\ndir %s\nlogfile %s/kvd.log\nsave \"\"\n" % (port, d, d))
    pidfile = os.path.join(d, "run", "kvd.pid")
    env = dict(os.environ, DAEMON=kvd(), CONFIG=conf, PIDFILE=pidfile, KVD_USER="",
               KVD_DEFAULTS=os.path.join(d, "no-defaults"), STOP_TIMEOUT="20", ULIMIT="")
    try:
        assert init("status", env)[0] == 3            # LSB: not running
        code, out = init("start", env)
        assert code == 0, out
        assert ping(port), "not ready when start returned"
        pid = read_pid(pidfile)
        assert alive(pid)
        code, out = init("status", env)
        assert code == 0 and str(pid) in out, out
        assert init("start", env)[0] == 0             # already running: fine
        assert read_pid(pidfile) == pid
        code, out = init("reload", env)               # SIGHUP: log reopened
        assert code == 0, out
        wait_for(lambda: "log file reopened" in open(os.path.join(d, "kvd.log")).read(), 5,
                 what="the reload to reopen the log")
        code, out = init("restart", env)
        assert code == 0, out
        pid2 = read_pid(pidfile)
        assert pid2 != pid and not alive(pid) and ping(port)
        code, out = init("stop", env)
        assert code == 0, out
        assert not alive(pid2) and not os.path.exists(pidfile)
        assert init("status", env)[0] == 3
        assert init("stop", env)[0] == 0              # stopping a stopped server: fine
        # a stale pidfile: status 1
        with open(pidfile, "w") as f:
            f.write("999999\n")
        assert init("status", env)[0] == 1
        os.unlink(pidfile)
        # a server that cannot start: start fails (port taken)
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen(1)
        try:
            code, out = init("start", env)
            assert code != 0, out
        finally:
            busy.close()
        assert init("bogus", env)[0] == 2
    finally:
        if os.path.exists(pidfile):
            try:
                kill_wait(read_pid(pidfile))
            except (ValueError, OSError, AssertionError):
                pass
