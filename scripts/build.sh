#!/usr/bin/env bash
# Configure and build hkvfs into DIR (default build/); extra arguments go to cmake.
# Developer and CI builds treat warnings as errors (-DHKV_WERROR=ON).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-build}
shift || true
cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHKV_WERROR=ON "$@"
cmake --build "$top/$dir" -j"$(nproc)"
