#!/bin/bash
# Compound operations that must not half-happen: RENAME_NOREPLACE onto an empty directory
# fails and leaves it in place; a file removed through the control socket while open for
# writing is not re-created by the writer's close (one conditional engine call).
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m python3 - "$MNT" "$DATA/hkvfs.sock" "$HKVFS_CTL" <<'PY'
import ctypes, errno, os, socket, struct, subprocess, sys
mnt, sock, ctl = sys.argv[1:4]
os.chdir(mnt)
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_NOREPLACE = -100, 1
def check(what, got, want):
    if got != want:
        sys.exit("FAIL: %s: got %r, expected %r" % (what, got, want))
def ctl_(*a):
    return subprocess.run([ctl, sock] + list(a), capture_output=True, text=True).stdout.strip()
def sock_del(key):
    # the control protocol spoken directly: a child process would inherit the writer's
    # descriptor, and its exec would close a copy of it
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    args = [b"del", key.encode()]
    s.sendall(struct.pack("<I", len(args)) + b"".join(struct.pack("<I", len(a)) + a for a in args))
    while s.recv(65536):
        pass
    s.close()
ctl_("hset", "h", "f", "v")
os.mkdir("e")
rc = libc.renameat2(AT_FDCWD, b"h", AT_FDCWD, b"e", RENAME_NOREPLACE)
check("renameat2(NOREPLACE) onto an empty directory", (rc, ctypes.get_errno()), (-1, errno.EEXIST))
check("the empty directory is still there", os.path.isdir("e") and os.listdir("e") == [], True)
check("the source is still there", os.listdir("h"), ["f"])
os.rename("h", "e")
check("rename onto an empty directory", os.listdir("e"), ["f"])
open("w", "w").write("old")
fd = os.open("w", os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"new")
sock_del("w")
os.close(fd)
check("a key deleted while open stays deleted", ctl_("exists", "w"), "0")
check("and the name is gone", os.path.exists("w"), False)
PY
echo ok
