#!/usr/bin/env bash
# fs_standalone: hkvfs mounted on one standalone redis-server (the degenerate cluster).
#  - the source and the options: malformed sources, password= refused, credentials= file
#    checks (mode, owner), an ACL user with the right and the wrong password;
#  - the data stays Redis data: each type written through the mount is that Redis type, and
#    each Redis type written by redis-cli shows as its directory layout;
#  - metadata: chmod/chown go to the side hash, redis-cli DEL leaves it stale, it is then
#    ignored (defaults) and cleaned up; TTL is Redis's TTL, the side hash follows it;
#  - listing under a prefix with glob metacharacters; empty collections; braces in names;
#  - -o ro with a read-only ACL user; sync=replicas without replicas (EIO, logged);
#    mount.hkvfs (what mount -t hkvfs runs) with a redis:// source.
# Port 7220.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
start_standalone 7220
M=$WORK/mnt1

# --- sources and options -------------------------------------------------------------------
mkdir -p "$WORK/bad"
out=$(timeout "$T" "$HKVFS" redis://127.0.0.1 "$WORK/bad" -f 2>&1) && fail "port-less source mounted"
case "$out" in *"is not HOST:PORT"*) ;; *) fail "bad source message: $out" ;; esac
out=$(timeout "$T" "$HKVFS" redis://127.0.0.1:70000 "$WORK/bad" -f 2>&1) && fail "port 70000 mounted"
case "$out" in *"is not HOST:PORT"*) ;; *) fail "bad port message: $out" ;; esac
out=$(timeout "$T" "$HKVFS" redis://u:pw@127.0.0.1:7220 "$WORK/bad" -f 2>&1) && fail "user:pw@ source mounted"
case "$out" in *"not accepted"*) ;; *) fail "userinfo message: $out" ;; esac
out=$(timeout "$T" "$HKVFS" redis://127.0.0.1:7220 "$WORK/bad" -f -o password=x 2>&1) &&
	fail "password= accepted"
case "$out" in *"password= is refused"*credentials=FILE*) ;; *) fail "password= message: $out" ;; esac
grep -q " $WORK/bad " /proc/self/mountinfo && fail "a refused mount is mounted"

# an ACL user; the default user stays open for redis-cli
rcli ACL SETUSER fsuser on '>s3cret' '~*' '&*' '+@all' >/dev/null
printf 's3cret\n' >"$WORK/cred"
chmod 644 "$WORK/cred"
out=$(timeout "$T" "$HKVFS" redis://127.0.0.1:7220 "$WORK/bad" -f -o user=fsuser,credentials="$WORK/cred" 2>&1) &&
	fail "group-readable credentials accepted"
case "$out" in *"lets the group or others read it"*) ;; *) fail "mode message: $out" ;; esac
chmod 600 "$WORK/cred"
chown 65534 "$WORK/cred"
out=$(timeout "$T" "$HKVFS" redis://127.0.0.1:7220 "$WORK/bad" -f -o user=fsuser,credentials="$WORK/cred" 2>&1) &&
	fail "credentials owned by another user accepted"
case "$out" in *"not by root or the daemon's user"*) ;; *) fail "owner message: $out" ;; esac
chown 0 "$WORK/cred"
printf 'wrong\n' >"$WORK/cred.bad"
chmod 600 "$WORK/cred.bad"
timeout "$T" "$HKVFS" redis://127.0.0.1:7220 "$WORK/bad" -f -o user=fsuser,credentials="$WORK/cred.bad" \
	>/dev/null 2>&1 && fail "wrong password mounted"
out=$(timeout "$T" "$HKVFS" redis://127.0.0.1:7220 "$WORK/bad" -f -o user=fsuser 2>&1) &&
	fail "user= without credentials= mounted"
case "$out" in *"needs credentials=FILE"*) ;; *) fail "user without credentials message: $out" ;; esac

