# SPDX-License-Identifier: MIT
#
# vmlib.sh - shell functions shared by the scripts that test hkvfs in a VM (tests/vm/run-vm.sh,
# tests/hotpath/run-hotpath.sh): finding Debian's cloud kernel with matching headers and a
# static busybox, booting the kernel under QEMU (TCG) with an initramfs, and judging the
# serial log. Source it after setting VM_NAME (the script's name, for messages).
#
# The rules every caller gets: anything missing skips (exit 77) unless CI=true, where it
# fails; a run passes only on the init's own result line "<TAG>: PASS n/n" (carriage returns
# stripped, matched as a whole line) with no Oops, BUG, WARNING, Call Trace, sanitizer
# report, panic, stall or lockup in the log, and QEMU finishing within its timeout.

vm_skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "$VM_NAME: FAIL (CI=true): $*" >&2
		exit 1
	fi
	echo "$VM_NAME: SKIP: $*" >&2
	exit 77
}

vm_fail() {
	echo "$VM_NAME: FAIL: $*" >&2
	exit 1
}

# vm_find_kernel [SERIES]: set KVER, KDIR (kbuild dir) and KERNEL (/boot/vmlinuz-KVER) for a
# cloud kernel whose headers and image are both installed (a module built for another flavour
# is refused by it: "invalid module format"). SERIES (e.g. 6.1 or 6.12; default
# $HKV_VM_KERNEL, else any) picks kernels whose version starts with SERIES followed by '.'.
vm_find_kernel() {
	local d v series=${1:-${HKV_VM_KERNEL:-}}
	KVER=
	for d in /lib/modules/*-cloud-amd64/build /usr/src/linux-headers-*-cloud-amd64; do
		[ -e "$d/Makefile" ] || continue
		case "$d" in
		/lib/modules/*) v=${d#/lib/modules/}; v=${v%/build} ;;
		*) v=${d#/usr/src/linux-headers-} ;;
		esac
		case "$v" in
		"$series".*) ;;
		*) [ -z "$series" ] || continue ;;
		esac
		if [ -r "/boot/vmlinuz-$v" ]; then
			KVER=$v
			KDIR=$d
			break
		fi
	done
	[ -n "$KVER" ] || vm_skip "no linux-headers-${series:+$series.}*-cloud-amd64 with a matching readable /boot/vmlinuz-* (scripts/deps.sh installs the 6.1 and 6.12 cloud kernels)"
	KERNEL=/boot/vmlinuz-$KVER
}

# vm_find_tools: set QEMU and BUSYBOX (statically linked: the initramfs has no libc for it),
# and check cpio, gcc and timeout.
vm_find_tools() {
	local b t
	QEMU=$(command -v qemu-system-x86_64) || vm_skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	BUSYBOX=
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ] && ! LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'interpreter'; then
			BUSYBOX=$b
			break
		fi
	done
	[ -n "$BUSYBOX" ] || vm_skip "no statically linked busybox (apt-get install busybox-static)"
	for t in cpio gcc timeout; do
		command -v $t >/dev/null || vm_skip "$t not found"
	done
}

# vm_boot INITRAMFS LOG TIMEOUT MEM_MB: boot KERNEL with the initramfs under TCG (the software
# KVM of these machines cannot boot stock kernels; tsc=reliable keeps clock_gettime in the
# vDSO). Sets VM_RC (QEMU's exit status, 124/137 on timeout) and VM_SECONDS; writes LOG.txt
# with carriage returns stripped.
vm_boot() {
	local initrd=$1 log=$2 limit=$3 mem=$4 start end extra=
	# Debian 12's QEMU (7.2) mis-emulates the cmpxchg16b of SLUB's fast path as 6.12 issues
	# it: with it, 6.12 guests double-fault or corrupt memory within seconds of a fork/exec
	# load with no module loaded at all; without cx16 they run clean. 6.1 is unaffected.
	case "$KVER" in
	[0-5].*|6.[0-9].*|6.1[01].*) ;;
	*) extra=" clearcpuid=cx16" ;;
	esac
	echo "$VM_NAME: booting $KERNEL (TCG, 2 vCPUs, ${mem} MiB, timeout ${limit}s)"
	start=$(date +%s)
	timeout --foreground -k 5 "$limit" "$QEMU" \
		-accel tcg,thread=multi -cpu max -smp 2 -m "$mem" \
		-nodefaults -nographic -serial stdio -no-reboot \
		-kernel "$KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 tsc=reliable panic=-1 oops=panic rdinit=/init$extra" \
		</dev/null >"$log" 2>&1
	VM_RC=$?
	end=$(date +%s)
	VM_SECONDS=$((end - start))
	tr -d '\r' <"$log" >"$log.txt"
	echo "$VM_NAME: QEMU exited $VM_RC after ${VM_SECONDS}s; log: $log.txt"
}

# vm_judge LOG.txt TAG LIMIT: fail on a timeout, on any kernel problem in the log, or without
# the init's passing "TAG: PASS n/n" line; on success print the counts and return 0.
vm_judge() {
	local txt=$1 tag=$2 limit=$3 result counts passed total
	if [ "$VM_RC" = 124 ] || [ "$VM_RC" = 137 ]; then
		tail -50 "$txt" >&2
		vm_fail "VM timed out after ${limit}s"
	fi
	if grep -nE 'Oops|BUG:|WARNING:|Call Trace|KASAN|UBSAN|general protection fault|Kernel panic|RCU stall|rcu_sched self-detected|soft lockup|hung_task|refcount_t:' "$txt" >&2; then
		vm_fail "kernel reported a problem (see above)"
	fi
	result=$(grep -E "^$tag: " "$txt" | tail -1)
	case "$result" in
	"$tag: PASS "*)
		counts=${result#"$tag: PASS "}
		passed=${counts%/*}
		total=${counts#*/}
		if [ -n "$passed" ] && [ "$passed" = "$total" ] && [ "$total" -gt 0 ]; then
			echo "$VM_NAME: PASS $passed/$total in ${VM_SECONDS}s"
			return 0
		fi
		;;
	esac
	tail -80 "$txt" >&2
	vm_fail "no passing result line from the VM's init (got: '${result:-none}')"
}
