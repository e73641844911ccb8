#!/bin/bash
# A data directory that a running hkvfs daemon holds: hkvctl sends each command as RESP to the
# daemon's socket DATA_DIR/hkvfs.sock, the daemon runs it through the same command table, and
# what it changes is what the mount shows (and back). HKVFS STATS/CONFIG/COMPACT/SYNC/PATH are
# the daemon's. Skips (77) without the daemon binary, /dev/fuse or the right to mount (a failure
# under CI=true).
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
ok $'PONG\n' PING

ok '1' get before
ok $'OK\n' set k hello
check "a set through the socket is visible in the mount" test "$(timeout 10 cat "$MNT/k")" = hello
printf 'from the mount' >"$MNT/m"
ok 'from the mount' get m
ok $'(nil)\n' --no-raw get nokey
ok $'1\n' incr n
ok $'6\n' incrby n 5
ok $'1\n' decrby n 5
ok $'3\n' rpush l a b c
ok $'a\nb\nc\n' lrange l 0 -1
ok 'a' lpop l
ok $'2\n' hset h f1 v1 f2 v2
ok 'v2' hget h f2
ok $'f1\nv1\nf2\nv2\n' hgetall h
ok $'2\n' sadd s x y
ok $'x\ny\n' smembers s
ok $'2\n' zadd z 1.5 a 2 b
ok $'a\n1.5\nb\n2\n' zrange z 0 -1 WITHSCORES
ok '1.5' zscore z a
ok $'list\n' type l
mark
ok $'1\n' expire n 100
expect_ttl n 100
expect 2 '' $'ERR syntax error\nUsage: hkvctl set KEY ARG [ARG ...]\n' set k v NX XX
ok $'OK\n' mset a 1 b 2
ok $'3\n' del a b k
check "a del through the socket is visible in the mount" test ! -e "$MNT/k"
ok $'0\nbefore\nh\nl\nm\nn\ns\nz\n' scan 0 COUNT 1000
printf 'bin\0ary\nline' | "$HKVCTL" -d "$DIR" set b - >/dev/null
"$HKVCTL" -d "$DIR" get b >"$T/b"
check "binary value through the socket" cmp -s "$T/b" <(printf 'bin\0ary\nline')
check "binary value in the mount" cmp -s "$MNT/b" <(printf 'bin\0ary\nline')
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' rpush h x

# the daemon's own commands
"$HKVCTL" -d "$DIR" stat >"$T/stat"
check "stat through the daemon exits 0" test $? = 0
check "stat through the daemon prints name:value lines" grep -qE '^[a-z_]+:[0-9]+' "$T/stat"
"$HKVCTL" -d "$DIR" compact --all >"$T/out"
check "compact --all through the daemon prints a count" grep -qE '^[0-9]+$' "$T/out"
ok $'OK\n' HKVFS SYNC
"$HKVCTL" -d "$DIR" HKVFS PATH before >"$T/path"
check "HKVFS PATH names the key's file in the mount" test "$(cat "$T/path")" = "$MNT/before"
"$HKVCTL" -d "$DIR" HKVFS CONFIG >"$T/config"
check "HKVFS CONFIG prints the mount's options" test -s "$T/config"
expect 2 '' $'ERR unknown subcommand \'nope\'. Try HKVFS HELP.\nUsage: hkvctl hkvfs SUBCOMMAND [ARG ...]\n' \
	HKVFS nope

fusermount3 -u "$MNT"
wait $DAEMON
ok '1' get n
ok 'from the mount' get m
finish
