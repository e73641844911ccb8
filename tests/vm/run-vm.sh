#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh - build hkv.ko and the in-VM test programs, boot Debian's cloud
# kernel under QEMU (TCG) with a busybox initramfs, run the module tests (and
# optionally the benchmark) inside, and judge the serial log.
#
# Usage: run-vm.sh [--bench] [--bench-only] [--build-dir DIR] [--keep-log FILE]
#
#   --bench       also run hkv_vm_bench after the tests
#   --bench-only  boot, load the module and run only the benchmark
#   --build-dir   where objects, the initramfs and the log go
#                 (default: $HKV_VM_BUILD_DIR or ./hkv-vm-build)
#
# Environment: HKV_VM_BUILD_DIR, HKV_VM_TIMEOUT (seconds, default 240),
# HKV_VM_STRESS_SECONDS (default 4), HKV_VM_QEMU (the QEMU binary).
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
TIMEOUT=${HKV_VM_TIMEOUT:-240}
STRESS_SECONDS=${HKV_VM_STRESS_SECONDS:-4}

while [ $# -gt 0 ]; do
	case "$1" in
	--bench) MODE=test+bench ;;
	--bench-only) MODE=bench ;;
	--build-dir) BUILD=$2; shift ;;
	-h|--help) sed -n '3,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-vm.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "run-vm.sh: FAIL (CI=true): $*" >&2
		exit 1
	fi
	echo "run-vm.sh: SKIP: $*" >&2
	exit 77
}

fail() {
	echo "run-vm.sh: FAIL: $*" >&2
	exit 1
}

# --- prerequisites -------------------------------------------------------

KVER=
for d in /lib/modules/*-cloud-amd64/build /usr/src/linux-headers-*-cloud-amd64; do
	[ -e "$d/Makefile" ] || continue
	case "$d" in
	/lib/modules/*) v=${d#/lib/modules/}; v=${v%/build} ;;
	*) v=${d#/usr/src/linux-headers-} ;;
	esac
	if [ -r "/boot/vmlinuz-$v" ]; then
		KVER=$v
		KDIR=$d
		break
	fi
done
[ -n "$KVER" ] || skip "no linux-headers-*-cloud-amd64 with a matching readable /boot/vmlinuz-* (apt-get install linux-image-cloud-amd64 linux-headers-cloud-amd64)"
KERNEL=/boot/vmlinuz-$KVER

QEMU=$(command -v "${HKV_VM_QEMU:-qemu-system-x86_64}") ||
	skip "${HKV_VM_QEMU:-qemu-system-x86_64} not found (apt-get install qemu-system-x86)"
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'interpreter'; then
		BUSYBOX=$b
		break
	fi
done
[ -n "$BUSYBOX" ] || skip "no statically linked busybox (apt-get install busybox-static)"
command -v cpio >/dev/null || skip "cpio not found (apt-get install cpio)"
command -v gcc >/dev/null || skip "gcc not found"
command -v timeout >/dev/null || skip "timeout not found"
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
EOF
cp "$SRC_DIR/tests/vm/init.sh" "$ROOT/init" && chmod 755 "$ROOT/init" || fail "init"

(cd "$ROOT" && find . | cpio -o -H newc --quiet) >"$BUILD/initramfs.cpio" ||
	fail "cpio failed"

# --- boot ----------------------------------------------------------------

echo "run-vm.sh: booting $KERNEL (TCG, 2 vCPUs, timeout ${TIMEOUT}s)"
start=$(date +%s)
timeout --foreground -k 5 "$TIMEOUT" "$QEMU" \
	-accel tcg,thread=multi -cpu max -smp 2 -m 512 \
	-nodefaults -nographic -serial stdio -no-reboot \
	-kernel "$KERNEL" -initrd "$BUILD/initramfs.cpio" \
	-append "console=ttyS0 tsc=reliable panic=-1 oops=panic rdinit=/init" \
	</dev/null >"$LOG" 2>&1
qrc=$?
end=$(date +%s)
tr -d '\r' <"$LOG" >"$LOG.txt"
echo "run-vm.sh: QEMU exited $qrc after $((end - start))s; log: $LOG.txt"

# --- verdict -------------------------------------------------------------

grep -E '^(ok|FAIL|CHECK FAILED|bench|stress|zipf|HKV-)' "$LOG.txt" || true
sed -n '/^HKV-BENCH-BEGIN$/,/^HKV-BENCH-END$/p' "$LOG.txt" | grep -v -E '^(HKV-BENCH|ok |FAIL |\[ *[0-9]+\.[0-9]+\])' >"$BUILD/bench.txt"
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	tail -50 "$LOG.txt" >&2
	fail "VM timed out after ${TIMEOUT}s"
fi
if grep -nE 'Oops|BUG:|WARNING:|Call Trace|KASAN|UBSAN|general protection fault|Kernel panic|RCU stall|rcu_sched self-detected|soft lockup|hung_task|refcount_t:' "$LOG.txt" >&2; then
	fail "kernel reported a problem (see above)"
fi
result=$(grep -E '^HKV-VM-RESULT: ' "$LOG.txt" | tail -1)
case "$result" in
"HKV-VM-RESULT: PASS "*)
	counts=${result#HKV-VM-RESULT: PASS }
	passed=${counts%/*}
	total=${counts#*/}
	if [ -n "$passed" ] && [ "$passed" = "$total" ] && [ "$total" -gt 0 ]; then
		[ -s "$BUILD/bench.txt" ] && cat "$BUILD/bench.txt"
		echo "run-vm.sh: PASS $passed/$total in $((end - start))s"
		exit 0
	fi
	;;
esac
tail -80 "$LOG.txt" >&2
fail "no passing result line from the VM's init (got: '${result:-none}')"
