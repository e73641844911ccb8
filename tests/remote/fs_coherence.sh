#!/usr/bin/env bash
# fs_coherence: two mounts of one 3+3 cluster (ports 7240..7245), two daemons, kernel caching
# on (entries and attributes cached for an hour). Each change on one side must reach the
# other through the invalidations (CLIENT TRACKING BCAST), not through a cache timeout:
#  - a write through mount 1 (its close returned) is read on mount 2 within a bounded poll,
#    and once it was read there, no later read returns the old value or the old size;
#  - a name that mount 2 looked up and found missing (a cached negative entry) appears once
#    mount 1 creates it;
#  - a redis-cli -c SET is seen by both mounts; a redis-cli DEL removes the name from both;
#  - a chmod on one mount (a change of the side hash only) shows on the other.
# The bound of each poll is 5 s; the invalidation latency itself is measured by
# tools/remote-bench.sh, not here.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/fs_lib.sh"
rfs_setup
start_cluster 7240
rmount 1
rmount 2
A=$WORK/mnt1
B=$WORK/mnt2

# never-old: after mount 2 once read VAL, 8 reads of value and size must all agree with it
settled() {
	local f=$1 val=$2 i
	for i in $(seq 1 8); do
		expect_eq "$(cat "$f")" "$val" "read $i after the new value was seen"
		expect_eq "$(stat -c %s "$f")" "$((${#val} + 1))" "size $i after the new value was seen"
	done
}

mkdir "$A/shared"
for i in $(seq 1 10); do
	key=shared/k$((i % 4))
	val="value-$i-$(printf '%*s' "$i" '' | tr ' ' x)"
	echo "$val" >"$A/$key"
	# mount 2 may have cached the previous size and entry: only an invalidation fixes them
	poll 5 sh -c "[ \"\$(cat '$B/$key' 2>/dev/null)\" = '$val' ] && [ \"\$(stat -c %s '$B/$key')\" = $((${#val} + 1)) ]" ||
		fail "mount 2 did not see write $i of $key: '$(cat "$B/$key" 2>&1)' size $(stat -c %s "$B/$key" 2>&1)"
	settled "$B/$key" "$val"
done

# a cached negative entry on mount 2
stat "$B/shared/late" >/dev/null 2>&1 && fail "shared/late exists too early"
echo late >"$A/shared/late"
poll 5 sh -c "[ \"\$(cat '$B/shared/late' 2>/dev/null)\" = late ]" || fail "new name not seen on mount 2"

# redis-cli writes are seen by both mounts
cat "$A/shared/k1" "$B/shared/k1" >/dev/null
rcli SET shared/k1 from-cli >/dev/null
for mnt in "$A" "$B"; do
	poll 5 sh -c "[ \"\$(cat '$mnt/shared/k1' 2>/dev/null)\" = from-cli ] && [ \"\$(stat -c %s '$mnt/shared/k1')\" = 8 ]" ||
		fail "redis-cli SET not seen on $mnt"
	for i in $(seq 1 8); do
		expect_eq "$(cat "$mnt/shared/k1")" from-cli "read $i on $mnt after redis-cli SET"
		expect_eq "$(stat -c %s "$mnt/shared/k1")" 8 "size $i on $mnt after redis-cli SET"
	done
done
rcli DEL shared/k2 >/dev/null
for mnt in "$A" "$B"; do
	poll 5 sh -c "! stat '$mnt/shared/k2' >/dev/null 2>&1" || fail "redis-cli DEL not seen on $mnt"
	ls "$mnt/shared" | grep -qx k2 && fail "k2 still listed on $mnt"
done
# and a hash field set by redis-cli in a collection both mounts have open as a directory
rcli HSET shared/h f1 a >/dev/null
ls "$A/shared/h" "$B/shared/h" >/dev/null
rcli HSET shared/h f1 bb >/dev/null
for mnt in "$A" "$B"; do
	poll 5 sh -c "[ \"\$(cat '$mnt/shared/h/f1' 2>/dev/null)\" = bb ]" || fail "HSET not seen on $mnt"
done

# a metadata-only change (the side hash) reaches the other mount
stat -c %a "$B/shared/k3" >/dev/null
chmod 600 "$A/shared/k3"
poll 5 sh -c "[ \"\$(stat -c %a '$B/shared/k3')\" = 600 ]" || fail "chmod not seen on mount 2"

# both daemons logged the tracking subscription on every master
for n in 1 2; do
	expect_eq "$(grep -c 'tracking: subscribed' "$WORK/hkvfs-$n.log")" 3 "tracking subscriptions of mount $n"
done
echo PASS
