#!/usr/bin/env bash
# pjdfstest.sh - run the POSIX conformance suite pjdfstest on a fresh hkvfs mount and compare
# its failures with the checked-in exception list.
#
# Usage: pjdfstest.sh [--list-failures] [MOUNT_OPTS]
#   MOUNT_OPTS      extra mount options after allow_other (e.g. cache=off)
#   --list-failures print this run's failures in the exception file's format and exit 0
#
# Source: $PJDFSTEST_SRC, else ../shared/third_party/pjdfstest next to this checkout, else the
# same next to the local checkout this clone came from. The suite is not part of the repository
# and cannot be fetched during a build, so when none exists the test skips (77) and says so;
# every other missing piece (root, /dev/fuse, prove, autotools) fails under CI=true.
#
# The suite is copied and built once per build directory ($PJDFSTEST_BUILD, default
# /tmp/hkvfs-pjdfstest), under a lock so parallel runs share one build.
#
# Areas: those that apply to a key-value filesystem (regular files and directories). The
# exception file (pjdfstest.exceptions next to this script) lists "FILE NUMBERS REASON" lines:
# the assertions that fail because hkvfs has no symlinks, hard links, FIFOs, sockets or device
# nodes, or that follow from one of those. The run fails on a failure not listed, and on a
# listed assertion that passes, so the list stays exact. "FILE plan" stands for a file whose
# plan aborted (the harness counts it as failed as a whole).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
AREAS=${PJDFSTEST_AREAS:-"chmod chown ftruncate mkdir open rename rmdir truncate unlink utimensat posix_fallocate"}
EXC=$here/pjdfstest.exceptions

list=0
if [ "${1:-}" = --list-failures ]; then
	list=1
	shift
fi
opts=${1:-}

skip_or_fail() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $*" >&2
		exit 1
	fi
	echo "skip: $*"
	exit 77
}

