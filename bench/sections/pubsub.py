"""pubsub: PUBLISH throughput to 1, 10 and 100 subscribers (pipelined
publishers), end-to-end message latency, and MULTI/EXEC of 5 SETs across
shards at pipeline 16, kvd against redis-server side by side."""

import selectors
import socket
import threading
import time

import lib

TITLE = "Pub/sub throughput and latency, MULTI/EXEC transactions"
ORDER = 40
DEFAULT = True

N_PUB = lib.env_int("BENCH_PUB_N", lib.quick_or(400_000, 40_000))
SUBS = [1, 10, 100]
PUB_CLIENTS = 8
PUB_PIPE = 16
LAT_SAMPLES = lib.env_int("BENCH_PUB_LAT", lib.quick_or(5_000, 500))
N_TX = lib.env_int("BENCH_TX_N", lib.quick_or(200_000, 20_000))
TX_CONNS = 8
TX_PIPE = 16
CHANNEL = b"bench:ch"
PAYLOAD = b"m" * 16
MSG = b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL, len(PAYLOAD), PAYLOAD)


def params():
    return (f"PUBLISH of {len(PAYLOAD)}-byte messages by redis-benchmark "
            f"({PUB_CLIENTS} clients, pipeline {PUB_PIPE}): {N_PUB:,} messages "
            f"per run for 1 and 10 subscribers, {N_PUB // 4:,} for 100; "
            f"subscribers are raw sockets drained by one reader thread; "
            f"latency: {LAT_SAMPLES:,} publish→receive round trips on idle "
            f"servers with 10 subscribers; MULTI + 5 SETs (keys spread over "
            f"shards) + EXEC: {N_TX:,} transactions over {TX_CONNS} "
            f"connections, {TX_PIPE} transactions per pipelined batch")


def _subscribe(server, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.sendall(lib.encode_command("SUBSCRIBE", CHANNEL))
        want = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL)
        got = b""
        while len(got) < len(want):
            d = s.recv(256)
            if not d:
                raise RuntimeError(f"{server.label}: subscriber closed")
            got += d
        if got != want:
            raise RuntimeError(f"{server.label}: SUBSCRIBE answered {got!r}")
        s.setblocking(False)
        socks.append(s)
    return socks


def _drain(socks, want_each, timeout):
    """Reads every subscriber until each got want_each bytes; returns the
    time the last byte arrived (monotonic)."""
    sel = selectors.DefaultSelector()
    left = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        left[s] = want_each
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                d = s.recv(1 << 20)
            except BlockingIOError:
                continue
            if not d:
                raise RuntimeError("subscriber connection closed by the server")
            left[s] -= len(d)
            last = time.monotonic()
            if left[s] <= 0:
                sel.unregister(s)
                del left[s]
    sel.close()
    if left:
        raise RuntimeError(f"{len(left)} subscribers incomplete after {timeout}s")
    return last


def _publish_run(server, nsubs, n):
    server.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 0 0")
    socks = _subscribe(server, nsubs)
    result = {}
    try:
        t = threading.Thread(target=lambda: result.update(
            last=_drain(socks, n * len(MSG), 300)), daemon=True)
        t.start()
        t0 = time.monotonic()
        r = lib.run_benchmark(server, n, clients=PUB_CLIENTS, pipeline=PUB_PIPE,
                              command=["PUBLISH", CHANNEL.decode(), PAYLOAD.decode()])
        t.join(300)
        if "last" not in result:
            raise RuntimeError(f"{server.label}: subscribers did not get every message")
        delivered = n * nsubs / (result["last"] - t0)
        return r["rps"], delivered, r["cpu_us_per_req"]
    finally:
        for s in socks:
            s.close()


def _latency(server, nsubs=10):
    socks = _subscribe(server, nsubs)
    probe = socks[0]
    probe.setblocking(True)
    pub = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    others = socks[1:]
    cmd = lib.encode_command("PUBLISH", CHANNEL, PAYLOAD)
    want = len(MSG)
    samples = []
    try:
        for i in range(LAT_SAMPLES):
            t0 = time.perf_counter()
            pub.sendall(cmd)
            got = 0
            while got < want:
                got += len(probe.recv(want - got))
            samples.append((time.perf_counter() - t0) * 1e6)
            pr = b""
            while not pr.endswith(b"\r\n"):
                pr += pub.recv(64)
            if i % 64 == 63:   # keep the other subscribers' buffers small
                for s in others:
                    try:
                        while s.recv(1 << 20):
                            pass
                    except BlockingIOError:
                        pass
    finally:
        pub.close()
        for s in socks:
            s.close()
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def _tx_batches(nbatches=64):
    """Pre-encoded batches of TX_PIPE transactions, 5 SETs each on keys that
    spread over the shards; and the exact reply bytes of one batch."""
    batches = []
    for b in range(nbatches):
        parts = []
        for t in range(TX_PIPE):
            parts.append(lib.encode_command("MULTI"))
            for k in range(5):
                parts.append(lib.encode_command("SET", f"tx:{b}:{t}:{k}", "v"))
            parts.append(lib.encode_command("EXEC"))
        batches.append(b"".join(parts))
    one = b"+OK\r\n" + b"+QUEUED\r\n" * 5 + b"*5\r\n" + b"+OK\r\n" * 5
    return batches, one * TX_PIPE


