#!/bin/bash
# Commands on a data directory that a running hkvfs daemon holds are forwarded through its
# control socket, and what they change is what the mount shows. Skips (77) without the daemon
# binary, /dev/fuse or the right to mount.
. "$(dirname "$0")/lib.sh"

HKVFS=${HKVFS:-}
[[ -x $HKVFS && -c /dev/fuse ]] || skip "no hkvfs or /dev/fuse"
MNT=$T/mnt
mkdir -p "$MNT"
ok $'OK\n' set before 1
timeout 120 "$HKVFS" "$DIR" "$MNT" -f >"$T/daemon.log" 2>&1 &
DAEMON=$!
trap 'fusermount3 -u "$MNT" 2>/dev/null; kill $DAEMON 2>/dev/null; wait $DAEMON; rm -rf "$T"' EXIT
for i in $(seq 1 100); do
	[[ -S $DIR/hkvfs.sock ]] && grep -q " $MNT " /proc/self/mountinfo && break
	kill -0 $DAEMON 2>/dev/null || break
	sleep 0.1
done
if ! grep -q " $MNT " /proc/self/mountinfo; then
	cat "$T/daemon.log"; skip "cannot mount"
fi

ok '1' get before
ok $'OK\n' set k hello
check "a forwarded set is visible in the mount" test "$(timeout 10 cat "$MNT/k")" = hello
ok $'(nil)\n' --no-raw get nokey
ok $'1\n' incr n
ok $'6\n' incrby n 5
ok $'1\n' decrby n 5
ok $'3\n' rpush l a b c
ok $'a\nb\nc\n' lrange l 0 -1
ok 'a' lpop l
ok $'OK\n' hset h f1 v1 f2 v2
ok 'v2' hget h f2
ok $'f1\nv1\nf2\nv2\n' hgetall h
ok $'2\n' sadd s x y
ok $'x\ny\n' smembers s
ok $'OK\n' zadd z 1.5 a 2 b
ok $'a\n1.5\nb\n2\n' zrange z 0 -1 WITHSCORES
ok '1.5' zscore z a
ok $'list\n' type l
ok $'1\n' expire n 100
ok $'100\n' ttl n
ok $'2\n' del k nokey before
check "a forwarded del is visible in the mount" test ! -e "$MNT/k"
ok $'0\nh\nl\nn\ns\nz\n' scan 0
printf 'bin\0ary' | "$HKVCTL" -d "$DIR" set b - >/dev/null
"$HKVCTL" -d "$DIR" get b >"$T/b"
check "binary value through the socket" cmp -s "$T/b" <(printf 'bin\0ary')
expect 1 '' $'ERR \'set\' with these arguments is not supported through a running hkvfs daemon; use the mount, or stop the daemon\n' \
	set k v NX
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' rpush h x
fusermount3 -u "$MNT"
wait $DAEMON
ok '1' get n
finish
