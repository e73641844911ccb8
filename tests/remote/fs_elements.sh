#!/usr/bin/env bash
# fs_elements: collection elements on a Redis server, against real concurrent Redis clients.
#  - `rm LIST/N` checks that N is the first or the last index and pops that end in one script:
#    while a redis-py client RPUSHes to the same list (bursts of 5), the mount removes the
#    last element by its index, read with the length in one MULTI just before. An rm that
#    succeeds must have removed that element, and no other: a length check apart from the pop
#    would RPOP an element pushed in between instead of N. The pushed elements that are gone
#    must be exactly the ones removed by index; the originals all stay;
#  - removing a collection's last element leaves the empty directory in the same script: a
#    redis-py client that reads the key and its empty-collection marker in one MULTI, without
#    pause, while the mount removes and re-adds the last field fifty times, never finds both
#    absent; the empty directory keeps the key's TTL, mode and xattrs;
#  - `echo 2.5 > ZSET/member` logs no "invalid score" and leaves the score 2.5.
# Port 7222.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
/usr/bin/python3 -c 'import redis' 2>/dev/null || skip "python3-redis not installed"
start_standalone 7222
rmount 1
M=$WORK/mnt1
L=$WORK/hkvfs-1.log

# --- rm LIST/N against a concurrent RPUSH ----------------------------------------------------
for i in $(seq 0 299); do printf 'RPUSH l o%d\n' "$i"; done | rcli >/dev/null
[ "$(rcli LLEN l)" = 300 ] || fail "300 elements expected"
m /usr/bin/python3 - "$M/l" "$PORT0" <<'PY' || fail "rm LIST/N under concurrent pushes"
import errno, os, sys, threading, time
import redis

d, port = sys.argv[1], int(sys.argv[2])
r = redis.Redis(port=port)
stop = threading.Event()
pushed = []


def writer():
    c = redis.Redis(port=port)
    i = 0
    while not stop.is_set():
        for _ in range(5):
            c.rpush("l", "w%d" % i)
            pushed.append("w%d" % i)
            i += 1
        time.sleep(0.001)


t = threading.Thread(target=writer)
t.start()
named, refused = [], 0
try:
    for _ in range(300):
        p = r.pipeline(transaction=True)
        p.llen("l")
        p.lindex("l", -1)
        n, last = p.execute()
        try:
            os.unlink("%s/%d" % (d, n - 1))
            named.append(last.decode())
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOENT):
                raise
            refused += 1
finally:
    stop.set()
    t.join()
left = set(x.decode() for x in r.lrange("l", 0, -1))
gone = set(x for x in ["o%d" % i for i in range(300)] + pushed if x not in left)
print("rm: %d removed, %d refused; %d pushed" % (len(named), refused, len(pushed)))
if gone != set(named):
    sys.exit("removed by index: %s...; gone: %s..." % (sorted(set(named) - gone)[:3],
                                                      sorted(gone - set(named))[:3]))
if len(pushed) < 50 or not named:
    sys.exit("%d pushed, %d removed: no concurrency to check" % (len(pushed), len(named)))
PY

# --- the last element of a collection -------------------------------------------------------
rcli HSET h f1 v >/dev/null
chmod 700 "$M/h"
setfattr -n user.color -v blue "$M/h"
rcli EXPIRE h 100000 >/dev/null
m rm "$M/h/f1" || fail "rm of the last field"
marker=$(reserved_of hkvfs.empty: h)
[ -n "$marker" ] || fail "no empty-collection marker for h"
m /usr/bin/python3 - "$M/h" "$PORT0" "$marker" <<'PY' || fail "last element removal seen as a gap"
import os, sys, threading
import redis

d, port, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
stop = threading.Event()
seen = {"gaps": 0, "reads": 0}


def observer():
    c = redis.Redis(port=port)
    while not stop.is_set():
        p = c.pipeline(transaction=True)
        p.exists("h")
        p.exists(marker)
        k, e = p.execute()
        seen["reads"] += 1
        if not k and not e:
            seen["gaps"] += 1


t = threading.Thread(target=observer)
t.start()
try:
    for i in range(50):
        with open("%s/f1" % d, "w") as f:
            f.write("v%d" % i)
        os.unlink("%s/f1" % d)
finally:
    stop.set()
    t.join()
print("last element: %d reads, %d with neither the key nor its marker" % (seen["reads"], seen["gaps"]))
if seen["gaps"] or seen["reads"] < 50:
    sys.exit(1)
PY
[ "$(rcli EXISTS h)" = 0 ] || fail "h should be an empty collection"
ttl=$(rcli PTTL "$marker")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 100000000 ] || fail "the empty collection lost the TTL: $ttl"
expect_eq "$(stat -c %a "$M/h")" 700 "mode of the empty collection"
expect_eq "$(getfattr --absolute-names --only-values -n user.color "$M/h")" blue "xattr of the empty collection"

# --- echo SCORE > ZSET/member ----------------------------------------------------------------
rcli ZADD z 1 a >/dev/null
m bash -c "echo 2.5 > '$M/z/m'" || fail "echo 2.5 > z/m"
expect_eq "$(rcli ZSCORE z m)" 2.5 "ZSCORE after echo 2.5 > z/m"
m bash -c "echo 4 > '$M/z/a'" || fail "echo 4 > z/a"
expect_eq "$(rcli ZSCORE z a)" 4 "ZSCORE of an existing member"
grep -q "invalid score" "$L" && fail "invalid score logged: $(grep 'invalid score' "$L")"
exit 0
