#!/bin/bash
# fsync(2) of a directory makes the creates, unlinks and renames in it durable under every
# sync policy: FSYNCDIR is implemented (not ENOSYS, which the kernel takes as success) and
# flushes the store.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
stat_of() { m awk -v k="$1" '$1 == k { print $2 }' "$MNT/.hkv/stats"; }
for sync in none everysec always; do
	hkv_mount "sync=$sync"
	before=$(stat_of syncs)
	m python3 - "$MNT" <<'PY'
import os, sys
mnt = sys.argv[1]
os.makedirs(mnt + "/d", exist_ok=True)
open(mnt + "/d/a", "w").write("x")
os.rename(mnt + "/d/a", mnt + "/d/b")
fd = os.open(mnt + "/d", os.O_RDONLY | os.O_DIRECTORY)
os.fsync(fd)
os.fsync(fd)
os.close(fd)
PY
	expect_eq "$(stat_of fs_fsyncdirs)" 2 "sync=$sync: FSYNCDIR requests"
	after=$(stat_of syncs)
	[ "$after" -ge $((before + 2)) ] || fail "sync=$sync: store syncs $before -> $after"
	hkv_umount
done
echo ok