def _tx_run(server, batches, reply):
    per_conn = N_TX // TX_CONNS // TX_PIPE
    errors = []

    def worker(idx):
        try:
            s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(per_conn):
                s.sendall(batches[(idx * 7 + i) % len(batches)])
                got = 0
                first = None
                while got < len(reply):
                    d = s.recv(1 << 16)
                    if not d:
                        raise RuntimeError("connection closed")
                    if first is None:
                        first = d[:1]
                    got += len(d)
                if first != b"+":
                    raise RuntimeError("unexpected reply")
            s.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    cpu0 = server.cpu_seconds()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(TX_CONNS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    wall = time.monotonic() - t0
    cpu = server.cpu_seconds() - cpu0
    if errors:
        raise RuntimeError(f"{server.label}: transaction run failed: {errors[0]}")
    n = per_conn * TX_CONNS * TX_PIPE
    return n / wall, cpu / n * 1e6


def run(ctx):
    metrics = []
    m = {}

    def metric(key, *a, **kw):
        m[key] = lib.Metric(*a, **kw)
        metrics.append(m[key])

    for n in SUBS:
        metric(("pub", n), f"PUBLISH to {n} subscriber{'s' if n > 1 else ''}, "
               f"P{PUB_PIPE}: ops/s", "", "{:,.0f}", "higher", ("ratio>=", 1.0), "pubsub")
        metric(("dlv", n), f"messages delivered/s, {n} subscriber{'s' if n > 1 else ''}",
               "", "{:,.0f}", "higher", None, "pubsub")
        metric(("cpu", n), f"server CPU per PUBLISH, {n} subscriber{'s' if n > 1 else ''}",
               "µs", "{:.2f}", "lower", None, "pubsub")
    metric("lat50", "publish→receive latency p50, 10 subscribers", "µs", "{:.0f}", "lower", None, "pubsub")
    metric("lat99", "publish→receive latency p99, 10 subscribers", "µs", "{:.0f}", "lower", None, "pubsub")
    metric("tx", f"MULTI + 5 SET + EXEC, P{TX_PIPE}, {TX_CONNS} conns: tx/s", "", "{:,.0f}", "higher",
           ("ratio>=", 1.0), "transactions")
    metric("txcpu", "server CPU per transaction", "µs", "{:.2f}", "lower", None, "transactions")

    batches, reply = _tx_batches()
    for rnd in range(ctx.rounds):
        order = lib.round_order(ctx.specs, rnd)
        lib.log(f"\n  round {rnd + 1}/{ctx.rounds}: order " + " ".join(s.label for s in order))
        for s in order:
            with s.start() as srv:
                for n in SUBS:
                    count = N_PUB if n < 100 else N_PUB // 4
                    rps, dlv, cpu = _publish_run(srv, n, count)
                    m[("pub", n)].add(s.label, rps)
                    m[("dlv", n)].add(s.label, dlv)
                    m[("cpu", n)].add(s.label, cpu)
                    lib.log(f"    PUBLISH {n:3} subs {s.label:5} {rps:>11,.0f} ops/s  "
                            f"delivered {dlv:>12,.0f} msg/s  cpu {cpu:6.2f} µs/publish")
                p50, p99 = _latency(srv)
                m["lat50"].add(s.label, p50)
                m["lat99"].add(s.label, p99)
                lib.log(f"    latency          {s.label:5} p50 {p50:7.0f} µs  p99 {p99:7.0f} µs")
                tps, tcpu = _tx_run(srv, batches, reply)
                m["tx"].add(s.label, tps)
                m["txcpu"].add(s.label, tcpu)
                lib.log(f"    MULTI/EXEC       {s.label:5} {tps:>11,.0f} tx/s  cpu {tcpu:6.2f} µs/tx")
    notes = [
        "client-output-buffer-limit pubsub is set to 0 0 0 on both servers for "
        "the throughput runs, so a reader that falls behind is not disconnected.",
        "delivered/s = messages × subscribers / (time from the start of the "
        "publishing run to the last byte read by the subscribers).",
        "latency is measured from a Python client: the figures include its "
        "overhead, the same on both sides.",
    ]
    return {"title": TITLE, "params": params(), "metrics": metrics, "notes": notes}
