#!/bin/bash
# `umount DIR && mount DIR` at once: the new daemon waits for the old one, which still holds the
# store while it shuts down, instead of failing with "store in use"; a store held by a live
# mount still fails at once. Every value written before an unmount is read back after the
# mount that follows it. Uses the daemonizing start (as mount(8) does), 25 rounds.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
MNT2=$WORK/mnt2
mkdir -p "$MNT2"
daemons=()
finish() {
	for d in "$MNT" "$MNT2"; do
		grep -q " $d " /proc/self/mountinfo && fusermount3 -u -z "$d" 2>/dev/null
	done
	# the last daemon must have closed the store before the trap removes it
	poll 30 flock -n "$DATA/LOCK" true || echo "FAIL: a daemon still holds the store" >&2
}
rounds=25
for i in $(seq 1 $rounds); do
	m "$HKVFS" "$DATA" "$MNT" -o "log=$LOG,sync=none" || { finish; fail "mount $i failed right after the unmount"; }
	mounted || { finish; fail "mount $i did not appear"; }
	if [ "$i" -gt 1 ]; then
		got=$(m cat "$MNT/k$((i - 1))") || { finish; fail "k$((i - 1)) unreadable"; }
		[ "$got" = "v$((i - 1))" ] || { finish; fail "k$((i - 1)) = '$got' after remount $i"; }
	fi
	m sh -c "echo v$i > '$MNT/k$i'"
	if [ "$i" = 1 ]; then
		# a live mount owns the store: a second daemon on it fails at once
		start=$SECONDS
		if out=$(m "$HKVFS" "$DATA" "$MNT2" -o "log=$LOG" 2>&1); then
			finish; fail "a second daemon mounted a store that a live mount holds"
		fi
		[ $((SECONDS - start)) -lt 5 ] || { finish; fail "the refusal took $((SECONDS - start)) s"; }
		case "$out" in *"in use"*|*"busy"*) ;; *) finish; fail "refusal said '$out'" ;; esac
		grep -q "store in use by the live mount" "$LOG" || { finish; fail "no log line for the refusal"; }
	fi
	m umount "$MNT" || { finish; fail "umount $i"; }
done
# A deterministic overlap: a lazy unmount returns while a descriptor keeps the old session (and
# its daemon) alive. The new daemon must wait for it, not fail, and take the store over once
# the descriptor is closed and the old daemon has shut down.
m "$HKVFS" "$DATA" "$MNT" -o "log=$LOG"
exec 9<"$MNT/k$rounds"
m umount -l "$MNT"
"$HKVFS" "$DATA" "$MNT" -o "log=$LOG" 9<&- &
NEW=$!
poll 20 grep -q "serves no mount.*waiting up to\|shutting down; waiting up to" "$LOG" ||
	{ exec 9<&-; finish; fail "the new daemon did not wait for the old one"; }
kill -0 $NEW 2>/dev/null || { exec 9<&-; finish; fail "the new daemon gave up while the old one shut down"; }
read -r got <&9
exec 9<&-
expect_eq "$got" "v$rounds" "read through the lazily unmounted descriptor"
wait $NEW || { finish; fail "the new daemon failed after the old one released the store"; }
mounted || { finish; fail "no mount after the handover"; }
expect_eq "$(m cat "$MNT/k$rounds")" "v$rounds" "value after the handover"
m umount "$MNT"
finish
echo ok
