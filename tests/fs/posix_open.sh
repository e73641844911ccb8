#!/bin/bash
# Open files as on a local filesystem: the writer's own fstat shows what it wrote; an open
# file survives its unlink (fstat works, nlink 0, reads return its data) and its close does
# not bring the name back; a directory's st_nlink is 2 + its subdirectories.
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
os.mkdir("p")
fd = os.open("p/w", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x")
check("writer's fstat after write", os.fstat(fd).st_size, 1)
os.write(fd, b"yz")
check("writer's fstat after two writes", os.fstat(fd).st_size, 3)
os.close(fd)
check("size after close", os.stat("p/w").st_size, 3)
fd = os.open("p/w", os.O_RDWR)
os.ftruncate(fd, 1)
check("writer's fstat after ftruncate", os.fstat(fd).st_size, 1)
os.close(fd)
# unlink of an open file
fd = os.open("p/g", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"Hello, World!")
os.unlink("p/g")
s = os.fstat(fd)
check("fstat after unlink: nlink", s.st_nlink, 0)
check("fstat after unlink: size", s.st_size, 13)
check("pread after unlink", os.pread(fd, 13, 0), b"Hello, World!")
os.close(fd)
check("the name stays removed after the close", os.path.exists("p/g"), False)
out = subprocess.run([ctl, sock, "exists", "p/g"], capture_output=True, text=True).stdout
check("the store has no key p/g", out.strip(), "0")
open("p/r", "w").write("kept")
fd = os.open("p/r", os.O_RDONLY)
os.unlink("p/r")
check("read-only fstat after unlink", os.fstat(fd).st_nlink, 0)
os.close(fd)
# rename over an open file: the replaced file's close does not resurrect it
open("p/x", "w").write("old")
open("p/y", "w").write("new")
fd = os.open("p/x", os.O_WRONLY)
os.write(fd, b"late")
os.rename("p/y", "p/x")
os.close(fd)
check("rename over an open writer wins", open("p/x").read(), "new")
# directory link counts
os.mkdir("n")
check("empty directory nlink", os.stat("n").st_nlink, 2)
os.mkdir("n/a")
os.mkdir("n/b")
open("n/f", "w").close()
check("nlink with two subdirectories", os.stat("n").st_nlink, 4)
subprocess.run([ctl, sock, "hset", "n/h", "k", "v"], check=True, stdout=subprocess.DEVNULL)
check("a collection counts as a subdirectory", os.stat("n").st_nlink, 5)
os.rmdir("n/a")
check("nlink after rmdir", os.stat("n").st_nlink, 4)
os.rename("n/b", "p/b")
check("nlink after renaming a subdirectory out", os.stat("n").st_nlink, 3)
# the counts are cached per directory: every kind of change through the store counts again
def ctlrun(*args):
    subprocess.run([ctl, sock, *args], check=True, stdout=subprocess.DEVNULL)
for i in range(20):
    open("n/s%d" % i, "w").write("x")
    check("nlink after creating a file", os.stat("n").st_nlink, 3)
ctlrun("del", "n/h")
check("nlink after hkvctl del of a collection", os.stat("n").st_nlink, 2)
ctlrun("del", "n/s3")
ctlrun("hset", "n/s3", "k", "v")
check("nlink after a file became a collection", os.stat("n").st_nlink, 3)
ctlrun("set", "n/s3", "v")
check("nlink after a collection became a string", os.stat("n").st_nlink, 2)
ctlrun("set", "n/deep/x", "v")
check("nlink after a key two levels down", os.stat("n").st_nlink, 3)
ctlrun("set", "n/deep/y", "v")
ctlrun("sadd", "n/c", "m")
check("nlink with a prefix and a collection", os.stat("n").st_nlink, 4)
ctlrun("del", "n/deep/x")
ctlrun("del", "n/deep/y")
check("nlink after the prefix's last key went", os.stat("n").st_nlink, 3)
os.unlink("n/s0")
check("nlink after unlinking a file", os.stat("n").st_nlink, 3)
PY
echo ok