rmount 1 "user=fsuser,credentials=$WORK/cred"
# the mount runs as fsuser: CLIENT LIST shows its connections under that user
rcli CLIENT LIST | grep -q 'user=fsuser' || fail "no connection authenticated as fsuser"
# nothing in the daemon's command line names the password
grep -q s3cret "/proc/${PIDS[1]}/cmdline" && fail "password visible in the daemon's argv"

# --- types written through the mount are Redis types ---------------------------------------
echo hello >"$M/greeting"
expect_eq "$(rcli TYPE greeting)" string "TYPE greeting"
expect_eq "$(rcli GET greeting)" hello "GET greeting"
mkdir "$M/user1"
setfattr -n user.hkv.type -v hash "$M/user1"
printf Ada >"$M/user1/name"
expect_eq "$(rcli TYPE user1)" hash
expect_eq "$(rcli HGET user1 name)" Ada
mkdir "$M/q"
setfattr -n user.hkv.type -v list "$M/q"
printf a >"$M/q/append"
printf b >"$M/q/append"
printf z >"$M/q/prepend"
expect_eq "$(rcli LRANGE q 0 -1 | paste -sd,)" z,a,b "list through the mount"
mkdir "$M/tags"
setfattr -n user.hkv.type -v set "$M/tags"
touch "$M/tags/red" "$M/tags/blue"
expect_eq "$(rcli SMEMBERS tags | sort | paste -sd,)" blue,red
mkdir "$M/board"
setfattr -n user.hkv.type -v zset "$M/board"
echo 2.5 >"$M/board/ann"
echo 1 >"$M/board/bob"
expect_eq "$(rcli ZRANGE board 0 -1 WITHSCORES | paste -sd,)" bob,1,ann,2.5

# --- Redis types written by redis-cli show as layouts ----------------------------------------
rcli SET s1 v1 >/dev/null
rcli HSET h1 f1 x f2 y >/dev/null
rcli RPUSH l1 e0 e1 e2 >/dev/null
rcli SADD st1 m1 m2 >/dev/null
rcli ZADD z1 3 c 1 a 2 b >/dev/null
expect_eq "$(cat "$M/s1")" v1
expect_eq "$(ls "$M/h1" | paste -sd,)" f1,f2
expect_eq "$(cat "$M/h1/f2")" y
expect_eq "$(ls "$M/l1" | paste -sd,)" 0,1,2
expect_eq "$(cat "$M/l1/2")" e2
expect_eq "$(ls "$M/st1" | paste -sd,)" m1,m2
expect_eq "$(ls -f "$M/z1" | grep -v '^\.' | paste -sd,)" a,b,c "zset in score order"
expect_eq "$(cat "$M/z1/c")" 3
expect_eq "$(getfattr --only-values -n user.hkv.type "$M/z1")" zset
rm "$M/l1/0"
expect_eq "$(rcli LRANGE l1 0 -1 | paste -sd,)" e1,e2 "rm LIST/0 is LPOP"
# a stream has no layout on this backend: not listed, not found
rcli XADD x1 1-1 f v >/dev/null
ls "$M" | grep -qx x1 && fail "a stream is listed"
[ -e "$M/x1" ] && fail "a stream is found"

