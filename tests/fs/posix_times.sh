#!/bin/bash
# Times as on a local filesystem: atime is stored and reported (utimensat sets it; reads do
# not change it: noatime), and creating or removing an entry updates the parent directory's
# mtime and ctime (create, mkdir, unlink, rmdir, rename in and out).
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m python3 - "$MNT" <<'PY'
import os, sys
os.chdir(sys.argv[1])
def check(what, got, want):
    if got != want:
        sys.exit("FAIL: %s: got %r, expected %r" % (what, got, want))
open("f", "w").write("data")
os.utime("f", ns=(1000000000, 2000000000))
s = os.stat("f")
check("atime set by utimensat", s.st_atime_ns, 1000000000)
check("mtime set by utimensat", s.st_mtime_ns, 2000000000)
with open("f") as fp:
    fp.read()
check("a read leaves atime (noatime)", os.stat("f").st_atime_ns, 1000000000)
os.utime("f", ns=(5000000000, 2000000000))
check("atime alone", os.stat("f").st_atime_ns, 5000000000)
check("mtime kept", os.stat("f").st_mtime_ns, 2000000000)
os.mkdir("d")
os.utime("d", ns=(3000000000, 4000000000))
s = os.stat("d")
check("directory atime", (s.st_atime_ns, s.st_mtime_ns), (3000000000, 4000000000))
if "user.hkv.atime" in os.listxattr("f"):
    sys.exit("FAIL: the atime attribute is listed")
def changes(what, op, path="d"):
    os.utime(path, ns=(3000000000, 4000000000))
    before = os.stat(path)
    op()
    after = os.stat(path)
    if not (after.st_mtime_ns > before.st_mtime_ns and after.st_ctime_ns > 4000000000):
        sys.exit("FAIL: %s did not update the directory's mtime/ctime: %r -> %r" %
                 (what, (before.st_mtime_ns, before.st_ctime_ns),
                  (after.st_mtime_ns, after.st_ctime_ns)))
changes("create", lambda: open("d/a", "w").close())
changes("mkdir", lambda: os.mkdir("d/sub"))
changes("rmdir", lambda: os.rmdir("d/sub"))
os.mkdir("e")
changes("rename out", lambda: os.rename("d/a", "e/a"))
changes("rename in", lambda: os.rename("e/a", "d/b"))
changes("unlink", lambda: os.unlink("d/b"))
PY
echo ok
