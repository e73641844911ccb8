#!/bin/bash
# A collection created outside the mount (hkvctl hset/sadd/rpush) is searchable wherever it
# is readable, like a mkdir'd directory: another user can list and read its elements.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount allow_other
ctl hset h f v >/dev/null
ctl sadd s m >/dev/null
ctl rpush l x >/dev/null
for k in h s l; do
	mode=$(m stat -c %A "$MNT/$k")
	case "$mode" in
	d?????????) ;;
	*) fail "$k is not a directory: $mode" ;;
	esac
	for who in 1 4 7; do
		r=${mode:$who:1} x=${mode:$((who + 2)):1}
		[ "$r" != r ] || [ "$x" = x ] || fail "$k: mode $mode has r without x"
	done
done
out=$(m setpriv --reuid 65534 --regid 65534 --clear-groups ls "$MNT/h") || fail "nobody cannot list h"
expect_eq "$out" f "listing of h by another user"
out=$(m setpriv --reuid 65534 --regid 65534 --clear-groups cat "$MNT/h/f") || fail "nobody cannot read h/f"
expect_eq "$out" v "h/f read by another user"
# chmod on a collection keeps the rule
m chmod 0640 "$MNT/h"
expect_eq "$(m stat -c %a "$MNT/h")" 750 "mode of h after chmod 0640"
echo ok
