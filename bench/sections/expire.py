"""expire: a wave of 1,000,000 expiring keys next to 1,000,000 without a
TTL — how long after the last deadline until DBSIZE and INFO show every
expired key gone, whether used_memory and RSS come back to the no-TTL
baseline, and the GET latency of a concurrent redis-benchmark during the
wave compared with a quiet run, kvd against redis-server side by side."""

import threading
import time

import lib

TITLE = "Expiry: reclaiming a wave of 1,000,000 keys"
ORDER = 40
DEFAULT = True

KEYS = lib.env_int("BENCH_EXPIRE_KEYS", lib.quick_or(1_000_000, 100_000))
WAVE_MS = 1000          # deadlines spread evenly over one second
LEAD_MS = 1000          # the first deadline 1 s after the load ends: TTLs 1-2 s
LAT_SECONDS = 1.6       # the GET load spans the wave and the reclaim after it
QUIET_N = lib.env_int("BENCH_EXPIRE_QUIET_N", lib.quick_or(200_000, 50_000))
MAX_WAIT = 60.0         # seconds after the last deadline before giving up
MEM_SETTLE = lib.env_int("BENCH_EXPIRE_SETTLE", 12)  # s for RSS to come back


def params():
    return (f"{KEYS:,} keys without TTL (key:<12 digits>, 10-byte values) "
            f"loaded first: the baseline; then {KEYS:,} keys SET … PXAT with "
            f"deadlines spread evenly over {WAVE_MS} ms starting {LEAD_MS} ms "
            f"after their load ends (TTLs of 1–2 s), both over one pipelined "
            f"connection; DBSIZE and INFO keyspace polled every 10 ms; "
            f"redis-benchmark -t get -c 50 -r {KEYS} on the persistent keys: "
            f"{QUIET_N:,} requests quiet (before the TTL load), and about "
            f"{LAT_SECONDS} s worth from 100 ms before the first deadline; "
            f"default hz 10 and active-expire-effort 1 on both")


