#!/usr/bin/env bash
# fs_timeout: one deadline per request. A master of a 3+3 cluster (ports 7224..7229) and its
# replica are stopped with SIGSTOP, so their connections hang instead of failing and no
# failover ends the outage, and a workload of single system calls (stat, cat, echo >, ls, rm;
# Python, each call timed) runs through a mount with -o timeout_ms=1500 on keys of that master
# and of the others (which answer CLUSTERDOWN once the cluster sees the slots uncovered):
#  - every call returns within timeout_ms + 750 ms (the slack: building the reply and the
#    scheduling of two shared CPUs), never a multiple of timeout_ms, however many Redis
#    calls its FUSE request makes (a create: lookup scan over every master, create, commit);
#  - a call that fails says ETIMEDOUT, EIO or EHOSTUNREACH (ENOENT only for names that are
#    really absent), and the daemon logs the request's deadline as spent;
#  - after SIGCONT the mount works again: writes and reads of the stopped master's keys, a
#    listing, a removal.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
start_cluster 7224
TMO=1500
SLACK=750
rmount 1 "timeout_ms=$TMO"
M=$WORK/mnt1
L=$WORK/hkvfs-1.log
expect_eq "$(timeout "$T" redis-cli -p $PORT0 ROLE | head -n1)" master "role of port $PORT0"

# 30 keys through the mount; those the stopped master will own, and the others
mkdir "$M/d"
for i in $(seq 0 29); do echo "v$i" >"$M/d/f$i"; done
stopped= live=
for i in $(seq 0 29); do
	if [ "$(timeout "$T" redis-cli -p $PORT0 EXISTS "d/f$i")" = 1 ]; then
		stopped="$stopped f$i"
	else
		live="$live f$i"
	fi
done
[ -n "$stopped" ] && [ -n "$live" ] || fail "keys on both sides expected: stopped '$stopped' live '$live'"

# the master and its replica (ROLE lists the replica's address and port)
rport=$(timeout "$T" redis-cli -p $PORT0 ROLE | sed -n 4p)
case "$rport" in 72[2-3][0-9]) ;; *) fail "no replica of $PORT0 in ROLE: '$rport'" ;; esac
victims="$("$HARNESS" pid "$RDIR" $PORT0) $("$HARNESS" pid "$RDIR" "$rport")"
CONT=
trap 'rc=$?; [ -z "$CONT" ] || kill -CONT $victims 2>/dev/null; (exit $rc) || rfs_cleanup; rfs_cleanup' EXIT
kill -STOP $victims
CONT=1
/usr/bin/python3 - "$M/d" "$WORK/calls.log" $stopped -- $live <<'PY' || fail "workload"
import errno, os, sys, time
d, log = sys.argv[1], sys.argv[2]
sep = sys.argv.index("--")
stopped, live = sys.argv[3:sep], sys.argv[sep + 1:]


def cat(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


with open(log, "w") as out:
    def timed(what, fn, *a):
        t = time.monotonic()
        res = "ok"
        try:
            fn(*a)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        out.write("%s %s %.1f\n" % (what, res, (time.monotonic() - t) * 1000))
        out.flush()

    # each call separately: open, write and close of "echo >" are three system calls
    def echo(p, v):
        t = time.monotonic()
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            out.write("echo-open %s %.1f\n" % (errno.errorcode.get(e.errno, "?"), (time.monotonic() - t) * 1000))
            return
        out.write("echo-open ok %.1f\n" % ((time.monotonic() - t) * 1000))
        timed("echo-write", os.write, fd, v)
        timed("echo-close", os.close, fd)

    for name in stopped[:1] + live[:1]:
        p = "%s/%s" % (d, name)
        timed("stat", os.stat, p)
        timed("cat", cat, p)
        echo(p, b"new\n")
        echo(p + ".new", b"new\n")
        timed("ls", os.listdir, d)
        timed("rm", os.unlink, p + ".new")
PY
kill -CONT $victims
CONT=

cat "$WORK/calls.log" | awk '{print $1, $2}' | sort | uniq -c | paste -sd',' | sed 's/^/calls: /'
worst=$(awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}' "$WORK/calls.log")
echo "slowest call: $worst ms (bound $((TMO + SLACK)) ms)"
awk -v lim=$((TMO + SLACK)) '$3 > lim {print; exit 1}' "$WORK/calls.log" ||
	fail "a call took longer than timeout_ms + $SLACK ms"
bad=$(awk '$2 != "ok" && $2 != "ETIMEDOUT" && $2 != "EIO" && $2 != "EHOSTUNREACH" &&
	!($2 == "ENOENT" && ($1 == "rm" || $1 == "stat" || $1 == "cat"))' "$WORK/calls.log" | head -n3)
[ -z "$bad" ] || fail "unexpected errors: $bad"
nerr=$(awk '$2 == "ETIMEDOUT" || $2 == "EIO" || $2 == "EHOSTUNREACH"' "$WORK/calls.log" | wc -l)
[ "$nerr" -ge 1 ] || fail "no call failed while a master was stopped"
grep -q "the request's deadline spent" "$L" || fail "no log line for the spent deadline"

# after SIGCONT: the cluster is healthy again (the node is master or replica) and the mount
# works for the stopped master's keys
"$HARNESS" wait "$RDIR" || fail "cluster not healthy after SIGCONT"
k=$(echo $stopped | cut -d' ' -f1)
poll 30 sh -c "echo again >'$M/d/$k' 2>/dev/null" || fail "write after SIGCONT"
expect_eq "$(m cat "$M/d/$k")" again "read after SIGCONT"
expect_eq "$(rcli GET "d/$k")" again "redis-cli GET after SIGCONT"
m ls "$M/d" | grep -qx "$k" || fail "listing after SIGCONT"
m rm "$M/d/$k" || fail "rm after SIGCONT"
[ "$(rcli EXISTS "d/$k")" = 0 ] || fail "rm after SIGCONT left the key"
echo PASS
