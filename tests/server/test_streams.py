#!/usr/bin/env python3
# test_streams.py - Redis streams on hkv-server through a real client library (redis-py,
# Debian's python3-redis): XADD's IDs and trimming, ranges, XREAD (blocking, served, timed
# out, unblocked, inside MULTI), consumer groups (XREADGROUP, XPENDING, XACK, XCLAIM,
# XAUTOCLAIM, XINFO), the keyspace commands on a stream (TYPE, SCAN TYPE, COPY, RENAME,
# DUMP/RESTORE, EXPIRE, OBJECT ENCODING), keyspace events, a stream with its groups
# surviving a restart of the server, and every acknowledged stream write surviving kill -9
# under appendfsync always. Replies and errors are Redis 7.0's, exactly.
#
# Usage: test_streams.py HKV_SERVER   (port: HKV_TEST_PORT, default 17016)
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hkvtest import Checks, Server, skip  # noqa: E402

try:
    import redis
except ImportError:
    skip("python3-redis is not installed")

binary = sys.argv[1]
port = int(os.environ.get("HKV_TEST_PORT", "17016"))
srv = Server(binary, port)
srv2 = None
servers = []
ck = Checks()
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BADID = "Invalid stream ID specified as stream command argument"


def wait_loaded(r):
    """A server started on an existing directory may answer -LOADING at first."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            r.ping()
            return
        except redis.BusyLoadingError:
            time.sleep(0.02)


def wait_blocked(r, n):
    deadline = time.monotonic() + 5
    while r.info("clients")["blocked_clients"] < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return r.info("clients")["blocked_clients"]


try:
    r = redis.Redis(port=port)

    # XADD: explicit, partial and automatic IDs; the errors
    ck.eq("xadd explicit", r.xadd("s", {"a": "1", "b": "2"}, id="1-1"), b"1-1")
    ck.eq("xadd ms-*", r.xadd("s", {"c": "3"}, id="1-*"), b"1-2")
    ck.eq("xadd ms only", r.xadd("s", {"d": "4"}, id="5"), b"5-0")
    ck.raises("xadd smaller", lambda: r.xadd("s", {"x": "y"}, id="5-0"),
              "The ID specified in XADD is equal or smaller than the target stream top item")
    ck.raises("xadd 0-0", lambda: r.xadd("s0", {"x": "y"}, id="0-0"),
              "The ID specified in XADD must be greater than 0-0")
    ck.raises("xadd bad id", lambda: r.xadd("s", {"x": "y"}, id="abc"), BADID)
    ck.raises("xadd odd fields", lambda: r.execute_command("XADD", "s", "*", "f"),
              "wrong number of arguments for 'xadd' command")
    ck.eq("xadd nomkstream absent", r.xadd("nos", {"f": "v"}, nomkstream=True), None)
    ck.eq("nomkstream created nothing", r.exists("nos"), 0)
    auto = r.xadd("s", {"e": "5"})
    ms, seq = (int(x) for x in auto.split(b"-"))
    ck.true("xadd * is after 5-0 and near now", ms > 5 and abs(ms - time.time() * 1000) < 60000)
    r.set("str", "v")
    ck.raises("xadd wrongtype", lambda: r.xadd("str", {"f": "v"}), WRONGTYPE)
    ck.raises("xlen wrongtype", lambda: r.xlen("str"), WRONGTYPE)
    ck.raises("maxlen and minid",
              lambda: r.execute_command("XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"),
              "syntax error, MAXLEN and MINID options at the same time are not compatible")
    ck.raises("limit without ~",
              lambda: r.execute_command("XADD", "s", "MAXLEN", "1", "LIMIT", "1", "*", "f", "v"),
              "syntax error, LIMIT cannot be used without the special ~ option")

    # XLEN, XRANGE, XREVRANGE
    ck.eq("xlen", r.xlen("s"), 4)
    ck.eq("xlen absent", r.xlen("absent"), 0)
    ck.eq("xrange all", r.xrange("s", "-", "5"),
          [(b"1-1", {b"a": b"1", b"b": b"2"}), (b"1-2", {b"c": b"3"}), (b"5-0", {b"d": b"4"})])
    ck.eq("xrange count", r.xrange("s", count=1), [(b"1-1", {b"a": b"1", b"b": b"2"})])
    ck.eq("xrange exclusive", r.xrange("s", "(1-1", "(5-0"), [(b"1-2", {b"c": b"3"})])
    ck.eq("xrevrange", r.xrevrange("s", "5", "-", count=2),
          [(b"5-0", {b"d": b"4"}), (b"1-2", {b"c": b"3"})])
    ck.eq("xrange absent", r.xrange("absent"), [])
    ck.raises("xrange bad start", lambda: r.xrange("s", "x", "+"), BADID)
    ck.raises("xrange exclusive -", lambda: r.xrange("s", "(-", "+"), BADID)
    ck.raises("xrange exclusive overflow",
              lambda: r.xrange("s", "(18446744073709551615-18446744073709551615", "+"),
              "invalid start ID for the interval")
    ck.eq("xrange count 0", r.execute_command("XRANGE", "s", "-", "+", "COUNT", "0"), None)

    # XDEL and XTRIM
    ck.eq("xdel", r.xdel("s", "1-2", "9-9"), 1)
    ck.raises("xdel bad id", lambda: r.xdel("s", "1-1", "zz"), BADID)
    ck.eq("xdel bad id deleted nothing", r.xlen("s"), 3)
    info = r.xinfo_stream("s")
    ck.eq("max-deleted-entry-id", info["max-deleted-entry-id"], b"1-2")
    ck.eq("entries-added", info["entries-added"], 4)
    ck.eq("first entry", info["first-entry"], (b"1-1", {b"a": b"1", b"b": b"2"}))
    ck.eq("xtrim maxlen", r.xtrim("s", maxlen=2, approximate=False), 1)
    ck.eq("xtrim minid", r.xtrim("s", minid="6", approximate=False), 1)
    ck.eq("xtrim left the newest", r.xrange("s"), [(auto, {b"e": b"5"})])
    ck.raises("xtrim without strategy", lambda: r.execute_command("XTRIM", "s"),
              "wrong number of arguments for 'xtrim' command")
    ck.eq("an empty stream stays", (r.xtrim("s", maxlen=0, approximate=False), r.exists("s")),
          (1, 1))
    # approximate trimming works on whole nodes of stream-node-max-entries entries
    r.config_set("stream-node-max-entries", 10)
    for i in range(1, 101):
        r.xadd("big", {"i": str(i)}, id=f"{i}-0")
    ck.eq("xtrim ~ trims whole nodes", r.xtrim("big", maxlen=55, approximate=True), 40)
    ck.eq("xlen after ~", r.xlen("big"), 60)
    ck.eq("xtrim = is exact", r.xtrim("big", maxlen=55, approximate=False), 5)
    ck.eq("xadd maxlen ~ limit", r.xadd("big", {"i": "x"}, id="101-0", maxlen=10,
                                         approximate=True, limit=20) and r.xlen("big"), 41)
    r.config_set("stream-node-max-entries", 100)

    # XREAD
    r.delete("r1", "r2")
    r.xadd("r1", {"f": "1"}, id="1-0")
    r.xadd("r1", {"f": "2"}, id="2-0")
    ck.eq("xread", r.xread({"r1": "0", "r2": "0"}),
          [[b"r1", [(b"1-0", {b"f": b"1"}), (b"2-0", {b"f": b"2"})]]])
    ck.eq("xread count", r.xread({"r1": "1-0"}, count=1), [[b"r1", [(b"2-0", {b"f": b"2"})]]])
    ck.eq("xread $ nothing", r.xread({"r1": "$"}), [])
    ck.raises("xread unbalanced", lambda: r.execute_command("XREAD", "STREAMS", "r1", "r2", "0"),
              "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
              "specified.")
    ck.raises("xread >", lambda: r.execute_command("XREAD", "STREAMS", "r1", ">"),
              "The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
              "<consumer> option.")
    t0 = time.monotonic()
    ck.eq("xread block timeout", r.xread({"r1": "$"}, block=200), [])
    ck.true("xread waited", time.monotonic() - t0 >= 0.15)
    result = {}

    def reader():
        result["v"] = redis.Redis(port=port).xread({"r2": "$", "r1": "$"}, block=5000)

    th = threading.Thread(target=reader)
    th.start()
    ck.eq("xread blocked", wait_blocked(r, 1), 1)
    r.xadd("r2", {"new": "x"}, id="7-0")
    th.join()
    ck.eq("blocked xread served", result.get("v"), [[b"r2", [(b"7-0", {b"new": b"x"})]]])
    # CLIENT UNBLOCK answers a blocked XREAD with a null reply
    c2 = redis.Redis(port=port)
    cid = c2.client_id()
    th = threading.Thread(target=lambda: result.update(u=c2.xread({"r1": "$"}, block=0)))
    th.start()
    wait_blocked(r, 1)
    ck.eq("client unblock", r.client_unblock(cid), True)
    th.join()
    ck.eq("unblocked xread", result.get("u"), [])
    # inside MULTI a blocking read does not block
    p = r.pipeline(transaction=True)
    p.xread({"r1": "$"}, block=0)
    p.execute_command("XREADGROUP", "GROUP", "nog", "c", "BLOCK", "0", "STREAMS", "r1", ">")
    res = p.execute(raise_on_error=False)
    ck.eq("xread block in multi", res[0], [])
    ck.eq("xreadgroup in multi: NOGROUP", str(res[1]),
          "NOGROUP No such key 'r1' or consumer group 'nog' in XREADGROUP with GROUP option")

    # consumer groups
    r.delete("q")
    for i in range(1, 5):
        r.xadd("q", {"n": str(i)}, id=f"{i}-0")
    ck.eq("xgroup create", r.xgroup_create("q", "g", id="0"), True)
    ck.raises("busygroup", lambda: r.xgroup_create("q", "g", id="0"),
              "BUSYGROUP Consumer Group name already exists")
    ck.raises("xgroup create no key", lambda: r.xgroup_create("nokey", "g", id="$"),
              "The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
              "want to use the MKSTREAM option to create an empty stream automatically.")
    ck.eq("xgroup create mkstream", r.xgroup_create("mk", "g", id="$", mkstream=True), True)
    ck.eq("mkstream made an empty stream", (r.type("mk"), r.xlen("mk")), (b"stream", 0))
    ck.eq("xreadgroup >", r.xreadgroup("g", "alice", {"q": ">"}, count=2),
          [[b"q", [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]])
    ck.eq("xreadgroup bob", r.xreadgroup("g", "bob", {"q": ">"}, count=1),
          [[b"q", [(b"3-0", {b"n": b"3"})]]])
    ck.eq("xreadgroup history", r.xreadgroup("g", "alice", {"q": "0"}),
          [[b"q", [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]]])
    ck.raises("xreadgroup $", lambda: r.xreadgroup("g", "alice", {"q": "$"}),
              "The $ ID is meaningless in the context of XREADGROUP: you want to read the "
              "history of this consumer by specifying a proper ID, or use the > ID to get new "
              "messages. The $ ID would just return an empty result set.")
    ck.raises("xreadgroup nogroup", lambda: r.xreadgroup("zz", "a", {"q": ">"}),
              "NOGROUP No such key 'q' or consumer group 'zz' in XREADGROUP with GROUP option")
    ck.eq("xpending summary", r.xpending("q", "g"),
          {"pending": 3, "min": b"1-0", "max": b"3-0",
           "consumers": [{"name": b"alice", "pending": 2}, {"name": b"bob", "pending": 1}]})
    ext = r.xpending_range("q", "g", "-", "+", 10, consumername="alice")
    ck.eq("xpending extended", [(e["message_id"], e["consumer"], e["times_delivered"])
                                for e in ext], [(b"1-0", b"alice", 2), (b"2-0", b"alice", 2)])
    ck.eq("xpending idle filter", r.xpending_range("q", "g", "-", "+", 10, idle=100000), [])
    ck.eq("xack", r.xack("q", "g", "1-0", "9-0"), 1)
    ck.eq("xclaim", r.xclaim("q", "g", "bob", 0, ["2-0"]), [(b"2-0", {b"n": b"2"})])
    ck.eq("claimed entry left alice", r.xpending_range("q", "g", "-", "+", 10, "alice"), [])
    ck.eq("claimed entry is bob's", [e["message_id"] for e in
                                     r.xpending_range("q", "g", "-", "+", 10, "bob")],
          [b"2-0", b"3-0"])
    ck.eq("bob's history", r.xreadgroup("g", "bob", {"q": "0"}),
          [[b"q", [(b"2-0", {b"n": b"2"}), (b"3-0", {b"n": b"3"})]]])
    ck.eq("xclaim justid", r.xclaim("q", "g", "alice", 0, ["2-0"], justid=True), [b"2-0"])
    ck.eq("xclaim force", r.xclaim("q", "g", "carol", 0, ["4-0"], force=True, justid=True),
          [b"4-0"])
    ck.raises("xclaim bad option",
              lambda: r.execute_command("XCLAIM", "q", "g", "a", "0", "2-0", "BOGUS"),
              "Unrecognized XCLAIM option 'BOGUS'")
    r.xdel("q", "3-0")
    ck.eq("xautoclaim", r.xautoclaim("q", "g", "dave", 0, "0-0", count=10),
          [b"0-0", [(b"2-0", {b"n": b"2"}), (b"4-0", {b"n": b"4"})], [b"3-0"]])
    groups = r.xinfo_groups("q")
    ck.eq("xinfo groups", [(g["name"], g["consumers"], g["pending"], g["last-delivered-id"],
                            g["entries-read"], g["lag"]) for g in groups],
          [(b"g", 4, 2, b"3-0", 3, None)])
    cons = r.xinfo_consumers("q", "g")
    ck.eq("xinfo consumers", [(c["name"], c["pending"]) for c in cons],
          [(b"alice", 0), (b"bob", 0), (b"carol", 0), (b"dave", 2)])
    ck.eq("xgroup createconsumer", r.xgroup_createconsumer("q", "g", "erin"), 1)
    ck.eq("xgroup createconsumer again", r.xgroup_createconsumer("q", "g", "erin"), 0)
    ck.eq("xgroup delconsumer", r.xgroup_delconsumer("q", "g", "dave"), 2)
    ck.eq("delconsumer dropped its pending", r.xpending("q", "g")["pending"], 0)
    ck.eq("xgroup setid", r.xgroup_setid("q", "g", "0"), True)
    ck.raises("setid nogroup", lambda: r.xgroup_setid("q", "zz", "0"),
              "NOGROUP No such consumer group 'zz' for key name 'q'")
    # a blocked XREADGROUP is served by XADD, and told when its group is destroyed
    r.xgroup_create("q", "g2", id="$")

    def greader():
        try:
            result["g"] = redis.Redis(port=port).xreadgroup("g2", "x", {"q": ">"}, block=5000)
        except redis.ResponseError as e:
            result["g"] = str(e)

    th = threading.Thread(target=greader)
    th.start()
    wait_blocked(r, 1)
    r.xadd("q", {"n": "5"}, id="5-0")
    th.join()
    ck.eq("blocked xreadgroup served", result.get("g"), [[b"q", [(b"5-0", {b"n": b"5"})]]])
    th = threading.Thread(target=greader)
    th.start()
    wait_blocked(r, 1)
    ck.eq("xgroup destroy", r.xgroup_destroy("q", "g2"), 1)
    th.join()
    ck.eq("destroyed group", result.get("g"),
          "NOGROUP the consumer group this client was blocked on no longer exists")
    ck.eq("xgroup destroy again", r.xgroup_destroy("q", "g2"), 0)

    # XSETID
    ck.raises("xsetid smaller", lambda: r.execute_command("XSETID", "q", "1-0"),
              "The ID specified in XSETID is smaller than the target stream top item")
    ck.eq("xsetid", r.execute_command("XSETID", "q", "100-0"), b"OK")
    ck.eq("xadd after xsetid", r.xadd("q", {"n": "6"}, id="100-*"), b"100-1")

    # the keyspace commands on a stream
    ck.eq("type", r.type("q"), b"stream")
    ck.eq("object encoding", r.object("encoding", "q"), b"stream")
    ck.true("scan type stream", set(r.scan_iter(_type="stream")) >= {b"q", b"mk", b"big"})
    ck.true("scan type hides streams from hash", b"q" not in set(r.scan_iter(_type="hash")))
    full = r.xinfo_stream("q", full=True)
    ck.eq("copy", r.copy("q", "q2"), True)
    ck.eq("copy is equal", r.xinfo_stream("q2", full=True), full)
    ck.eq("rename", r.rename("q2", "q3"), True)
    ck.eq("renamed", r.xrange("q3"), r.xrange("q"))
    dump = r.dump("q")
    ck.eq("restore", r.restore("q4", 0, dump), b"OK")
    ck.eq("restored is equal", r.xinfo_stream("q4", full=True), full)
    ck.raises("restore busy", lambda: r.restore("q4", 0, dump),
              "BUSYKEY Target key name already exists.")
    ck.eq("expire", r.pexpire("q4", 50), True)
    deadline = time.monotonic() + 5
    while r.exists("q4") and time.monotonic() < deadline:
        time.sleep(0.01)
    ck.eq("expired stream gone", r.exists("q4"), 0)
    ck.eq("del", r.delete("q3"), 1)
    ck.raises("set over stream is fine, xadd on string is not",
              lambda: (r.set("q3", "v"), r.xadd("q3", {"f": "v"})), WRONGTYPE)

    # keyspace events, in Redis's order
    r.config_set("notify-keyspace-events", "Kt")
    ps = r.pubsub()
    ps.psubscribe("__keyspace@0__:ev")
    ps.get_message(timeout=1)
    r.xgroup_create("ev", "g", id="$", mkstream=True)
    r.execute_command("XADD", "ev", "MAXLEN", "0", "1-0", "f", "v")
    r.xreadgroup("g", "c", {"ev": "0"})
    events = []
    deadline = time.monotonic() + 5
    while len(events) < 4 and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            events.append(m["data"])
    ck.eq("keyspace events", events,
          [b"xgroup-create", b"xadd", b"xtrim", b"xgroup-createconsumer"])
    ps.close()
    r.config_set("notify-keyspace-events", "")

    # persistence: the stream, its groups and pending entries survive a restart
    ck.eq("pending before restart", len(r.xreadgroup("g", "zed", {"q": ">"}, count=2)[0][1]), 2)
    before = r.xinfo_stream("q", full=True)
    pend = r.xpending_range("q", "g", "-", "+", 10)
    r.close()
    ck.eq("stop", srv.stop(), 0)
    srv2 = Server(binary, port, "--dir", srv.dir)
    r = redis.Redis(port=port)
    wait_loaded(r)
    ck.eq("stream after restart", r.xinfo_stream("q", full=True), before)
    after = r.xpending_range("q", "g", "-", "+", 10)
    ck.eq("pending after restart", [(e["message_id"], e["consumer"], e["times_delivered"])
                                    for e in after],
          [(e["message_id"], e["consumer"], e["times_delivered"]) for e in pend])
    ck.eq("xadd after restart", r.xadd("q", {"n": "7"}, id="100-*"), b"100-2")

    # kill -9 under appendfsync always: every acknowledged stream write is there after it
    r.close()
    ck.eq("stop before the kill", srv2.stop(), 0)
    servers.append(srv2)
    srv2 = Server(binary, port, "--dir", srv.dir, "--appendfsync", "always")
    r = redis.Redis(port=port)
    wait_loaded(r)
    for i in range(1, 201):
        r.xadd("k9", {"i": str(i)}, id=f"{i}-0")
    r.xgroup_create("k9", "g", id="0")
    r.xreadgroup("g", "c1", {"k9": ">"}, count=50)
    r.xack("k9", "g", "1-0", "2-0")
    r.xdel("k9", "100-0")
    srv2.proc.kill()
    srv2.proc.wait()
    r.close()
    servers.append(srv2)
    srv2 = Server(binary, port, "--dir", srv.dir)
    r = redis.Redis(port=port)
    wait_loaded(r)
    ck.eq("xlen after kill -9", r.xlen("k9"), 199)
    ck.eq("pending after kill -9", r.xpending("k9", "g")["pending"], 48)
    ck.eq("group after kill -9", r.xinfo_groups("k9")[0]["last-delivered-id"], b"50-0")
    ck.eq("entry after kill -9", r.xrange("k9", "200", "200"), [(b"200-0", {b"i": b"200"})])
finally:
    status = (srv2 or srv).stop()
    ck.eq("exit status after SIGTERM", status, 0)
    for s_ in servers:
        s_.cleanup()
    if srv2:
        srv2.cleanup()
    srv.cleanup()
ck.finish("test_streams")
