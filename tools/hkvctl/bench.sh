#!/bin/bash
# bench.sh - what one hkvctl invocation costs through each door.
#
#   tools/hkvctl/bench.sh [-n RUNS] HKVCTL HKV_SERVER
#
# Runs each command RUNS times (default 200) against two stores holding the same keys: one
# that hkvctl opens itself (in-process door) and one that hkv-server holds (socket door:
# hkv_open() says EBUSY, hkvctl talks RESP to DATA_DIR/hkvfs.sock). The two doors alternate
# run by run, so both see the same machine load. Prints the median and p99 wall time of a
# whole invocation (fork, exec, open or connect, command, exit) per command and door, and the
# ratio of the medians. Pin with taskset to compare runs: the numbers depend on CPU placement.
set -euo pipefail
runs=200
if [[ ${1:-} == -n ]]; then
	runs=$2
	shift 2
fi
[[ $# == 2 ]] || {
	echo "usage: $0 [-n RUNS] HKVCTL HKV_SERVER" >&2
	exit 2
}
ctl=$1 server=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hkvctl-bench.XXXXXX")
local_dir=$tmp/local sock_dir=$tmp/socket
mkdir -p "$local_dir" "$sock_dir"
"$server" --dir "$sock_dir" --port 0 --unixsocket "$sock_dir/hkvfs.sock" >"$tmp/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$tmp"' EXIT
for i in $(seq 1 200); do
	[[ $("$ctl" -d "$sock_dir" PING 2>/dev/null) == PONG ]] && break
	sleep 0.05
done
for d in "$local_dir" "$sock_dir"; do
	for i in $(seq 1 1000); do args+=("key:$i" "value-$i"); done
	"$ctl" -d "$d" MSET "${args[@]}" >/dev/null
	args=()
done

# run DIR WORDS...: one invocation, its wall time in microseconds on stdout
run() {
	local dir=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	"$ctl" -d "$dir" "$@" >/dev/null 2>&1 || true
	t1=$EPOCHREALTIME
	echo $(((${t1/./} - ${t0/./})))
}

# stats FILE: "median p99" in milliseconds
stats() {
	sort -n "$1" | awk '{a[NR] = $1} END {
		p = int(NR * 0.99); if (p < 1) p = 1
		printf "%.2f %.2f", a[int((NR + 1) / 2)] / 1000, a[p] / 1000 }'
}

printf '%-24s %14s %10s %14s %10s %8s\n' command "in-process p50" p99 "socket p50" p99 ratio
for cmd in "GET key:500" "SET key:500 v" "MSET a 1 b 2 c 3" "HSET h f v" "SCAN 0 COUNT 100" \
	"PING"; do
	: >"$tmp/l"
	: >"$tmp/s"
	for i in $(seq 1 "$runs"); do
		# shellcheck disable=SC2086
		run "$local_dir" $cmd >>"$tmp/l"
		# shellcheck disable=SC2086
		run "$sock_dir" $cmd >>"$tmp/s"
	done
	read -r lm lp <<<"$(stats "$tmp/l")"
	read -r sm sp <<<"$(stats "$tmp/s")"
	printf '%-24s %11s ms %7s ms %11s ms %7s ms %7.2fx\n' "$cmd" "$lm" "$lp" "$sm" "$sp" \
		"$(awk -v a="$sm" -v b="$lm" 'BEGIN {print a / b}')"
done
printf '(%d runs per command and door, alternating; ratio = socket / in-process median)\n' "$runs"
