#!/usr/bin/env bash
# resp-hset-ab.sh - two hkv-server builds on redis-benchmark's HSET row of resp-bench.sh
# (-t hset -P 16 -c 50 -n 200000), alternated ROUNDS times, each run on a fresh data
# directory: once with one field (a small hash updated in place), once with -r 100000 (a
# large hash). Prints the median req/s and p99 of each build and the ratio B/A.
#
# Usage: tools/resp-hset-ab.sh HKV_SERVER_A HKV_SERVER_B
# Environment: BENCH_PORT (default 17910), ROUNDS (default 5).
set -euo pipefail
A=${1:?usage: resp-hset-ab.sh HKV_SERVER_A HKV_SERVER_B}
B=${2:?usage: resp-hset-ab.sh HKV_SERVER_A HKV_SERVER_B}
P=${BENCH_PORT:-17910}
ROUNDS=${ROUNDS:-5}
for t in redis-benchmark redis-cli; do
	command -v "$t" >/dev/null || { echo "resp-hset-ab: $t not found (redis-tools)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/resp-hset-ab.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# run SERVER [redis-benchmark options]: prints "req/s p99_ms"
run() {
	local bin=$1 d
	shift
	d=$(mktemp -d "$T/d.XXXXXX")
	"$bin" --port "$P" --dir "$d" >"$T/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		redis-cli -p "$P" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	redis-benchmark -p "$P" -t hset -P 16 -c 50 -n 200000 --csv "$@" 2>/dev/null |
		awk -F'"' '/HSET/ { print $4, $14 }'
	kill "$pid"
	wait "$pid" || true
	pid=
	rm -rf "$d"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for row in one-field r100000; do
	extra=()
	[ "$row" = r100000 ] && extra=(-r 100000)
	for ((i = 0; i < ROUNDS; i++)); do
		echo "$row A $(run "$A" "${extra[@]}")" >>"$T/out"
		echo "$row B $(run "$B" "${extra[@]}")" >>"$T/out"
	done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
	function median(arr, n,    i, j, t) {
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
		return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
	}
	NF == 4 { k = $1 SUBSEP $2; n[k]++; r[k, n[k]] = $3; p[k, n[k]] = $4
		  if (!($1 in seen)) { seen[$1] = 1; order[++rows] = $1 } }
	END {
		printf "%-10s %10s %10s %6s %9s %9s %6s\n", "row", "A req/s", "B req/s", "B/A",
		       "A p99 ms", "B p99 ms", "B/A"
		for (i = 1; i <= rows; i++) {
			for (s = 0; s < 2; s++) {
				sd = s ? "B" : "A"; k = order[i] SUBSEP sd
				for (j = 1; j <= n[k]; j++) { x[j] = r[k, j]; y[j] = p[k, j] }
				mr[sd] = median(x, n[k]); mp[sd] = median(y, n[k])
			}
			printf "%-10s %10.0f %10.0f %6.3f %9.2f %9.2f %6.3f\n", order[i], mr["A"],
			       mr["B"], mr["B"] / mr["A"], mp["A"], mp["B"], mp["B"] / mp["A"]
		}
	}' "$T/out"
