#!/bin/bash
# A stream (made over the daemon's socket) is a read-only directory of its entries, named by
# ID in ID order, each a read-only file of "field<TAB>value" lines; no filesystem call can
# change or delete it (EPERM and a log line), and the mount keeps working around it.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
ctl xadd st 1-1 name ada age 36 >/dev/null
ctl xadd st 2-0 name bob >/dev/null
ctl xadd st 10-0 x "" >/dev/null
ctl set plain v >/dev/null
ctl xgroup create empty g '$' mkstream >/dev/null
expect_eq "$(m ls "$MNT" | tr '\n' ' ')" "empty plain st " "root listing"
expect_eq "$(m stat -c %A "$MNT/st")" dr-xr-xr-x "mode of a stream"
expect_eq "$(m ls -f "$MNT/st" | grep -v '^\.' | tr '\n' ' ')" "1-1 2-0 10-0 " "entries in ID order"
expect_eq "$(m stat -c %A "$MNT/st/1-1")" -r--r--r-- "mode of an entry"
expect_eq "$(m cat "$MNT/st/1-1")" "$(printf 'name\tada\nage\t36')" "entry 1-1"
expect_eq "$(m stat -c %s "$MNT/st/1-1")" 16 "size of entry 1-1"
expect_eq "$(m cat "$MNT/st/10-0" | od -An -c | tr -s ' ')" " x \t \n" "entry with an empty value"
expect_err "No such file or directory" m cat "$MNT/st/3-0"
expect_err "No such file or directory" m cat "$MNT/st/01-1"
expect_err "No such file or directory" m cat "$MNT/st/1"
expect_eq "$(m ls -A "$MNT/empty")" "" "an empty stream lists nothing"
# nothing through the mount changes a stream, root included
expect_err "Operation not permitted" m sh -c "echo x > '$MNT/st/1-1'"
expect_err "Operation not permitted" m truncate -s 0 "$MNT/st/2-0"
expect_err "Operation not permitted" m touch "$MNT/st/new"
expect_err "Operation not permitted" m rm "$MNT/st/1-1"
expect_err "Operation not permitted" m rmdir "$MNT/empty"
expect_err "Operation not permitted" m mv "$MNT/plain" "$MNT/st/plain"
expect_err "Operation not permitted" m setfattr -n user.hkv.type -v hash "$MNT/empty"
m mkdir "$MNT/d"
expect_err "Operation not permitted" m setfattr -n user.hkv.type -v stream "$MNT/d"
expect_eq "$(ctl type d)" none "no stream made through the mount"
expect_eq "$(ctl xlen st)" 3 "xlen after the refused calls"
expect_eq "$(ctl type empty)" stream "the empty stream is still there"
grep -q "streams are read-only through the mount" "$LOG" || fail "no log line for a refusal"
# a stream moves as a whole (its records go with it)
m mv "$MNT/st" "$MNT/st2"
expect_eq "$(m cat "$MNT/st2/2-0")" "$(printf 'name\tbob')" "entry after mv"
expect_eq "$(ctl xlen st2)" 3 "xlen after mv"
# a new entry shows up
ctl xadd st2 11-0 k v >/dev/null
poll 5 test -e "$MNT/st2/11-0" || fail "new entry not listed"
echo ok
