"""Pub/sub fan-out under load: the order of a subscriber's own replies
against the messages pushed to it (a publisher may write a parked
subscriber's socket itself), many publishers x many subscribers delivered
exactly once in per-publisher order, a subscriber that stops reading is
disconnected at its pubsub output limit while the others keep receiving,
CLIENT KILL during fan-out, RESP3 push frames."""

import socket
import threading
import time

from harness import OK, Push, RawConn, Status, drain_until_closed, encode, timeout, wait_for


def _publisher(port, channel, tag, count, pipe, stop, errors, batch_delay=0.0):
    """Pipelines PUBLISH channel "tag:seq" for seq in 0..count-1 (or until
    stop is set); returns nothing, errors go to errors."""
    c = RawConn(port, timeout=30)
    try:
        seq = 0
        while seq < count and not stop.is_set():
            n = min(pipe, count - seq)
            c.send(b"".join(encode("PUBLISH", channel, "%s:%d" % (tag, seq + i)) for i in range(n)))
            c.read_replies(n)
            seq += n
            if batch_delay:
                time.sleep(batch_delay)
    except Exception as e:  # noqa: BLE001
        errors.append("publisher %s: %r" % (tag, e))
    finally:
        c.close()


@timeout(60)
def test_subscribe_reply_precedes_messages_under_concurrent_publishers(srv):
    """A subscriber parked on one channel (so publishers write its socket
    directly) subscribes to a channel that is being published to: the
    confirmation comes before any message of that channel, and after its
    UNSUBSCRIBE confirmation no message of that channel arrives (messages
    published before it come before it, as in Redis)."""
    stop = threading.Event()
    errors = []
    pubs = [threading.Thread(target=_publisher,
                             args=(srv.port, ch, ch, 10 ** 9, 32, stop, errors, 0.0005))
            for ch in ("warm", "hot", "hot")]
    for t in pubs:
        t.start()
    try:
        subs = [RawConn(srv.port, timeout=20) for _ in range(4)]
        for s in subs:
            assert s.cmd("SUBSCRIBE", "warm") == [b"subscribe", b"warm", 1]
        for rnd in range(40):
            for s in subs:
                s.send(encode("SUBSCRIBE", "hot"))
            for s in subs:
                # "warm" messages may come first; no "hot" one before the reply
                while True:
                    m = s.read_reply()
                    if m[0] == b"message" and m[1] == b"warm":
                        continue
                    assert m == [b"subscribe", b"hot", 2], (rnd, m)
                    break
                got_hot = 0
                while got_hot < 20:
                    m = s.read_reply()
                    assert m[0] == b"message", m
                    got_hot += m[1] == b"hot"
                s.send(encode("UNSUBSCRIBE", "hot"))
            for s in subs:
                while True:
                    m = s.read_reply()
                    if m[0] == b"message":
                        continue
                    assert m == [b"unsubscribe", b"hot", 1], (rnd, m)
                    break
                # only "warm" now, until the next round's SUBSCRIBE reply
                s.send(encode("PING", "mark"))
                while True:
                    m = s.read_reply()
                    if m == [b"pong", b"mark"]:
                        break
                    assert m[:2] == [b"message", b"warm"], (rnd, m)
        for s in subs:
            s.close()
    finally:
        stop.set()
        for t in pubs:
            t.join(30)
    assert not errors, errors[:3]


@timeout(60)
def test_published_before_ping_comes_before_pong(srv):
    """PUBLISH answered (the message is queued), then the subscriber's PING:
    the message precedes the PONG, RESP2 and RESP3."""
    p = RawConn(srv.port)
    s2 = RawConn(srv.port)
    s3 = RawConn(srv.port)
    s3.cmd("HELLO", "3")
    assert s2.cmd("SUBSCRIBE", "ord") == [b"subscribe", b"ord", 1]
    assert list(s3.cmd("SUBSCRIBE", "ord")) == [b"subscribe", b"ord", 1]
    for i in range(300):
        assert p.cmd("PUBLISH", "ord", str(i)) == 2
        s2.send(encode("PING"))
        s3.send(encode("PING"))
        assert s2.read_replies(2) == [[b"message", b"ord", str(i).encode()], [b"pong", b""]]
        m, pong = s3.read_replies(2)
        assert isinstance(m, Push) and list(m) == [b"message", b"ord", str(i).encode()], m
        assert pong == Status(b"PONG")


