# Shared helpers for tests/fs/*.sh. Every access to the mount goes through `m` (a timeout),
# so a stuck daemon fails the test instead of hanging it; the EXIT trap kills the daemon by
# PID and unmounts.
set -euo pipefail
T=${T:-20}
PID=
WORK=

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip WHY: a developer machine without what the test needs skips (77); under CI=true, where
# scripts/deps.sh installed everything, a missing piece is a failure.
skip() {
	if [ "${CI:-}" = true ]; then fail "$* (CI=true: nothing may be skipped)"; fi
	echo "skip: $*"
	exit 77
}
m() {
	local rc=0
	timeout "$T" "$@" || rc=$?
	[ "$rc" != 124 ] || echo "FAIL: timed out after $T s: $*" >&2
	return "$rc"
}
# The control client is started thousands of times by some tests; in a sanitizer build its
# leak check at exit (which stops the process with ptrace) would dominate the run, so only the
# daemon is leak-checked.
ctl() { ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout "$T" "$HKVFS_CTL" "$DATA/hkvfs.sock" "$@"; }

# A test that passed ends with a clean unmount, and the daemon must then exit 0 within $T
# seconds: a sanitizer build reports leaks and errors found at exit through that status.
hkv_cleanup() {
	local rc=$? drc=0 deadline
	if [ "$rc" = 0 ] && [ -n "$PID" ]; then
		if timeout "$T" fusermount3 -u "$MNT"; then
			deadline=$((SECONDS + T))
			while kill -0 "$PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
				sleep 0.05
			done
			if kill -0 "$PID" 2>/dev/null; then
				echo "FAIL: daemon still running $T s after the unmount" >&2
				rc=1
			else
				wait "$PID" || drc=$?
				PID=
				if [ "$drc" != 0 ]; then
					echo "FAIL: daemon exited with $drc" >&2
					rc=1
				fi
			fi
		else
			echo "FAIL: final unmount" >&2
			rc=1
		fi
	fi
	if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi
	# a failed test shows what the daemon said last (CI keeps only the test's output)
	if [ "$rc" != 0 ] && [ -n "${LOG:-}" ] && [ -s "$LOG" ]; then
		echo "--- last lines of the daemon log ($LOG):" >&2
		tail -n 25 "$LOG" >&2 || true
	fi
	# HKVFS_TEST_KEEP=DIR: a failed test leaves its daemon log (and store) there
	if [ "$rc" != 0 ] && [ -n "${HKVFS_TEST_KEEP:-}" ] && [ -n "$WORK" ]; then
		cp -r "$WORK/data" "$LOG" "$HKVFS_TEST_KEEP/" 2>/dev/null || true
	fi
	if [ -n "$WORK" ]; then
		fusermount3 -u -z "$MNT" 2>/dev/null || true
		rm -rf "$WORK"
	fi
	exit "$rc"
}

hkv_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	( exec 3<>/dev/fuse ) 2>/dev/null || skip "/dev/fuse unusable"
	command -v fusermount3 >/dev/null || skip "no fusermount3"
	WORK=$(mktemp -d /tmp/hkvfs-test.XXXXXX)
	chmod 755 "$WORK"
	DATA=$WORK/data
	MNT=$WORK/mnt
	LOG=$WORK/hkvfs.log
	mkdir -p "$MNT"
	trap hkv_cleanup EXIT
}

mounted() { grep -q " $MNT [^ ]* .*- fuse.hkvfs " /proc/self/mountinfo; }

# hkv_mount [OPTS]: start the daemon in the foreground (background job) and wait for the mount
hkv_mount() {
	local opts="log=$LOG,loglevel=debug${1:+,$1}" deadline=$((SECONDS + 20))
	"$HKVFS" "$DATA" "$MNT" -f -o "$opts" &
	PID=$!
	until mounted && [ -S "$DATA/hkvfs.sock" ]; do
		kill -0 "$PID" 2>/dev/null || fail "daemon exited during mount"
		[ $SECONDS -lt $deadline ] || fail "mount did not appear"
		sleep 0.05
	done
}

hkv_umount() {
	m fusermount3 -u "$MNT"
	local rc=0
	wait "$PID" || rc=$?
	PID=
	[ "$rc" = 0 ] || fail "daemon exited with $rc"
}

# expect_err ERRTEXT CMD...: CMD must fail with the strerror text ERRTEXT
expect_err() {
	local want=$1 out
	shift
	if out=$("$@" 2>&1); then fail "'$*' succeeded, expected '$want'"; fi
	case "$out" in *"$want"*) ;; *) fail "'$*' said '$out', expected '$want'" ;; esac
}

expect_eq() { [ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"; }

# poll CMD until it succeeds or DEADLINE seconds pass
poll() {
	local secs=$1 deadline
	shift
	deadline=$((SECONDS + secs))
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.02
	done
}
