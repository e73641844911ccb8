#!/bin/bash
# hkvfs against tmpfs (hkvfs-difftest, see tests/fs/difftest.c): fixed seeds, each a random
# sequence of file operations applied to a directory on a fresh mount and to one on a tmpfs,
# every result, errno, content and listing compared. The default mount and cache=off, each
# bounded in time (DIFFTEST_SECONDS per seed, default 20) so CI time stays fixed; a divergence
# prints its seed and step. DIFFTEST_SEEDS and DIFFTEST_STEPS override the runs.
. "${HKVFS_TESTLIB:?run through ctest}"
T=120
hkv_setup
SEEDS=${DIFFTEST_SEEDS:-1 2 3 4}
STEPS=${DIFFTEST_STEPS:-10000}
SECS=${DIFFTEST_SECONDS:-20}
mkdir "$WORK/tmpfs"
mount -t tmpfs -o mode=0755,size=256m hkvfs-difftest "$WORK/tmpfs" || skip "cannot mount a tmpfs"
# the tmpfs goes first, then hkv_cleanup sees the test's status (errexit off: the status is
# a value here, not a failure)
trap 'rc=$?; set +e; umount "$WORK/tmpfs" 2>/dev/null || umount -l "$WORK/tmpfs"; (exit $rc); hkv_cleanup' EXIT
for opts in "" cache=off; do
	hkv_mount "loglevel=info${opts:+,$opts}"
	for seed in $SEEDS; do
		dir=d$seed${opts:+-off}
		m mkdir "$MNT/$dir"
		mkdir "$WORK/tmpfs/$dir"
		m "$HKVFS_DIFFTEST" --seed "$seed" --steps "$STEPS" --seconds "$SECS" \
			"$MNT/$dir" "$WORK/tmpfs/$dir" || fail "hkvfs${opts:+ ($opts)} differs from tmpfs"
	done
	hkv_umount
done
echo ok
