#!/bin/bash
# ls lists a subdirectory once however deep it is: keys longer than the engine's ordered
# prefix (448 bytes) sharing it come in hash order, and their common prefix must still be one
# entry. Also through a listing that needs several READDIR calls and a seek back.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
c=$(printf 'c%.0s' $(seq 100))
D="d1$c/d2$c/d3$c/d4$c"           # 412 bytes
for s in s1 s2; do
	for i in $(seq 30); do ctl set "$D/$s$c/k$i" v >/dev/null; done  # 517-byte prefixes
done
ctl set "$D/file" x >/dev/null
out=$(m ls "$MNT/$D" | sort | tr '\n' ' ')
expect_eq "$out" "file s1$c s2$c " "listing of a directory with deep subdirectories"
expect_eq "$(m ls "$MNT/$D/s1$c" | wc -l)" 30 "keys below a deep subdirectory"
m python3 - "$MNT/$D" "$c" <<'PY'
import os, sys
d, c = sys.argv[1:3]
want = sorted(["file", "s1" + c, "s2" + c])
for rounds in range(3):
    with os.scandir(d) as it:
        got = sorted(e.name for e in it)
    if got != want:
        sys.exit("FAIL: scandir %d: %r" % (rounds, [g[:3] for g in got]))
PY
echo ok
