#!/bin/bash
# hkv-bench fs smoke test: `hkv-bench fs --quick` runs to the end and prints every row of
# every table. Performance numbers are not asserted (they depend on the machine). Exit 77
# (skipped) when the benchmark cannot mount (no root, no /dev/fuse, no tmpfs).
set -u
BENCH=${HKV_BENCH:?set HKV_BENCH to the hkv-bench binary}
WORK=$(mktemp -d "${HKV_BENCH_DIR:-/var/tmp}/bench-fs-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
args=(fs --quick --data "$WORK")
[[ -n ${HKV_FUSE_FLOOR:-} ]] && args+=(--floor "$HKV_FUSE_FLOOR")
[[ -n ${HKVFS:-} ]] && args+=(--hkvfs "$HKVFS")

timeout -k 10 280 "$BENCH" "${args[@]}" >"$WORK/out" 2>"$WORK/err"
rc=$?
cat "$WORK/out"
if [[ $rc == 77 ]]; then
	exit 77
fi
if [[ $rc != 0 ]]; then
	cat "$WORK/err"
	echo "FAIL: hkv-bench fs exited $rc"
	exit 1
fi
fails=0
lat='[0-9]+\.[0-9]+'
x=' +[0-9]+\.[0-9]+x'
nox=' +-'
pins=(same)
grep -q '^== pin cross' "$WORK/out" && pins+=(cross)
for pin in "${pins[@]}"; do
	for op in 'open\+read\+close, 64 B file, hot' 'pread 64 B on an open fd' 'stat' \
		'create\+write\+close of a new 64 B file' 'cat as a whole process' \
		'readdir of d, whole listing of 2000 keys'; do
		# the table of this operation and pin: its header line up to the next blank line
		table=$(awk -v h="^$op.*\\\\[pin $pin\\\\]$" \
			'$0 ~ h { on = 1; next } on && /^$/ { exit } on { print }' "$WORK/out")
		if [[ -z $table ]]; then
			echo "FAIL: no table '$op' for pin $pin"
			fails=$((fails + 1))
			continue
		fi
		rows=("^tmpfs +$lat +$lat$nox$nox"
		      "^floor-off +$lat +$lat$x$nox" "^floor-on +$lat +$lat$x$nox"
		      "^floor-noopen +$lat +$lat$x$nox" "^floor-keep +$lat +$lat$x$nox"
		      "^hkvfs-off +$lat +$lat$x$x" "^hkvfs-on +$lat +$lat$x$x")
		# noopen and -o ro are read-only mounts: no create row
		if [[ $op == create* ]]; then
			rows+=("^hkvfs-noopen +- +\(read-only mount\)" "^hkvfs-ro +- +\(read-only mount\)")
		else
			rows+=("^hkvfs-noopen +$lat +$lat$x$x" "^hkvfs-ro +$lat +$lat$x$x")
		fi
		for row in "${rows[@]}"; do
			if ! grep -Eq "$row" <<<"$table"; then
				echo "FAIL: pin $pin, '$op': no row matching /$row/"
				fails=$((fails + 1))
			fi
		done
	done
done
for line in '^  hot cached open\+read\+close, best cached hkvfs mode \(hkvfs-(on|noopen|ro)\): ' \
	    '^  uncached \(cache=off\) open\+read\+close.* [0-9.]+x floor-off' \
	    '^FUSE requests per operation' \
	    '^open\+read\+close +floor-off +[0-9]+\.[0-9]+' \
	    '^open\+read\+close +hkvfs-off +[0-9]+\.[0-9]+' \
	    '^total time'; do
	if ! grep -Eq "$line" "$WORK/out"; then
		echo "FAIL: no line matching /$line/"
		fails=$((fails + 1))
	fi
done
# every daemon was stopped and every mount of this run is gone
if grep -q "$WORK" /proc/self/mountinfo; then
	echo "FAIL: mounts left behind:"
	grep "$WORK" /proc/self/mountinfo
	fails=$((fails + 1))
fi
if [[ -n $(ls -A "$WORK" | grep -v '^out$\|^err$') ]]; then
	echo "FAIL: scratch files left behind: $(ls -A "$WORK")"
	fails=$((fails + 1))
fi
[[ $fails == 0 ]] && echo "PASS" || echo "$fails failures"
[[ $fails == 0 ]]
