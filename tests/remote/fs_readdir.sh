#!/usr/bin/env bash
# fs_readdir: listings larger than one getdents buffer on the redis:// backend, when the
# backend cannot give the position after an entry (hkvfs_be_cursor_after() answers
# -EOPNOTSUPP: the entry came from an earlier SCAN batch than the last one of its walk, or the
# walk was forgotten because more listings ran at once than the backend remembers). The
# directory's 600 keys are spread thin among 20000 others, so one readdir prefetch spans
# several SCAN batches; twenty handles on it are read round-robin, one getdents buffer each
# turn. Every listing must hold each key exactly once. Port 7221.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
start_standalone 7221
M=$WORK/mnt1

# 600 keys under dir/ (names of 40 bytes: about 90 per 4 KiB getdents buffer) and 20000
# elsewhere, written by redis-cli so the mount learns nothing from them
for i in $(seq 0 599); do
	printf 'SET dir/key-%036d v%d\n' "$i" "$i"
done | timeout "$T" redis-cli -p "$PORT0" >/dev/null
for i in $(seq 0 19999); do
	printf 'SET other/k%d x\n' "$i"
done | timeout "$T" redis-cli -p "$PORT0" --pipe >/dev/null
[ "$(rcli DBSIZE)" = 20600 ] || fail "20600 keys expected"
rmount 1

m /usr/bin/python3 - "$M/dir" <<'PY' || fail "round-robin listings"
import ctypes, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
SYS_getdents64 = 217  # x86_64
buf = ctypes.create_string_buffer(4096)


def getdents(fd):
    """One getdents64 call: the names it returned ([] at the end)."""
    n = libc.syscall(SYS_getdents64, fd, buf, len(buf))
    if n < 0:
        raise OSError(ctypes.get_errno(), "getdents64")
    names, pos, raw = [], 0, buf.raw[:n]
    while pos < n:
        reclen = struct.unpack_from("<H", raw, pos + 16)[0]
        name = raw[pos + 19:pos + reclen].split(b"\0", 1)[0].decode()
        if name not in (".", ".."):
            names.append(name)
        pos += reclen
    return names


want = sorted("key-%036d" % i for i in range(600))
fds = [os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY) for _ in range(20)]
got = [[] for _ in fds]
live, calls = set(range(len(fds))), 0
while live:
    for i in sorted(live):
        names = getdents(fds[i])
        calls += 1
        if not names:
            live.discard(i)
        got[i] += names
bad = 0
for i, g in enumerate(got):
    if sorted(g) != want:
        dup = len(g) - len(set(g))
        missing = len(set(want) - set(g))
        print("FAIL: listing %d: %d names, %d missing, %d repeated" % (i, len(g), missing, dup))
        bad += 1
if calls < 20 * 7:
    print("FAIL: %d getdents calls: each listing should take several buffers" % calls)
    bad += 1
sys.exit(1 if bad else 0)
PY
# the same directory listed alone by ls (getdents buffers of 32 KiB)
[ "$(m ls "$M/dir" | sort -u | wc -l)" = 600 ] || fail "ls of 600 keys"
[ "$(m ls "$M/dir" | wc -l)" = 600 ] || fail "ls of 600 keys: names repeated"
exit 0
