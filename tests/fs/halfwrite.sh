#!/bin/bash
# A half-written value never becomes visible: a Python writer (its files are close-on-exec)
# runs subprocess.run in the middle of writing a file while another process reads it over
# and over; the exec in the child closes the child's copy of the descriptor (a FLUSH from a
# file table that never wrote), which must not commit. The reader, the store and a reader
# started right after the subprocess see only the old value or the whole new one.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
m python3 - "$MNT" "$DATA/hkvfs.sock" "$HKVFS_CTL" <<'PY'
import os, subprocess, sys
mnt, sock, ctl = sys.argv[1:4]
path = mnt + "/v"
OLD = b"old-value:" + b"o" * 1000
def new(i):
    return b"new-value-%04d:" % i + b"n" * 3000
def store():
    return subprocess.run([ctl, sock, "get", "v"], capture_output=True).stdout.rstrip(b"\n")
with open(path, "wb") as f:
    f.write(OLD)
# the reader: a separate process reading the file whole until told to stop
reader = subprocess.Popen([sys.executable, "-c", """
import sys
path, stop = sys.argv[1:3]
import os
seen = set()
while not os.path.exists(stop):
    with open(path, "rb") as f:
        seen.add(f.read())
for v in seen:
    sys.stdout.write(v.hex() + "\\n")
""", path, mnt + "/../stop"], stdout=subprocess.PIPE)
for i in range(20):
    prev = OLD if i == 0 else new(i - 1)
    val = new(i)
    with open(path, "wb") as f:            # O_TRUNC, close-on-exec
        f.write(val[:1500])
        f.flush()
        subprocess.run(["true"], check=True)  # fork + exec: the child's copy is closed
        got = open(path, "rb").read()
        if got != prev:
            sys.exit("FAIL: round %d: a reader after the subprocess saw %r..." % (i, got[:40]))
        if store() != prev:
            sys.exit("FAIL: round %d: the store holds %r..." % (i, store()[:40]))
        f.write(val[1500:])
    if open(path, "rb").read() != val:
        sys.exit("FAIL: round %d: the close did not commit" % i)
open(mnt + "/../stop", "w").close()
out, _ = reader.communicate()
allowed = {OLD} | {new(i) for i in range(20)}
for line in out.split():
    v = bytes.fromhex(line.decode())
    if v not in allowed:
        sys.exit("FAIL: the concurrent reader saw a half-written value %r..." % v[:40])
PY
echo ok
