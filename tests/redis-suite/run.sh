#!/usr/bin/env bash
# run.sh - Redis 7.0.15's own Tcl suite against a freshly built hkv-server, per-unit counts.
#
# Usage: tests/redis-suite/run.sh REDIS_SRC [UNIT...]
#   REDIS_SRC  a Redis 7.0.15 source tree (git clone -b 7.0.15 https://github.com/redis/redis);
#              only its runtest and tests/ are used, copied to a scratch directory.
#   UNIT       units to run (default: the list in tests/conformance/redis-tcl.sh).
#
# Builds hkv-server in $HKV_BUILD (default: build-redis-suite at the top of the tree, Release),
# then runs tests/conformance/redis-tcl.sh, which starts one fresh server per unit, prints one
# line per unit (passed, failed, skipped) and fails on a failure that
# tests/conformance/redis-tcl.exceptions does not list. ctest runs the same script as
# server_redis_tcl when REDIS_SRC is set in the environment.
set -euo pipefail
src=${1:?usage: tests/redis-suite/run.sh REDIS_SRC [UNIT...]}
shift
[ -x "$src/runtest" ] && [ -d "$src/tests/unit" ] || { echo "run.sh: $src is not a Redis source tree" >&2; exit 2; }
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${HKV_BUILD:-$top/build-redis-suite}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target hkv-server >/dev/null
REDIS_SRC=$(cd "$src" && pwd) exec bash "$top/tests/conformance/redis-tcl.sh" "$build/server/hkv-server" "$@"
