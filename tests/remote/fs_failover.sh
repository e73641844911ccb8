#!/usr/bin/env bash
# fs_failover: kill -9 a master of a 3+3 cluster (ports 7250..7255) under a write workload
# through a mount with -o sync=replicas,timeout_ms=2000:
#  - every write whose close(2) returned success is in Redis afterwards (redis-cli -c GET on
#    the cluster after the failover) and reads back through the mount;
#  - no open/write/close call takes longer than its bound: each FUSE request has one deadline
#    (timeout_ms) whatever number of Redis calls it makes, and the kernel serves a call with at
#    most two requests here (open of a new name: LOOKUP, CREATE), so 2 x 2 s + 1 s;
#  - the errors seen in the gap are EIO, ETIMEDOUT or EHOSTUNREACH, each with a log line;
#  - writes keep succeeding while the killed node is down (on the masters that still have a
#    replica; where the promoted replica has none, WAIT 1 fails: EIO), and on every master
#    once the killed node came back as a replica;
#  - the tracking loss is logged and the mount keeps working (a new file, read back).
# The workload is one Python process (os.open/os.write/os.close: close reports the commit's
# error, which a shell's redirection would not).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
command -v python3 >/dev/null || skip "python3 not installed"
start_cluster 7250
TMO=2000
rmount 1 "sync=replicas,timeout_ms=$TMO"
M=$WORK/mnt1
mkdir "$M/w"

cat >"$WORK/writer.py" <<'EOF'
import errno, os, sys, time
d, stop, log = sys.argv[1], sys.argv[2], sys.argv[3]
i = 0
with open(log, "w", buffering=1) as out:
    while not os.path.exists(stop):
        i += 1
        worst = [0.0]
        res = "ok"

        def timed(fn, *a):
            t = time.monotonic()
            try:
                return fn(*a)
            finally:
                worst[0] = max(worst[0], time.monotonic() - t)

        try:
            fd = timed(os.open, "%s/w%d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                timed(os.write, fd, b"v%d\n" % i)
            finally:
                timed(os.close, fd)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        out.write("%d %s %.1f %.3f\n" % (i, res, worst[0] * 1000, time.monotonic()))
EOF
oks() { awk '$2 == "ok"' "$WORK/w.log" | wc -l; }
python3 "$WORK/writer.py" "$M/w" "$WORK/stop" "$WORK/w.log" &
WPID=$!
# the writer must be gone before the mount is unmounted; the test's status is kept
trap 'rc=$?; touch "$WORK/stop"; kill $WPID 2>/dev/null || true; wait $WPID 2>/dev/null || true; (exit $rc) || rfs_cleanup; rfs_cleanup' EXIT
poll 60 sh -c "[ \$(awk '\$2 == \"ok\"' '$WORK/w.log' 2>/dev/null | wc -l) -ge 100 ]" || fail "no steady writes before the kill"

# kill -9 the master on the first port (the harness started it as a master)
expect_eq "$(timeout "$T" redis-cli -p $PORT0 ROLE | head -n1)" master "role of port $PORT0"
victim=$("$HARNESS" pid "$RDIR" $PORT0)
before=$(wc -l <"$WORK/w.log")
kill_t=$(python3 -c 'import time; print("%.3f" % time.monotonic())')
kill -9 "$victim"
# the replica takes over (cluster-node-timeout 1000 ms); bounded by the harness (60 s)
"$HARNESS" wait "$RDIR" || fail "cluster did not recover after the kill"
failover_t=$(python3 -c 'import time; print("%.3f" % time.monotonic())')
# let the workload run on without the killed node: its slots now have a master and no
# replica, so there WAIT 1 fails (EIO) after timeout_ms / 2, and elsewhere writes go on
after=$(wc -l <"$WORK/w.log")
poll 60 sh -c "[ \$(wc -l <'$WORK/w.log') -ge $((after + 20)) ]" || fail "workload stalled after failover"
restart_t=$(python3 -c 'import time; print("%.3f" % time.monotonic())')
# the killed node comes back as a replica; WAIT 1 is satisfied again everywhere
"$HARNESS" restart "$RDIR" $PORT0 || fail "restart of the killed node"
"$HARNESS" wait "$RDIR" replicas || fail "cluster not healthy with replicas again"
back=$(wc -l <"$WORK/w.log")
poll 60 sh -c "[ \$(wc -l <'$WORK/w.log') -ge $((back + 100)) ]" || fail "workload stalled after the restart"
touch "$WORK/stop"
wait $WPID || fail "writer failed"

total=$(wc -l <"$WORK/w.log")
nok=$(oks)
errs=$(awk '$2 != "ok" {print $2}' "$WORK/w.log" | sort | uniq -c | paste -sd' ')
worst=$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}' "$WORK/w.log")
echo "writes: $total, acknowledged: $nok, errors: ${errs:-none}, slowest call: ${worst} ms"
echo "kill at $kill_t, cluster ok again at $failover_t"

