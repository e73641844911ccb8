#!/bin/bash
# Bounded memory in the write path: a write far past the end does not allocate its offset's
# worth of memory (EFBIG past wbuf_handle), all open files together stay under wbuf_total
# (ENOSPC until others close), each refusal has a log line, and bad values are refused.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
for bad in wbuf_handle=0 wbuf_handle=abc wbuf_total=1 wbuf_total=2T wbuf_handle=-5; do
	if out=$("$HKVFS" "$DATA" "$MNT" -f -o "$bad" 2>&1); then fail "$bad accepted"; fi
	case "$out" in *"${bad%%=*}"*) ;; *) fail "$bad: message '$out'" ;; esac
done
hkv_mount
m python3 - "$MNT" "$PID" <<'PY'
import errno, os, sys
mnt, pid = sys.argv[1:3]
def rss_kib():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
fd = os.open(mnt + "/far", os.O_CREAT | os.O_WRONLY, 0o644)
try:
    os.pwrite(fd, b"x", 511 << 20)
    sys.exit("FAIL: a 1-byte write at 511 MiB succeeded")
except OSError as e:
    if e.errno != errno.EFBIG:
        sys.exit("FAIL: write at 511 MiB: %s, expected EFBIG" % e)
if rss_kib() > 128 * 1024:
    sys.exit("FAIL: daemon RSS %d KiB after the refused write" % rss_kib())
os.pwrite(fd, b"y", 1 << 20)  # within the default per-file budget
os.close(fd)
if os.stat(mnt + "/far").st_size != (1 << 20) + 1:
    sys.exit("FAIL: size after a write at 1 MiB")
PY
grep -q 'EFBIG' "$LOG" || fail "no log line for EFBIG"
hkv_umount
hkv_mount wbuf_handle=768K,wbuf_total=1M
m python3 - "$MNT" <<'PY'
import errno, os, sys
mnt = sys.argv[1]
def expect(what, err, f, *a):
    try:
        f(*a)
    except OSError as e:
        if e.errno == err:
            return
        sys.exit("FAIL: %s: %s, expected %s" % (what, e, errno.errorcode[err]))
    sys.exit("FAIL: %s succeeded, expected %s" % (what, errno.errorcode[err]))
a = os.open(mnt + "/a", os.O_CREAT | os.O_WRONLY, 0o644)
b = os.open(mnt + "/b", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(a, b"a" * (600 << 10))
expect("a second file over wbuf_total", errno.ENOSPC, os.write, b, b"b" * (600 << 10))
expect("one file over wbuf_handle", errno.EFBIG, os.pwrite, a, b"a", 800 << 10)
os.close(a)
os.write(b, b"b" * (600 << 10))  # room again once the other file is closed
os.close(b)
for n in "ab":
    if open(mnt + "/" + n, "rb").read() != n.encode() * (600 << 10):
        sys.exit("FAIL: content of %s" % n)
PY
grep -q 'ENOSPC' "$LOG" || fail "no log line for ENOSPC"
echo ok
