#!/bin/bash
# Lookups, creates and commits racing renames of their directory (and of a hash key): no
# stale or negative entry left under the new name, no create or commit lost or landed on the
# old name (hkvfs-renamerace checks every result). Kernel caching on, and off.
. "${HKVFS_TESTLIB:?run through ctest}"
T=300
hkv_setup
for mode in on off; do
	hkv_mount cache=$mode
	m "$HKVFS_RENAMERACE" "$MNT" 1500 >/dev/null || fail "cache=$mode"
	hkv_umount
	rm -rf "$DATA"
done
echo ok
