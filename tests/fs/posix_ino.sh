#!/bin/bash
# st_ino names the object: a file or directory keeps its inode number when renamed over an
# existing file or empty directory, and when it is looked up again after the kernel forgot it.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m python3 - "$MNT" "$DATA/hkvfs.sock" "$HKVFS_CTL" <<'PY'
import os, subprocess, sys
mnt, sock, ctl = sys.argv[1:4]
os.chdir(mnt)
def check(what, got, want):
    if got != want:
        sys.exit("FAIL: %s: got %r, expected %r" % (what, got, want))
open("a", "w").write("aa")
open("b", "w").write("bb")
ia = os.stat("a").st_ino
check("distinct numbers", ia != os.stat("b").st_ino, True)
os.rename("a", "b")
check("file renamed over a file keeps st_ino", os.stat("b").st_ino, ia)
os.mkdir("d1")
os.mkdir("d2")
i1 = os.stat("d1").st_ino
os.rename("d1", "d2")
check("directory renamed over an empty directory keeps st_ino", os.stat("d2").st_ino, i1)
os.mkdir("d3")
open("d3/f", "w").write("x")
i3 = os.stat("d3").st_ino
if0 = os.stat("d3/f").st_ino
os.rename("d3", "d4")
check("renamed directory keeps st_ino", os.stat("d4").st_ino, i3)
check("a file in a renamed directory keeps st_ino", os.stat("d4/f").st_ino, if0)
# a change through the RESP socket makes the kernel forget the entry: same number after
ib = os.stat("b").st_ino
subprocess.run([ctl, sock, "set", "b", "new"], check=True, stdout=subprocess.DEVNULL)
check("st_ino after a new lookup", os.stat("b").st_ino, ib)
PY
echo ok
