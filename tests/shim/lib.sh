# Shared helpers of the shim's fall-through tests (tests/shim/*.sh), sourced by each script.
#
# The rule under test: a program run with LD_PRELOAD=libhkv-preload.so produces exactly the
# same stdout bytes, stderr text and exit status as without it whenever the kernel cache
# cannot serve the open (here: the host has no /dev/hkv). same() runs a command both ways
# and compares the three; every access to a FUSE mount is bounded by `timeout`.
#
# Environment (set by CMake): HKV_SHIM (libhkv-preload.so), HKV_PROBE (shim-probe), HKVFS
# (the daemon, for mounts).
set -euo pipefail
T=${T:-20}
SHIM=${HKV_SHIM:?run through ctest}
PROBE=${HKV_PROBE:?run through ctest}
PY=$(command -v /usr/bin/python3 || command -v python3 || true)
NCASES=0
LAST_RC=0
WORK=
PID=
MNT=

fail() { echo "FAIL: $*" >&2; exit 1; }
# skip WHY: 77 on a developer machine; a failure under CI=true, where everything is installed.
skip() {
	if [ "${CI:-}" = true ]; then fail "$* (CI=true: nothing may be skipped)"; fi
	echo "skip: $*"
	exit 77
}

shim_cleanup() {
	if [ -n "$PID" ]; then kill -9 "$PID" 2>/dev/null || true; fi
	if [ -n "$MNT" ] && grep -q " $MNT " /proc/self/mountinfo 2>/dev/null; then
		fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}

shim_setup() {
	[ -r "$SHIM" ] || fail "no shim at $SHIM"
	WORK=$(mktemp -d "${1:-/tmp}/hkv-shim-test.XXXXXX")
	chmod 755 "$WORK"
	trap shim_cleanup EXIT
	OUT=$WORK/out
	mkdir -p "$OUT"
}

# same NAME DIR CMD...: run CMD in working directory DIR without and with the shim; stdout,
# stderr and the exit status must be identical, and the shim must add nothing to stderr.
same() {
	local name=$1 dir=$2 ra=0 rb=0
	shift 2
	NCASES=$((NCASES + 1))
	(cd "$dir" && exec env -u LD_PRELOAD timeout "$T" "$@") \
		>"$OUT/a.out" 2>"$OUT/a.err" </dev/null || ra=$?
	(cd "$dir" && exec env LD_PRELOAD="$SHIM" timeout "$T" "$@") \
		>"$OUT/b.out" 2>"$OUT/b.err" </dev/null || rb=$?
	[ "$ra" != 124 ] || fail "$name: timed out"
	cmp -s "$OUT/a.out" "$OUT/b.out" ||
		fail "$name: stdout differs with the shim ($(wc -c <"$OUT/a.out") vs" \
			"$(wc -c <"$OUT/b.out") bytes)"
	if ! cmp -s "$OUT/a.err" "$OUT/b.err"; then
		diff "$OUT/a.err" "$OUT/b.err" >&2 || true
		fail "$name: stderr differs with the shim"
	fi
	[ "$ra" = "$rb" ] || fail "$name: exit status $ra without the shim, $rb with it"
	LAST_RC=$ra
}

# same_out NAME DIR EXPECTED_FILE CMD...: as same, and stdout must equal EXPECTED_FILE.
same_out() {
	local name=$1 dir=$2 want=$3
	shift 3
	same "$name" "$dir" "$@"
	cmp -s "$OUT/a.out" "$want" || fail "$name: output is not the file's content"
}

# same_fails NAME DIR CMD...: as same, and the command must fail with a message.
same_fails() {
	local name=$1 dir=$2
	shift 2
	same "$name" "$dir" "$@"
	[ "$LAST_RC" != 0 ] || fail "$name: expected a failure"
	[ -s "$OUT/a.err" ] || fail "$name: expected an error message"
}

# interposed PROG ARGS...: the dynamic linker must bind at least one open-family symbol of
# PROG (or of the libraries it loads) to the shim, or the comparisons above prove nothing.
interposed() {
	local log=$OUT/ld-debug
	local SYMS='(open|open64|openat|openat64|__open_2|__open64_2|__openat_2|__openat64_2|fopen|fopen64)'
	rm -f "$log".*
	LD_DEBUG=bindings LD_DEBUG_OUTPUT=$log LD_PRELOAD="$SHIM" timeout "$T" "$@" \
		>/dev/null 2>&1 </dev/null || true
	grep -qsE "to [^ ]*libhkv-preload[^ /]*\.so \[[0-9]+\]: normal symbol \`$SYMS'" "$log".* ||
		fail "the shim does not interpose open for $*"
}

# populate DIR: the fixed data set (fixed seeds), written without the shim.
populate() {
	local d=$1
	mkdir -p "$d/sub/dir"
	: >"$d/empty"
	printf x >"$d/one"
	printf '%063d\n' 7 >"$d/k64"
	for i in $(seq 1 300); do echo "line $i of the text file"; done >"$d/text"
	"$PROBE" gen 1 4096 >"$d/bin4096"
	"$PROBE" gen 2 200000 >"$d/big"
	"$PROBE" gen 3 100 >"$d/sub/dir/leaf"
	echo "spaced" >"$d/sp ace"
	echo "percent" >"$d/pct%25x"
	echo "secret" >"$d/secret"
	chmod 600 "$d/secret"
}
