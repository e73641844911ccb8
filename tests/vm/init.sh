#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# init.sh - PID 1 of the test VM (copied to /init of the initramfs by
# run-vm.sh).  Loads hkv.ko with the parameters each case needs, runs the
# cases of hkv_vm_test, load/unload cycles and, if asked, the benchmark and the
# trace (TRACE=1: run-vm.sh --trace), then
# prints exactly one line "HKV-VM-RESULT: PASS n/m" or "HKV-VM-RESULT: FAIL
# n/m" and powers the VM off.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
. /etc/hkv-vm.conf
PUT_BENCH_NOTE="16-byte keys and values, 4 untimed GET hits of random cached keys before each PUT"

KO=/lib/hkv/hkv.ko
pass=0
total=0

step() {
	name=$1
	shift
	total=$((total + 1))
	if "$@"; then
		pass=$((pass + 1))
		echo "ok $total $name"
	else
		echo "FAIL $total $name"
	fi
}

load() {
	insmod $KO "$@" && [ -c /dev/hkv ] &&
		[ "$(stat -c %a /dev/hkv)" = 666 ]
}

unload() {
	rmmod hkv && [ ! -e /dev/hkv ] && [ ! -e /sys/module/hkv ]
}

# bad_param WHAT ARGS...: the load must fail and name WHAT in the log.
bad_param() {
	what=$1
	shift
	if insmod $KO "$@" 2>/tmp/insmod.err; then
		rmmod hkv
		return 1
	fi
	grep -q 'Invalid argument' /tmp/insmod.err &&
		dmesg | grep -q "hkv: $what" && [ ! -e /sys/module/hkv ]
}

rmmod_while_open() {
	load || return 1
	exec 3</dev/hkv
	if rmmod hkv 2>/tmp/rmmod.err; then
		exec 3<&-
		return 1
	fi
	grep -q 'Resource temporarily unavailable' /tmp/rmmod.err || return 1
	exec 3<&-
	unload
}

param_is() {
	[ "$(cat /sys/module/hkv/parameters/$1)" = "$2" ]
}

kernel_log_clean() {
	! dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|KASAN|UBSAN|general protection|refcount_t:'
}

if [ "$RUN_TESTS" = 1 ]; then
	step "reject buckets=3" bad_param buckets buckets=3
	step "reject buckets=8" bad_param buckets buckets=8
	step "reject policy=mru" bad_param policy policy=mru
	step "reject max_items=0" bad_param max_items max_items=0
	step "reject max_bytes=100" bad_param max_bytes max_bytes=100
	step "reject max_value=0" bad_param max_value max_value=0
	step "reject max_value>max_bytes" bad_param max_value max_bytes=8192 max_value=9000
	step "reject max_tombstones=0" bad_param max_tombstones max_tombstones=0
	step "reject event_slots=1" bad_param event_slots event_slots=1

	step "load A" load max_items=8 max_bytes=65536 max_value=4096 \
		max_tombstones=4 policy=fifo
	step "params A" param_is max_items 8
	step "abi" hkv_vm_test abi
	step "perms" hkv_vm_test perms
	step "audit" hkv_vm_test audit
	step "expiry" hkv_vm_test expiry
	step "unload A" unload

	step "load B" load max_items=8 max_bytes=4096 max_value=2048 \
		event_slots=16 policy=lru buckets=16
	step "evict" hkv_vm_test evict
	step "skew" hkv_vm_test skew
	step "unload B" unload

	step "load C" load max_items=24
	step "defaults C" param_is buckets 4096
	step "stress" hkv_vm_test stress "$STRESS_SECONDS"
	step "bind" hkv_vm_test bind
	step "fuzz" hkv_vm_test fuzz
	step "hkvctl kernel" hkvctl-kernel.sh
	step "unload C" unload

	# busybox rmmod must refuse while the device is open.
	step "rmmod refused while open" rmmod_while_open
	for i in 1 2 3; do
		step "cycle $i load" load policy=lfu
		step "cycle $i busy+unload" hkv_vm_test busy
		step "cycle $i gone" [ ! -e /sys/module/hkv ]
	done
	step "unload race x$UNLOAD_CYCLES" hkv_vm_test unload-race $KO "$UNLOAD_CYCLES"
	step "gone after race" [ ! -e /sys/module/hkv ]
fi

