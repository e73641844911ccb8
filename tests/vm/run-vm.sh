#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh - build hkv.ko and the in-VM test programs, boot Debian's cloud
# kernel under QEMU (TCG) with a busybox initramfs, run the module tests (and
# optionally the benchmark) inside, and judge the serial log.
#
# Usage: run-vm.sh [--kernel SERIES] [--bench] [--bench-only] [--trace]
#                  [--build-dir DIR]
#
#   --kernel      the cloud kernel series to build for and boot, e.g. 6.1 or
#                 6.12 (default: $HKV_VM_KERNEL, else the first one installed)
#   --bench       also run hkv_vm_bench after the tests
#   --bench-only  boot, load the module and run only the benchmark
#   --trace       after the rest, ftrace function_graph of the benchmark's
#                 operations with one and two readers: per-function medians
#   --build-dir   where objects, the initramfs and the log go
#                 (default: $HKV_VM_BUILD_DIR or ./hkv-vm-build)
#
# Environment: HKV_VM_BUILD_DIR, HKV_VM_TIMEOUT (seconds, default 240),
# HKV_VM_STRESS_SECONDS (default 4), HKV_VM_UNLOAD_CYCLES (load/unload cycles
# racing snapshot closes, default 200), HKV_VM_PUT_SIZES (max_items of the
# PUT benchmark's rows, default "1000 100000 1000000"), HKV_VM_QEMU,
# HKV_VM_TRACE_DEPTH (--trace: function_graph depth below each system call,
# default 5), HKV_VM_TRACE_ITERS (operations per thread, default 5000),
# HKV_VM_TRACE_OPS (OP:READERS list, default "hit:1 hit:2 own:1 own:2 miss:1
# miss:2 orc:1 torc:1"), HKV_VM_BASE_KO (another build of hkv.ko for the same
# kernel: --trace also runs the latency benchmark and the trace with it).
#
# Exit: 0 pass, 1 fail, 77 skip (QEMU, the cloud kernel image or its headers,
# busybox-static or a static libc missing) - unless CI=true, where anything
# missing is a failure.
#
# The verdict needs all of: the init's own line "HKV-VM-RESULT: PASS n/n"
# (carriage returns stripped, matched as a whole line), no Oops, BUG,
# WARNING, Call Trace, KASAN, UBSAN, general protection fault or panic in the
# log, and QEMU finishing within the timeout.
set -u

SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${HKV_VM_BUILD_DIR:-$PWD/hkv-vm-build}
MODE=test
TRACE=0
TIMEOUT=${HKV_VM_TIMEOUT:-240}
STRESS_SECONDS=${HKV_VM_STRESS_SECONDS:-4}
UNLOAD_CYCLES=${HKV_VM_UNLOAD_CYCLES:-200}
PUT_BENCH_SIZES=${HKV_VM_PUT_SIZES:-1000 100000 1000000}

while [ $# -gt 0 ]; do
	case "$1" in
	--bench) MODE=test+bench ;;
	--bench-only) MODE=bench ;;
	--trace) TRACE=1 ;;
	--build-dir) BUILD=$2; shift ;;
	--kernel) HKV_VM_KERNEL=$2; shift ;;
	-h|--help) sed -n '3,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-vm.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

VM_NAME=run-vm.sh
. "$SRC_DIR/tests/vm/vmlib.sh"
skip() { vm_skip "$@"; }
fail() { vm_fail "$@"; }

# --- prerequisites -------------------------------------------------------

vm_find_kernel
vm_find_tools
echo 'int main(void){return 0;}' > /tmp/hkv-static-probe.$$.c
if ! gcc -static -pthread /tmp/hkv-static-probe.$$.c -o /tmp/hkv-static-probe.$$ 2>/dev/null; then
	rm -f /tmp/hkv-static-probe.$$*
	skip "gcc cannot link static binaries (apt-get install libc6-dev)"
fi
rm -f /tmp/hkv-static-probe.$$*

# --- build ---------------------------------------------------------------

mkdir -p "$BUILD" || fail "cannot create $BUILD"
BUILD=$(cd "$BUILD" && pwd)
LOG=$BUILD/vm.log
ROOT=$BUILD/initramfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,proc,sys,dev,tmp,lib/hkv,etc} || fail "mkdir"

