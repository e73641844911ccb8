#!/usr/bin/env python3
# test_redispy.py - hkv-server driven by a real client library (redis-py, Debian's
# python3-redis): every type, the keyspace, expiry, SCAN, transactions, blocking pops, pub/sub
# and keyspace notifications, with the exact replies and errors Redis 7.0 gives.
#
# Usage: test_redispy.py HKV_SERVER   (port: HKV_TEST_PORT, default 17011)
import os
import shutil
import subprocess
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
port = int(os.environ.get("HKV_TEST_PORT", "17011"))
srv = Server(binary, port)
ck = Checks()
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
try:
    r = redis.Redis(port=port)

    # strings
    ck.eq("set", r.set("s", "v"), True)
    ck.eq("get", r.get("s"), b"v")
    ck.eq("set nx on existing", r.set("s", "w", nx=True), None)
    ck.eq("set xx get", r.set("s", "w", xx=True, get=True), b"v")
    ck.eq("append", r.append("s", "xyz"), 4)
    ck.eq("getrange", r.getrange("s", 1, -1), b"xyz")
    ck.eq("setrange", r.setrange("s", 6, "!"), 7)
    ck.eq("get padded", r.get("s"), b"wxyz\x00\x00!")
    ck.eq("strlen", r.strlen("s"), 7)
    ck.eq("incr", r.incr("n"), 1)
    ck.eq("incrby", r.incrby("n", 41), 42)
    ck.eq("decrby", r.decrby("n", 2), 40)
    ck.eq("incrbyfloat", r.incrbyfloat("f", "10.5"), 10.5)
    ck.eq("incrbyfloat again", r.incrbyfloat("f", "0.1"), 10.6)
    ck.raises("incr on text", lambda: r.incr("s"), "value is not an integer or out of range")
    ck.eq("mset", r.mset({"a": "1", "b": "2"}), True)
    ck.eq("mget", r.mget("a", "b", "nokey"), [b"1", b"2", None])
    ck.eq("msetnx blocked", r.msetnx({"a": "x", "new": "y"}), False)
    ck.eq("msetnx blocked wrote nothing", r.exists("new"), 0)
    ck.eq("getdel", r.getdel("a"), b"1")
    ck.eq("getdel gone", r.get("a"), None)
    ck.eq("binary value", r.set("bin", b"\x00\r\n\xff") and r.get("bin"), b"\x00\r\n\xff")

    # hashes
    ck.eq("hset", r.hset("h", mapping={"f1": "1", "f2": "2"}), 2)
    ck.eq("hget", r.hget("h", "f1"), b"1")
    ck.eq("hgetall", r.hgetall("h"), {b"f1": b"1", b"f2": b"2"})
    ck.eq("hincrby", r.hincrby("h", "f1", 9), 10)
    ck.eq("hincrbyfloat", r.hincrbyfloat("h", "f3", "1.5"), 1.5)
    ck.eq("hdel", r.hdel("h", "f2", "nope"), 1)
    ck.eq("hlen", r.hlen("h"), 2)
    ck.eq("hkeys", sorted(r.hkeys("h")), [b"f1", b"f3"])
    ck.raises("hget on string", lambda: r.hget("s", "x"), WRONGTYPE)
    ck.raises("hincrby not int", lambda: r.hincrby("h", "f3", 1), "hash value is not an integer")

    # hash field order: insertion order while small (Redis's listpack), byte order once large
    r.hset("ho", mapping={"c": "1", "a": "2", "b": "3"})
    ck.eq("hgetall insertion order", list(r.hgetall("ho").items()),
          [(b"c", b"1"), (b"a", b"2"), (b"b", b"3")])
    r.hset("ho", "c", "10")
    r.hdel("ho", "a")
    r.hset("ho", "a", "4")
    r.hincrby("ho", "n", 5)
    ck.eq("hkeys after update, re-add", r.hkeys("ho"), [b"c", b"b", b"a", b"n"])
    ck.eq("hvals after update, re-add", r.hvals("ho"), [b"10", b"3", b"4", b"5"])
    ck.eq("hscan small: whole, cursor 0", r.hscan("ho", 0, count=1),
          (0, {b"c": b"10", b"b": b"3", b"a": b"4", b"n": b"5"}))
    ck.eq("hscan small order", list(r.hscan("ho", 0, count=1)[1]), [b"c", b"b", b"a", b"n"])
    ck.eq("hscan small match", r.hscan("ho", 0, match="[ab]"), (0, {b"b": b"3", b"a": b"4"}))
    ck.eq("hrandfield whole hash", r.hrandfield("ho", 10), [b"c", b"b", b"a", b"n"])
    ck.eq("object encoding small", r.object("encoding", "ho"), b"listpack")
    r.restore("ho-restored", 0, r.dump("ho"))
    ck.eq("restore keeps order", r.hkeys("ho-restored"), [b"c", b"b", b"a", b"n"])
    r.copy("ho", "ho-copy")
    ck.eq("copy keeps order", r.hkeys("ho-copy"), [b"c", b"b", b"a", b"n"])
    r.rename("ho", "ho-renamed")
    ck.eq("rename keeps order", r.hkeys("ho-renamed"), [b"c", b"b", b"a", b"n"])
    ck.eq("config set entries", r.config_set("hash-max-ziplist-entries", "4"), True)
    r.hset("ho-renamed", "m", "6")
    ck.eq("object encoding large", r.object("encoding", "ho-renamed"), b"hashtable")
    ck.eq("large: byte order", r.hkeys("ho-renamed"), [b"a", b"b", b"c", b"m", b"n"])
    r.hdel("ho-renamed", "a", "b", "m")
    ck.eq("large stays large", (r.object("encoding", "ho-renamed"), r.hkeys("ho-renamed")),
          (b"hashtable", [b"c", b"n"]))
    cursor, page = r.hscan("ho-renamed", 0, count=1)
    ck.true("hscan large: paged", cursor != 0 and len(page) == 1)
    ck.eq("config set value", r.config_set("hash-max-listpack-value", "3"), True)
    r.hset("hv", mapping={"z": "abc", "y": "abcd"})
    ck.eq("value limit", (r.object("encoding", "hv"), r.hkeys("hv")),
          (b"hashtable", [b"y", b"z"]))
    r.config_set("hash-max-listpack-entries", "128")
    r.config_set("hash-max-listpack-value", "64")
    r.delete("ho-restored", "ho-copy", "ho-renamed", "hv")

    # lists
    ck.eq("rpush", r.rpush("l", "a", "b", "c"), 3)
    ck.eq("lpush", r.lpush("l", "z"), 4)
    ck.eq("lrange", r.lrange("l", 0, -1), [b"z", b"a", b"b", b"c"])
    ck.eq("lindex", r.lindex("l", -1), b"c")
    ck.eq("linsert", r.linsert("l", "before", "b", "x"), 5)
    ck.eq("lpop count", r.lpop("l", 2), [b"z", b"a"])
    ck.eq("rpop", r.rpop("l"), b"c")
    ck.eq("lmove", r.lmove("l", "l2", "LEFT", "RIGHT"), b"x")
    ck.eq("llen", r.llen("l"), 1)
    ck.raises("lset out of range", lambda: r.lset("l", 5, "v"), "index out of range")
    ck.raises("lset no key", lambda: r.lset("nolist", 0, "v"), "no such key")

    # sets
    ck.eq("sadd", r.sadd("st", "a", "b", "c"), 3)
    ck.eq("sadd dup", r.sadd("st", "a"), 0)
    ck.eq("smembers", r.smembers("st"), {b"a", b"b", b"c"})
    ck.eq("sismember", r.sismember("st", "b"), True)
    ck.eq("sadd other", r.sadd("st2", "b", "c", "d"), 3)
    ck.eq("sinter", r.sinter("st", "st2"), {b"b", b"c"})
    ck.eq("sunion", r.sunion("st", "st2"), {b"a", b"b", b"c", b"d"})
    ck.eq("sdiff", r.sdiff("st", "st2"), {b"a"})
    ck.eq("sinterstore", r.sinterstore("dst", ["st", "st2"]), 2)
    ck.eq("smove", r.smove("st", "st2", "a"), True)
    ck.eq("scard", r.scard("st2"), 4)

    # sorted sets
    ck.eq("zadd", r.zadd("z", {"a": 1, "b": 2, "c": 3}), 3)
    ck.eq("zrange withscores", r.zrange("z", 0, -1, withscores=True),
          [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)])
    ck.eq("zrangebyscore", r.zrangebyscore("z", "(1", "+inf"), [b"b", b"c"])
    ck.eq("zincrby", r.zincrby("z", 10, "a"), 11.0)
    ck.eq("zrank", r.zrank("z", "a"), 2)
    ck.eq("zrevrange", r.zrevrange("z", 0, 0), [b"a"])
    ck.eq("zscore", r.zscore("z", "b"), 2.0)
    ck.eq("zpopmin", r.zpopmin("z"), [(b"b", 2.0)])
    ck.eq("zcard", r.zcard("z"), 2)
    ck.eq("zunionstore", r.zunionstore("zu", {"z": 1, "z2": 2}), 2)
    ck.raises("zadd nan", lambda: r.zadd("z", {"m": float("nan")}),
              "value is not a valid float")
    ck.raises("zadd nx xx", lambda: r.execute_command("ZADD", "z", "NX", "XX", 1, "m"),
              "XX and NX options at the same time are not compatible")

    # keyspace
    ck.eq("type", [r.type(k) for k in ("s", "h", "l", "st", "z", "none")],
          [b"string", b"hash", b"list", b"set", b"zset", b"none"])
    ck.eq("rename", r.rename("s", "s2"), True)
    ck.raises("rename missing", lambda: r.rename("missing", "x"), "no such key")
    ck.eq("renamenx onto existing", r.renamenx("s2", "h"), False)
    ck.eq("copy", r.copy("h", "hcopy"), True)
    ck.eq("copy content", r.hgetall("hcopy"), r.hgetall("h"))
    ck.eq("exists", r.exists("h", "hcopy", "nokey"), 2)
    ck.eq("del", r.delete("hcopy", "nokey"), 1)
    ck.eq("select 0", r.execute_command("SELECT", 0), True)
    ck.raises("select 1", lambda: r.execute_command("SELECT", 1), "DB index is out of range")

    # expiry
    ck.eq("expire", r.expire("h", 100), True)
    ck.true("ttl", 99 <= r.ttl("h") <= 100)
    ck.eq("expire nx on volatile", r.expire("h", 50, nx=True), False)
    ck.eq("persist", r.persist("h"), True)
    ck.eq("ttl persistent", r.ttl("h"), -1)
    ck.eq("ttl missing", r.ttl("nokey"), -2)
    ck.eq("pexpire past deletes", r.pexpire("l2", -1), True)
    ck.eq("expired gone", r.exists("l2"), 0)
    ck.eq("set px", r.set("short", "v", px=50), True)
    deadline = time.monotonic() + 5
    while r.exists("short") and time.monotonic() < deadline:
        time.sleep(0.02)
    ck.eq("px expiry", r.get("short"), None)

    # SCAN family: a full iteration returns every key exactly once
    r.flushall()
    for i in range(250):
        r.set(f"k:{i}", i)
    seen = list(r.scan_iter(match="k:*", count=17))
    ck.eq("scan all once", (len(seen), len(set(seen))), (250, 250))
    r.hset("bigh", mapping={f"f{i}": i for i in range(100)})
    ck.eq("hscan", len(dict(r.hscan_iter("bigh", count=7))), 100)
    ck.eq("dbsize", r.dbsize(), 251)

    # RANDOMKEY reaches every key of a small keyspace (keys clustered in byte order included:
    # a random start position alone almost never lands between "k1" and "k9")
    r.flushall()
    ck.eq("randomkey of an empty store", r.randomkey(), None)
    for i in range(30):
        r.set(f"k{i}", i)
    picked = {r.randomkey() for _ in range(300)}
    ck.eq("randomkey reaches nearly every key (>= 25 of 30 in 300 picks)", len(picked) >= 25, True)
    ck.eq("randomkey picks only keys", picked <= {f"k{i}".encode() for i in range(30)}, True)

    # a client's pipelined writes run as few engine transactions, not one each
    def commits():
        st = r.execute_command("HKVFS", "STATS").decode()
        rows = dict(l.split(":", 1) for l in st.splitlines() if ":" in l)
        return int(rows["commits"])
    before = commits()
    with r.pipeline(transaction=False) as p:
        for i in range(64):
            p.set(f"pb{i}", i)
        ck.eq("64 pipelined SETs", p.execute(), [True] * 64)
    ck.eq("64 pipelined SETs take at most 8 engine commits", commits() - before <= 8, True)

    # MULTI/EXEC, WATCH
    p = r.pipeline(transaction=True)
    p.set("t1", "a").incr("t2").lpush("t3", "x").get("t1")
    ck.eq("exec", p.execute(), [True, 1, 1, b"a"])
    with r.pipeline() as p:
        p.watch("t1")
        r.set("t1", "changed")  # another writer
        p.multi()
        p.set("t1", "mine")
        try:
            p.execute()
            ck.eq("watch abort", "executed", "aborted")
        except redis.WatchError:
            ck.eq("watch abort", "aborted", "aborted")
    ck.eq("watch kept other write", r.get("t1"), b"changed")

    # blocking pops: timeout, then served by a push from another client
    t0 = time.monotonic()
    ck.eq("blpop timeout", r.blpop("empty", timeout=0.2), None)
    ck.true("blpop waited", time.monotonic() - t0 >= 0.15)
    result = {}

    def waiter():
        result["v"] = redis.Redis(port=port).brpop(["bl1", "bl2"], timeout=5)

    th = threading.Thread(target=waiter)
    th.start()
    deadline = time.monotonic() + 5
    while r.info("clients")["blocked_clients"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    r.rpush("bl2", "hello")
    th.join()
    ck.eq("brpop served", result.get("v"), (b"bl2", b"hello"))
    r.zadd("bz", {"m": 5})
    ck.eq("bzpopmax", r.bzpopmax("bz", 1), (b"bz", b"m", 5.0))

    # pub/sub and keyspace notifications
    ck.eq("notify config", r.config_set("notify-keyspace-events", "KEA"), True)
    ps = r.pubsub()
    ps.psubscribe("__keyspace@0__:*")
    ps.subscribe("news")
    for _ in range(2):
        ps.get_message(timeout=5)
    ck.eq("publish", r.publish("news", "hi"), 1)
    m = ps.get_message(timeout=5)
    ck.eq("message", (m["type"], m["channel"], m["data"]), ("message", b"news", b"hi"))
    r.set("watched", "1")
    m = ps.get_message(timeout=5)
    ck.eq("keyspace event", (m["channel"], m["data"]), (b"__keyspace@0__:watched", b"set"))
    ck.eq("pubsub numsub", r.pubsub_numsub("news"), [(b"news", 1)])
    # a pipeline runs as one engine transaction: each write notified exactly once, in order
    # (a PUBLISH after it marks the end), errors inside it stay per command
    ps.psubscribe("marker")
    ps.get_message(timeout=5)
    p = r.pipeline(transaction=False)
    p.set("p1", "a").set("p2", "b").incr("p3").lpush("p1", "x").get("p2").publish("marker", "end")
    res = p.execute(raise_on_error=False)
    ck.eq("pipeline replies", [type(x).__name__ if isinstance(x, Exception) else x for x in res],
          [True, True, 1, "ResponseError", b"b", 1])
    got = []
    while True:
        m = ps.get_message(timeout=5)
        if m is None or m["channel"] == b"marker":
            break
        got.append((m["channel"], m["data"]))
    ck.eq("pipeline events", got, [(b"__keyspace@0__:p1", b"set"), (b"__keyspace@0__:p2", b"set"),
                                   (b"__keyspace@0__:p3", b"incrby")])
    # a pipelined push serves a client blocked on the key right after the push, as Redis
    result = {}
    th = threading.Thread(target=lambda: result.update(v=redis.Redis(port=port).blpop("pq", 5)))
    th.start()
    deadline = time.monotonic() + 5
    while r.info("clients")["blocked_clients"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    p = r.pipeline(transaction=False)
    p.rpush("pq", "1", "2").llen("pq")
    ck.eq("pipelined push", p.execute(), [2, 1])
    th.join()
    ck.eq("blocked client served by a pipeline", result.get("v"), (b"pq", b"1"))
    ck.eq("left after serving", r.lrange("pq", 0, -1), [b"2"])
    ps.close()

    # server
    info = r.info()
    ck.eq("info version", info["redis_version"], "7.0.15")
    ck.true("info fields", all(k in info for k in (
        "connected_clients", "used_memory", "total_commands_processed", "keyspace_hits",
        "aof_enabled", "role", "used_cpu_user")))
    ck.eq("config get", r.config_get("maxclients"), {"maxclients": "10000"})
    ck.raises("config set bad", lambda: r.config_set("maxclients", "none"),
              "CONFIG SET failed (possibly related to argument 'maxclients') - argument "
              "couldn't be parsed into an integer")
    ck.eq("client setname", r.client_setname("tester"), True)
    ck.eq("client getname", r.client_getname(), "tester")
    ck.true("client list", "name=tester" in r.execute_command("CLIENT", "LIST").decode())
    ck.raises("unknown", lambda: r.execute_command("NOSUCH", "a", "b"),
              "unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")
    ck.raises("arity", lambda: r.execute_command("GET"),
              "wrong number of arguments for 'get' command")
    ck.eq("command count", r.command_count() > 150, True)
    ck.eq("time", len(r.time()), 2)

    # busy polling (busy-poll-us): bounds, and when it polls
    ck.eq("busy-poll-us default", r.config_get("busy-poll-us"), {"busy-poll-us": "50"})
    ck.raises("busy-poll-us over 1000", lambda: r.config_set("busy-poll-us", "1001"),
              "CONFIG SET failed (possibly related to argument 'busy-poll-us') - argument "
              "must be between 0 and 1000 inclusive")
    ck.eq("busy-poll-us kept", r.config_get("busy-poll-us"), {"busy-poll-us": "50"})

    def polls():
        st = r.info("stats")
        return st["busy_polls"], st["busy_poll_hits"]

    # one client with 20 ms between its requests: every wait is long, nothing polls (the
    # first pause lets the polling left from the requests above end first)
    time.sleep(0.02)
    before = polls()
    for _ in range(10):
        time.sleep(0.02)
        r.ping()
    time.sleep(0.02)
    ck.eq("an occasional client is not polled for", polls(), before)
    bench = shutil.which("redis-benchmark")
    if bench:
        load = [bench, "-p", str(port), "-t", "get", "-P", "4", "-c", "8", "-n", "20000", "-q"]
        ck.eq("busy-poll-us 0", r.config_set("busy-poll-us", "0"), True)
        before = polls()
        subprocess.run(load, check=True, stdout=subprocess.DEVNULL)
        ck.eq("busy-poll-us 0 never polls", polls(), before)
        ck.eq("busy-poll-us 50", r.config_set("busy-poll-us", "50"), True)
        subprocess.run(load, check=True, stdout=subprocess.DEVNULL)
        after = polls()
        ck.true("eight busy clients are polled for", after[0] > before[0])
        ck.true("and polling finds their requests", after[1] > before[1])
        ck.true("hits never exceed polls", after[1] - before[1] <= after[0] - before[0])
    elif os.environ.get("CI") == "true":
        ck.true("redis-benchmark is installed (redis-tools)", False)
finally:
    status = srv.stop()
    ck.eq("exit status after SIGTERM", status, 0)
    srv.cleanup()
ck.finish("test_redispy")
