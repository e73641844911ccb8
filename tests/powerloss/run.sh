#!/usr/bin/env bash
# Power-loss tests (docs/powerloss.md).
#   run.sh selfcheck BINDIR  - the simulator on a file protocol: the correct protocol passes,
#                              and each deliberately broken variant is caught.
#   run.sh engine BINDIR     - the engine workload under each sync policy; every crash state
#                              must pass.
# Scratch space: $HKV_PL_SCRATCH, else a new directory under /dev/shm (tmpfs), else $TMPDIR.
# HKV_PL_STATES (default 400) bounds the crash states checked per trace.
set -euo pipefail
mode=${1:?usage: run.sh selfcheck|engine BINDIR}
bin=${2:?usage: run.sh selfcheck|engine BINDIR}
states=${HKV_PL_STATES:-400}
base=${HKV_PL_SCRATCH:-}
if [ -z "$base" ]; then
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
fi
work=$(mktemp -d "$base/hkv-powerloss.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail=0
case "$mode" in
selfcheck)
	for v in good no-fsync no-dirsync lmdb-good lmdb-nosync; do
		mkdir -p "$work/$v"
		"$bin/pl_selfcheck" --dir "$work/$v/data" --trace "$work/$v/trace" --variant "$v"
		set +e
		"$bin/pl_check" --trace "$work/$v/trace" --scratch "$work/$v" --states "$states" \
			--report 3 > "$work/$v/out"
		rc=$?
		set -e
		cat "$work/$v/out"
		if { [ "$v" = good ] || [ "$v" = lmdb-good ]; } && [ $rc -ne 0 ]; then
			echo "powerloss selfcheck: the correct protocol failed (rc $rc)"
			fail=1
		elif [ "$v" != good ] && [ "$v" != lmdb-good ] && [ $rc -ne 1 ]; then
			echo "powerloss selfcheck: the $v variant was not caught (rc $rc)"
			fail=1
		else
			echo "powerloss selfcheck: $v: as expected (rc $rc)"
		fi
	done
	;;
engine)
	for pol in always everysec none; do
		pace=0
		# everysec's bound is real time: spread the run over several flush intervals
		[ "$pol" = everysec ] && pace=8000
		mkdir -p "$work/$pol"
		"$bin/pl_workload" --dir "$work/$pol/data" --trace "$work/$pol/trace" \
			--sync "$pol" --ops 400 --seed 1 --pace-us "$pace"
		set +e
		"$bin/pl_check" --trace "$work/$pol/trace" --scratch "$work/$pol" \
			--states "$states" --seed 1 --report 10
		rc=$?
		set -e
		echo "powerloss engine: sync=$pol: pl_check exit $rc"
		[ $rc -eq 0 ] || fail=1
	done
	;;
*)
	echo "usage: run.sh selfcheck|engine BINDIR" >&2
	exit 2
	;;
esac
exit $fail
