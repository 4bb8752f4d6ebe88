"""core: strings throughput, latency, CPU per request, memory per key, bulk
load speed and memory per idle connection (the figures of the thread-model
issue), kvd against redis-server side by side."""

import time

import lib

TITLE = "SET/GET throughput and latency, CPU per request, memory"
ORDER = 10
DEFAULT = True

# sizes (env overrides; BENCH_QUICK=1 uses the small ones)
N_P1 = lib.env_int("BENCH_N", lib.quick_or(200_000, 20_000))
N_P16 = lib.env_int("BENCH_N_PIPE", lib.quick_or(2_000_000, 100_000))
N_C1000 = lib.env_int("BENCH_N_MANY", lib.quick_or(200_000, 20_000))
MANY = lib.env_int("BENCH_MANY_CLIENTS", 1000)
KEYSPACE = lib.env_int("BENCH_KEYSPACE", 100_000)
LOAD_KEYS = lib.env_int("BENCH_KEYS", lib.quick_or(1_000_000, 100_000))
IDLE = lib.env_int("BENCH_IDLE", lib.quick_or(5000, 1000))
WARMUP = lib.quick_or(50_000, 10_000)

# (label, clients, pipeline, requests)
RUNS = [
    ("50 clients, P1", 50, 1, N_P1),
    ("50 clients, P16", 50, 16, N_P16),
    (f"{MANY} clients, P1", MANY, 1, N_C1000),
]
TESTS = ["SET", "GET"]


def _targets(label, what):
    """The issue's targets for one figure of one benchmark run."""
    return {
        RUNS[0][0]: {"ops": ("ratio>=", 0.85), "p99": ("ratio<=", 1.5)},
        RUNS[1][0]: {"ops": ("ratio>=", 1.0), "cpu": ("ratio<=", 1.0)},
        RUNS[2][0]: {"ops": ("ratio>=", 0.8)},
    }.get(label, {}).get(what)


def params():
    return (f"redis-benchmark -r {KEYSPACE}, 3-byte values; requests per run: "
            f"{N_P1:,} (50 clients, P1), {N_P16:,} (50 clients, P16), "
            f"{N_C1000:,} ({MANY} clients, P1); SET then GET, each its own "
            f"run; bulk load {LOAD_KEYS:,} keys (12-byte keys, 10-byte "
            f"values) over one pipelined connection; {IDLE:,} idle "
            f"connections")


