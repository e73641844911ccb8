#!/bin/bash
# The inode table under concurrent lookup, stat, read, rename (files, directories, hash keys)
# and unlink on a real mount, with control-socket changes making the kernel forget inodes
# meanwhile (hkvfs-inodes checks every result against its model). Kernel caching on, and off
# (every path walk then looks each component up in the daemon).
. "${HKVFS_TESTLIB:?run through ctest}"
T=120
hkv_setup
for mode in on off; do
	hkv_mount cache=$mode
	m "$HKVFS_INODES" "$MNT" "$DATA/hkvfs.sock" 2000 >/dev/null || fail "cache=$mode"
	hkv_umount
	rm -rf "$DATA"
done
echo ok
