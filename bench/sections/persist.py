"""persist: snapshot save and load times, snapshot size and speed against
the disk's sequential write rate (dd), the longest stall of a concurrent
write load while a snapshot runs, and SET throughput with the AOF on
(appendfsync everysec and always, 50 clients, with and without
pipelining), kvd against redis-server side by side."""

import os
import shutil
import subprocess
import tempfile
import threading
import time

import lib

TITLE = "Persistence: snapshot save/load, stalls, AOF throughput"
ORDER = 40
DEFAULT = False

KEYS = lib.env_int("BENCH_PERSIST_KEYS", lib.quick_or(1_000_000, 100_000))
N_AOF = lib.env_int("BENCH_N_AOF", lib.quick_or(200_000, 20_000))
N_AOF_P = lib.env_int("BENCH_N_AOF_PIPE", lib.quick_or(1_000_000, 100_000))
N_STALL = lib.env_int("BENCH_N_STALL", lib.quick_or(300_000, 50_000))


def params(keys=KEYS, aof=True):
    if not aof:
        return (f"{keys:,} keys (12-byte keys, 10-byte values) loaded over one "
                f"pipelined connection, then SAVE, then a restart on the file; "
                f"stall: redis-benchmark SET, 50 clients, while BGSAVE runs")
    return (f"{keys:,} keys (12-byte keys, 10-byte values) loaded over one "
            f"pipelined connection, then SAVE, then a restart on the file; "
            f"stall: redis-benchmark SET, 50 clients, while BGSAVE runs; AOF: "
            f"SET {N_AOF:,} requests (P1) / {N_AOF_P:,} (P16), 50 clients, "
            f"-r 100000")


def dd_rate(d):
    """Sequential write rate of the disk under d, MB/s (dd, fdatasync)."""
    path = os.path.join(d, "dd.bin")
    p = subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=256",
                        "conv=fdatasync"], capture_output=True, text=True, timeout=120)
    os.unlink(path)
    for line in p.stderr.splitlines():
        if "copied" in line:
            num, unit = line.rsplit(",", 1)[1].split()
            v = float(num)
            return v * {"GB/s": 1000, "MB/s": 1, "kB/s": 0.001}.get(unit, 1)
    return None


def snap_name(spec):
    return "kvd.snap" if spec.style == "kvd" else "dump.rdb"


def run(ctx):
    return run_with(ctx, KEYS, True)


