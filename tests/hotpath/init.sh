#!/bin/busybox sh
# SPDX-License-Identifier: MIT
#
# init.sh - PID 1 of the hot-path test VM (copied to /init by run-hotpath.sh).
#
# FUSE, the kernel module and the preload shim together: hkvfs (dynamically linked, with its
# libraries in the initramfs) mounts a store on /tmp; the tests run dynamically linked
# programs with and without LD_PRELOAD=libhkv-preload.so.
#
#   1. without hkv.ko: every program's output is identical with and without the shim, and
#      the linearizability run passes with every read going through FUSE;
#   2. with hkv.ko: the same outputs (stat calls of open descriptors included) while the keys
#      are served by the kernel cache, mount changes under a served process (tmpfs over and
#      inside the mount, a stacked hkvfs, chroot, unshare, setns), the linearizability run
#      with reads served by the cache, permissions (a directory's chmod, O_NOATIME), expiry,
#      and the namespace is cleared when the daemon unmounts;
#   3. optionally the benchmark (rows HKV-BENCH-ROW between HKV-BENCH-BEGIN/END).
#
# Prints exactly one line "HKV-HOTPATH-RESULT: PASS n/m" (or FAIL) and powers off.

/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /mnt/hkv /tmp/out
. /etc/hkv-hotpath.conf

SHIM=/usr/lib/hkv/libhkv-preload.so
MNT=/mnt/hkv
DATA=/tmp/data
LOG=/tmp/hkvfs.log
T=30
PID=
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

load_fuse() {
	if ! grep -qw fuse /proc/filesystems; then
		insmod /lib/modules/fuse.ko || return 1
	fi
	grep -qw fuse /proc/filesystems && [ -c /dev/fuse ]
}

mounted() { grep -q " $MNT [^ ]* .*- fuse.hkvfs " /proc/self/mountinfo; }

# mount_hkvfs OPTS [CPU]: start the daemon in the foreground as a background job.
mount_hkvfs() {
	opts="allow_other,log=$LOG,loglevel=info${1:+,$1}"
	if [ -n "${2:-}" ]; then
		taskset -c "$2" hkvfs "$DATA" "$MNT" -f -o "$opts" &
	else
		hkvfs "$DATA" "$MNT" -f -o "$opts" &
	fi
	PID=$!
	i=0
	until mounted; do
		kill -0 "$PID" 2>/dev/null || { echo "daemon exited"; tail -5 $LOG; return 1; }
		i=$((i + 1))
		[ $i -lt 400 ] || { echo "mount did not appear"; return 1; }
		sleep 0.05
	done
}

umount_hkvfs() {
	timeout $T umount "$MNT" || return 1
	wait "$PID"
	rc=$?
	PID=
	[ "$rc" = 0 ] || { echo "daemon exited with $rc"; tail -5 $LOG; return 1; }
}

# same NAME CMD...: stdout, stderr and exit status identical without and with the shim.
same() {
	n=$1
	shift
	timeout $T "$@" >/tmp/out/a.out 2>/tmp/out/a.err </dev/null
	ra=$?
	LD_PRELOAD=$SHIM timeout $T "$@" >/tmp/out/b.out 2>/tmp/out/b.err </dev/null
	rb=$?
	if ! cmp -s /tmp/out/a.out /tmp/out/b.out || ! cmp -s /tmp/out/a.err /tmp/out/b.err ||
	   [ "$ra" != "$rb" ]; then
		echo "differs with the shim: $n (exit $ra vs $rb)"
		head -c 300 /tmp/out/a.out /tmp/out/a.err /tmp/out/b.out /tmp/out/b.err
		return 1
	fi
}

KEYS="cmp-one cmp-k64 cmp-text cmp-bin cmp-empty cmp-dir/in"

make_keys() {
	mkdir -p $MNT/cmp-dir &&
	echo "a key in a directory" >$MNT/cmp-dir/in &&
	printf x >$MNT/cmp-one &&
	printf '%063d\n' 7 >$MNT/cmp-k64 &&
	seq 1 200 | sed 's/^/line /' >$MNT/cmp-text &&
	shim-probe gen 3 3000 >$MNT/cmp-bin &&
	: >$MNT/cmp-empty
}