echo "run-vm.sh: building hkv.ko for $KVER"
make -s -C "$SRC_DIR/kmod" KDIR="$KDIR" BUILD_DIR="$BUILD/kmod" >"$BUILD/kbuild.log" 2>&1 ||
	{ cat "$BUILD/kbuild.log" >&2; fail "kbuild failed"; }
if grep -q 'warning:' "$BUILD/kbuild.log"; then
	cat "$BUILD/kbuild.log" >&2
	fail "kbuild warnings"
fi
cp "$BUILD/kmod/hkv.ko" "$ROOT/lib/hkv/" || fail "no hkv.ko"
if [ "$TRACE" = 1 ] && [ -n "${HKV_VM_BASE_KO:-}" ]; then
	cp "$HKV_VM_BASE_KO" "$ROOT/lib/hkv/hkv-base.ko" || fail "no $HKV_VM_BASE_KO"
fi

CFLAGS="-static -O2 -g0 -Wall -Wextra -Werror -pthread -I$SRC_DIR/kmod/include/uapi"
for p in hkv_vm_test hkv_vm_bench; do
	gcc $CFLAGS "$SRC_DIR/tests/vm/$p.c" -o "$ROOT/bin/$p" -lm ||
		fail "cannot build $p"
done
gcc $CFLAGS -I"$SRC_DIR/tools/hkvctl" "$SRC_DIR/tests/vm/hkvctl_kernel_main.c" \
	"$SRC_DIR/tools/hkvctl/kernel.c" -o "$ROOT/bin/hkvctl-kernel" ||
	fail "cannot build hkvctl-kernel"
cp "$SRC_DIR/tests/vm/hkvctl-kernel.sh" "$ROOT/bin/hkvctl-kernel.sh" &&
	chmod 755 "$ROOT/bin/hkvctl-kernel.sh" || fail "hkvctl-kernel.sh"
cp "$BUSYBOX" "$ROOT/bin/busybox"

case "$MODE" in
test) RUN_TESTS=1; RUN_BENCH=0 ;;
test+bench) RUN_TESTS=1; RUN_BENCH=1 ;;
bench) RUN_TESTS=0; RUN_BENCH=1 ;;
esac
cat >"$ROOT/etc/hkv-vm.conf" <<EOF
RUN_TESTS=$RUN_TESTS
RUN_BENCH=$RUN_BENCH
STRESS_SECONDS=$STRESS_SECONDS
UNLOAD_CYCLES=$UNLOAD_CYCLES
PUT_BENCH_SIZES="$PUT_BENCH_SIZES"
TRACE=$TRACE
TRACE_DEPTH=${HKV_VM_TRACE_DEPTH:-5}
TRACE_ITERS=${HKV_VM_TRACE_ITERS:-5000}
TRACE_OPS="${HKV_VM_TRACE_OPS:-hit:1 hit:2 own:1 own:2 miss:1 miss:2 orc:1 torc:1}"
EOF
cp "$SRC_DIR/tests/vm/init.sh" "$ROOT/init" && chmod 755 "$ROOT/init" || fail "init"

(cd "$ROOT" && find . | cpio -o -H newc --quiet) >"$BUILD/initramfs.cpio" ||
	fail "cpio failed"

# --- boot ----------------------------------------------------------------

# The PUT benchmark holds up to a million entries: give it room.
MEM=512
[ "$RUN_BENCH" = 1 ] && MEM=2048
[ "$TRACE" = 1 ] && MEM=2048
vm_boot "$BUILD/initramfs.cpio" "$LOG" "$TIMEOUT" "$MEM"

# --- verdict -------------------------------------------------------------

grep -E '^(ok|FAIL|CHECK FAILED|bench|stress|zipf|HKV-)' "$LOG.txt" || true
sed -n '/^HKV-BENCH-BEGIN$/,/^HKV-BENCH-END$/p' "$LOG.txt" | grep -v -E '^(HKV-BENCH|ok |FAIL |\[ *[0-9]+\.[0-9]+\])' >"$BUILD/bench.txt"
vm_judge "$LOG.txt" HKV-VM-RESULT "$TIMEOUT"
[ -s "$BUILD/bench.txt" ] && cat "$BUILD/bench.txt"
exit 0
