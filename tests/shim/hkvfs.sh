#!/bin/bash
# The shim on a real hkvfs mount of a host without /dev/hkv: it recognises the mount, reads
# its .hkv/config, finds no kernel cache and falls through, so every program behaves exactly
# as without it - also across chroot, unshare and setns made in the process. Runs with
# kernel caching on (the default) and off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cases.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "${HKVFS:-}" ] || skip "no hkvfs daemon"
[ -c /dev/fuse ] || skip "no /dev/fuse"
( exec 3<>/dev/fuse ) 2>/dev/null || skip "/dev/fuse unusable"
command -v fusermount3 >/dev/null || skip "no fusermount3"
[ ! -e /dev/hkv ] || skip "/dev/hkv exists (the fall-through is tested without it)"

shim_setup /tmp
MNT=$WORK/mnt
DATA=$WORK/data
mkdir -p "$MNT"
populate "$WORK/ref"

mounted() { grep -q " $MNT [^ ]* .*- fuse.hkvfs " /proc/self/mountinfo; }

mount_hkvfs() {
	local deadline=$((SECONDS + T))
	"$HKVFS" "$DATA" "$MNT" -f -o "log=$WORK/hkvfs.log,loglevel=debug,allow_other$1" &
	PID=$!
	until mounted; do
		kill -0 "$PID" 2>/dev/null || fail "daemon exited during mount"
		[ $SECONDS -lt $deadline ] || fail "mount did not appear"
		sleep 0.05
	done
}

umount_hkvfs() {
	local rc=0
	timeout "$T" fusermount3 -u "$MNT" || fail "unmount failed"
	wait "$PID" || rc=$?
	PID=
	[ "$rc" = 0 ] || fail "daemon exited with $rc"
}

for opts in "" ",cache=off"; do
	mount_hkvfs "$opts"
	timeout "$T" bash -c "$(declare -f populate); PROBE=$PROBE; populate '$MNT'"
	shim_cases "$MNT" "$WORK/ref"

	# the shim did look at this mount: it read .hkv/config, and asked for /dev/hkv when the
	# mount names its cache namespace
	timeout "$T" strace -f -e trace=open,openat -o "$OUT/strace" \
		env LD_PRELOAD="$SHIM" cat "$MNT/k64" >/dev/null
	grep -q "$MNT/.hkv/config" "$OUT/strace" || fail "the shim did not read .hkv/config"
	if timeout "$T" grep -q '^ns=' "$MNT/.hkv/config"; then
		grep -q '"/dev/hkv".*ENOENT' "$OUT/strace" || fail "the shim did not try /dev/hkv"
	else
		echo "note: .hkv/config names no ns: the daemon has no hot path yet"
	fi
	# root and mount namespace changes in a process (the shim's chroot, unshare and setns
	# wrappers re-read its mount table): the same reads as without it
	mkdir -p "$WORK/chr$MNT" && echo "under another root" >"$WORK/chr$MNT/k64"
	same "chroot" / "$PROBE" nscase "chroot:$WORK/chr" "$MNT" "$MNT/k64"
	same "unshare" / "$PROBE" nscase unshare "$MNT" "$MNT/k64"
	same "setns" / "$PROBE" nscase setns "$MNT" "$MNT/k64"
	grep -q '^after: fnv=' "$OUT/b.out" || fail "setns: no second read"
	timeout "$T" rm -rf "${MNT:?}"/*
	umount_hkvfs
done
echo "ok: $NCASES comparisons"
