#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-hotpath.sh - the hot path end to end in a VM: hkvfs (FUSE), hkv.ko (/dev/hkv) and
# libhkv-preload.so together. Builds hkv.ko for Debian's cloud kernel, builds the test
# programs, packs an initramfs with the dynamically linked daemon, shim, coreutils cat/head
# and test programs plus every library they need (collected with ldd, interpreter included)
# and a static busybox for the shell, boots the kernel under QEMU (TCG) and judges the log.
#
# Usage: run-hotpath.sh --hkvfs PATH --shim PATH --probe PATH [--build-dir DIR]
#                       [--bench | --bench-only | --bench-smoke | --no-bench]
#
#   --hkvfs, --shim, --probe   the daemon, libhkv-preload.so and shim-probe from a CMake
#                              build (ctest passes them; env HKVFS, HKV_SHIM, HKV_PROBE too)
#   --bench        tests, then the full benchmark (numbers for docs/hot-path.md)
#   --bench-only   only the full benchmark
#   --bench-smoke  tests, then the benchmark with few iterations (the default: checks that
#                  every row runs; no number is ever asserted)
#   --no-bench     tests only
#   --build-dir    where objects, the initramfs, the log and bench.txt go
#
# Exit: 0 pass, 1 fail, 77 skip (QEMU, the cloud kernel or its headers, busybox-static, the
# daemon's hot-path options missing) - unless CI=true, where anything missing is a failure.
# A daemon without the hot path (no hot= option) still gets the FUSE-only half of the run;
# the script then exits 77 after a passing run, never 0.
#
# The verdict needs the init's own line "HKV-HOTPATH-RESULT: PASS n/n" (carriage returns
# stripped, whole line), no Oops, BUG, WARNING, Call Trace, KASAN, UBSAN, general protection
# fault, panic, stall or lockup in the log, and QEMU finishing within the timeout.
set -u

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$SRC_DIR/tests/hotpath
BUILD=${HKV_HOTPATH_BUILD_DIR:-$PWD/hkv-hotpath-build}
HKVFS=${HKVFS:-}
SHIM=${HKV_SHIM:-}
PROBE=${HKV_PROBE:-}
RUN_TESTS=1
BENCH=smoke
TIMEOUT=${HKV_HOTPATH_TIMEOUT:-240}
LIN_SECS=${HKV_HOTPATH_LIN_SECONDS:-6}

while [ $# -gt 0 ]; do
	case "$1" in
	--hkvfs) HKVFS=$2; shift ;;
	--shim) SHIM=$2; shift ;;
	--probe) PROBE=$2; shift ;;
	--build-dir) BUILD=$2; shift ;;
	--bench) BENCH=full ;;
	--bench-only) BENCH=full; RUN_TESTS=0 ;;
	--bench-smoke) BENCH=smoke ;;
	--no-bench) BENCH=none ;;
	-h|--help) sed -n '3,30p' "$0"; exit 0 ;;
	*) echo "run-hotpath.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

VM_NAME=run-hotpath.sh
. "$SRC_DIR/tests/vm/vmlib.sh"
skip() { vm_skip "$@"; }
fail() { vm_fail "$@"; }

# --- prerequisites -----------------------------------------------------------------------

[ -x "$HKVFS" ] || fail "no hkvfs daemon (--hkvfs)"
[ -r "$SHIM" ] || fail "no libhkv-preload.so (--shim)"
[ -x "$PROBE" ] || fail "no shim-probe (--probe)"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not found"

vm_find_kernel
FUSE_KO=
if ! grep -q '^CONFIG_FUSE_FS=y' "/boot/config-$KVER" 2>/dev/null; then
	for f in /lib/modules/$KVER/kernel/fs/fuse/fuse.ko; do
		[ -r "$f" ] && FUSE_KO=$f
	done
	[ -n "$FUSE_KO" ] || skip "fuse is a module of $KVER but fuse.ko is missing"
fi

vm_find_tools
command -v ldd >/dev/null || skip "ldd not found"
CAT=$(command -v cat)
HEAD=$(command -v head)
for b in "$CAT" "$HEAD"; do
	LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q interpreter ||
		skip "$b is not dynamically linked: the shim could not be tested with it"
done

# the daemon's hot-path options: without them only the FUSE-only half runs
HOT_OPTS="hot=on,hot_interval=20,hot_min=5,hot_k=64"
HOT=1
HOT_OFF=",hot=off"
if "$HKVFS" -o "$HOT_OPTS" 2>&1 | grep -q 'unknown mount option'; then
	HOT=0
	HOT_OPTS=
	HOT_OFF=
fi

# --- build -------------------------------------------------------------------------------

mkdir -p "$BUILD" || fail "cannot create $BUILD"
BUILD=$(cd "$BUILD" && pwd)
LOG=$BUILD/vm.log
ROOT=$BUILD/initramfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,usr/bin,usr/lib/hkv,proc,sys,dev,tmp,mnt,etc,lib/hkv,lib/modules} ||
	fail "mkdir"

echo "run-hotpath.sh: building hkv.ko for $KVER"
make -s -C "$SRC_DIR/kmod" KDIR="$KDIR" BUILD_DIR="$BUILD/kmod" >"$BUILD/kbuild.log" 2>&1 ||
	{ cat "$BUILD/kbuild.log" >&2; fail "kbuild failed"; }
cp "$BUILD/kmod/hkv.ko" "$ROOT/lib/hkv/" || fail "no hkv.ko"
[ -z "$FUSE_KO" ] || cp "$FUSE_KO" "$ROOT/lib/modules/fuse.ko" || fail "fuse.ko"

