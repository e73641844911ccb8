#!/usr/bin/env bash
# resp-bench.sh - hkv-server against redis-server, same machine, same run, with Debian's
# redis-benchmark: throughput and p99 latency per command, and RSS after loading 1M keys.
#
# Usage: tools/resp-bench.sh HKV_SERVER [--quick]
#
# Baseline: redis-server with "appendonly yes, appendfsync everysec" (its durable setting
# closest to hkv-server's default); hkv-server with its default appendfsync everysec. Each
# row is run ROUNDS times per server, alternating the two servers, and the median is shown
# (requests per second, and the p99 latency of the median run). Rows:
#   pipelined   -t get,set -P 16 -c 50 -n N1 -d 64
#   plain       -t get,set -c 50 -n N2
#   types       -t lpush,lpop,sadd,hset,zadd -P 16 -c 50 -n N2
#   memory      RSS of each server after loading 1M 64-byte string values (redis-cli --pipe)
# --quick divides the request counts by 10 (a smoke run, not a measurement).
#
# Environment: BENCH_PORT (first of two ports, default 17900), ROUNDS (default 3).
set -euo pipefail
HKV=${1:?usage: resp-bench.sh HKV_SERVER [--quick]}
quick=${2:-}
for t in redis-server redis-benchmark redis-cli; do
	command -v "$t" >/dev/null || { echo "resp-bench: $t not found (redis-tools, redis-server)" >&2; exit 1; }
done
P1=${BENCH_PORT:-17900}
P2=$((P1 + 1))
ROUNDS=${ROUNDS:-3}
N1=2000000
N2=200000
KEYS=1000000
if [ "$quick" = --quick ]; then
	N1=$((N1 / 10))
	N2=$((N2 / 10))
	KEYS=$((KEYS / 10))
fi
T=$(mktemp -d /tmp/resp-bench.XXXXXX)
hpid=
rpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

wait_port() {
	for _ in $(seq 1 200); do
		redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "resp-bench: nothing answers on port $1" >&2
	exit 1
}

start_servers() {
	rm -rf "$T/hkv" "$T/redis"
	mkdir -p "$T/redis"
	"$HKV" --port "$P1" --dir "$T/hkv" --appendfsync everysec >"$T/hkv.log" 2>&1 &
	hpid=$!
	redis-server --port "$P2" --dir "$T/redis" --appendonly yes --appendfsync everysec \
		--save "" --daemonize no >"$T/redis.log" 2>&1 &
	rpid=$!
	wait_port "$P1"
	wait_port "$P2"
}

stop_servers() {
	kill "$hpid" "$rpid"
	wait "$hpid" || true
	wait "$rpid" || true
	hpid=
	rpid=
}

# bench PORT ARGS... -> "test rps p99" lines
bench() {
	local port=$1
	shift
	redis-benchmark -p "$port" --csv "$@" 2>/dev/null |
		awk -F',' 'NR > 1 { for (i = 1; i <= NF; i++) gsub(/"/, "", $i); print $1, $2, $7 }'
}

# row NAME ARGS...: ROUNDS alternating runs per server, medians
row() {
	local name=$1 i
	shift
	: >"$T/h.txt"
	: >"$T/r.txt"
	for i in $(seq 1 "$ROUNDS"); do
		redis-cli -p "$P1" flushall >/dev/null
		redis-cli -p "$P2" flushall >/dev/null
		bench "$P2" "$@" >>"$T/r.txt"
		bench "$P1" "$@" >>"$T/h.txt"
	done
	for t in $(awk '{ print $1 }' "$T/r.txt" | sort -u); do
		# median by requests per second; its p99 goes with it
		read -r rr rp < <(awk -v t="$t" '$1 == t { print $2, $3 }' "$T/r.txt" | sort -n |
			awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
		read -r hr hp < <(awk -v t="$t" '$1 == t { print $2, $3 }' "$T/h.txt" | sort -n |
			awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
		printf '| %-9s | %-6s | %12.0f | %12.0f | %5.2fx | %8.3f | %8.3f | %5.2fx |\n' \
			"$name" "$t" "$rr" "$hr" "$(echo "$hr / $rr" | bc -l)" "$rp" "$hp" \
			"$(echo "$hp / $rp" | bc -l)"
	done
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

start_servers
echo "hkv-server vs redis-server 7.0 (appendonly yes, appendfsync everysec); median of $ROUNDS"
echo "runs each, alternating; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| row       | test   | redis ops/s  | hkv ops/s    | ratio  | redis p99 ms | hkv p99 ms | p99 ratio |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
row pipelined -t get,set -P 16 -c 50 -n "$N1" -d 64
row plain -t get,set -c 50 -n "$N2"
row types -t lpush,lpop,sadd,hset,zadd -P 16 -c 50 -n "$N2"
stop_servers

# memory: 1M distinct keys of 64-byte values, loaded with redis-cli --pipe
start_servers
python3 - "$KEYS" >"$T/load.resp" <<'EOF'
import sys
n = int(sys.argv[1])
val = b"v" * 64
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$64\r\n%s\r\n" % (len(k), k, val))
EOF
base_h=$(rss_kb "$hpid")
base_r=$(rss_kb "$rpid")
redis-cli -p "$P1" --pipe <"$T/load.resp" >/dev/null
redis-cli -p "$P2" --pipe <"$T/load.resp" >/dev/null
echo
echo "| memory ($KEYS keys x 64 B) | redis-server | hkv-server | ratio |"
echo "| --- | --- | --- | --- |"
h=$(rss_kb "$hpid")
r=$(rss_kb "$rpid")
printf '| RSS after load (MiB) | %.1f | %.1f | %.2fx |\n' "$(echo "$r / 1024" | bc -l)" \
	"$(echo "$h / 1024" | bc -l)" "$(echo "$h / $r" | bc -l)"
printf '| RSS before load (MiB) | %.1f | %.1f | |\n' "$(echo "$base_r / 1024" | bc -l)" \
	"$(echo "$base_h / 1024" | bc -l)"
printf '| keys (DBSIZE) | %s | %s | |\n' "$(redis-cli -p "$P2" dbsize)" "$(redis-cli -p "$P1" dbsize)"
stop_servers
