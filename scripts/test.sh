#!/usr/bin/env bash
# Install the dependencies, build, and run every test: the whole ctest suite on a normal
# build (unit, CLI, crash, power-loss self-check, filesystem, pjdfstest when its source is
# found, shim, and the kernel module and hot path in a VM), then the unit, CLI, crash,
# filesystem and hkv-server tests again under AddressSanitizer and UndefinedBehaviorSanitizer,
# the filesystem tests against a sanitized daemon, the server tests against a sanitized
# hkv-server (its RESP fuzz run included), and the Redis Cluster client's tests (remote);
# last the engine's unit tests under ThreadSanitizer (the memtable's readers, linkers and
# writer, the checkpointer, compaction and transactions run concurrently there).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "${HKV_SKIP_DEPS:-0}" = 1 ] || scripts/deps.sh
# A fresh clone, its two builds and the tests' stores (/tmp, /var/tmp) took 405 MB at their
# largest (measured with df during a whole run): on a fuller disk, writes fail with ENOSPC
# and tests fail for that reason alone.
for d in "$top" /tmp /var/tmp; do
	free_mb=$(df -Pm "$d" 2>/dev/null | awk 'NR == 2 { print $4 }')
	if [ -n "$free_mb" ] && [ "$free_mb" -lt 1024 ]; then
		echo "hkvfs: warning: only $free_mb MB free under $d; the suite needs about 450 MB" >&2
	fi
done
scripts/build.sh build
# On CI (or with HKV_INSTALL=1) install the build, so the tests also exercise
# `mount -t hkvfs` and an fstab line through /sbin/mount.hkvfs.
if [ "${CI:-}" = true ] || [ "${HKV_INSTALL:-0}" = 1 ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO cmake --install build >/dev/null
fi
ctest --test-dir build --output-on-failure --timeout 900 -j2
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DHKV_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	ctest --test-dir build-asan --output-on-failure --timeout 900 -j2 -L 'unit|crash|cli|fs|server|remote'
scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DHKV_TSAN=ON -DHKV_BUILD_FS=OFF \
	-DHKV_BUILD_KMOD=OFF
TSAN_OPTIONS=halt_on_error=1 \
	ctest --test-dir build-tsan --output-on-failure --timeout 900 -j2 -L unit
echo "hkvfs: all tests passed"
