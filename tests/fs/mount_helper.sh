#!/bin/bash
# mount.hkvfs as mount(8) runs it: options validated (unknown/malformed = error + exit 1),
# fstab-only options dropped, no -f, and umount works. If the helper is installed in /sbin,
# `mount -t hkvfs` and an fstab line (mount --fstab) are exercised too.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
export PATH="$(dirname "$HKVFS"):$PATH"
expect_err "unknown mount option 'bogus'" "$MOUNT_HKVFS" "$DATA" "$MNT" -o bogus
expect_err "sync=sometimes" "$MOUNT_HKVFS" "$DATA" "$MNT" -o sync=sometimes
expect_err "compress_level=0" "$MOUNT_HKVFS" "$DATA" "$MNT" -o compress_level=0
expect_err "foreground" "$MOUNT_HKVFS" "$DATA" "$MNT" -o foreground
mounted && fail "a refused option mounted anyway"
# the daemon next to the helper is used; mount returns once the mount is usable
m "$MOUNT_HKVFS" "$DATA" "$MNT" -o defaults,noauto,_netdev,x-systemd.automount,rw,nofail,sync=always,cache=on,log=$LOG
mounted || fail "helper did not mount"
m sh -c "echo hi > '$MNT/x'"
grep -q '^sync=always' "$MNT/.hkv/config" || fail "option not applied"
m umount "$MNT"
poll 10 sh -c "! grep -q ' $MNT ' /proc/self/mountinfo" || fail "umount"
# the daemon exits cleanly on unmount
poll 10 grep -q "store closed cleanly" "$LOG" || fail "no clean shutdown"
if [ -x /sbin/mount.hkvfs ] && cmp -s /sbin/mount.hkvfs "$MOUNT_HKVFS"; then
	m mount -t hkvfs "$DATA" "$MNT" -o cache=off
	expect_eq "$(m cat "$MNT/x")" hi "mount -t hkvfs"
	m umount "$MNT"
	poll 10 sh -c "! grep -q ' $MNT ' /proc/self/mountinfo" || fail "umount"
	# no wait: a new daemon waits for the old one's shutdown by itself (fs/handover.c)
	echo "$DATA $MNT hkvfs defaults,noauto,sync=everysec 0 0" > "$WORK/fstab"
	m mount --fstab "$WORK/fstab" "$MNT"
	expect_eq "$(m cat "$MNT/x")" hi "fstab line"
	m umount "$MNT"
	poll 10 sh -c "! grep -q ' $MNT ' /proc/self/mountinfo" || fail "umount"
	# the last daemon's shutdown must end before the trap removes its store
	poll 30 flock -n "$DATA/LOCK" true || fail "the daemon did not release the store"
fi
echo ok
