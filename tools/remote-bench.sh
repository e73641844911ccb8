#!/usr/bin/env bash
# remote-bench.sh - the Redis backend (redis:// mounts) measured against its baselines in one
# run, on a loopback 3-master + 3-replica cluster that the script starts and stops itself.
#
#   tools/remote-bench.sh [BUILD_DIR]     (root; redis-server, redis-cli, python3-redis)
#
# Rows (each compared with a baseline measured in the same run):
#   cat loop / echo > loop    N processes through the mount vs N redis-cli GET / SET
#   open+read+close           one process, 64-byte file, kernel caches warm: redis:// with
#                             cache=on and cache=noopen vs a local store with the same modes
#   invalidation latency      SET by a client (redis-py) or a write through mount 1, until
#                             mount 2's cached size shows the new value (p50, p99)
#   listing                   ls of one directory holding 100k keys spread over 3 masters:
#                             time and the daemon's RSS (peak) before and after
# Environment: N (process loops, default 200), OPS (open+read+close, default 20000),
# INV (invalidations, default 200), KEYS (listing, default 100000), BASE (port, 7260),
# PY (a Python with the redis module, default /usr/bin/python3).
set -euo pipefail
BUILD=${1:-build}
HKVFS=$BUILD/fs/hkvfs
HERE=$(cd "$(dirname "$0")" && pwd)
HARNESS=$HERE/../tests/remote/cluster.sh
N=${N:-200}
OPS=${OPS:-20000}
INV=${INV:-200}
KEYS=${KEYS:-100000}
BASE=${BASE:-7260}
PY=${PY:-/usr/bin/python3}

