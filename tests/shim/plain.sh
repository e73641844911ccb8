#!/bin/bash
# The shim on directories that are not hkvfs mounts (a tmpfs and a plain directory): every
# program behaves exactly as without it, and the shim says nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cases.sh"

bases=/tmp
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then bases="/dev/shm /tmp"; fi
for base in $bases; do
	shim_setup "$base"
	populate "$WORK/d"
	populate "$WORK/ref"
	shim_cases "$WORK/d" "$WORK/ref"
	shim_cleanup
	WORK=
done
# nothing of its own on stderr, even for a program that opens nothing
out=$(LD_PRELOAD="$SHIM" true 2>&1)
[ -z "$out" ] || fail "the shim printed: $out"
out=$(LD_PRELOAD="$SHIM" HKV_PRELOAD_DISABLE=1 cat /dev/null 2>&1)
[ -z "$out" ] || fail "the shim printed: $out"
echo "ok: $NCASES comparisons"