if [ "$RUN_BENCH" = 1 ]; then
	step "bench load" load
	echo "HKV-BENCH-BEGIN"
	step "bench" hkv_vm_bench
	echo
	step "bench get" hkv_vm_bench get
	echo
	echo "PUT of a new key at the limit (each evicts one entry), $PUT_BENCH_NOTE"
	echo "| max_items | policy |     PUTs/s | median us |   p99 us |  fill s |"
	echo "|-----------|--------|------------|-----------|----------|---------|"
	echo "HKV-BENCH-END"
	step "bench unload" unload
	# Each size in its own load: max_items=N, a bucket per entry.
	for n in $PUT_BENCH_SIZES; do
		b=16
		while [ "$b" -lt "$n" ]; do b=$((b * 2)); done
		step "bench put load $n" load max_items=$n buckets=$b
		echo "HKV-BENCH-BEGIN"
		step "bench put $n" hkv_vm_bench put "$n"
		echo "HKV-BENCH-END"
		step "bench put unload $n" unload
	done
fi

# TRACE=1 (run-vm.sh --trace): where the time of the benchmark's operations
# goes.  ftrace function_graph of the system calls (depth TRACE_DEPTH), for
# each OP:READERS of TRACE_OPS run by "hkv_vm_bench getone"; per function:
# calls, median and p90 (us, tracing overhead included).  With
# /lib/hkv/hkv-base.ko (HKV_VM_BASE_KO), the latency benchmark and the trace
# run with that module too, in the same boot.
trace_one() {
	t=/sys/kernel/tracing
	echo 0 >$t/tracing_on
	echo >$t/trace
	echo 1 >$t/tracing_on
	hkv_vm_bench getone "$1" "$2" "$TRACE_ITERS" || return 1
	echo 0 >$t/tracing_on
	echo "HKV-TRACE $3 $1 readers=$2"
	awk -F'|' '
		/=>|<=|-----|CPU:/ { next }
		{
			d = $1; sub(/^ *[0-9]+\)/, "", d); gsub(/[-+!#*@$ ]/, "", d)
			if (d !~ /us$/) next
			sub(/us$/, "", d)
			f = $2
			if (f ~ /\/\*/) { sub(/.*\/\* */, "", f); sub(/ *\*\/.*/, "", f) }
			else { sub(/^ */, "", f); sub(/\(\).*/, "", f) }
			sub(/ \[hkv\]/, "", f)
			print f, d
		}' $t/trace | sort -k1,1 -k2,2n | awk '
		function flush() { if (n) printf "  %-32s %8d %8.3f %8.3f\n", f, n, v[int(n / 2)], v[int(n * 9 / 10)] }
		$1 != f { flush(); f = $1; n = 0 }
		{ v[n++] = $2 }
		END { flush() }'
}

trace_ops() {
	t=/sys/kernel/tracing
	[ -d $t/options ] || mount -t tracefs nodev $t || return 1
	echo 65536 >$t/buffer_size_kb
	echo "__x64_sys_ioctl __x64_sys_openat __x64_sys_read __x64_sys_close __fput" \
		>$t/set_graph_function || return 1
	echo "$TRACE_DEPTH" >$t/max_graph_depth
	echo 1 >$t/options/funcgraph-tail
	echo 0 >$t/options/funcgraph-irqs
	echo function_graph >$t/current_tracer || return 1
	for c in $TRACE_OPS; do
		trace_one "${c%:*}" "${c#*:}" "$1" || return 1
	done
	echo nop >$t/current_tracer
	echo 0 >$t/max_graph_depth
}

if [ "${TRACE:-0}" = 1 ]; then
	for ko in $KO /lib/hkv/hkv-base.ko; do
		[ -f "$ko" ] || continue
		kname=${ko##*/}
		step "trace load $kname" insmod $ko
		echo "HKV-BENCH-BEGIN"
		echo "module $kname"
		step "trace bench $kname" hkv_vm_bench
		step "trace $kname" trace_ops "$kname"
		echo "HKV-BENCH-END"
		step "trace unload $kname" unload
	done
fi

step "kernel log clean" kernel_log_clean

if [ "$pass" = "$total" ]; then
	echo "HKV-VM-RESULT: PASS $pass/$total"
else
	echo "HKV-VM-RESULT: FAIL $pass/$total"
fi
poweroff -f
