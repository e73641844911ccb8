#!/bin/bash
# Strings as regular files: write, read, overwrite, append, truncate, chmod, chown, touch,
# rename, unlink, statfs, the .hkv control files, and values surviving a remount.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m sh -c "printf hello > '$MNT/a'"
expect_eq "$(m cat "$MNT/a")" hello "read after write"
expect_eq "$(ctl get a)" hello "engine sees the file's value"
m sh -c "printf bye > '$MNT/a'"
expect_eq "$(m cat "$MNT/a")" bye "overwrite"
m sh -c "printf '+more' >> '$MNT/a'"
expect_eq "$(m cat "$MNT/a")" "bye+more" "append"
m truncate -s 3 "$MNT/a"
expect_eq "$(m cat "$MNT/a")" bye "truncate"
expect_eq "$(m stat -c %s "$MNT/a")" 3 "size"
m chmod 600 "$MNT/a"
expect_eq "$(m stat -c %a "$MNT/a")" 600 "chmod"
m chown 65534:65534 "$MNT/a"
expect_eq "$(m stat -c %u:%g "$MNT/a")" 65534:65534 "chown"
m touch -d @1000000000 "$MNT/a"
expect_eq "$(m stat -c %Y "$MNT/a")" 1000000000 "utimens"
m mv "$MNT/a" "$MNT/b"
expect_err "No such file" m cat "$MNT/a"
expect_eq "$(m cat "$MNT/b")" bye "rename keeps the value"
expect_eq "$(m stat -c %a:%u "$MNT/b")" 600:65534 "rename keeps the attributes"
m sh -c "printf other > '$MNT/c'"
m mv "$MNT/c" "$MNT/b"
expect_eq "$(m cat "$MNT/b")" other "rename replaces"
m rm "$MNT/b"
expect_err "No such file" m cat "$MNT/b"
expect_eq "$(ctl exists b)" 0 "deleted in the engine"
m df "$MNT" >/dev/null
m grep -q '^keys ' "$MNT/.hkv/stats" || fail ".hkv/stats"
m grep -q '^delimiter=/' "$MNT/.hkv/config" || fail ".hkv/config"
expect_err "Permission denied" m sh -c "echo x > '$MNT/.hkv/stats'"
# values survive a clean unmount
m sh -c "printf persist > '$MNT/p'"
hkv_umount
grep -q "store closed cleanly" "$LOG" || fail "no clean close logged"
hkv_mount
expect_eq "$(m cat "$MNT/p")" persist "after remount"
echo ok
