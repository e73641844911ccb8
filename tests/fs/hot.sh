#!/bin/bash
# The hot path's daemon side: .hkv/hot counts reads of string keys, .hkv/config carries the
# namespace id and delimiter the preload shim reads, .hkv/stats the hot-path counters, the hot
# options are validated (daemon and mount helper), and without /dev/hkv the daemon says so
# once and works normally.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
for bad in hot=maybe hot_k=0 hot_k=4097 hot_min=0 hot_interval=5 hot_interval=x; do
	expect_err "$bad" "$HKVFS" "$DATA" "$MNT" -f -o "$bad"
	expect_err "$bad" "$MOUNT_HKVFS" "$DATA" "$MNT" -o "$bad"
done
mounted && fail "a bad option mounted"
hkv_mount hot=on,hot_k=8,hot_min=1,hot_interval=50,delimiter=:
m sh -c "printf v > '$MNT/hotkey'"
for i in $(seq 20); do m cat "$MNT/hotkey" >/dev/null; done
m grep -qP '^[0-9.]+\t(yes|no)\thotkey$' "$MNT/.hkv/hot" || fail ".hkv/hot lacks the read key"
m head -1 "$MNT/.hkv/hot" | grep -q '^# reads/s' || fail ".hkv/hot header"
ns=$(m grep '^ns=' "$MNT/.hkv/config")
[[ $ns =~ ^ns=0x[0-9a-f]{16}$ ]] && [ "$ns" != ns=0x0000000000000000 ] || fail "ns line: '$ns'"
expect_eq "$(m grep '^delimiter=' "$MNT/.hkv/config")" "delimiter=:" "delimiter line"
expect_eq "$(m grep -c '^hot_k=8$' "$MNT/.hkv/config")" 1 "hot_k in config"
for c in hot_device hot_promotions hot_stale hot_demotions hot_invalidations hot_evictions \
	hot_cached; do
	m grep -q "^$c [0-9]" "$MNT/.hkv/stats" || fail "stats lack $c"
done
m ls "$MNT/.hkv" | grep -qx hot || fail ".hkv/hot not listed"
if [ ! -e /dev/hkv ]; then
	expect_eq "$(grep -c 'kernel cache /dev/hkv not available' "$LOG")" 1 "logged once"
	expect_eq "$(m grep '^hot_device ' "$MNT/.hkv/stats")" "hot_device 0" "no device"
fi
ns1=$ns
hkv_umount
hkv_mount hot=off
ns2=$(m grep '^ns=' "$MNT/.hkv/config")
[ "$ns1" != "$ns2" ] || fail "namespace id reused across mounts"
m sh -c "printf v > '$MNT/k2'; cat '$MNT/k2'" >/dev/null
m grep -qP '\tk2$' "$MNT/.hkv/hot" || fail "hot=off still counts reads"
echo ok