# --- metadata in the side hash ----------------------------------------------------------------
echo data >"$M/owned"
chmod 600 "$M/owned"
chown 1234:5678 "$M/owned"
meta=$(meta_of owned)
[ -n "$meta" ] || fail "no metadata hash for 'owned'"
expect_eq "$(rcli HGET "$meta" mode)" 384 "mode in the side hash"
expect_eq "$(rcli HGET "$meta" uid)" 1234
expect_eq "$(rcli HGET "$meta" gid)" 5678
expect_eq "$(stat -c %a:%u:%g "$M/owned")" 600:1234:5678
setfattr -n user.note -v hi "$M/owned"
expect_eq "$(rcli HGET "$meta" x:note)" hi "user xattr in the side hash"
# a key without metadata shows the mount's defaults (umask 022, uid/gid 0)
expect_eq "$(stat -c %a:%u:%g "$M/s1")" 644:0:0 "defaults of a redis-cli key"
# redis-cli DEL leaves the side hash: it is ignored, then cleaned up by the next lookup
rcli DEL owned >/dev/null
expect_eq "$(rcli EXISTS "$meta")" 1 "stale metadata after DEL"
poll 5 sh -c "! stat '$M/owned' >/dev/null 2>&1" || fail "deleted key still visible"
rcli SET owned again >/dev/null
poll 5 sh -c "[ \"\$(cat '$M/owned' 2>/dev/null)\" = again ]" || fail "re-created key not seen"
expect_eq "$(stat -c %a:%u:%g "$M/owned")" 644:0:0 "stale metadata must not apply to a new key"
expect_eq "$(rcli EXISTS "$meta")" 0 "stale metadata cleaned up"

# --- TTL is Redis's TTL; the side hash follows it ----------------------------------------------
setfattr -n user.hkv.ttl -v 100 "$M/greeting"
ttl=$(rcli PTTL greeting)
[ "$ttl" -gt 90000 ] && [ "$ttl" -le 100000 ] || fail "PTTL after setfattr: $ttl"
mttl=$(rcli PTTL "$(meta_of greeting)")
[ "$mttl" -gt 90000 ] && [ $((ttl - mttl)) -le 1000 ] && [ $((mttl - ttl)) -le 1000 ] ||
	fail "side hash TTL $mttl, key TTL $ttl"
rcli PERSIST greeting >/dev/null
poll 5 sh -c "[ \"\$(getfattr --only-values -n user.hkv.ttl '$M/greeting')\" = -1 ]" ||
	fail "PERSIST by redis-cli not seen"
rcli EXPIRE s1 50 >/dev/null
poll 5 sh -c "t=\$(getfattr --only-values -n user.hkv.ttl '$M/s1'); [ \"\$t\" -gt 40 ] && [ \"\$t\" -le 50 ]" ||
	fail "EXPIRE by redis-cli not seen"
setfattr -x user.hkv.ttl "$M/s1"
expect_eq "$(rcli TTL s1)" -1 "setfattr -x user.hkv.ttl is PERSIST"

# --- listing: glob metacharacters in the prefix are literal -----------------------------------
rcli SET 'g*x/a' 1 >/dev/null
rcli SET 'g*x/b' 2 >/dev/null
rcli SET 'gYx/c' 3 >/dev/null
rcli SET '[ab]/k' 4 >/dev/null
rcli SET 'a/k2' 5 >/dev/null
expect_eq "$(ls "$M/g*x" | paste -sd,)" a,b "listing of g*x"
expect_eq "$(ls "$M/[ab]" | paste -sd,)" k "listing of [ab]"
# reserved names never show as files; a key that only looks like one (not its slot's tag) does
rcli SET '{zz}hkvfs.empty:foo' lookalike >/dev/null
expect_eq "$(ls -a "$M" | grep hkvfs)" '{zz}hkvfs.empty:foo' "reserved-looking names listed"
expect_eq "$(cat "$M/{zz}hkvfs.empty:foo")" lookalike
rcli DEL '{zz}hkvfs.empty:foo' >/dev/null

# --- empty collections: a marker while the key is absent ----------------------------------------
mkdir "$M/es"
setfattr -n user.hkv.type -v set "$M/es"
expect_eq "$(rcli EXISTS es)" 0 "Redis holds no empty set"
[ -n "$(reserved_of hkvfs.empty: es)" ] || fail "no marker for the empty set"
expect_eq "$(getfattr --only-values -n user.hkv.type "$M/es")" set
ls "$M" | grep -qx es || fail "empty set not listed"
rcli SADD es m1 >/dev/null
poll 5 sh -c "ls '$M/es' | grep -qx m1" || fail "SADD by redis-cli not seen"
rm "$M/es/m1"
[ -d "$M/es" ] || fail "the set's directory went with its last member"
rmdir "$M/es"
expect_eq "$(reserved_of hkvfs.empty: es)$(reserved_of hkvfs.meta: es)$(rcli EXISTS es)" 0 "rmdir leaves nothing"

