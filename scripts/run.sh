#!/usr/bin/env bash
# The main job: install the dependencies, build, create a store in DATA_DIR (default
# /var/tmp/hkvfs-demo/data) and use it: first through hkvctl, then mounted at MNT (default
# /var/tmp/hkvfs-demo/mnt) with the embedded engine, through ordinary shell commands.
# With --keep the store stays mounted when the script ends (unmount with: umount MNT).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
keep=0
[ "${1:-}" = --keep ] && keep=1
[ "${HKV_SKIP_DEPS:-0}" = 1 ] || scripts/deps.sh
scripts/build.sh build >/dev/null

base=${HKV_DEMO_DIR:-/var/tmp/hkvfs-demo}
data=$base/data
mnt=$base/mnt
bin=$top/build
ctl="$bin/tools/hkvctl -d $data"
rm -rf "$data"
mkdir -p "$data" "$mnt"

step() { printf '\n$ %s\n' "$*"; "$@"; }

echo "== hkvctl on the data directory $data"
step $ctl set greeting "hello, world"
step $ctl get greeting
step $ctl set session:42 token EX 120
step $ctl ttl session:42
step $ctl hset user:1001 name alice
step $ctl hset user:1001 email alice@example.com
step $ctl hgetall user:1001
step $ctl rpush queue job1 job2 job3
step $ctl lrange queue 0 -1
step $ctl sadd tags red green blue
step $ctl smembers tags
step $ctl zadd leaderboard 100 alice 250 bob 175 carol
step $ctl zrange leaderboard 0 -1 WITHSCORES
step $ctl scan 0 COUNT 100
step $ctl stat

if [ ! -x "$bin/fs/hkvfs" ] || [ ! -e /dev/fuse ]; then
	echo "(no FUSE here: the filesystem part of the demo is skipped)"
	exit 0
fi

echo
echo "== the same store mounted at $mnt"
cleanup() {
	if [ "$keep" = 0 ] && grep -qs " $mnt " /proc/self/mountinfo; then
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null || true
	fi
}
trap cleanup EXIT
"$bin/fs/hkvfs" "$data" "$mnt" -o sync=everysec
t() { timeout 10 "$@"; }
step t ls -la "$mnt"
step t cat "$mnt/greeting"; echo
step t sh -c "echo -n 'alice' > $mnt/user:name"
step t cat "$mnt/user:name"; echo
step t ls "$mnt/user:1001"
step t cat "$mnt/user:1001/email"; echo
step t getfattr -n user.hkv.type "$mnt/leaderboard"
step t setfattr -n user.hkv.ttl -v 60 "$mnt/greeting"
step t getfattr -n user.hkv.ttl "$mnt/greeting"
step t cat "$mnt/.hkv/stats"
if [ "$keep" = 1 ]; then
	echo "mounted at $mnt; unmount with: fusermount3 -u $mnt"
fi