def run(ctx):
    specs = ctx.specs
    metrics = []
    m = {}

    def metric(key, *a, **kw):
        m[key] = lib.Metric(*a, **kw)
        metrics.append(m[key])

    for label, _c, _p, _n in RUNS:
        for t in TESTS:
            g = f"{t}, {label}"
            metric((label, t, "ops"), f"{g}: ops/s", "", "{:,.0f}", "higher",
                   _targets(label, "ops"), g)
            metric((label, t, "p50"), f"{g}: p50", "ms", "{:.3f}", "lower",
                   _targets(label, "p50"), g)
            metric((label, t, "p99"), f"{g}: p99", "ms", "{:.3f}", "lower",
                   _targets(label, "p99"), g)
            metric((label, t, "cpu"), f"{g}: server CPU/request", "µs",
                   "{:.2f}", "lower", _targets(label, "cpu"), g)
    metric("bpk_used", f"bytes/key, {LOAD_KEYS:,} keys: used_memory", "B",
           "{:.1f}", "lower", ("ratio<=", 0.7), "memory")
    metric("bpk_rss", f"bytes/key, {LOAD_KEYS:,} keys: RSS", "B", "{:.1f}",
           "lower", ("ratio<=", 0.7), "memory")
    metric("load", "bulk load, one pipelined connection", "keys/s",
           "{:,.0f}", "higher", ("ratio>=", 2.0), "memory")
    metric("idle_rss", f"RSS per idle connection ({IDLE:,})", "B",
           "{:,.0f}", "lower", ("kvd<=", 20 * 1024), "memory")
    metric("idle_used", f"used_memory per idle connection ({IDLE:,})", "B",
           "{:,.0f}", "lower", None, "memory")

    notes = []
    lib.log(f"  generating {LOAD_KEYS:,} SETs for the bulk load ...")
    payload = lib.set_payload(LOAD_KEYS)

    for rnd in range(ctx.rounds):
        order = lib.round_order(specs, rnd)
        lib.log(f"\n  round {rnd + 1}/{ctx.rounds}: order "
                + " ".join(s.label for s in order))

        # throughput / latency / CPU: both servers up, fresh for the round
        servers = {}
        try:
            for s in order:
                servers[s.label] = s.start()
            for s in order:     # warm-up, not measured
                lib.run_benchmark(servers[s.label], WARMUP, clients=50,
                                  test="set,get", keyspace=KEYSPACE)
            for label, clients, pipeline, n in RUNS:
                for t in TESTS:
                    for s in order:
                        srv = servers[s.label]
                        r = lib.run_benchmark(srv, n, clients=clients,
                                              pipeline=pipeline,
                                              test=t.lower(),
                                              keyspace=KEYSPACE)
                        m[(label, t, "ops")].add(s.label, r["rps"])
                        m[(label, t, "p50")].add(s.label, r["p50"])
                        m[(label, t, "p99")].add(s.label, r["p99"])
                        m[(label, t, "cpu")].add(s.label, r["cpu_us_per_req"])
                        lib.log(f"    {t:3} {label:18} {s.label:5} "
                                f"{r['rps']:>11,.0f} ops/s  p50 "
                                f"{r['p50']:6.3f}  p99 {r['p99']:6.3f} ms  "
                                f"cpu {r['cpu_us_per_req']:6.2f} µs/req  "
                                f"({r['wall_s']:.1f} s)")
        finally:
            for srv in servers.values():
                srv.stop()

        # memory per key and bulk load speed: a fresh server each
        for s in order:
            with s.start() as srv:
                time.sleep(0.2)
                used0, rss0 = srv.used_memory(), srv.rss()
                secs = lib.pipelined_load(srv, payload, LOAD_KEYS)
                n = srv.dbsize()
                if n != LOAD_KEYS:
                    raise RuntimeError(f"{s.label}: DBSIZE {n} after loading "
                                       f"{LOAD_KEYS} keys")
                time.sleep(0.5)
                used1, rss1 = srv.used_memory(), srv.rss()
                bu = lib.per(used1, used0, LOAD_KEYS)
                br = (rss1 - rss0) / LOAD_KEYS
                m["bpk_used"].add(s.label, bu)
                m["bpk_rss"].add(s.label, br)
                m["load"].add(s.label, LOAD_KEYS / secs)
                lib.log(f"    load {LOAD_KEYS:,} keys   {s.label:5} "
                        f"{LOAD_KEYS / secs:>11,.0f} keys/s ({secs:.2f} s)  "
                        f"bytes/key used_memory {lib.fmt('{:6.1f}', bu)}  "
                        f"RSS {br:6.1f}  "
                        f"(RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB)")

        # memory per idle connection: a fresh server each
        for s in order:
            with s.start() as srv:
                time.sleep(0.2)
                used0, rss0 = srv.used_memory(), srv.rss()
                socks = lib.open_idle_connections(srv, IDLE)
                try:
                    time.sleep(1.0)
                    rss1 = srv.rss()
                    used1 = srv.used_memory()
                    threads = srv.threads()
                    try:
                        conns = srv.info("clients").get("connected_clients",
                                                        "?")
                    except (OSError, lib.RespError):
                        conns = "?"
                finally:
                    lib.close_all(socks)
                pr = (rss1 - rss0) / IDLE
                pu = lib.per(used1, used0, IDLE)
                m["idle_rss"].add(s.label, pr)
                m["idle_used"].add(s.label, pu)
                lib.log(f"    idle {IDLE:,} conns     {s.label:5} RSS "
                        f"{pr:8,.0f} B/conn  used_memory "
                        f"{lib.fmt('{:8,.0f}', pu)} B/conn  "
                        f"(RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB, "
                        f"{threads} threads, connected_clients {conns})")

    notes.append("bytes/key and per-connection figures are (after − empty "
                 "server) / count, on a fresh server each round; RSS is "
                 "VmRSS from /proc/PID/status.")
    notes.append("server CPU/request = (utime + stime of the server process, "
                 "all threads, from /proc/PID/stat) over the redis-benchmark "
                 f"run / requests; resolution 1/{lib.CLK_TCK} s.")
    return {"title": TITLE, "params": params(), "metrics": metrics,
            "notes": notes}