@timeout(90)
def test_many_publishers_many_subscribers_exactly_once(srv):
    """6 pipelining publishers x 30 subscribers (half of them on a pattern):
    every subscriber gets every message exactly once, in each publisher's
    order."""
    npub, nsub, count = 6, 30, 1500
    subs = []
    for i in range(nsub):
        s = RawConn(srv.port, timeout=60)
        s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if i % 2:
            assert s.cmd("PSUBSCRIBE", "fan*") == [b"psubscribe", b"fan*", 1]
        else:
            assert s.cmd("SUBSCRIBE", "fanout") == [b"subscribe", b"fanout", 1]
        subs.append(s)
    stop = threading.Event()
    errors = []
    results = {}

    def reader(idx, s):
        last = {}
        n = 0
        try:
            while n < npub * count:
                m = s.read_reply(timeout=60)
                data = m[-1]
                tag, seq = data.split(b":")
                seq = int(seq)
                if seq != last.get(tag, -1) + 1:
                    errors.append("sub %d: %r after %r" % (idx, data, last.get(tag)))
                    return
                last[tag] = seq
                n += 1
            results[idx] = n
        except Exception as e:  # noqa: BLE001
            errors.append("sub %d: %r" % (idx, e))

    readers = [threading.Thread(target=reader, args=(i, s)) for i, s in enumerate(subs)]
    for t in readers:
        t.start()
    pubs = [threading.Thread(target=_publisher,
                             args=(srv.port, "fanout", "p%d" % i, count, 16 + 8 * i, stop, errors))
            for i in range(npub)]
    for t in pubs:
        t.start()
    for t in pubs:
        t.join(60)
    for t in readers:
        t.join(60)
    stop.set()
    assert not errors, errors[:5]
    assert results == {i: npub * count for i in range(nsub)}
    # nothing more than that
    for s in subs:
        s.send(encode("PING"))
        assert s.read_reply() == [b"pong", b""]
        s.close()


@timeout(90)
def test_stalled_subscriber_dropped_others_keep_receiving(srv):
    """A pipelining publisher, five reading subscribers and one that never
    reads: the stalled one is disconnected at its pubsub output limit, the
    others get every message."""
    admin = RawConn(srv.port)
    assert admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 0 0") == OK
    try:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", srv.port))
        stalled.sendall(encode("SUBSCRIBE", "flood"))
        readers = [RawConn(srv.port, timeout=60) for _ in range(5)]
        for s in readers:
            assert s.cmd("SUBSCRIBE", "flood") == [b"subscribe", b"flood", 1]
        wait_for(lambda: admin.cmd("PUBSUB", "NUMSUB", "flood") == [b"flood", 6], what="6 subscribers")
        payload = b"y" * 2000
        total = 4000   # 8 MB per subscriber: far past the stalled one's limit
        pub = RawConn(srv.port, timeout=60)
        sent = 0
        counts = []
        # paced: a batch of 100 KB, then every reader reads it, so only the
        # stalled subscriber ever has more than its limit unread
        while sent < total:
            pub.send(encode("PUBLISH", "flood", payload) * 50)
            counts += pub.read_replies(50)
            sent += 50
            for s in readers:
                for m in s.read_replies(50, timeout=30):
                    assert m == [b"message", b"flood", payload]
        assert counts[0] == 6 and counts[-1] == 5, (counts[0], counts[-1])
        assert admin.cmd("PUBSUB", "NUMSUB", "flood") == [b"flood", 5]
        # the stalled socket was closed by the server
        drain_until_closed(stalled)
        stalled.close()
        for s in readers:
            s.close()
    finally:
        admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")


@timeout(60)
def test_client_kill_during_fanout(srv):
    """CLIENT KILL of subscribers while pipelined publishers run: they are
    closed, the publishers and the other subscribers are unaffected."""
    admin = RawConn(srv.port)
    victims = [RawConn(srv.port, timeout=20) for _ in range(5)]
    keep = RawConn(srv.port, timeout=30)
    ids = []
    for v in victims:
        ids.append(v.cmd("CLIENT", "ID"))
        assert v.cmd("SUBSCRIBE", "kill") == [b"subscribe", b"kill", 1]
    assert keep.cmd("SUBSCRIBE", "kill") == [b"subscribe", b"kill", 1]
    stop = threading.Event()
    errors = []
    count = 3000
    pubs = [threading.Thread(target=_publisher,
                             args=(srv.port, "kill", "k%d" % i, count, 32, stop, errors, 0.0002))
            for i in range(2)]
    for t in pubs:
        t.start()
    time.sleep(0.05)
    for i in ids:
        assert admin.cmd("CLIENT", "KILL", "ID", str(i)) == 1
    for v in victims:
        drain_until_closed(v.sock)
        v.close()
    last = {}
    for _ in range(2 * count):
        m = keep.read_reply(timeout=30)
        tag, seq = m[2].split(b":")
        assert int(seq) == last.get(tag, -1) + 1
        last[tag] = int(seq)
    for t in pubs:
        t.join(30)
    assert not errors, errors[:3]
    assert admin.cmd("PUBSUB", "NUMSUB", "kill") == [b"kill", 1]


@timeout(60)
def test_resp3_push_frames_under_fanout(srv):
    """RESP3 and RESP2 subscribers on one channel under a pipelined
    publisher: push frames and arrays respectively, every message once."""
    s3 = [RawConn(srv.port, timeout=30) for _ in range(3)]
    s2 = [RawConn(srv.port, timeout=30) for _ in range(3)]
    for s in s3:
        s.cmd("HELLO", "3")
        r = s.cmd("SUBSCRIBE", "mix")
        assert isinstance(r, Push) and list(r) == [b"subscribe", b"mix", 1]
    for s in s2:
        assert s.cmd("SUBSCRIBE", "mix") == [b"subscribe", b"mix", 1]
    stop = threading.Event()
    errors = []
    _publisher(srv.port, "mix", "r", 2000, 64, stop, errors)
    assert not errors
    for s in s3 + s2:
        for i in range(2000):
            m = s.read_reply()
            assert list(m) == [b"message", b"mix", b"r:%d" % i]
            assert isinstance(m, Push) == (s in s3)
        s.close()
