"""hashlist: hashes and lists — redis-benchmark's HSET, LPUSH, RPUSH, LPOP,
RPOP, LRANGE_100 and LRANGE_600 at pipeline 16 and without pipelining, and
the memory of 100,000 small hashes and 100,000 small lists (the compact
listpack encodings), kvd against redis-server side by side."""

import time

import lib

TITLE = "Hashes and lists: throughput, latency, memory of small values"
ORDER = 20
DEFAULT = True

N_P16 = lib.env_int("BENCH_TYPES_N_PIPE", lib.quick_or(1_000_000, 100_000))
N_P1 = lib.env_int("BENCH_TYPES_N", lib.quick_or(200_000, 20_000))
N_LRANGE = lib.env_int("BENCH_TYPES_N_LRANGE", lib.quick_or(100_000, 10_000))
KEYSPACE = lib.env_int("BENCH_KEYSPACE", 100_000)
OBJECTS = lib.env_int("BENCH_TYPES_OBJECTS", lib.quick_or(100_000, 20_000))
CLIENTS = 50
WARMUP = lib.quick_or(50_000, 10_000)

TESTS = ["hset", "lpush", "rpush", "lpop", "rpop", "lrange_100", "lrange_600"]
PIPES = [("P16", 16), ("P1", 1)]


def params():
    return (f"redis-benchmark -c {CLIENTS} -r {KEYSPACE}, 3-byte values, each "
            f"test its own run in this order: {', '.join(TESTS)}; requests "
            f"per run {N_P16:,} at P16 and {N_P1:,} at P1 ({N_LRANGE:,} for "
            f"the LRANGEs); memory: {OBJECTS:,} hashes of 10 fields and "
            f"{OBJECTS:,} lists of 10 items (keys hash:%08d / list:%08d, "
            f"fields f0..f9, 8-byte values), loaded over one pipelined "
            f"connection into a fresh server")


def n_for(test, pipe):
    if test.startswith("lrange"):
        return N_LRANGE if pipe == 1 else N_LRANGE * 4
    return N_P1 if pipe == 1 else N_P16


def payload(kind, n):
    """RESP for n HSETs of 10 fields or n RPUSHes of 10 items."""
    out = []
    for i in range(n):
        key = (b"hash:%08d" if kind == "hash" else b"list:%08d") % i
        if kind == "hash":
            args = [b"HSET", key]
            for f in range(10):
                args += [b"f%d" % f, b"val%05d" % ((i + f) % 100000)]
        else:
            args = [b"RPUSH", key] + [b"item%04d" % ((i + f) % 10000) for f in range(10)]
        out.append(lib.encode_command(*args))
    return b"".join(out)


def run(ctx):
    specs = ctx.specs
    metrics = []
    m = {}

    def metric(key, *a, **kw):
        m[key] = lib.Metric(*a, **kw)
        metrics.append(m[key])

    for plabel, pipe in PIPES:
        for t in TESTS:
            g = f"{t.upper()}, {plabel}"
            metric((plabel, t, "ops"), f"{g}: ops/s", "", "{:,.0f}", "higher",
                   ("ratio>=", 1.0) if pipe == 16 else None, g)
            metric((plabel, t, "p99"), f"{g}: p99", "ms", "{:.3f}", "lower", None, g)
            metric((plabel, t, "cpu"), f"{g}: server CPU/request", "µs", "{:.2f}",
                   "lower", None, g)
    for kind in ("hash", "list"):
        what = "10 fields" if kind == "hash" else "10 items"
        metric((kind, "used"), f"{OBJECTS:,} {kind}es of {what}: used_memory/key"
               if kind == "hash" else f"{OBJECTS:,} lists of {what}: used_memory/key",
               "B", "{:.1f}", "lower", None, "memory")
        metric((kind, "rss"), f"{OBJECTS:,} {kind}{'es' if kind == 'hash' else 's'} of "
               f"{what}: RSS/key", "B", "{:.1f}", "lower", ("ratio<=", 1.0), "memory")

    lib.log(f"  generating {OBJECTS:,} HSETs and RPUSHes ...")
    loads = {k: payload(k, OBJECTS) for k in ("hash", "list")}
    notes = []

    for rnd in range(ctx.rounds):
        order = lib.round_order(specs, rnd)
        lib.log(f"\n  round {rnd + 1}/{ctx.rounds}: order "
                + " ".join(s.label for s in order))
        for plabel, pipe in PIPES:
            servers = {}
            try:
                for s in order:
                    servers[s.label] = s.start()
                for s in order:
                    lib.run_benchmark(servers[s.label], WARMUP, clients=CLIENTS,
                                      test="hset,lpush,lpop", keyspace=KEYSPACE)
                for t in TESTS:
                    n = n_for(t, pipe)
                    for s in order:
                        srv = servers[s.label]
                        r = lib.run_benchmark(srv, n, clients=CLIENTS, pipeline=pipe,
                                              test=t, keyspace=KEYSPACE)
                        m[(plabel, t, "ops")].add(s.label, r["rps"])
                        m[(plabel, t, "p99")].add(s.label, r["p99"])
                        m[(plabel, t, "cpu")].add(s.label, r["cpu_us_per_req"])
                        lib.log(f"    {t:10} {plabel:3} {s.label:5} {r['rps']:>11,.0f} "
                                f"ops/s  p99 {r['p99']:6.3f} ms  cpu "
                                f"{r['cpu_us_per_req']:6.2f} µs/req  ({r['wall_s']:.1f} s)")
            finally:
                for srv in servers.values():
                    srv.stop()

        for kind in ("hash", "list"):
            for s in order:
                with s.start() as srv:
                    time.sleep(0.2)
                    used0, rss0 = srv.used_memory(), srv.rss()
                    secs = lib.pipelined_load(srv, loads[kind], OBJECTS, reply=b":10\r\n")
                    n = srv.dbsize()
                    if n != OBJECTS:
                        raise RuntimeError(f"{s.label}: DBSIZE {n} after loading "
                                           f"{OBJECTS} {kind}es")
                    enc = srv.call("OBJECT", "ENCODING", "hash:00000000" if kind == "hash"
                                   else "list:00000000")
                    time.sleep(0.5)
                    used1, rss1 = srv.used_memory(), srv.rss()
                    bu = lib.per(used1, used0, OBJECTS)
                    br = (rss1 - rss0) / OBJECTS
                    m[(kind, "used")].add(s.label, bu)
                    m[(kind, "rss")].add(s.label, br)
                    lib.log(f"    {kind} x{OBJECTS:,} {s.label:5} used_memory/key "
                            f"{lib.fmt('{:7.1f}', bu)}  RSS/key {br:7.1f}  "
                            f"encoding {enc.decode() if isinstance(enc, bytes) else enc}  "
                            f"(load {secs:.2f} s)")

    notes.append("LPUSH/RPUSH/LPOP/RPOP work on one list (mylist) and HSET on one "
                 "hash (myhash) that grows to the -r keyspace: a single hot key, "
                 "so every kvd connection thread contends for one shard lock.")
    notes.append("LRANGE_100/600: redis-benchmark first pushes the list it reads "
                 "(that run is in the CPU figure); 4x the P1 request count at P16.")
    notes.append("Without pipelining kvd pays one thread wake-up per request "
                 "(see DESIGN.md, 'What the thread model costs'); that column "
                 "has no target.")
    notes.append("Memory per key = (after - empty server) / count, fresh server "
                 "each; Redis 7.0 stores the lists as quicklists of one listpack "
                 "node, kvd as a listpack.")
    return {"title": TITLE, "params": params(), "metrics": metrics, "notes": notes}
