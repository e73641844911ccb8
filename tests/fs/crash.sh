#!/bin/bash
# kill -9 of the daemon, then remount: every fsynced write is present (sync=none, so only
# fsync makes anything durable).
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount sync=none
for i in $(seq 1 50); do
	m dd if=/dev/zero of="$MNT/f$i" bs=1 count=$i conv=fsync status=none
done
m sh -c "printf hello > '$MNT/s'" && m sync "$MNT/s"
kill -9 "$PID"
wait "$PID" || true
PID=
m fusermount3 -u "$MNT" || fusermount3 -u -z "$MNT"
hkv_mount sync=none
for i in $(seq 1 50); do
	expect_eq "$(m stat -c %s "$MNT/f$i")" "$i" "fsynced f$i"
done
expect_eq "$(m cat "$MNT/s")" hello "fsynced s"
echo ok