# errors are the documented ones
bad=$(awk '$2 != "ok" && $2 != "EIO" && $2 != "ETIMEDOUT" && $2 != "EHOSTUNREACH" {print}' "$WORK/w.log" | head -n3)
[ -z "$bad" ] || fail "unexpected errors: $bad"
# nothing hung: every call within 2 x timeout_ms + 1 s
awk -v lim=$((2 * TMO + 1000)) '$3 > lim {print; exit 1}' "$WORK/w.log" ||
	fail "a call took longer than $((2 * TMO + 1000)) ms"
# the last 100 writes (every master has a replica again) all succeeded
tail -n 100 "$WORK/w.log" | awk '$2 != "ok" {print; exit 1}' || fail "writes fail after recovery"
# while the killed node was down, the mount kept working: writes were acknowledged
gap_ok=$(awk -v a="$kill_t" -v b="$restart_t" '$2 == "ok" && $4 > a && $4 < b' "$WORK/w.log" | wc -l)
gap_all=$(awk -v a="$kill_t" -v b="$restart_t" '$4 > a && $4 < b' "$WORK/w.log" | wc -l)
echo "while the killed master was down: $gap_ok of $gap_all writes acknowledged"
[ "$gap_ok" -ge 5 ] || fail "the mount did not keep working after the failover"

# every acknowledged write is in Redis (after the failover) and reads back through the mount
awk '$2 == "ok" {printf "GET w/w%d\n", $1}' "$WORK/w.log" |
	timeout 60 redis-cli -c -p $((PORT0 + 1)) >"$WORK/got.raw"
# redis-cli prints its redirects, and each value (which ends in a newline) then a newline;
# an absent key would print an empty line, dropped here too, so the counts would differ
grep -v -e '^-> Redirected' -e '^$' "$WORK/got.raw" >"$WORK/got" || true
awk '$2 == "ok" {printf "v%d\n", $1}' "$WORK/w.log" >"$WORK/want"
cmp -s "$WORK/got" "$WORK/want" || fail "acknowledged writes missing in Redis: $(diff "$WORK/want" "$WORK/got" | head -n 5)"
python3 - "$M/w" "$WORK/w.log" <<'EOF' || fail "acknowledged writes do not read back through the mount"
import sys
d, log = sys.argv[1], sys.argv[2]
for line in open(log):
    i, res = line.split()[:2]
    if res == "ok":
        got = open("%s/w%s" % (d, i), "rb").read()
        if got != b"v%s\n" % i.encode():
            sys.exit("w%s: %r" % (i, got))
EOF

# the errors and the tracking loss are in the daemon's log
L=$WORK/hkvfs-1.log
grep -q "tracking: connection to 127.0.0.1:$PORT0 lost" "$L" || fail "tracking loss not logged"
if [ -n "$errs" ]; then
	grep -Eq "redis: .*(failed|not acknowledged by a replica)" "$L" || fail "errors without a log line"
fi
echo "log lines: $(grep -c 'redis: .* failed' "$L") request failures, $(grep -c 'not acknowledged by a replica' "$L") unreplicated, $(grep -c 'tracking: connection' "$L") tracking losses"

echo after >"$M/after"
expect_eq "$(cat "$M/after")" after "mount after the failover"
echo PASS
