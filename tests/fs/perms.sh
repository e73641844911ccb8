#!/bin/bash
# Permissions stored per key and enforced by the kernel (default_permissions) for uid 65534.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
command -v setpriv >/dev/null || skip "no setpriv"
hkv_mount allow_other
as_nobody() { m setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
m sh -c "echo secret > '$MNT/private'; echo public > '$MNT/public'"
m chmod 600 "$MNT/private"
m chmod 644 "$MNT/public"
expect_err "Permission denied" as_nobody cat "$MNT/private"
expect_eq "$(as_nobody cat "$MNT/public")" public "world-readable"
expect_err "Permission denied" as_nobody sh -c "echo x > '$MNT/public'"
m chown 65534 "$MNT/private"
expect_eq "$(as_nobody cat "$MNT/private")" secret "owner may read"
as_nobody sh -c "echo mine > '$MNT/private'"
expect_eq "$(m cat "$MNT/private")" mine "owner may write"
m mkdir "$MNT/ro"
m chmod 755 "$MNT/ro"
expect_err "Permission denied" as_nobody touch "$MNT/ro/new"
m mkdir "$MNT/open"
m chmod 777 "$MNT/open"
as_nobody sh -c "echo n > '$MNT/open/new'"
expect_eq "$(m stat -c %u "$MNT/open/new")" 65534 "new key owned by its creator"
echo ok
