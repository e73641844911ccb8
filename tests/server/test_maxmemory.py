#!/usr/bin/env python3
# test_maxmemory.py - maxmemory on hkv-server through redis-py (Debian's python3-redis):
# noeviction refuses the commands that may grow the data, with Redis 7.0's error, and lets
# the others run; raising or clearing the limit admits writes at once; allkeys-random evicts
# before a command (at most one pass of 64 keys per command, each with an "evicted" keyspace
# event and a count in INFO) and then refuses the command if the heap is still over;
# volatile-ttl evicts only keys with an expiry; the periodic task evicts with no command
# coming; INFO and MEMORY STATS report a peak at least the current heap.
#
# The heap is the server's own (docs/resp.md, "maxmemory"): a limit of 1 byte is always
# exceeded, a limit of 1 GiB never is here, so every check below has one right answer.
#
# Usage: test_maxmemory.py HKV_SERVER   (port: HKV_TEST_PORT, default 17017)
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hkvtest import Checks, Raw, Server, skip  # noqa: E402

try:
    import redis
except ImportError:
    skip("python3-redis is not installed")

binary = sys.argv[1]
port = int(os.environ.get("HKV_TEST_PORT", "17017"))
ck = Checks()
# redis-py keeps the error code of an error class it does not know: the text is Redis's whole
OOM = "OOM command not allowed when used memory > 'maxmemory'."
EVICT_PASS = 64


def evicted(r):
    return r.info("stats")["evicted_keys"]


srv = Server(binary, port)
try:
    r = redis.Redis(port=port, decode_responses=True)

    # noeviction: the default policy
    ck.eq("default policy", r.config_get("maxmemory-policy")["maxmemory-policy"], "noeviction")
    for i in range(50):
        r.set(f"n:{i}", "v" * 64)
    r.config_set("maxmemory", 1)
    ck.eq("CONFIG GET maxmemory", r.config_get("maxmemory")["maxmemory"], "1")
    ck.raises("SET over the limit", lambda: r.set("n:new", "x"), OOM)
    ck.raises("INCR over the limit", lambda: r.incr("n:ctr"), OOM)
    ck.raises("RPUSH over the limit", lambda: r.rpush("n:list", "a"), OOM)
    ck.eq("GET over the limit", r.get("n:1"), "v" * 64)
    ck.eq("EXISTS over the limit", r.exists("n:new", "n:ctr", "n:list"), 0)
    ck.eq("DEL over the limit (frees, never refused)", r.delete("n:0"), 1)
    ck.eq("nothing evicted under noeviction", evicted(r), 0)
    ck.eq("DBSIZE under noeviction", r.dbsize(), 49)
    raw = Raw(port)
    raw.send(b"MULTI\r\nGET n:1\r\nSET n:new x\r\nEXEC\r\n")
    ck.eq("MULTI over the limit", [raw.read_reply() for _ in range(4)],
          [b"+OK\r\n", b"-OOM " + OOM[4:].encode() + b"\r\n",
           b"-OOM " + OOM[4:].encode() + b"\r\n",
           b"-EXECABORT Transaction discarded because of previous errors.\r\n"])
    raw.close()
    ck.eq("the refused transaction wrote nothing", r.exists("n:new"), 0)

    # a higher limit, then none, admit writes at once (no wait for the next sample)
    r.config_set("maxmemory", 1 << 30)
    ck.eq("SET under a 1 GiB limit", r.set("n:new", "x"), True)
    r.config_set("maxmemory", 1)
    ck.raises("SET over the limit again", lambda: r.set("n:new2", "x"), OOM)
    r.config_set("maxmemory", 0)
    ck.eq("SET with no limit", r.set("n:new2", "x"), True)
    r.flushall()

    # allkeys-random: one pass of evictions before the command, then OOM (still over)
    for i in range(300):
        r.set(f"a:{i}", "v" * 64)
    sub = redis.Redis(port=port, decode_responses=True)
    r.config_set("notify-keyspace-events", "Ee")
    ps = sub.pubsub()
    ps.subscribe("__keyevent@0__:evicted")
    ck.eq("subscribed", ps.get_message(timeout=5)["type"], "subscribe")
    r.config_set("maxmemory-policy", "allkeys-random")
    r.config_set("maxmemory", 1)
    ck.raises("SET after an eviction pass that cannot get under the limit",
              lambda: r.set("a:new", "x"), OOM)
    gone = evicted(r)
    ck.true(f"keys evicted ({gone})", gone >= EVICT_PASS)
    r.config_set("maxmemory", 0)  # no further passes from the periodic task
    gone = evicted(r)
    ck.eq("DBSIZE after the evictions", r.dbsize(), 300 - gone)
    names = set()
    while len(names) < gone:
        m = ps.get_message(timeout=5)
        if m is None:
            break
        if m["type"] == "message":
            names.add(m["data"])
    ck.eq("one evicted event per evicted key", len(names), gone)
    ck.true("the events name keys that are gone",
            all(n.startswith("a:") for n in names) and r.exists(*names) == 0)
    ck.eq("the refused key was not written", r.exists("a:new"), 0)
    ps.close()
    sub.close()
    r.flushall()

    # volatile-ttl: only keys with an expiry go; without candidates, writes are refused
    r.config_set("maxmemory-policy", "volatile-ttl")
    for i in range(100):
        r.set(f"p:{i}", "v")
    for i in range(20):
        r.set(f"t:{i}", "v", ex=1000 + i)
    before = evicted(r)
    r.config_set("maxmemory", 1)
    ck.raises("SET under volatile-ttl over the limit", lambda: r.set("t:new", "x"), OOM)
    ck.eq("every key with an expiry evicted", evicted(r) - before, 20)
    ck.eq("keys without an expiry kept", r.exists(*[f"p:{i}" for i in range(100)]), 100)
    ck.eq("no key with an expiry left", r.exists(*[f"t:{i}" for i in range(20)]), 0)
    ck.raises("SET with nothing left to evict", lambda: r.set("t:new", "x"), OOM)
    ck.eq("keys without an expiry still kept", r.dbsize(), 100)
    r.config_set("maxmemory", 0)
    r.flushall()

    # the periodic task evicts with no command coming
    r.config_set("maxmemory-policy", "allkeys-random")
    for i in range(200):
        r.set(f"c:{i}", "v")
    before = evicted(r)
    r.config_set("maxmemory", 1)
    deadline = time.monotonic() + 10
    n = 200
    while n == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # polls a condition, bounded by the deadline
        n = r.dbsize()
    r.config_set("maxmemory", 0)  # stops the evictions: the counts below hold still
    n = r.dbsize()
    ck.true(f"the periodic task evicted keys ({200 - n})", n < 200)
    ck.eq("those evictions counted", evicted(r) - before, 200 - n)

    # INFO memory and MEMORY STATS: a peak at least the heap measured
    mem = r.info("memory")
    ck.true("used_memory > 0", mem["used_memory"] > 0)
    ck.true("used_memory_peak >= used_memory", mem["used_memory_peak"] >= mem["used_memory"])
    st = r.memory_stats()
    ck.true("peak.allocated >= total.allocated", st["peak.allocated"] >= st["total.allocated"])
    ck.eq("the server still answers", r.ping(), True)
    r.close()
finally:
    status = srv.stop()
    ck.eq("exit status after SIGTERM", status, 0)
    srv.cleanup()
ck.finish("test_maxmemory")
