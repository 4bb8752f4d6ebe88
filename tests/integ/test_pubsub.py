"""Pub/sub: (P|S)SUBSCRIBE, PUBLISH, PUBSUB, the RESP2 subscribed context,
RESP3 push frames byte for byte, delivery order, slow-subscriber output
limits, keyspace notifications."""

import socket
import time

from harness import Err, OK, Push, RawConn, Status, drain_until_closed, kvd_only, timeout, wait_for


def sub_reply(kind, name, count):
    return [kind, name, count]


def test_subscribe_publish_across_connections(srv):
    s, p = srv.conn(), srv.conn()
    assert s.cmd("SUBSCRIBE", "news", "sport") == [b"subscribe", b"news", 1]
    assert s.read_reply() == [b"subscribe", b"sport", 2]
    assert p.cmd("PUBLISH", "news", "hello") == 1
    assert p.cmd("PUBLISH", "nobody", "x") == 0
    assert s.read_reply() == [b"message", b"news", b"hello"]
    assert p.cmd("PUBLISH", "sport", b"\x00bin\r\n") == 1
    assert s.read_reply() == [b"message", b"sport", b"\x00bin\r\n"]
    # wire format, RESP2
    assert p.cmd("PUBLISH", "news", "again") == 1
    assert s.read_exact(len(b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nagain\r\n")) == \
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nagain\r\n"
    assert s.cmd("UNSUBSCRIBE", "news") == [b"unsubscribe", b"news", 1]
    assert p.cmd("PUBLISH", "news", "x") == 0
    assert s.cmd("UNSUBSCRIBE") == [b"unsubscribe", b"sport", 0]
    assert s.cmd("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    # out of the subscribed context: any command works again
    assert s.cmd("SET", "k", "v") == OK


def test_psubscribe_patterns(srv):
    s, p = srv.conn(), srv.conn()
    assert s.cmd("PSUBSCRIBE", "news.*", "h?llo") == [b"psubscribe", b"news.*", 1]
    assert s.read_reply() == [b"psubscribe", b"h?llo", 2]
    assert s.cmd("SUBSCRIBE", "news.art") == [b"subscribe", b"news.art", 3]
    # a channel subscriber and a pattern subscriber: two receivers
    assert p.cmd("PUBLISH", "news.art", "m1") == 2
    got = s.read_replies(2)
    assert [b"message", b"news.art", b"m1"] in got
    assert [b"pmessage", b"news.*", b"news.art", b"m1"] in got
    assert p.cmd("PUBLISH", "hallo", "m2") == 1
    assert s.read_reply() == [b"pmessage", b"h?llo", b"hallo", b"m2"]
    assert p.cmd("PUBLISH", "other", "m3") == 0
    assert p.cmd("PUBSUB", "NUMPAT") == 2
    assert s.cmd("PUNSUBSCRIBE", "news.*") == [b"punsubscribe", b"news.*", 2]
    assert p.cmd("PUBSUB", "NUMPAT") == 1
    assert s.cmd("PUNSUBSCRIBE") == [b"punsubscribe", b"h?llo", 1]
    assert s.cmd("PUNSUBSCRIBE") == [b"punsubscribe", None, 1]


def test_resp2_subscribed_context(srv):
    s = srv.conn()
    s.cmd("SUBSCRIBE", "a")
    assert s.cmd("PING") == [b"pong", b""]
    assert s.cmd("PING", "hi") == [b"pong", b"hi"]
    assert s.cmd("GET", "k") == Err(b"ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE "
                                    b"/ PING / QUIT / RESET are allowed in this context")
    assert s.cmd("CONFIG", "GET", "maxmemory") == Err(
        b"ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE "
        b"/ PING / QUIT / RESET are allowed in this context")
    assert s.cmd("RESET") == Status(b"RESET")
    assert s.cmd("GET", "k") is None
    # RESET dropped the subscription
    p = srv.conn()
    assert p.cmd("PUBLISH", "a", "x") == 0


def test_resp3_push_frames_byte_for_byte(srv):
    s, p = srv.conn(), srv.conn()
    s.cmd("HELLO", "3")
    s.send(b"SUBSCRIBE ch\r\nPSUBSCRIBE c*\r\nSSUBSCRIBE sh\r\n")
    want = (b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
            b">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n"
            b">3\r\n$10\r\nssubscribe\r\n$2\r\nsh\r\n:1\r\n")
    assert s.read_exact(len(want)) == want
    assert p.cmd("PUBLISH", "ch", "hello") == 2
    assert p.cmd("SPUBLISH", "sh", "x") == 1
    want = (b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
            b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$5\r\nhello\r\n"
            b">3\r\n$8\r\nsmessage\r\n$2\r\nsh\r\n$1\r\nx\r\n")
    assert s.read_exact(len(want)) == want
    # RESP3: other commands work on the subscribed connection
    s.send(b"SET k v\r\nGET nokey\r\nPING\r\n")
    assert s.read_exact(len(b"+OK\r\n_\r\n+PONG\r\n")) == b"+OK\r\n_\r\n+PONG\r\n"
    s.send(b"UNSUBSCRIBE\r\nUNSUBSCRIBE\r\n")
    want = b">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n>3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n"
    assert s.read_exact(len(want)) == want


def test_pubsub_introspection(srv):
    a, b, p = srv.conn(), srv.conn(), srv.conn()
    a.cmd("SUBSCRIBE", "x", "y")
    a.read_reply()
    b.cmd("SUBSCRIBE", "x")
    b.cmd("PSUBSCRIBE", "z*")
    b.cmd("SSUBSCRIBE", "s1", "s2")
    b.read_reply()
    assert sorted(p.cmd("PUBSUB", "CHANNELS")) == [b"x", b"y"]
    assert p.cmd("PUBSUB", "CHANNELS", "x*") == [b"x"]
    assert p.cmd("PUBSUB", "NUMSUB", "x", "y", "none") == [b"x", 2, b"y", 1, b"none", 0]
    assert p.cmd("PUBSUB", "NUMSUB") == []
    assert p.cmd("PUBSUB", "NUMPAT") == 1
    assert sorted(p.cmd("PUBSUB", "SHARDCHANNELS")) == [b"s1", b"s2"]
    assert p.cmd("PUBSUB", "SHARDNUMSUB", "s1", "x") == [b"s1", 1, b"x", 0]
    assert p.cmd("PUBSUB", "FOO") == Err(b"ERR unknown subcommand 'FOO'. Try PUBSUB HELP.")
    assert p.cmd("PUBSUB", "NUMPAT", "x") == Err(b"ERR wrong number of arguments for 'pubsub|numpat' command")
    info = srv.info("stats")
    assert info["pubsub_channels"] == "2"
    assert info["pubsub_patterns"] == "1"
    assert info["pubsubshard_channels"] == "2"
    # a disconnect cleans up
    b.close()
    wait_for(lambda: p.cmd("PUBSUB", "NUMSUB", "x") == [b"x", 1], what="NUMSUB after disconnect")
    wait_for(lambda: p.cmd("PUBSUB", "NUMPAT") == 0, what="NUMPAT after disconnect")
    assert p.cmd("PUBSUB", "SHARDCHANNELS") == []


def test_sharded_pubsub(srv):
    s, p = srv.conn(), srv.conn()
    assert s.cmd("SSUBSCRIBE", "orders") == [b"ssubscribe", b"orders", 1]
    assert p.cmd("PUBLISH", "orders", "not-shard") == 0  # separate namespaces
    assert p.cmd("SPUBLISH", "orders", "o1") == 1
    assert s.read_reply() == [b"smessage", b"orders", b"o1"]
    assert s.cmd("SUNSUBSCRIBE") == [b"sunsubscribe", b"orders", 0]
    assert s.cmd("SUNSUBSCRIBE") == [b"sunsubscribe", None, 0]


def test_redis_py_pubsub_listen(srv):
    r, pub = srv.client(), srv.client()
    ps = r.pubsub()
    ps.subscribe("jobs")
    ps.psubscribe("events.*")
    seen = []
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        m = ps.get_message(timeout=1)
        if m:
            seen.append(m["type"])
    assert seen == ["subscribe", "psubscribe"]
    assert pub.publish("jobs", "j1") == 1
    assert pub.publish("events.login", "e1") == 1
    got = []
    while len(got) < 2 and time.monotonic() < deadline + 5:
        m = ps.get_message(timeout=1)
        if m:
            got.append((m["type"], m["channel"], m["data"]))
    assert got == [("message", b"jobs", b"j1"), ("pmessage", b"events.login", b"e1")]
    ps.close()


def test_order_per_publisher_preserved(srv):
    s, p = srv.conn(), srv.conn()
    s.cmd("SUBSCRIBE", "seq")
    n = 3000
    p.send(b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$3\r\nseq\r\n$%d\r\n%d\r\n" % (len(str(i)), i) for i in range(n)))
    assert p.read_replies(n, timeout=20) == [1] * n
    msgs = s.read_replies(n, timeout=20)
    assert [int(m[2]) for m in msgs] == list(range(n))


def test_many_subscribers(srv):
    subs = [srv.conn() for _ in range(50)]
    for s in subs:
        s.cmd("SUBSCRIBE", "fan")
    p = srv.conn()
    assert p.cmd("PUBLISH", "fan", "out") == 50
    for s in subs:
        assert s.read_reply() == [b"message", b"fan", b"out"]


@timeout(60)
def test_slow_subscriber_is_disconnected(srv):
    p = srv.conn()
    assert p.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 0 0") == OK
    try:
        limits = p.cmd("CONFIG", "GET", "client-output-buffer-limit")[1]
        assert b"pubsub 262144 0 0" in limits and limits.startswith(b"normal 0 0 0 ")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        sock.sendall(b"SUBSCRIBE slow\r\n")
        time.sleep(0.1)
        assert sock.recv(100).startswith(b"*3\r\n$9\r\nsubscribe")
        fast = srv.conn()
        fast.cmd("SUBSCRIBE", "slow")
        big = b"x" * 65536
        sent = 0
        deadline = time.monotonic() + 20
        # 20 MB at most; the slow one must be dropped well before
        while sent < 320 and time.monotonic() < deadline:
            n = p.cmd("PUBLISH", "slow", big)
            sent += 1
            fast.read_reply()   # the fast subscriber keeps up and keeps its connection
            if n == 1:
                break
        assert n == 1, "slow subscriber still subscribed after %d messages" % sent
        assert sent < 320
        # the fast subscriber still gets messages
        assert p.cmd("PUBLISH", "slow", "tail") == 1
        assert fast.read_reply() == [b"message", b"slow", b"tail"]
        # the slow socket was closed by the server (after what it had sent)
        total = drain_until_closed(sock)
        sock.close()
    finally:
        p.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")


def test_keyspace_notifications(srv):
    c, s = srv.conn(), srv.conn()
    assert c.cmd("CONFIG", "SET", "notify-keyspace-events", "KEA") == OK
    try:
        assert c.cmd("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKE"]
        s.cmd("PSUBSCRIBE", "__key*@0__:*")
        c.cmd("SET", "k", "1")
        c.cmd("INCR", "k")
        c.cmd("APPEND", "k", "0")
        c.cmd("EXPIRE", "k", "100")
        c.cmd("RENAME", "k", "k2")
        c.cmd("PERSIST", "k2")
        c.cmd("DEL", "k2")
        c.cmd("SELECT", "1")
        c.cmd("SET", "other-db", "1")   # not on db 0's channels
        c.cmd("SELECT", "0")
        c.cmd("SET", "e", "1", "PX", "50")
        expected = [
            (b"__keyspace@0__:k", b"set"), (b"__keyevent@0__:set", b"k"),
            (b"__keyspace@0__:k", b"incrby"), (b"__keyevent@0__:incrby", b"k"),
            (b"__keyspace@0__:k", b"append"), (b"__keyevent@0__:append", b"k"),
            (b"__keyspace@0__:k", b"expire"), (b"__keyevent@0__:expire", b"k"),
            (b"__keyspace@0__:k", b"rename_from"), (b"__keyevent@0__:rename_from", b"k"),
            (b"__keyspace@0__:k2", b"rename_to"), (b"__keyevent@0__:rename_to", b"k2"),
            (b"__keyspace@0__:k2", b"persist"), (b"__keyevent@0__:persist", b"k2"),
            (b"__keyspace@0__:k2", b"del"), (b"__keyevent@0__:del", b"k2"),
            (b"__keyspace@0__:e", b"set"), (b"__keyevent@0__:set", b"e"),
            (b"__keyspace@0__:e", b"expire"), (b"__keyevent@0__:expire", b"e"),
            # the reaper or a lookup deletes it
            (b"__keyspace@0__:e", b"expired"), (b"__keyevent@0__:expired", b"e"),
        ]
        got = []
        deadline = time.monotonic() + 5
        while len(got) < len(expected) and time.monotonic() < deadline:
            if len(got) == len(expected) - 2:
                time.sleep(0.1)
                c.cmd("GET", "e")
            m = s.read_reply(timeout=5)
            assert m[0] == b"pmessage"
            got.append((m[2], m[3]))
        assert got == expected
    finally:
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "")


def test_keyspace_notifications_classes(srv):
    c, s = srv.conn(), srv.conn()
    assert c.cmd("CONFIG", "SET", "notify-keyspace-events", "Eg") == OK
    try:
        assert c.cmd("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"gE"]
        r = c.cmd("CONFIG", "SET", "notify-keyspace-events", "KQ")
        assert r == Err(b"ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
                        b"Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        s.cmd("PSUBSCRIBE", "__key*__:*")
        c.cmd("SET", "a", "1")          # string class: not selected
        c.cmd("DEL", "a")               # generic: keyevent only
        assert s.read_reply() == [b"pmessage", b"__key*__:*", b"__keyevent@0__:del", b"a"]
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "K$n")
        c.cmd("SET", "b", "1")
        assert s.read_reply() == [b"pmessage", b"__key*__:*", b"__keyspace@0__:b", b"new"]
        assert s.read_reply() == [b"pmessage", b"__key*__:*", b"__keyspace@0__:b", b"set"]
    finally:
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "")


def test_notifications_inside_transaction(srv):
    c, s = srv.conn(), srv.conn()
    c.cmd("CONFIG", "SET", "notify-keyspace-events", "E$")
    try:
        s.cmd("SUBSCRIBE", "__keyevent@0__:set")
        c.cmd("MULTI")
        c.cmd("SET", "t1", "1")
        c.cmd("SET", "t2", "1")
        assert c.cmd("EXEC") == [OK, OK]
        assert s.read_replies(2) == [[b"message", b"__keyevent@0__:set", b"t1"],
                                     [b"message", b"__keyevent@0__:set", b"t2"]]
    finally:
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "")


@kvd_only
def test_text_protocol_subscriber(srv):
    t = RawConn(srv.text_port)
    try:
        t.send(b"SUBSCRIBE ch\n")
        want = b'1) "subscribe"\n2) "ch"\n3) (integer) 1\n'
        assert t.read_exact(len(want)) == want
        p = srv.conn()
        assert p.cmd("PUBLISH", "ch", "hi there") == 1
        want = b'1) "message"\n2) "ch"\n3) "hi there"\n'
        assert t.read_exact(len(want)) == want
    finally:
        t.close()


def test_subscribe_inside_multi(srv):
    c, p = srv.conn(), srv.conn()
    assert c.cmd("MULTI") == OK
    c.cmd("SUBSCRIBE", "inmulti")
    assert c.cmd("EXEC") == [[b"subscribe", b"inmulti", 1]]
    assert p.cmd("PUBLISH", "inmulti", "m") == 1
    assert c.read_reply() == [b"message", b"inmulti", b"m"]


def test_push_type_in_harness(srv):
    """Sanity: the harness tells RESP3 push frames apart."""
    c = srv.conn()
    c.cmd("HELLO", "3")
    r = c.cmd("SUBSCRIBE", "x")
    assert isinstance(r, Push) and list(r) == [b"subscribe", b"x", 1]


@timeout(90)
def test_concurrent_publish_and_churn(srv):
    """Publishers pipeline PUBLISH while subscribers come and go (and some
    vanish without reading): no message reaches a freed connection, every
    subscriber that stays sees its publishers' messages in order."""
    import threading
    stop = threading.Event()
    errors = []
    deadline = time.monotonic() + 4

    def publisher(i):
        c = RawConn(srv.port, timeout=20)
        try:
            seq = 0
            while not stop.is_set():
                batch = []
                for _ in range(32):
                    batch.append(("PUBLISH", "churn", "%d:%d" % (i, seq)))
                    seq += 1
                c.pipeline(batch)
        except Exception as e:  # noqa: BLE001
            errors.append("publisher: %r" % e)
        finally:
            c.close()

    def churner():
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                s = RawConn(srv.port, timeout=20)
                s.cmd("SUBSCRIBE", "churn")
                last = {}
                for _ in range(50):
                    m = s.read_reply()
                    pub, seq = m[2].split(b":")
                    if last.get(pub, -1) >= int(seq):
                        errors.append("out of order from %r" % pub)
                    last[pub] = int(seq)
                s.close()          # mid-stream, with messages in flight
        except Exception as e:  # noqa: BLE001
            errors.append("subscriber: %r" % e)

    pubs = [threading.Thread(target=publisher, args=(i,)) for i in range(3)]
    subs = [threading.Thread(target=churner) for _ in range(4)]
    for t in pubs + subs:
        t.start()
    for t in subs:     # publishers keep going until every subscriber is done
        t.join(60)
    stop.set()
    for t in pubs:
        t.join(30)
    assert not errors, errors[:5]
    p = srv.conn()
    wait_for(lambda: p.cmd("PUBSUB", "NUMSUB", "churn") == [b"churn", 0], what="subscribers gone")


def test_found_by_differential_streams(srv):
    # a RESP3 publisher subscribed to its own channel: the message, then the
    # count (as Redis); PUBSUB's own errors come before the subscribed
    # context's, and CHANNELS takes one pattern at most
    s = srv.conn()
    s.cmd("HELLO", "3")
    s.send(b"SUBSCRIBE me\r\n")
    want = b">3\r\n$9\r\nsubscribe\r\n$2\r\nme\r\n:1\r\n"
    assert s.read_exact(len(want)) == want
    s.send(b"PUBLISH me hi\r\n")
    want = b">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$2\r\nhi\r\n:1\r\n"
    assert s.read_exact(len(want)) == want
    r = srv.conn()
    r.cmd("SUBSCRIBE", "a")
    assert r.cmd("PUBSUB", "NUMPAT", "x") == Err(b"ERR wrong number of arguments for 'pubsub|numpat' command")
    assert r.cmd("PUBSUB", "NOPE") == Err(b"ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.")
    assert r.cmd("PUBSUB", "NUMSUB") == Err(
        b"ERR Can't execute 'pubsub|numsub': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE "
        b"/ PING / QUIT / RESET are allowed in this context")
    p = srv.conn()
    assert p.cmd("PUBSUB", "CHANNELS", "a", "b") == Err(
        b"ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
    assert p.cmd("PUBSUB", "channels", "a") == [b"a"]