# --- a read-only mount with a read-only ACL user: lookups never write (stale metadata stays)
rcli ACL SETUSER reader on '>r3ad' '~*' '&*' '+@read' '+@scripting' '+@connection' '+cluster' '+client' >/dev/null
printf 'r3ad\n' >"$WORK/cred.reader"
chmod 600 "$WORK/cred.reader"
echo gone-soon >"$M/stale"
smeta=$(meta_of stale)
rcli DEL stale >/dev/null
rmount 2 "ro,user=reader,credentials=$WORK/cred.reader"
expect_eq "$(cat "$WORK/mnt2/s1")" v1 "read through the read-only mount"
expect_err "No such file or directory" stat "$WORK/mnt2/stale"
expect_eq "$(rcli EXISTS "$smeta")" 1 "a read-only mount deleted stale metadata"
expect_err "Read-only file system" sh -c "echo x >'$WORK/mnt2/newfile'"

# --- sync=replicas on a server without replicas: every write fails with EIO and a log line
rmount 4 "sync=replicas,timeout_ms=1000"
expect_err "Input/output error" python3 -c "
import os
fd = os.open('$WORK/mnt4/unreplicated', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.close(fd)"
grep -q "not acknowledged by a replica (sync=replicas)" "$WORK/hkvfs-4.log" ||
	fail "no log line for the unreplicated write"

# --- the mount helper: what mount -t hkvfs runs (the daemon detaches; mount returns once mounted)
if [ -n "${MOUNT_HKVFS:-}" ]; then
	# the helper runs the daemon next to it (else /sbin/hkvfs): put this build's side by side
	mkdir -p "$WORK/mnt3" "$WORK/bin"
	cp "$MOUNT_HKVFS" "$WORK/bin/mount.hkvfs"
	ln -s "$(realpath "$HKVFS")" "$WORK/bin/hkvfs"
	MOUNT_HKVFS=$WORK/bin/mount.hkvfs
	expect_err "password= is refused" "$MOUNT_HKVFS" redis://127.0.0.1:7220 "$WORK/mnt3" -o password=x
	m "$MOUNT_HKVFS" redis://127.0.0.1:7220 "$WORK/mnt3" -o "defaults,_netdev,log=$WORK/hkvfs-3.log,timeout_ms=2000"
	# the detached daemon: its PID from its log line, for the cleanup to stop it
	PIDS[3]=$(sed -n 's/.*hkvfs\[\([0-9]*\)\].*mounted redis:.*/\1/p' "$WORK/hkvfs-3.log" | head -n1)
	MNTS[3]=$WORK/mnt3
	[ -n "${PIDS[3]}" ] || fail "no daemon PID in $WORK/hkvfs-3.log"
	grep -q " $WORK/mnt3 [^ ]* .*- fuse.hkvfs redis://127.0.0.1:7220 " /proc/self/mountinfo ||
		fail "mount.hkvfs: not in mountinfo with its source"
	expect_eq "$(cat "$WORK/mnt3/s1")" v1 "read through mount.hkvfs"
	# the detached daemon is not our child: unmount, then wait for it to go
	m fusermount3 -u "$WORK/mnt3"
	timeout "$T" tail --pid="${PIDS[3]}" -f /dev/null || fail "daemon 3 still running after unmount"
	PIDS[3]=
fi

# --- braces in key names -----------------------------------------------------------------------
echo b >"$M/x{y}z"
expect_eq "$(rcli GET 'x{y}z')" b
mv "$M/x{y}z" "$M/{t}1"
expect_eq "$(rcli GET '{t}1')" b
expect_eq "$(rcli EXISTS 'x{y}z')" 0
echo PASS
