#!/bin/bash
# Paths up to PATH_MAX: a directory whose path from the mount root is PATH_MAX - 1 bytes (its
# key, with the delimiter and the directory marker, is over 4096 bytes) can be made, listed,
# renamed within its parent and removed, and holds a file; the kernel refuses one byte more.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m python3 - "$MNT" <<'PY'
import errno, os, sys
os.chdir(sys.argv[1])
def check(what, got, want):
    if got != want:
        sys.exit("FAIL: %s: got %r, expected %r" % (what, got, want))
path_max = os.pathconf(".", "PC_PATH_MAX")
name_max = os.pathconf(".", "PC_NAME_MAX")
check("PATH_MAX", path_max, 4096)
# components of 127 bytes, as pjdfstest's dirgen_max, up to PATH_MAX - 1 bytes in all
path = ""
while len(path) < path_max - 1:
    path += ("%03d" % (len(path) // 127)) * 42 + "/"
path = path[:path_max - 1]
if path.endswith("/"):
    path = path[:-1] + "x"
check("path length", len(path), path_max - 1)
parent, leaf = path.rsplit("/", 1)
os.makedirs(parent)
os.mkdir(path, 0o755)
check("the deepest directory is a directory", os.path.isdir(path), True)
check("it is listed in its parent", leaf in os.listdir(parent), True)
check("it is empty", os.listdir(path), [])
os.rename(path, parent + "/" + "y" * len(leaf))
check("renamed", os.path.isdir(parent + "/" + "y" * len(leaf)), True)
os.rename(parent + "/" + "y" * len(leaf), path)
os.rmdir(path)
check("removed", os.path.exists(path), False)
check("its parent stays", os.listdir(parent), [])
try:
    os.mkdir(path + "x")
    sys.exit("FAIL: mkdir of a PATH_MAX path succeeded")
except OSError as e:
    check("mkdir of a PATH_MAX path", e.errno, errno.ENAMETOOLONG)
with open(path, "w") as f:
    f.write("deep")
with open(path) as f:
    check("a file at PATH_MAX - 1", f.read(), "deep")
os.unlink(path)
check("unlinked", os.path.exists(path), False)
print("ok")
PY
