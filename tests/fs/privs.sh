#!/bin/bash
# SUID and SGID as on a local filesystem: a write by a user other than root clears SUID, and
# SGID when group-execute is set; root's write keeps them; chown clears them.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount allow_other
nobody() { m setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
m sh -c "echo x > '$MNT/f'"
m chmod 06777 "$MNT/f"
m sh -c "echo root >> '$MNT/f'"
expect_eq "$(m stat -c %a "$MNT/f")" 6777 "mode after root's write"
nobody sh -c "echo user >> '$MNT/f'"
expect_eq "$(m stat -c %a "$MNT/f")" 777 "mode after another user's write"
m chmod 02766 "$MNT/f"
nobody sh -c "echo user >> '$MNT/f'"
expect_eq "$(m stat -c %a "$MNT/f")" 2766 "SGID without group-execute stays"
m chmod 06755 "$MNT/f"
m chown 65534:65534 "$MNT/f"
expect_eq "$(m stat -c %a "$MNT/f")" 755 "mode after chown"
m chmod 04777 "$MNT/f"
nobody truncate -s 1 "$MNT/f"
expect_eq "$(m stat -c %a "$MNT/f")" 777 "mode after another user's truncate"
echo ok