compare_outputs() {
	for k in $KEYS; do
		same "cat $k" /usr/bin/cat $MNT/$k || return 1
		same "head -c 10 $k" /usr/bin/head -c 10 $MNT/$k || return 1
		same "fstat $k" shim-probe fstat $MNT/$k || return 1
		same "fgets $k" shim-probe fgets $MNT/$k || return 1
		same "flags $k" shim-probe flags $MNT/$k || return 1
		same "mmap $k" shim-probe mmap $MNT/$k || return 1
		# everything stat says about an open descriptor, and what python3 sees
		same "statall $k" shim-probe statall $MNT/$k || return 1
		same "fstatid $k" shim-probe fstatid $MNT/$k || return 1
		same "stat $k" /usr/bin/stat $MNT/$k || return 1
		same "stat -f $k" /usr/bin/stat -f $MNT/$k || return 1
		same "python3 os.fstat $k" /usr/bin/python3 -I -S -c "$PY_FSTAT" $MNT/$k || return 1
		same "redirect $k" sh -c "exec /usr/bin/cat <$MNT/$k" || return 1
		same "relative $k" sh -c "cd $MNT && exec /usr/bin/cat $k" || return 1
	done
	same "cat missing" /usr/bin/cat $MNT/missing || return 1
	same "errnos" shim-probe err $MNT/missing $MNT/cmp-k64 $MNT/cmp-k64/x || return 1
	same "threads+fork" shim-probe mt 3 4 $MNT/cmp-k64 $MNT/cmp-bin $MNT/missing || return 1
	same "opens in a signal handler" shim-probe sigopen $MNT/cmp-k64 300 || return 1
	# the content itself is right
	[ "$(/usr/bin/cat $MNT/cmp-k64)" = "$(printf '%063d' 7)" ] || return 1
	LD_PRELOAD=$SHIM /usr/bin/cat $MNT/cmp-text | cmp -s - /tmp/out/text.ref
}

