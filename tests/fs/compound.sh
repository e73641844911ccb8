#!/bin/bash
# Compound operations that must not half-happen: RENAME_NOREPLACE onto an empty directory
# fails and leaves it in place; a file removed through the RESP socket while open for
# writing is not re-created by the writer's close (one conditional engine call), nor is a
# collection removed while one of its files is open for writing; removing a
# collection's last element keeps the collection with its TTL and extended attributes; `rm
# LIST/N` never pops an element pushed while it runs (each is one engine transaction).
. "${HKVFS_TESTLIB:?run through ctest}"
# the list race runs 1,500 removals against a pusher: seconds here, longer under a sanitizer
T=300
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
    # DEL over the daemon's RESP socket from this process: a child process would inherit the
    # writer's descriptor, and its exec would close a copy of it
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    k = key.encode()
    s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(k), k))
    reply = s.makefile("rb").readline()
    s.close()
    if not reply.startswith(b":"):
        sys.exit("FAIL: DEL %s: %r" % (key, reply))
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
open("a", "w").write("old")
fd = os.open("a", os.O_WRONLY | os.O_APPEND)
os.write(fd, b"more")
sock_del("a")
os.close(fd)
check("a key deleted while open for appending stays deleted", ctl_("exists", "a"), "0")
ctl_("hset", "g", "f", "v")
fd = os.open("g/f", os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"new")
sock_del("g")
os.close(fd)
check("a collection deleted while one of its files is open stays deleted", ctl_("exists", "g"), "0")
check("and its directory is gone", os.path.exists("g"), False)

# the last element of a collection: the directory stays, with its TTL and xattrs
ctl_("hset", "c", "f", "v")
os.setxattr("c", "user.hkv.ttl", b"3600")
os.setxattr("c", "user.color", b"blue")
os.unlink("c/f")
check("the emptied collection is a directory", os.path.isdir("c") and os.listdir("c") == [], True)
ttl = int(os.getxattr("c", "user.hkv.ttl"))
check("it keeps its TTL", 3000 < ttl <= 3600, True)
check("it keeps its xattrs", os.getxattr("c", "user.color"), b"blue")
check("it is still a hash", ctl_("type", "c"), "hash")

# rm LIST/N against concurrent pushes: every removal takes the element it named
import threading
os.mkdir("L")
os.setxattr("L", "user.hkv.type", b"list")
initial = ["i%d" % i for i in range(20)]
for v in initial:
    with open("L/append", "w") as f:
        f.write(v)
pushed, removed, stop = [], [], threading.Event()
def pusher():
    i = 0
    while not stop.is_set():
        with open("L/append", "w") as f:
            f.write("p%d" % i)
        pushed.append("p%d" % i)
        i += 1
t = threading.Thread(target=pusher)
t.start()
try:
    for _ in range(1500):
        n = len(os.listdir("L"))
        if n == 0:
            continue
        try:
            with open("L/%d" % (n - 1)) as f:
                c = f.read()
            os.unlink("L/%d" % (n - 1))
        except OSError as e:
            if e.errno in (errno.EPERM, errno.ENOENT):
                continue
            raise
        removed.append(c)
finally:
    stop.set()
    t.join()
from collections import Counter
left = Counter(open("L/%d" % i).read() for i in range(len(os.listdir("L"))))
want = Counter(initial) + Counter(pushed) - Counter(removed)
check("the list holds what was pushed minus what rm named (%d rm, %d pushes): "
      "[missing, extra]" % (len(removed), len(pushed)),
      [sorted((want - left).elements()), sorted((left - want).elements())], [[], []])
PY
echo ok
