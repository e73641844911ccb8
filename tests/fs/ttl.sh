#!/bin/bash
# TTL xattrs: set, read back, persist, and expiry seen by ls and cat at once (kernel caching
# on: entry timeouts never outlive the TTL, the expiry sweep invalidates).
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m sh -c "echo v > '$MNT/k'"
expect_eq "$(m getfattr --only-values -n user.hkv.ttl "$MNT/k")" -1 "no ttl"
m setfattr -n user.hkv.ttl -v 100 "$MNT/k"
t=$(m getfattr --only-values -n user.hkv.ttl "$MNT/k")
[ "$t" -ge 99 ] && [ "$t" -le 100 ] || fail "ttl read back: $t"
[ "$(m getfattr --only-values -n user.hkv.expire_at "$MNT/k")" -gt 0 ] || fail expire_at
m setfattr -x user.hkv.ttl "$MNT/k"
expect_eq "$(m getfattr --only-values -n user.hkv.ttl "$MNT/k")" -1 "persist"
# expiry: cat and ls agree at every poll, and both see the key gone within the deadline
m cat "$MNT/k" >/dev/null; m ls "$MNT" >/dev/null   # warm the kernel caches
m setfattr -n user.hkv.ttl -v 1 "$MNT/k"
gone() {
	local c l
	c=$(m cat "$MNT/k" 2>/dev/null && echo present || echo gone)
	l=$(m ls "$MNT" | grep -qx k && echo present || echo gone)
	[ "$c" = gone ] && [ "$l" = gone ]
}
poll 10 gone || fail "expired key still visible"
m ls "$MNT" | grep -qx k && fail "ls shows the expired key"
expect_eq "$(ctl exists k)" 0 "expired in the engine"
# expire_at in the past deletes now
m sh -c "echo v > '$MNT/k2'"
m cat "$MNT/k2" >/dev/null
m setfattr -n user.hkv.expire_at -v 1000 "$MNT/k2"
poll 5 sh -c "! timeout $T cat '$MNT/k2' 2>/dev/null" || fail "expire_at in the past"
echo ok