PY_FSTAT='import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
st = os.fstat(fd)
print(st, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
v = os.fstatvfs(fd)
print(v.f_bsize, v.f_frsize, v.f_flag, v.f_namemax, v.f_fsid)
print(len(os.read(fd, 1 << 20)))'

# served_same NAME CMD...: as same, and the shim's run was served by the kernel cache
served_same() {
	h0=$(hotpath-test hits)
	same "$@" || return 1
	h1=$(hotpath-test hits)
	[ "$h1" -gt "$h0" ] || { echo "$1: nothing served by the kernel cache"; return 1; }
}

# fifo_read FIFO PID, fifo_write FIFO PID: the shell's open of a fifo can fail with EINTR
# (a child's SIGCHLD); retry while the process at the other end lives.
fifo_read() {
	until read x <"$1"; do
		kill -0 "$2" 2>/dev/null || { echo "the reader of $1 died"; return 1; }
	done
}
fifo_write() {
	until echo go >"$1"; do
		kill -0 "$2" 2>/dev/null || { echo "the reader of $1 died"; return 1; }
	done
}

# mount_change NAME FILE DO UNDO: a process reads FILE (served, with the shim), then DO
# changes the mounts under it and the process reads FILE again: both runs must read the
# same, and the shim's first read must come from the kernel cache. UNDO restores.
mount_change() {
	n=$1 f=$2 do=$3 undo=$4
	for mode in plain shim; do
		rm -f /tmp/ready /tmp/go
		mkfifo /tmp/ready /tmp/go || return 1
		pre=
		[ $mode = shim ] && pre="LD_PRELOAD=$SHIM"
		h0=$(hotpath-test hits)
		env $pre shim-probe waitread "$f" /tmp/ready /tmp/go >/tmp/out/mc.$mode 2>&1 &
		p=$!
		fifo_read /tmp/ready $p || return 1
		h1=$(hotpath-test hits)
		eval "$do" || { echo "$n: $do failed"; kill $p; return 1; }
		fifo_write /tmp/go $p || return 1
		wait $p
		eval "$undo" || { echo "$n: $undo failed"; return 1; }
		if [ $mode = shim ] && [ "$h1" -le "$h0" ]; then
			echo "$n: the first read was not served by the kernel cache"
			return 1
		fi
	done
	cmp -s /tmp/out/mc.plain /tmp/out/mc.shim || {
		echo "differs with the shim: $n"; cat /tmp/out/mc.plain /tmp/out/mc.shim; return 1; }
	grep -q '^after: fnv=' /tmp/out/mc.plain || { cat /tmp/out/mc.plain; return 1; }
}

DATA2=/tmp/data2
PID2=
stack_hkvfs() {
	mkdir -p $DATA2
	hkvfs "$DATA2" "$MNT" -f -o "allow_other,log=/tmp/hkvfs2.log,$HOT_OPTS" &
	PID2=$!
	i=0
	until [ "$(grep -c " $MNT [^ ]* .*- fuse.hkvfs " /proc/self/mountinfo)" = 2 ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || return 1
		sleep 0.05
	done
	echo "the stacked mount" >$MNT/cmp-k64
}
unstack_hkvfs() {
	timeout $T umount "$MNT" && wait $PID2
}

# The mount table is never stale: one case per step (each fails with a table refreshed only
# by time, as the shim's once was)
mc_over() {
	mount_change "tmpfs over the mount" $MNT/cmp-k64 \
		"mount -t tmpfs tmpfs $MNT && echo over >$MNT/cmp-k64" "umount $MNT"
}
mc_inside() {
	mount_change "tmpfs inside the mount" $MNT/cmp-dir/in \
		"mount -t tmpfs tmpfs $MNT/cmp-dir && echo inside >$MNT/cmp-dir/in" \
		"umount $MNT/cmp-dir"
}
mc_stack() {
	mount_change "hkvfs stacked on the mount" $MNT/cmp-k64 stack_hkvfs unstack_hkvfs
}
mc_ns() {
	served_same "$1" shim-probe nscase "$2" $MNT $MNT/cmp-k64 &&
	grep -q "^after: fnv=" /tmp/out/b.out
}

# mc_ns_pathcheck: mc_ns with the shim asking the module to walk each served path
mc_ns_pathcheck() {
	HKV_PRELOAD_PATHCHECK=1 && export HKV_PRELOAD_PATHCHECK
	mc_ns "$@"
	rc=$?
	unset HKV_PRELOAD_PATHCHECK
	return $rc
}

# compare_served: the shim's runs above were answered by the kernel cache
compare_served() {
	h0=$(hotpath-test hits)
	compare_outputs || return 1
	h1=$(hotpath-test hits)
	echo "module hits during the comparison: $((h1 - h0))"
	[ "$h1" -gt "$h0" ]
}

kernel_log_clean() {
	! dmesg | grep -E 'Oops|BUG:|WARNING:|Call Trace|KASAN|UBSAN|general protection|refcount_t:'
}

seq 1 200 | sed 's/^/line /' >/tmp/out/text.ref

step "fuse available" load_fuse

# The linearizability runs use cache=off: with kernel page caching (cache=on) the FUSE path
# itself can return an older value or an empty file to a reader racing a writer (see
# docs/hot-path.md); LIN_CACHE_ON=1 runs it there too.
lin_modes=off
[ "${LIN_CACHE_ON:-0}" = 1 ] && lin_modes="off on"

if [ "$RUN_TESTS" = 1 ]; then
	# 1. no module: the shim must fall through everywhere
	step "mount (no module)" mount_hkvfs "$HOT_OPTS"
	step "keys" make_keys
	step "outputs equal (no module)" compare_outputs
	step "unmount (no module)" umount_hkvfs
	for c in $lin_modes; do
		step "mount cache=$c (no module)" mount_hkvfs "cache=$c${HOT_OPTS:+,$HOT_OPTS}"
		step "lin cache=$c (no module)" \
			env LD_PRELOAD=$SHIM hotpath-test lin $MNT 2 8 2 4 fuse
		step "unmount cache=$c (no module)" umount_hkvfs
	done

	# 2. the module: the same, served by the kernel cache
	step "load hkv.ko" insmod /lib/hkv/hkv.ko
	step "mount" mount_hkvfs "$HOT_OPTS"
	if [ "$HOT" = 1 ]; then
		step ".hkv/config names the namespace" grep -q '^ns=0x' $MNT/.hkv/config
		W=
		for k in $KEYS; do W="$W $MNT/$k"; done
		step "keys reach the kernel cache" env LD_PRELOAD=$SHIM hotpath-test warm $MNT 20 $W
		step ".hkv/hot says yes" grep -q "	yes	" $MNT/.hkv/hot
		step "outputs equal (kernel cache)" compare_served
		mkdir -p /tmp/chr$MNT && echo "under another root" >/tmp/chr$MNT/cmp-k64
		step "mount table: tmpfs over the mount" mc_over
		step "mount table: tmpfs inside the mount" mc_inside
		step "mount table: hkvfs stacked on the mount" mc_stack
		step "mount table: chroot" mc_ns chroot chroot:/tmp/chr
		step "mount table: unshare" mc_ns unshare unshare
		step "mount table: setns" mc_ns setns setns
		# raw system calls: the shim's table stays stale and mountinfo (of the old root and
		# namespace) says nothing; the module's path check (HKV_PRELOAD_PATHCHECK=1) decides
		step "mount table: raw chroot (path check)" mc_ns_pathcheck rawchroot \
			rawchroot:/tmp/chr
		step "mount table: raw unshare (path check)" mc_ns_pathcheck rawunshare rawunshare
		step "keys still cached" env LD_PRELOAD=$SHIM hotpath-test warm $MNT 20 $W
		step "permissions" env LD_PRELOAD=$SHIM hotpath-test perm $MNT
		step "directory chmod reaches the cache" env LD_PRELOAD=$SHIM hotpath-test dirperm $MNT
		step "O_NOATIME as a non-owner" env LD_PRELOAD=$SHIM hotpath-test noatime $MNT
		step "expiry" env LD_PRELOAD=$SHIM hotpath-test ttl $MNT
		step "unmount" umount_hkvfs
		step "namespace cleared at unmount" [ "$(hotpath-test items)" = 0 ]
		for c in $lin_modes; do
			step "mount cache=$c" mount_hkvfs "cache=$c,$HOT_OPTS"
			step "lin cache=$c (kernel cache)" \
				env LD_PRELOAD=$SHIM hotpath-test lin $MNT "$LIN_SECS" 8 2 4 cache
			step "unmount cache=$c" umount_hkvfs
		done
	else
		step "outputs equal (module, no hot path)" compare_outputs
		step "unmount" umount_hkvfs
	fi
	[ -n "$PID" ] && { kill "$PID"; umount -l $MNT; PID=; }
fi

if [ "$BENCH" != none ]; then
	lsmod | grep -q '^hkv ' || insmod /lib/hkv/hkv.ko
	N=16
	echo "HKV-BENCH-BEGIN"
	mkdir -p /tmp/tmpfsb
	step "bench tmpfs" timeout 120 sh -c "hotpath-bench setup /tmp/tmpfsb $N &&
		taskset -c 0 hotpath-bench ops tmpfs /tmp/tmpfsb $N $ITERS &&
		LD_PRELOAD=$SHIM taskset -c 0 hotpath-bench ops tmpfs+shim /tmp/tmpfsb $N $ITERS &&
		taskset -c 0 hotpath-bench cat tmpfs /usr/bin/cat /tmp/tmpfsb $N $CAT_ITERS &&
		LD_PRELOAD=$SHIM taskset -c 0 hotpath-bench cat tmpfs+shim /usr/bin/cat /tmp/tmpfsb $N $CAT_ITERS"
	# the keys are written once, with cache=on (writes with cache=noopen are not for this)
	for mode in on off noopen; do
		step "bench mount cache=$mode" mount_hkvfs "cache=$mode$HOT_OFF" 0
		[ $mode = on ] && step "bench keys" hotpath-bench setup $MNT $N
		step "bench hkvfs cache=$mode" timeout 120 sh -c "
			taskset -c 0 hotpath-bench ops hkvfs-cache=$mode $MNT $N $ITERS &&
			taskset -c 0 hotpath-bench cat hkvfs-cache=$mode /usr/bin/cat $MNT $N $CAT_ITERS"
		step "bench unmount cache=$mode" umount_hkvfs
	done
	if [ "$HOT" = 1 ]; then
		step "bench mount hot" mount_hkvfs "cache=on,$HOT_OPTS" 0
		W=
		for i in $(seq 0 $((N - 1))); do W="$W $MNT/b-$(printf %02d $i)"; done
		step "bench hkvfs+shim+module" timeout 120 sh -c "
			LD_PRELOAD=$SHIM hotpath-test warm $MNT 20 $W &&
			grep -E '^fs_(lookups|getattrs) ' $MNT/.hkv/stats &&
			LD_PRELOAD=$SHIM taskset -c 0 hotpath-bench ops shim+module $MNT $N $ITERS &&
			grep -E '^fs_(lookups|getattrs) ' $MNT/.hkv/stats &&
			taskset -c 0 hotpath-bench kopen module-ioctl $MNT $N $ITERS &&
			taskset -c 0 hotpath-bench kopenpath module-ioctl+path $MNT $N $ITERS &&
			taskset -c 0 hotpath-bench ops tmpfs-again /tmp/tmpfsb $N $ITERS &&
			LD_PRELOAD=$SHIM taskset -c 0 hotpath-bench cat shim+module /usr/bin/cat $MNT $N $CAT_ITERS"
		step "bench unmount hot" umount_hkvfs
	fi
	echo "HKV-BENCH-END"
fi

step "kernel log clean" kernel_log_clean

if [ "$pass" != "$total" ] && [ -s $LOG ]; then
	echo "--- daemon log (tail)"
	tail -20 $LOG
fi
if [ "$pass" = "$total" ]; then
	echo "HKV-HOTPATH-RESULT: PASS $pass/$total"
else
	echo "HKV-HOTPATH-RESULT: FAIL $pass/$total"
fi
poweroff -f
