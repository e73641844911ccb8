#!/bin/bash
# Control socket replies: hgetall prints every field followed by its value whatever the value's
# length or bytes (8-byte values, empty values, values that look like list indexes), and lrange
# and smembers print only the elements, one per line.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
hex() { od -An -v -tx1 | tr -d ' \n'; }
# 8 bytes: the length of lrange's index argument, which must not decide what is printed
ctl hset h f8 12345678 >/dev/null
ctl hset h f8bin x:0100000000000000 >/dev/null
ctl hset h fempty "" >/dev/null
ctl hset h f7 1234567 >/dev/null
ctl hset h f9 123456789 >/dev/null
# (a small hash: its fields in insertion order)
expect_eq "$(ctl hgetall h | hex)" \
	"$(printf 'f8\n12345678\nf8bin\n\001\0\0\0\0\0\0\0\nfempty\n\nf7\n1234567\nf9\n123456789\n' | hex)" \
	"hgetall with 8-byte and empty values"
expect_eq "$(ctl hget h f8)" 12345678 "hget of an 8-byte value"
# the same hash through the mount
expect_eq "$(m cat "$MNT/h/f8")" 12345678 "8-byte field read through the mount"
expect_eq "$(m ls "$MNT/h" | tr '\n' ' ')" "f7 f8 f8bin f9 fempty " "fields listed"
m sh -c "printf abcdefgh > '$MNT/h/fw'"
expect_eq "$(ctl hgetall h | sed -n '/^fw$/{n;p}')" abcdefgh "8-byte value written through the mount"
# a one-field hash whose value is 8 bytes: two lines, not one
ctl hset one k 87654321 >/dev/null
expect_eq "$(ctl hgetall one | hex)" "$(printf 'k\n87654321\n' | hex)" "single 8-byte value"
# lists: elements only (the engine passes each element's index as 8 bytes)
for v in a 12345678 "" c; do ctl rpush l "$v" >/dev/null; done
expect_eq "$(ctl lrange l 0 -1 | hex)" "$(printf 'a\n12345678\n\nc\n' | hex)" "lrange"
expect_eq "$(ctl lrange l 1 1)" 12345678 "lrange of one element"
# sets: members only
ctl sadd s 12345678 >/dev/null
ctl sadd s b >/dev/null
expect_eq "$(ctl smembers s | hex)" "$(printf '12345678\nb\n' | hex)" "smembers"
expect_err "wrong number of arguments" ctl hgetall
hkv_umount
echo ok