CFLAGS="-O2 -g0 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -I$SRC_DIR/kmod/include/uapi"
gcc $CFLAGS "$HERE/hotpath_test.c" -o "$BUILD/hotpath-test" || fail "cannot build hotpath-test"
gcc $CFLAGS "$HERE/hotpath_bench.c" -o "$BUILD/hotpath-bench" || fail "cannot build hotpath-bench"

# add_bin SRC DEST: copy a dynamically linked program or library and everything ldd says it
# loads (the ELF interpreter included), each library at its own path.
add_bin() {
	local src=$1 dest=$2 lib
	cp -L "$src" "$ROOT/$dest" || fail "cannot copy $src"
	for lib in $(ldd "$src" | grep -oE '/[^ ]+' | sort -u); do
		[ -e "$ROOT/$lib" ] && continue
		mkdir -p "$ROOT/$(dirname "$lib")"
		cp -L "$lib" "$ROOT/$lib" || fail "cannot copy $lib (for $src)"
	done
}
add_bin "$HKVFS" usr/bin/hkvfs
add_bin "$SHIM" usr/lib/hkv/libhkv-preload.so
add_bin "$PROBE" usr/bin/shim-probe
add_bin "$BUILD/hotpath-test" usr/bin/hotpath-test
add_bin "$BUILD/hotpath-bench" usr/bin/hotpath-bench
add_bin "$CAT" usr/bin/cat
add_bin "$HEAD" usr/bin/head
add_bin "$(command -v stat)" usr/bin/stat
# python3 with only what `python3 -I -S` needs to start (its os module is frozen): the
# encodings package, and os.py as the landmark that tells it where its library is
PY=$(readlink -f /usr/bin/python3)
PYLIB=$("$PY" -I -S -c 'import os; print(os.path.dirname(os.__file__))')
add_bin "$PY" usr/bin/python3
mkdir -p "$ROOT/$PYLIB"
cp -r "$PYLIB/encodings" "$PYLIB/os.py" "$ROOT/$PYLIB/" || fail "cannot copy python3's library"
# glibc loads libgcc_s at run time for pthread_cancel (libfuse uses it at unmount)
GCC_S=$(gcc -print-file-name=libgcc_s.so.1)
[ -r "$GCC_S" ] || GCC_S=/lib/x86_64-linux-gnu/libgcc_s.so.1
mkdir -p "$ROOT/lib/x86_64-linux-gnu"
cp -L "$GCC_S" "$ROOT/lib/x86_64-linux-gnu/libgcc_s.so.1" || fail "no libgcc_s.so.1"
cp "$BUSYBOX" "$ROOT/bin/busybox"

case "$BENCH" in
full) ITERS=3000; CAT_ITERS=100 ;;
smoke) ITERS=50; CAT_ITERS=3 ;;
*) ITERS=0; CAT_ITERS=0 ;;
esac
cat >"$ROOT/etc/hkv-hotpath.conf" <<EOF
RUN_TESTS=$RUN_TESTS
BENCH=$BENCH
ITERS=$ITERS
CAT_ITERS=$CAT_ITERS
LIN_SECS=$LIN_SECS
LIN_CACHE_ON=${HKV_HOTPATH_LIN_CACHE_ON:-0}
HOT=$HOT
HOT_OPTS=$HOT_OPTS
HOT_OFF=$HOT_OFF
EOF
cp "$HERE/init.sh" "$ROOT/init" && chmod 755 "$ROOT/init" || fail "init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet) >"$BUILD/initramfs.cpio" || fail "cpio failed"

# --- boot --------------------------------------------------------------------------------

vm_boot "$BUILD/initramfs.cpio" "$LOG" "$TIMEOUT" 768

# --- verdict -----------------------------------------------------------------------------

grep -E '^(ok|FAIL|PASS|lin|ttl|perm|warm|module|differs|HKV-)' "$LOG.txt" | grep -v '^HKV-BENCH-ROW' || true
grep '^HKV-BENCH-ROW ' "$LOG.txt" | cut -d' ' -f2- >"$BUILD/bench.txt"
if [ -s "$BUILD/bench.txt" ]; then
	# LABEL KIND MEDIAN P99 CACHE% ITERS; ratios against tmpfs and the kernel-cached mounts
	awk -v bench="$BENCH" '
	{ med[$1 " " $2] = $3; rows[n++] = $0 }
	END {
		printf "%-22s %-16s %10s %10s %7s %6s\n", "row", "kind", "median_us", "p99_us",
		       "cache%", "iters"
		for (i = 0; i < n; i++) {
			split(rows[i], f, " ")
			printf "%-22s %-16s %10s %10s %7s %6s\n", f[1], f[2], f[3], f[4], f[5], f[6]
		}
		k = "open+read+close"
		s = med["shim+module " k]
		if (s != "") {
			if (med["tmpfs " k] > 0)
				printf "ratio shim+module / tmpfs: %.2f (target <= 0.70)\n", s / med["tmpfs " k]
			if (med["hkvfs-cache=noopen " k] > 0)
				printf "ratio shim+module / hkvfs kernel-cached no-open: %.2f (target <= 0.50)\n", s / med["hkvfs-cache=noopen " k]
			if (med["hkvfs-cache=on " k] > 0)
				printf "ratio shim+module / hkvfs kernel-cached: %.2f\n", s / med["hkvfs-cache=on " k]
		}
		if (bench == "smoke")
			print "(smoke run: too few iterations for the numbers to mean anything)"
	}' "$BUILD/bench.txt" | tee "$BUILD/bench-table.txt"
fi
vm_judge "$LOG.txt" HKV-HOTPATH-RESULT "$TIMEOUT"
[ "$HOT" = 1 ] || skip "the daemon has no hot-path options (hot=): only the FUSE-only half ran"
exit 0
