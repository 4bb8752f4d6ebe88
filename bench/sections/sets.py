"""sets: SADD/SPOP/ZADD/ZPOPMIN throughput (redis-benchmark -t), a
ZRANGEBYSCORE/ZRANK workload on a 1,000,000-member sorted set, and the
memory of 100,000 sets and 100,000 sorted sets of 10 members and of one
sorted set of 1,000,000 members, kvd against redis-server side by side."""

import time

import lib

TITLE = "Sets and sorted sets: throughput, range queries, memory"
ORDER = 30
DEFAULT = True

N_P16 = lib.env_int("BENCH_SETS_N_PIPE", lib.quick_or(1_000_000, 100_000))
N_P1 = lib.env_int("BENCH_SETS_N", lib.quick_or(200_000, 20_000))
KEYSPACE = lib.env_int("BENCH_KEYSPACE", 100_000)
BIG = lib.env_int("BENCH_ZSET_BIG", lib.quick_or(1_000_000, 100_000))
SMALL_KEYS = lib.env_int("BENCH_SETS_KEYS", lib.quick_or(100_000, 20_000))
PER_KEY = 10
BATCH = 100   # members per ZADD when loading the big sorted set

TESTS = ["sadd", "spop", "zadd", "zpopmin"]
RUNS = [("50 clients, P16", 50, 16, N_P16), ("50 clients, P1", 50, 1, N_P1)]
# redis-benchmark replaces __rand_int__ with 12 digits: members are named so
RANGE_CMDS = [
    ("ZRANGEBYSCORE", ["ZRANGEBYSCORE", "bigz", "__rand_int__", "+inf", "LIMIT", "0", "10"]),
    ("ZRANK", ["ZRANK", "bigz", "m:__rand_int__"]),
]


def params():
    return (f"redis-benchmark -r {KEYSPACE} -t {','.join(TESTS)} (one test per "
            f"run, 50 clients): {N_P16:,} requests at P16, {N_P1:,} at P1; "
            f"range workload on a {BIG:,}-member sorted set (members "
            f"m:<12 digits>, score = the number): ZRANGEBYSCORE <rand> +inf "
            f"LIMIT 0 10 and ZRANK m:<rand>; memory: {SMALL_KEYS:,} sets and "
            f"{SMALL_KEYS:,} sorted sets of {PER_KEY} members "
            f"(\"member:<n>\", 8-10 bytes), {SMALL_KEYS:,} sets of {PER_KEY} "
            f"integers, one sorted set of {BIG:,} members")


def _payload(n_cmds, one):
    return b"".join(one(i) for i in range(n_cmds))


def _cmd(*args):
    return lib.encode_command(*args)


def small_sets_payload(integers=False):
    def one(i):
        if integers:
            ms = [b"%d" % (i * PER_KEY + j) for j in range(PER_KEY)]
        else:
            ms = [b"member:%d" % j for j in range(PER_KEY)]
        return _cmd(b"SADD", b"set:%08d" % i, *ms)
    return _payload(SMALL_KEYS, one)


def small_zsets_payload():
    def one(i):
        args = []
        for j in range(PER_KEY):
            args += [b"%d" % j, b"member:%d" % j]
        return _cmd(b"ZADD", b"zset:%08d" % i, *args)
    return _payload(SMALL_KEYS, one)