[ -x "$HKVFS" ] || { echo "remote-bench: $HKVFS not built" >&2; exit 1; }
"$PY" -c 'import redis.cluster' 2>/dev/null || { echo "remote-bench: $PY lacks the redis module (python3-redis)" >&2; exit 1; }
W=$(mktemp -d /tmp/hkvfs-remote-bench.XXXXXX)
PIDS=()
MNTS=()
cleanup() {
	local i
	for i in "${!MNTS[@]}"; do
		fusermount3 -u "${MNTS[$i]}" 2>/dev/null || fusermount3 -u -z "${MNTS[$i]}" 2>/dev/null || true
		timeout 10 tail --pid="${PIDS[$i]}" -f /dev/null 2>/dev/null || kill -9 "${PIDS[$i]}" 2>/dev/null || true
	done
	"$HARNESS" stop "$W/redis" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

mnt() { # mnt NAME SOURCE OPTS
	local d=$W/$1 deadline=$((SECONDS + 20))
	mkdir -p "$d"
	"$HKVFS" "$2" "$d" -f -o "log=$W/$1.log${3:+,$3}" &
	PIDS+=($!)
	MNTS+=("$d")
	until grep -q " $d " /proc/self/mountinfo; do
		[ $SECONDS -lt $deadline ] || { echo "mount $1 failed" >&2; tail "$W/$1.log" >&2; exit 1; }
		sleep 0.05
	done
}
pid_of() { local i; for i in "${!MNTS[@]}"; do if [ "${MNTS[$i]}" = "$W/$1" ]; then echo "${PIDS[$i]}"; fi; done; }
ms_per() { awk -v s="$1" -v e="$2" -v n="$3" 'BEGIN { printf "%.2f", (e - s) / 1e6 / n }'; }

"$HARNESS" start "$W/redis" "$BASE" >/dev/null
SEEDS=127.0.0.1:$BASE,127.0.0.1:$((BASE + 1))
CLI=(redis-cli -c -p "$BASE")
mnt r1 "redis://$SEEDS"
mnt r2 "redis://$SEEDS"
mnt local "$W/store"

echo "# remote-bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), redis $(redis-server --version | awk '{print $3}')"
echo
echo "| measurement | redis:// mount | baseline | ratio |"
echo "| --- | --- | --- | --- |"

# --- process loops -------------------------------------------------------------------------
echo 0123456789 >"$W/r1/pk"
"${CLI[@]}" SET pkc 0123456789 >/dev/null
s=$(date +%s%N); for i in $(seq "$N"); do cat "$W/r1/pk" >/dev/null; done; e=$(date +%s%N)
a=$(ms_per "$s" "$e" "$N")
s=$(date +%s%N); for i in $(seq "$N"); do "${CLI[@]}" GET pkc >/dev/null; done; e=$(date +%s%N)
b=$(ms_per "$s" "$e" "$N")
echo "| \`cat\` loop, ms per process (baseline: \`redis-cli GET\`) | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a/b}') |"
s=$(date +%s%N); for i in $(seq "$N"); do echo "v$i" >"$W/r1/pk"; done; e=$(date +%s%N)
a=$(ms_per "$s" "$e" "$N")
s=$(date +%s%N); for i in $(seq "$N"); do "${CLI[@]}" SET pkc "v$i" >/dev/null; done; e=$(date +%s%N)
b=$(ms_per "$s" "$e" "$N")
echo "| \`echo >\` loop (a shell builtin: no process), ms per write (baseline: \`redis-cli SET\`) | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a/b}') |"

# --- open+read+close, caches warm ----------------------------------------------------------
mnt rn "redis://$SEEDS" cache=noopen
head -c 64 /dev/zero | tr '\0' x >"$W/r1/f64"
head -c 64 /dev/zero | tr '\0' x >"$W/local/f64"
orc() {
	"$PY" - "$1" "$OPS" <<'EOF'
import os, sys, time
p, n = sys.argv[1], int(sys.argv[2])
for _ in range(200):
    fd = os.open(p, os.O_RDONLY); os.read(fd, 4096); os.close(fd)
t = []
for _ in range(n):
    s = time.perf_counter_ns()
    fd = os.open(p, os.O_RDONLY); os.read(fd, 4096); os.close(fd)
    t.append(time.perf_counter_ns() - s)
t.sort()
print("%.1f %.1f" % (t[len(t) // 2] / 1000, t[len(t) * 99 // 100] / 1000))
EOF
}
for mode in on noopen; do
	if [ $mode = on ]; then
		rp=$W/r1/f64
		lp=$W/local/f64
	else
		# a store is mounted by one daemon at a time: the local store again, cache=noopen
		lpid=$(pid_of local)
		fusermount3 -u "$W/local"
		timeout 20 tail --pid="$lpid" -f /dev/null
		mnt ln "$W/store" cache=noopen
		rp=$W/rn/f64
		lp=$W/ln/f64
	fi
	read -r a a99 < <(orc "$rp")
	read -r b b99 < <(orc "$lp")
	echo "| open+read+close 64 B, cache=$mode, us p50 (p99) (baseline: local store) | $a ($a99) | $b ($b99) | $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a/b}') |"
done

# the same read from Redis without the filesystem: redis-py GET in one process
read -r g g99 < <("$PY" - "$BASE" "$OPS" <<'EOF'
import sys, time
import redis.cluster
rc = redis.cluster.RedisCluster(host="127.0.0.1", port=int(sys.argv[1]))
n = int(sys.argv[2])
rc.set("f64", "x" * 64)
for _ in range(200):
    rc.get("f64")
t = []
for _ in range(n):
    s = time.perf_counter_ns()
    rc.get("f64")
    t.append(time.perf_counter_ns() - s)
t.sort()
print("%.1f %.1f" % (t[len(t) // 2] / 1000, t[len(t) * 99 // 100] / 1000))
EOF
)
echo "| redis-py GET of the same 64 B in one process, us p50 (p99) (baseline of cache=on) | $g ($g99) | | |"

# --- invalidation latency ------------------------------------------------------------------
inv() {
	"$PY" - "$1" "$W/r1" "$W/r2" "$BASE" "$INV" <<'EOF'
import os, sys, time
import redis.cluster
how, a, b, port, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rc = redis.cluster.RedisCluster(host="127.0.0.1", port=port)
lat = []
for i in range(n):
    key = "inv%d" % (i % 8)
    val = ("v%d" % i) + "x" * (i % 2) + "\n"
    try:
        os.stat(os.path.join(b, key))  # mount 2 caches the entry and its size
    except FileNotFoundError:
        pass
    t0 = time.perf_counter_ns()
    if how == "client":
        rc.set(key, val)
    else:
        with open(os.path.join(a, key), "w") as f:
            f.write(val)
    while True:
        try:
            if os.stat(os.path.join(b, key)).st_size == len(val):
                break
        except FileNotFoundError:
            pass
    lat.append(time.perf_counter_ns() - t0)
lat.sort()
print("%.2f %.2f" % (lat[len(lat) // 2] / 1e6, lat[len(lat) * 99 // 100] / 1e6))
EOF
}
read -r p50 p99 < <(inv client)
echo "| invalidation, redis-py SET -> mount 2 sees the size, ms p50 / p99 | $p50 / $p99 | | |"
read -r p50 p99 < <(inv mount)
echo "| invalidation, write through mount 1 -> mount 2 sees the size, ms p50 / p99 | $p50 / $p99 | | |"

# --- listing 100k keys under one prefix ----------------------------------------------------
"$PY" - "$BASE" "$KEYS" <<'EOF'
import sys
import redis.cluster
rc = redis.cluster.RedisCluster(host="127.0.0.1", port=int(sys.argv[1]))
n = int(sys.argv[2])
for s in range(0, n, 2000):
    p = rc.pipeline()
    for i in range(s, min(n, s + 2000)):
        p.set("big/k%d" % i, "x")
    p.execute()
EOF
per=$(for p in $BASE $((BASE + 1)) $((BASE + 2)); do redis-cli -p $p DBSIZE; done | paste -sd/)
pid=$(pid_of r1)
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
s=$(date +%s%N)
cnt=$(ls -f "$W/r1/big" | grep -vc '^\.\.\?$')
e=$(date +%s%N)
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
[ "$cnt" = "$KEYS" ] || echo "remote-bench: listed $cnt entries, expected $KEYS" >&2
echo "| ls of $KEYS keys under one prefix (masters hold $per keys), s | $(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", (e-s)/1e9}') | | |"
echo "| daemon RSS before / after / peak, MiB | $((rss0 / 1024)) / $((rss1 / 1024)) / $((hwm / 1024)) | | |"