def run_with(ctx, KEYS, aof, title=TITLE):
    """The figures for KEYS keys; the AOF throughput ones too when aof."""
    specs = ctx.specs
    metrics, m = [], {}

    def metric(key, *a, **kw):
        m[key] = lib.Metric(*a, **kw)
        metrics.append(m[key])

    metric("save", f"SAVE, {KEYS:,} keys", "s", "{:.3f}", "lower", ("ratio<=", 0.5), "snapshot")
    metric("load", f"start-up load, {KEYS:,} keys", "s", "{:.3f}", "lower", ("ratio<=", 0.5), "snapshot")
    metric("size", f"snapshot size, {KEYS:,} keys", "MB", "{:.1f}", "lower", None, "snapshot")
    metric("speed", "snapshot write speed / dd sequential rate", "%", "{:.0f}", "higher", None, "snapshot")
    metric("stall_base", "SET max latency, same load without a snapshot (noise floor)", "ms", "{:.2f}", "lower",
           None, "snapshot")
    metric("stall_max", "SET max latency while BGSAVE runs", "ms", "{:.2f}", "lower", ("kvd<=", 10.0), "snapshot")
    metric("stall_p99", "SET p99 while BGSAVE runs", "ms", "{:.3f}", "lower", None, "snapshot")
    metric("stall_p999", "SET p99.9 while BGSAVE runs", "ms", "{:.3f}", "lower", None, "snapshot")
    metric("stall_lock", "longest shard lock held by that BGSAVE (kvd: INFO snapshot_last_lock_max_ms)", "ms",
           "{:.2f}", "lower", None, "snapshot")
    for fs in ("everysec", "always") if aof else ():
        for p in (1, 16):
            tgt = ("ratio>=", 1.0) if fs == "always" else None
            metric(("aof", fs, p), f"SET ops/s, appendonly yes, appendfsync {fs}, 50 clients, P{p}", "",
                   "{:,.0f}", "higher", tgt, "aof")
    if aof:
        metric(("noaof", 1), "SET ops/s, no AOF, 50 clients, P1", "", "{:,.0f}", "higher", None, "aof")
        metric(("noaof", 16), "SET ops/s, no AOF, 50 clients, P16", "", "{:,.0f}", "higher", None, "aof")

    notes = []
    lib.log(f"  generating {KEYS:,} SETs ...")
    payload = lib.set_payload(KEYS)
    work = tempfile.mkdtemp(prefix="kvd-bench-persist-")
    rate = dd_rate(work)
    notes.append(f"dd sequential write rate (256 MiB, fdatasync) in {work}: {rate} MB/s")
    try:
        for rnd in range(ctx.rounds):
            order = lib.round_order(specs, rnd)
            lib.log(f"\n  round {rnd + 1}/{ctx.rounds}: order " + " ".join(s.label for s in order))
            for s in order:
                keep = os.path.join(work, s.label)
                os.makedirs(keep, exist_ok=True)
                with s.start() as srv:
                    lib.pipelined_load(srv, payload, KEYS)
                    t0 = time.monotonic()
                    if srv.call("SAVE", timeout=600) != "OK":
                        raise RuntimeError("SAVE failed")
                    dt = time.monotonic() - t0
                    f = os.path.join(srv.dir, snap_name(s))
                    size = os.path.getsize(f)
                    shutil.copy(f, os.path.join(keep, snap_name(s)))
                    m["save"].add(s.label, dt)
                    m["size"].add(s.label, size / 1e6)
                    if rate:
                        m["speed"].add(s.label, size / 1e6 / dt / rate * 100)
                    # the same write load without a snapshot: the machine's own noise
                    r0 = lib.run_benchmark(srv, N_STALL, clients=50, test="set", keyspace=KEYS)
                    m["stall_base"].add(s.label, r0["max"])
                    # stall: a write load while a snapshot runs
                    res = {}

                    def load():
                        res["r"] = lib.run_benchmark(srv, N_STALL, clients=50, test="set", keyspace=KEYS,
                                                     p999=True)
                    t = threading.Thread(target=load)
                    t.start()
                    time.sleep(0.2)
                    srv.call("BGSAVE")
                    t.join(600)
                    r = res["r"]
                    m["stall_max"].add(s.label, r["max"])
                    m["stall_p99"].add(s.label, r["p99"])
                    m["stall_p999"].add(s.label, r["p999"])
                    if s.label == "kvd":
                        for _ in range(600):  # the BGSAVE may still run
                            info = srv.info("persistence")
                            if info.get("rdb_bgsave_in_progress") == "0":
                                break
                            time.sleep(0.1)
                        v = info.get("snapshot_last_lock_max_ms")
                        if v is not None and float(v) >= 0:
                            m["stall_lock"].add(s.label, float(v))
                    lib.log(f"    {s.label:5} SAVE {dt:.3f} s, {size / 1e6:.1f} MB; SET during BGSAVE: "
                            f"max {r['max']:.2f} ms p99 {r['p99']:.3f} ms p99.9 {r['p999']:.3f} ms")
                t0 = time.monotonic()
                with s.start(extra=["--dir", keep, "--dbfilename", snap_name(s)], timeout=600) as srv:
                    lt = time.monotonic() - t0
                    n = srv.dbsize()
                    if n != KEYS:
                        raise RuntimeError(f"{s.label}: {n} keys after load, want {KEYS}")
                m["load"].add(s.label, lt)
                lib.log(f"    {s.label:5} load {lt:.3f} s")
                os.unlink(os.path.join(keep, snap_name(s)))
            for s in order if aof else ():
                for fs in ("everysec", "always"):
                    with s.start(extra=["--appendonly", "yes", "--appendfsync", fs]) as srv:
                        for p, n in ((1, N_AOF), (16, N_AOF_P)):
                            r = lib.run_benchmark(srv, n, clients=50, pipeline=p, test="set", keyspace=100000)
                            m[("aof", fs, p)].add(s.label, r["rps"])
                            lib.log(f"    {s.label:5} AOF {fs:8} P{p:<2} {r['rps']:>11,.0f} ops/s")
                with s.start() as srv:
                    for p, n in ((1, N_AOF), (16, N_AOF_P)):
                        r = lib.run_benchmark(srv, n, clients=50, pipeline=p, test="set", keyspace=100000)
                        m[("noaof", p)].add(s.label, r["rps"])
                        lib.log(f"    {s.label:5} no AOF     P{p:<2} {r['rps']:>11,.0f} ops/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes.append("load time = from starting the server on the file to its first PONG (kvd answers "
                 "-LOADING until then).")
    notes.append("stall figures: redis-benchmark's max, p99 and p99.9 over the whole SET run that overlaps "
                 "the BGSAVE; redis forks, kvd visits shards under read locks (shards over 512 keys in "
                 "slices). The noise floor is the max of the same run without a snapshot: on a loaded "
                 "2-CPU machine it is set by scheduling, not by the server.")
    return {"title": title, "params": params(KEYS, aof), "metrics": metrics, "notes": notes}
