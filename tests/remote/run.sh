#!/usr/bin/env bash
# run.sh TEST_BINARY MODE BASEPORT: start the Redis servers MODE needs with cluster.sh (a 3+3
# cluster on BASEPORT.., or a standalone server on BASEPORT), run TEST_BINARY MODE against
# them, stop them whatever happens. Without redis-server: skip (77), or fail under CI=true.
set -euo pipefail
bin=$1
mode=$2
port=$3
here=$(cd "$(dirname "$0")" && pwd)
harness=$here/cluster.sh

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	if [ "${CI:-}" = true ]; then
		echo "run.sh: redis-server/redis-cli missing (scripts/deps.sh installs redis-server)" >&2
		exit 1
	fi
	echo "run.sh: redis-server not installed; skipping" >&2
	exit 77
fi
dir=$(mktemp -d "/tmp/hkv-remote-$mode.XXXXXX")
cleanup() {
	"$harness" stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

case "$mode" in
standalone) seeds=$("$harness" standalone "$dir" "$port") ;;
*) seeds=$("$harness" start "$dir" "$port") ;;
esac
rc=0
HKV_TEST_SEEDS=$seeds HKV_TEST_DIR=$dir HKV_TEST_HARNESS=$harness HKV_TEST_BASEPORT=$port \
	"$bin" "$mode" || rc=$?
if [ $rc -ne 0 ]; then
	for log in "$dir"/node-*/redis.log; do
		echo "== $log (last lines)" >&2
		tail -n 15 "$log" >&2 || true
	done
fi
exit $rc
