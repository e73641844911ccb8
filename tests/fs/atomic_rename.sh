#!/bin/bash
# A directory rename is one engine transaction. A reader on the daemon's RESP socket that
# asks for the first key moved and the last one while directories of 3,000 keys are renamed
# back and forth never sees the first under the new name while the last is still under the
# old one (a reader through the mount cannot look: the kernel holds the parent directories
# locked during a rename); and a rename that fails part-way (a key below the
# directory would exceed the key limit) moves nothing.
. "${HKVFS_TESTLIB:?run through ctest}"
T=120
hkv_setup
hkv_mount cache=off
m python3 - "$MNT" "$DATA/hkvfs.sock" <<'PY'
import errno, os, socket, struct, sys
mnt, sock = sys.argv[1:3]
os.chdir(mnt)
def check(what, got, want):
    if got != want:
        sys.exit("FAIL: %s: got %r, expected %r" % (what, got, want))

N, ROUNDS = 3000, 4
first, last = "k%05d" % 0, "k%05d" % (N - 1)
os.mkdir("a")
for i in range(N):
    with open("a/k%05d" % i, "w") as f:
        f.write("v%d" % i)

go_r, go_w = os.pipe()
res_r, res_w = os.pipe()
pid = os.fork()
if pid == 0:
    # the reader: between "go" and the moment it sees the rename complete, it must never see
    # the first key moved while the last is not
    os.close(go_w)
    os.close(res_r)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    rf = s.makefile("rb")
    def exists(key):
        k = key.encode()
        s.sendall(b"*2\r\n$6\r\nEXISTS\r\n$%d\r\n%s\r\n" % (len(k), k))
        reply = rf.readline()
        if reply not in (b":0\r\n", b":1\r\n"):
            os._exit(3)
        return reply == b":1\r\n"
    for rnd in range(ROUNDS):
        src, dst = ("a", "b") if rnd % 2 == 0 else ("b", "a")
        os.read(go_r, 1)
        bad = iters = before = 0
        while True:
            iters += 1
            if iters == 2:
                os.write(res_w, b"r") # looked once: the rename may start
            moved_first = exists(dst + "/" + first)
            still_last = exists(src + "/" + last)
            if moved_first and still_last:
                bad += 1
            if not moved_first and still_last:
                before += 1
            if moved_first and not still_last:
                break
        os.write(res_w, struct.pack("iii", bad, iters, before))
    os._exit(0)
os.close(go_r)
os.close(res_w)
seen_before = 0
for rnd in range(ROUNDS):
    src, dst = ("a", "b") if rnd % 2 == 0 else ("b", "a")
    os.write(go_w, b"g")
    check("round %d: reader ready" % rnd, os.read(res_r, 1), b"r")
    os.rename(src, dst)
    bad, iters, before = struct.unpack("iii", os.read(res_r, 12))
    seen_before += before
    check("round %d: lookups that saw %s half moved to %s (of %d)" % (rnd, src, dst, iters),
          bad, 0)
    check("round %d: %s is gone" % (rnd, src), os.path.exists(src), False)
    names = sorted(os.listdir(dst))
    check("round %d: %s lists every key" % (rnd, dst), len(names), N)
    with open(dst + "/" + last) as f:
        check("round %d: content of the last key" % rnd, f.read(), "v%d" % (N - 1))
_, st = os.waitpid(pid, 0)
check("reader exit status", st, 0)
print("reader saw the old state in %d lookups" % seen_before)

# all or nothing: the last key of "a" (in scan order) is as long as a path may be, so
# renaming "a" to a name 200 bytes longer fails on it, after every other key was looked at
deep, path = "z", "a"
while len(path) + 1 + 250 < 4095 - 1 - 30:
    path += "/z" + "d" * 249
    deep = path
os.makedirs(deep)
leaf = deep + "/" + "f" * (4095 - len(deep) - 1)
check("path of the deepest key", len(leaf), 4095)
with open(leaf, "w") as f:
    f.write("deep")
longer = "a" + "x" * 200
try:
    os.rename("a", longer)
    sys.exit("FAIL: rename to a name whose keys exceed the key limit succeeded")
except OSError as e:
    check("rename over the key limit", e.errno, errno.ENAMETOOLONG)
check("after the failed rename, a lists every key", len(os.listdir("a")), N + 1)
check("and the first key is still there", os.path.exists("a/" + first), True)
check("and the new name does not exist", os.path.exists(longer), False)
with open(leaf) as f:
    check("the deepest key", f.read(), "deep")

print("ok")
PY
