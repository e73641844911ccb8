#!/usr/bin/env bash
# hash-bench.sh - two builds of the engine on the same hash workload, in the same run:
# `hkv-bench hash` of build A and of build B, alternated ROUNDS times, then per row the median
# ops/s and p99 of each and the ratio B/A (above 1: B is faster).
#
# Usage: tools/hash-bench.sh HKV_BENCH_A HKV_BENCH_B [hkv-bench hash options...]
# Environment: ROUNDS (default 5).
set -euo pipefail
A=${1:?usage: hash-bench.sh HKV_BENCH_A HKV_BENCH_B [options]}
B=${2:?usage: hash-bench.sh HKV_BENCH_A HKV_BENCH_B [options]}
shift 2
ROUNDS=${ROUNDS:-5}
T=$(mktemp -d /tmp/hash-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < ROUNDS; i++)); do
	"$A" hash "$@" >"$T/a.$i"
	"$B" hash "$@" >"$T/b.$i"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
head -1 "$T/a.0"
# rows: "name words..." then ops ops/s p50 p99 (the last four columns)
awk -v rounds="$ROUNDS" '
	function median(arr, n,    i, j, t) {
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
		return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
	}
	FNR == 1 { side = FILENAME ~ /\/a\.[0-9]+$/ ? "a" : "b"; next }
	NF >= 6 && $(NF - 2) ~ /^[0-9.]+$/ && $NF ~ /^[0-9.]+$/ {
		name = $1; for (i = 2; i <= NF - 4; i++) name = name " " $i
		if (!(name in seen)) { seen[name] = 1; order[++nrows] = name }
		k = side SUBSEP name
		cnt[k]++
		rate[k, cnt[k]] = $(NF - 2)
		p99[k, cnt[k]] = $NF
	}
	END {
		printf "%-16s %12s %12s %7s %9s %9s %7s\n", "row", "A ops/s", "B ops/s", "B/A",
		       "A p99 us", "B p99 us", "B/A"
		for (r = 1; r <= nrows; r++) {
			name = order[r]
			for (s = 0; s < 2; s++) {
				sd = s ? "b" : "a"; k = sd SUBSEP name
				for (i = 1; i <= cnt[k]; i++) { x[i] = rate[k, i]; y[i] = p99[k, i] }
				mr[sd] = median(x, cnt[k]); mp[sd] = median(y, cnt[k])
			}
			printf "%-16s %12.0f %12.0f %7.3f %9.2f %9.2f %7.3f\n", name, mr["a"], mr["b"],
			       mr["b"] / mr["a"], mp["a"], mp["b"], mp["b"] / mp["a"]
		}
		printf "(medians of %d alternated runs each)\n", rounds
	}' $(for ((i = 0; i < ROUNDS; i++)); do echo "$T/a.$i" "$T/b.$i"; done)
