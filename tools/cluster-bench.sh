#!/usr/bin/env bash
# cluster-bench.sh - start a 3 masters + 3 replicas Redis Cluster on loopback (ports
# BENCH_PORT..BENCH_PORT+5, default 7120) with tests/remote/cluster.sh, run
# hkv-cluster-bench against it (which runs redis-benchmark on the same node in the same run),
# stop the cluster.
#
# Usage: tools/cluster-bench.sh BUILD_DIR [hkv-cluster-bench options: -n OPS -d BYTES -r KEYS]
set -euo pipefail
build=${1:?usage: cluster-bench.sh BUILD_DIR [-n OPS] [-d BYTES] [-r KEYS]}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
for t in redis-server redis-cli redis-benchmark; do
	command -v "$t" >/dev/null || { echo "cluster-bench: $t not found (redis-server, redis-tools)" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/cluster-bench.XXXXXX)
trap '"$top/tests/remote/cluster.sh" stop "$dir"; rm -rf "$dir"' EXIT
seeds=$("$top/tests/remote/cluster.sh" start "$dir" "${BENCH_PORT:-7120}")
"$build/tools/hkv-cluster-bench" "$@" "$seeds"
