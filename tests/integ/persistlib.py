"""Helpers for the persistence tests: a kvd process of our own in a
directory we keep across restarts, killed with SIGKILL or stopped cleanly."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import RawConn, free_port


class Proc:
    def __init__(self, *args, dir=None):
        self.dir = dir or tempfile.mkdtemp(prefix="kvd-persist-")
        self.args = list(args)
        self.proc = None
        self.port = None
        self.logpath = os.path.join(self.dir, "kvd.log")

    def argv(self):
        return [harness.CONFIG["server"], "--port", str(self.port), "--text-port", "0",
                "--bind", "127.0.0.1", "--dir", self.dir] + self.args

    def start(self, expect_fail=False, timeout=20):
        self.port = free_port()
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if expect_fail:
                    return self.proc.returncode
                raise AssertionError("kvd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                c = RawConn(self.port, timeout=2)
                r = c.cmd("PING")
                c.close()
                if r == harness.PONG:
                    if expect_fail:
                        raise AssertionError("kvd started although it should not have:\n" + self.log())
                    return self
            except OSError:
                pass
            time.sleep(0.03)
        raise AssertionError("kvd did not come up:\n" + self.log())

    def conn(self, timeout=20):
        return RawConn(self.port, timeout=timeout)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def wait_exit(self, timeout=20):
        return self.proc.wait(timeout)

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def segments(self):
        d = self.path("appendonlydir")
        segs = [f for f in os.listdir(d) if f.endswith(".seg")]
        return sorted((os.path.join(d, f) for f in segs), key=lambda p: int(p.split(".")[-2]))

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def info(c, section="persistence"):
    return harness.parse_info(c.cmd("INFO", section))


def wait_info(c, field, value, timeout=10):
    harness.wait_for(lambda: info(c).get(field) == value, timeout, what="%s:%s" % (field, value))
