#!/bin/bash
# Bad input gets the right errno and a log line, and changes nothing else.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m sh -c "printf keep > '$MNT/k'"
long=$(head -c 256 /dev/zero | tr '\0' x)
expect_err "File name too long" m sh -c "echo x > '$MNT/$long'"
grep -q "ENAMETOOLONG" "$LOG" || fail "no log line for a long name"
expect_err "Invalid argument" m setfattr -n user.hkv.ttl -v abc "$MNT/k"
expect_err "Invalid argument" m setfattr -n user.hkv.ttl -v -5 "$MNT/k"
expect_err "Invalid argument" m setfattr -n user.hkv.expire_at -v 12x "$MNT/k"
grep -q "user.hkv.ttl: invalid value 'abc'" "$LOG" || fail "no log line for a bad ttl"
expect_eq "$(m getfattr --only-values -n user.hkv.ttl "$MNT/k")" -1 "bad ttl changed nothing"
expect_err "Invalid argument" m setfattr -n user.hkv.reserved -v 1 "$MNT/k"
expect_err "Operation not permitted" m setfattr -n user.hkv.type -v hash "$MNT/k"
expect_err "Invalid argument" m sh -c "echo x > '$MNT/bad%2fname'"
expect_err "Operation not permitted" m mknod "$MNT/fifo" p
m setfattr -n user.color -v blue "$MNT/k"
expect_eq "$(m getfattr --only-values -n user.color "$MNT/k")" blue "user xattr stored"
expect_eq "$(m cat "$MNT/k")" keep "value untouched by bad input"
expect_eq "$(ctl keys "*" | sort | tr '\n' ' ')" "k " "no other key created"
echo ok