def ttl_payload(n, base_ms):
    one = (b"*5\r\n$3\r\nSET\r\n$16\r\nttl:%012d\r\n$10\r\nv%09d\r\n"
           b"$4\r\nPXAT\r\n$13\r\n%013d\r\n")
    return b"".join([one % (i, i, base_ms + i * WAVE_MS // n)
                     for i in range(n)])


def _keyspace(srv, c):
    line = lib.parse_info(c.call("INFO", "keyspace")).get("db0", "")
    f = dict(kv.split("=") for kv in line.split(",")) if line else {}
    return int(f.get("keys", 0)), int(f.get("expires", 0))


def run(ctx):
    specs = ctx.specs
    metrics = []
    m = {}

    def metric(key, *a, **kw):
        m[key] = lib.Metric(*a, **kw)
        metrics.append(m[key])

    metric("reclaim", "last deadline → every expired key gone (DBSIZE and "
           "INFO)", "s", "{:.2f}", "lower", ("kvd<=", 1.0), "reclaim")
    metric("used", "used_memory after / no-TTL baseline", "×", "{:.3f}",
           "lower", ("kvd<=", 1.10), "memory")
    metric("rss", f"RSS after / no-TTL baseline (≤ {MEM_SETTLE} s after)", "×",
           "{:.3f}", "lower", ("kvd<=", 1.10), "memory")
    metric("rss_s", "seconds until RSS within 10 % of the baseline", "s",
           "{:.1f}", "lower", None, "memory")
    metric("q_p99", "GET p99, quiet", "ms", "{:.3f}", "lower", None, "latency")
    metric("w_p99", "GET p99, during the wave", "ms", "{:.3f}", "lower",
           None, "latency")
    metric("p99x", "GET p99 wave / quiet", "×", "{:.2f}", "lower",
           ("kvd<=", 2.0), "latency")
    metric("q_max", "GET max, quiet", "ms", "{:.3f}", "lower", None, "latency")
    metric("w_max", "GET max, during the wave", "ms", "{:.3f}", "lower",
           ("kvd<=", 10.0), "latency")
    metric("cap", "expired_time_cap_reached_count after the wave", "",
           "{:,.0f}", "lower", None, "reclaim")

    notes = []
    lib.log(f"  generating {KEYS:,} SETs for the baseline ...")
    t0 = time.monotonic()
    base_payload = lib.set_payload(KEYS, key_fmt=b"key:%012d")
    gen_s = time.monotonic() - t0

    for rnd in range(ctx.rounds):
        order = lib.round_order(specs, rnd)
        lib.log(f"\n  round {rnd + 1}/{ctx.rounds}: order "
                + " ".join(s.label for s in order))
        for s in order:
            with s.start() as srv:
                one_side(srv, s.label, m, base_payload, gen_s, notes)

    notes.append("reclaim: from the last deadline until DBSIZE equals the "
                 "persistent keys and INFO keyspace shows expires=0; nobody "
                 "reads the expiring keys, so it is the active expiry alone.")
    notes.append("memory: baseline = the server holding only the persistent "
                 "keys; after = once the wave is reclaimed, polled until RSS "
                 f"is within 10 % or {MEM_SETTLE} s (the allocators return "
                 "freed pages with a delay).")
    notes.append("latency: redis-benchmark's p99 and max (ms) over the "
                 "whole run; the wave run starts 100 ms before the first "
                 "deadline and lasts about as long as the wave plus its "
                 "reclaim.")
    return {"title": TITLE, "params": params(), "metrics": metrics,
            "notes": notes}


def one_side(srv, label, m, base_payload, gen_s, notes):
    secs = lib.pipelined_load(srv, base_payload, KEYS)
    time.sleep(0.5)
    used0, rss0 = srv.used_memory(), srv.rss()
    q = lib.run_benchmark(srv, QUIET_N, clients=50, test="get", keyspace=KEYS)
    lib.log(f"    {label:5} baseline {KEYS:,} keys loaded in {secs:.2f} s: "
            f"used_memory {used0 / 2**20:.1f} MiB, RSS {rss0 / 2**20:.1f} MiB;"
            f" quiet GET {q['rps']:,.0f} ops/s p99 {q['p99']:.3f} max "
            f"{q['max']:.3f} ms")

    # deadlines: LEAD_MS after the expected end of generating and loading
    base = int(time.time() * 1000 + (gen_s + secs) * 1300 + LEAD_MS)
    payload = ttl_payload(KEYS, base)
    lsecs = lib.pipelined_load(srv, payload, KEYS)
    del payload
    left = base - time.time() * 1000
    if left < 0:
        notes.append(f"{label}: the TTL load ended {-left:.0f} ms after the "
                     "first deadline")
    last = (base + WAVE_MS) / 1000.0

    wave = {}
    n_wave = int(q["rps"] * LAT_SECONDS)

    def bench():
        try:
            wave.update(lib.run_benchmark(srv, n_wave, clients=50, test="get",
                                          keyspace=KEYS))
        except Exception as e:  # noqa: BLE001
            wave["error"] = e

    t = threading.Thread(target=bench)
    delay = base / 1000.0 - 0.1 - time.time()
    if delay > 0:
        time.sleep(delay)
    t.start()
    with srv.client() as c:
        while time.time() < last:
            time.sleep(0.01)
        done = None
        while time.time() < last + MAX_WAIT:
            n = c.call("DBSIZE")
            if n == KEYS and _keyspace(srv, c) == (KEYS, 0):
                done = time.time()
                break
            time.sleep(0.01)
        reclaim = None if done is None else max(0.0, done - last)
        t.join(300)
        if "error" in wave:
            raise wave["error"]
        stats = lib.parse_info(c.call("INFO", "stats"))
        cap = int(stats.get("expired_time_cap_reached_count", 0))
        expired = int(stats.get("expired_keys", 0))
    # memory: poll until RSS comes back within 10 % (or give up)
    t_mem = time.time()
    while True:
        used1, rss1 = srv.used_memory(), srv.rss()
        if rss1 <= rss0 * 1.10 or time.time() - t_mem > MEM_SETTLE:
            break
        time.sleep(0.25)
    rss_s = time.time() - t_mem
    m["reclaim"].add(label, reclaim)
    m["used"].add(label, used1 / used0 if used0 and used1 else None)
    m["rss"].add(label, rss1 / rss0)
    m["rss_s"].add(label, rss_s if rss1 <= rss0 * 1.10 else None)
    m["q_p99"].add(label, q["p99"])
    m["w_p99"].add(label, wave["p99"])
    m["p99x"].add(label, wave["p99"] / q["p99"] if q["p99"] else None)
    m["q_max"].add(label, q["max"])
    m["w_max"].add(label, wave["max"])
    m["cap"].add(label, cap)
    lib.log(f"    {label:5} TTL load {lsecs:.2f} s, first deadline "
            f"{left / 1000:+.2f} s after it; reclaimed "
            f"{'never' if reclaim is None else f'{reclaim:.2f} s'} after the "
            f"last deadline (expired_keys {expired:,}, cap reached {cap}); "
            f"wave GET {wave['rps']:,.0f} ops/s p99 {wave['p99']:.3f} max "
            f"{wave['max']:.3f} ms; used_memory {used1 / 2**20:.1f} MiB "
            f"({used1 / used0:.3f}×), RSS {rss1 / 2**20:.1f} MiB "
            f"({rss1 / rss0:.3f}×, after {rss_s:.1f} s)")