find_src() {
	local origin cand
	for cand in "${PJDFSTEST_SRC:-}" "$top/../shared/third_party/pjdfstest"; do
		[ -n "$cand" ] && [ -f "$cand/pjdfstest.c" ] && { echo "$cand"; return 0; }
	done
	origin=$(git -C "$top" config remote.origin.url 2>/dev/null || true)
	case "$origin" in
	/*) cand="$origin/../shared/third_party/pjdfstest"
		[ -f "$cand/pjdfstest.c" ] && { echo "$cand"; return 0; } ;;
	esac
	return 1
}

src=$(find_src) || { echo "skip: pjdfstest source not found (set PJDFSTEST_SRC)"; exit 77; }
[ "$(id -u)" = 0 ] || skip_or_fail "needs root"
[ -c /dev/fuse ] || skip_or_fail "no /dev/fuse"
command -v prove >/dev/null || skip_or_fail "prove (perl) not installed"
command -v autoreconf >/dev/null || skip_or_fail "autoreconf not installed"
: "${HKVFS:?HKVFS must name the hkvfs binary}"

build=${PJDFSTEST_BUILD:-/tmp/hkvfs-pjdfstest}
mkdir -p "$build"
(
	flock 9
	if [ ! -x "$build/src/pjdfstest" ]; then
		rm -rf "$build/src"
		cp -r "$src" "$build/src"
		(cd "$build/src" && autoreconf -ifs && ./configure && make pjdfstest) \
			>"$build/build.log" 2>&1 || { tail -20 "$build/build.log" >&2; exit 1; }
	fi
) 9>"$build/.lock"
suite=$build/src

WORK=$(mktemp -d /tmp/hkvfs-pjd.XXXXXX)
chmod 755 "$WORK"
DATA=$WORK/data
MNT=$WORK/mnt
LOG=$WORK/hkvfs.log
PID=
mkdir -p "$MNT"
cleanup() {
	local rc=$?
	if [ -n "$PID" ]; then
		timeout 20 fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null || true
		timeout 20 tail --pid="$PID" -f /dev/null 2>/dev/null || kill -9 "$PID" 2>/dev/null || true
	fi
	if [ "$rc" != 0 ] && [ -n "${HKVFS_TEST_KEEP:-}" ]; then
		cp "$LOG" "$WORK/prove.out" "$HKVFS_TEST_KEEP/" 2>/dev/null || true
	fi
	[ -n "${PJDFSTEST_KEEP_OUT:-}" ] && cp "$WORK/prove.out" "$PJDFSTEST_KEEP_OUT" 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

"$HKVFS" "$DATA" "$MNT" -f -o "log=$LOG,allow_other${opts:+,$opts}" &
PID=$!
deadline=$((SECONDS + 20))
until grep -q " $MNT [^ ]* .*- fuse.hkvfs " /proc/self/mountinfo; do
	kill -0 "$PID" 2>/dev/null || { echo "FAIL: daemon exited during mount" >&2; exit 1; }
	[ $SECONDS -lt $deadline ] || { echo "FAIL: mount did not appear" >&2; exit 1; }
	sleep 0.05
done
chmod 777 "$MNT" 2>/dev/null || true

# pjdfstest runs from inside the file system under test; each test file is a shell script that
# calls ../../pjdfstest relative to itself.
# One prove per area: a file that bails out stops only its own area.
: >"$WORK/prove.out"
for a in $AREAS; do
	(cd "$MNT" && timeout 900 prove -v -r "$suite/tests/$a") >>"$WORK/prove.out" 2>&1 || true
done

# Parse "FILE .." headers followed by "ok N"/"not ok N" lines ("not ok N # TODO" is an expected
# failure, which prove counts as passing, and so does this); a file whose plan was not met
# (it died, or printed fewer results) is reported as "plan".
awk -v pre="$suite/tests/" '
	function flush() {
		if (file == "") return
		if (bad != "") printf "%s %s\n", file, substr(bad, 2)
		if (planned && seen != planned) printf "%s plan\n", file
	}
	/^\/.*\.t \.\./ {
		flush()
		file = $1; sub(pre, "", file); bad = ""; seen = 0; planned = 0
		next
	}
	file != "" && /^1\.\.[0-9]+/ { planned = substr($1, 4) + 0; next }
	file != "" && /^not ok [0-9]+ # TODO/ { seen++; next }
	file != "" && /^not ok [0-9]+/ { bad = bad "," $3; seen++; next }
	file != "" && /^ok [0-9]+/ { seen++; next }
	END { flush() }
' "$WORK/prove.out" | sort >"$WORK/failures"

total=$(grep -cE '^(not )?ok [0-9]+' "$WORK/prove.out" || true)
nfail=$(grep -E '^not ok [0-9]+' "$WORK/prove.out" | grep -vc '# TODO' || true)
files=$(grep -cE '^/.*\.t \.\.' "$WORK/prove.out" || true)
echo "pjdfstest (${opts:-default options}): $files files, $total assertions, $nfail failed"
for a in $AREAS; do
	fa=$(grep -c "^$a/" "$WORK/failures" || true)
	na=$(grep -cE "^/.*/tests/$a/.*\.t \.\." "$WORK/prove.out" || true)
	echo "  $a: $na files, $fa with failures"
done

# --list-failures: each failure with a reason. An assertion whose command creates an object
# type hkvfs does not have (symlink, link, mkfifo, mknod, bind, connect) is "unsupported"; one
# whose command names an object such a command failed to create or to link to is "follows";
# anything else is GENUINE and must be fixed, never listed.
if [ "$list" = 1 ]; then
	awk -v pre="$suite/tests/" '
		function out(f, n, r) { if (n != "") printf "%s %s %s\n", f, substr(n, 2), r }
		function flush(  r) {
			if (file == "") return
			for (r in nums) out(file, nums[r], r)
			if (planned && seen != planned)
				out(file, ",plan", anyobj ? "follows: the file aborts after an unsupported object type" : "GENUINE")
			delete nums; delete poison; anyobj = 0; lastobj = 0
		}
		/^\/.*\.t \.\./ {
			flush(); file = $1; sub(pre, "", file); seen = 0; planned = 0; next
		}
		file != "" && /^1\.\.[0-9]+/ { planned = substr($1, 4) + 0; next }
		file != "" && /^ok [0-9]+/ { seen++; next }
		file != "" && /^not ok [0-9]+ # TODO/ { seen++; next }
		file != "" && /^not ok [0-9]+/ {
			seen++
			n = $3; cmd = $0; sub(/^[^\x27]*\x27/, "", cmd); sub(/\x27.*/, "", cmd)
			nw = split(cmd, t, " "); k = 0
			for (i = 1; i <= nw; i++) {
				if (t[i] ~ /^-[ugUG]$/) { i++; continue }
				w[++k] = t[i]
			}
			verb = (index($0, " - tried ") ? w[1] : "")
			if (verb ~ /^(symlink|link|mkfifo|mknod|bind|connect)$/) {
				reason = "unsupported: hkvfs has no " (verb == "link" ? "hard links" : verb == "symlink" ? "symbolic links" : verb == "mkfifo" ? "FIFOs" : verb == "mknod" ? "device nodes or FIFOs" : "sockets")
				anyobj = 1
				poison[w[2]] = 1
				if (verb == "symlink" || verb == "link") poison[w[3]] = 1
				if (verb == "symlink" && w[3] ~ /\//) {
					d = w[3]; sub(/\/[^\/]*$/, "", d); poison[d "/" w[2]] = 1
				}
				lastobj = n
			} else if (verb == "") {
				# a bare "not ok" is a timestamp comparison of the step before
				reason = (lastobj && n - lastobj <= 3) ? "follows: timestamp check of an unsupported object" : "GENUINE"
			} else {
				reason = "GENUINE"
				for (q in poison) if (index(cmd, q)) { reason = "follows: names an object of an unsupported type"; lastobj = n; break }
			}
			nums[reason] = nums[reason] "," n
			next
		}
		END { flush() }
	' "$WORK/prove.out" | sort
	exit 0
fi

# Expand "FILE n,m,plan" lines to one "FILE n" per assertion and compare as sets.
expand() { awk '{ n = split($2, a, ","); for (i = 1; i <= n; i++) print $1, a[i] }' | sort -u; }
# (only the areas run: PJDFSTEST_AREAS may name a subset)
grep -vE '^[[:space:]]*(#|$)' "$EXC" | expand |
	awk -v areas="$AREAS" 'BEGIN { n = split(areas, a, " "); for (i = 1; i <= n; i++) run[a[i]] = 1 }
		{ split($1, p, "/"); if (p[1] in run) print }' >"$WORK/expected"
expand <"$WORK/failures" >"$WORK/got"
unexpected=$(comm -13 "$WORK/expected" "$WORK/got")
stale=$(comm -23 "$WORK/expected" "$WORK/got")
rc=0
if [ -n "$unexpected" ]; then
	echo "FAIL: failures not in $EXC:" >&2
	echo "$unexpected" >&2
	for f in $(echo "$unexpected" | awk '{print $1}' | sort -u); do
		echo "--- $f" >&2
		awk -v f="$f" 'index($0, f " ..") { p = 1; next } /^\/.*\.t \.\./ { p = 0 } p && /^not ok|^# /' \
			"$WORK/prove.out" | head -20 >&2
	done
	rc=1
fi
if [ -n "$stale" ]; then
	echo "FAIL: listed exceptions that now pass (remove them from $EXC):" >&2
	echo "$stale" >&2
	rc=1
fi
[ "$rc" = 0 ] && echo "pjdfstest: every failure is a listed exception"
exit "$rc"