def big_zset_payload():
    def one(b):
        args = []
        for i in range(b * BATCH, (b + 1) * BATCH):
            args += [b"%d" % i, b"m:%012d" % i]
        return _cmd(b"ZADD", b"bigz", *args)
    return _payload(BIG // BATCH, one)


def run(ctx):
    specs = ctx.specs
    metrics = []
    m = {}

    def metric(key, *a, **kw):
        m[key] = lib.Metric(*a, **kw)
        metrics.append(m[key])

    for label, _c, p, _n in RUNS:
        for t in TESTS:
            g = f"{t.upper()}, {label}"
            metric((label, t), f"{g}: ops/s", "", "{:,.0f}", "higher",
                   ("ratio>=", 1.0) if p == 16 else None, g)
        for name, _cmdline in RANGE_CMDS:
            g = f"{name} on {BIG:,} members, {label}"
            metric((label, name), f"{g}: ops/s", "", "{:,.0f}", "higher",
                   ("ratio>=", 1.0) if p == 16 else None, g)
            metric((label, name, "p99"), f"{g}: p99", "ms", "{:.3f}", "lower",
                   None, g)
    for key, what in (("sets", f"{SMALL_KEYS:,} sets x {PER_KEY} strings"),
                      ("isets", f"{SMALL_KEYS:,} sets x {PER_KEY} integers"),
                      ("zsets", f"{SMALL_KEYS:,} zsets x {PER_KEY}"),
                      ("bigz", f"1 zset x {BIG:,}")):
        per = "member" if key == "bigz" else "key"
        metric((key, "used"), f"{what}: used_memory per {per}", "B", "{:.1f}",
               "lower", ("ratio<=", 1.0), "memory")
        metric((key, "rss"), f"{what}: RSS per {per}", "B", "{:.1f}",
               "lower", ("ratio<=", 1.0), "memory")
    metric("load_bigz", f"load {BIG:,}-member zset (ZADD x{BATCH}, pipelined)",
           "members/s", "{:,.0f}", "higher", None, "memory")

    lib.log("  generating payloads ...")
    payloads = {
        "sets": (small_sets_payload(), SMALL_KEYS, b":%d\r\n" % PER_KEY),
        "isets": (small_sets_payload(True), SMALL_KEYS, b":%d\r\n" % PER_KEY),
        "zsets": (small_zsets_payload(), SMALL_KEYS, b":%d\r\n" % PER_KEY),
    }
    bigz = big_zset_payload()

    for rnd in range(ctx.rounds):
        order = lib.round_order(specs, rnd)
        lib.log(f"\n  round {rnd + 1}/{ctx.rounds}: order "
                + " ".join(s.label for s in order))
        servers = {}
        try:
            for s in order:
                servers[s.label] = s.start()
            # throughput: each test its own run, in order (spop after sadd)
            for label, clients, pipeline, n in RUNS:
                for t in TESTS:
                    for s in order:
                        srv = servers[s.label]
                        r = lib.run_benchmark(srv, n, clients=clients, pipeline=pipeline,
                                              test=t, keyspace=KEYSPACE)
                        m[(label, t)].add(s.label, r["rps"])
                        lib.log(f"    {t:8} {label:16} {s.label:5} {r['rps']:>11,.0f} ops/s  "
                                f"p99 {r['p99']:6.3f} ms  cpu {r['cpu_us_per_req']:6.2f} µs/req")
            # the big sorted set: load, then the range workload
            for s in order:
                srv = servers[s.label]
                srv.call("FLUSHALL")
                time.sleep(0.3)
                used0, rss0 = srv.used_memory(), srv.rss()
                secs = lib.pipelined_load(srv, bigz, BIG // BATCH, reply=b":%d\r\n" % BATCH)
                n = srv.call("ZCARD", "bigz")
                if n != BIG:
                    raise RuntimeError(f"{s.label}: ZCARD {n} after loading {BIG}")
                time.sleep(0.5)
                used1, rss1 = srv.used_memory(), srv.rss()
                m[("bigz", "used")].add(s.label, lib.per(used1, used0, BIG))
                m[("bigz", "rss")].add(s.label, (rss1 - rss0) / BIG)
                m["load_bigz"].add(s.label, BIG / secs)
                lib.log(f"    load bigz {BIG:,}   {s.label:5} {BIG / secs:>11,.0f} members/s  "
                        f"used/member {lib.fmt('{:6.1f}', lib.per(used1, used0, BIG))}  "
                        f"RSS/member {(rss1 - rss0) / BIG:6.1f}  "
                        f"encoding {srv.call('OBJECT', 'ENCODING', 'bigz')}")
            for label, clients, pipeline, n in RUNS:
                for name, cmdline in RANGE_CMDS:
                    for s in order:
                        srv = servers[s.label]
                        r = lib.run_benchmark(srv, n, clients=clients, pipeline=pipeline,
                                              command=cmdline, keyspace=BIG)
                        m[(label, name)].add(s.label, r["rps"])
                        m[(label, name, "p99")].add(s.label, r["p99"])
                        lib.log(f"    {name:13} {label:16} {s.label:5} {r['rps']:>11,.0f} ops/s  "
                                f"p99 {r['p99']:6.3f} ms  cpu {r['cpu_us_per_req']:6.2f} µs/req")
        finally:
            for srv in servers.values():
                srv.stop()

        # memory of many small ones: a fresh server each
        for key, (payload, count, reply) in payloads.items():
            for s in order:
                with s.start() as srv:
                    time.sleep(0.2)
                    used0, rss0 = srv.used_memory(), srv.rss()
                    lib.pipelined_load(srv, payload, count, reply=reply)
                    if srv.dbsize() != count:
                        raise RuntimeError(f"{s.label}: DBSIZE {srv.dbsize()} after {count}")
                    time.sleep(0.5)
                    used1, rss1 = srv.used_memory(), srv.rss()
                    enc = srv.call("OBJECT", "ENCODING", "zset:00000000" if key == "zsets" else "set:00000000")
                    m[(key, "used")].add(s.label, lib.per(used1, used0, count))
                    m[(key, "rss")].add(s.label, (rss1 - rss0) / count)
                    lib.log(f"    {key:6} {count:,} keys  {s.label:5} used/key "
                            f"{lib.fmt('{:7.1f}', lib.per(used1, used0, count))}  RSS/key "
                            f"{(rss1 - rss0) / count:7.1f}  encoding {enc}")

    notes = [
        "SADD/SPOP and ZADD/ZPOPMIN of redis-benchmark all hit one key "
        "(myset, myzset): in kvd every client takes the same shard lock.",
        "Memory figures are (after - empty server) / count on a fresh server; "
        "Redis 7.0 keeps small sets of strings in a hashtable (7.2 added "
        "listpack sets), kvd packs them.",
    ]
    return {"title": TITLE, "params": params(), "metrics": metrics, "notes": notes}
