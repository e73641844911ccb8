#!/bin/bash
# Escaping round trips through a real mount, with '/' and ':' delimiters.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m "$HKVFS_ESCAPE" "$MNT" "$DATA/hkvfs.sock"
hkv_umount
rm -rf "$DATA"
hkv_mount delimiter=:
ctl set user:1001:name Ada >/dev/null
expect_eq "$(m cat "$MNT/user/1001/name")" Ada "delimiter=:"
m sh -c "echo x > '$MNT/a%2Fb'"
expect_eq "$(ctl get a/b)" x "slash inside a component"
echo ok
