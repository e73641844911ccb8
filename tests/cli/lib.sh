# lib.sh - helpers for hkvctl's command-line tests; sourced by every test_*.sh.
#
#   expect RC STDOUT STDERR ARGS...   run `hkvctl -d $DIR ARGS...` with stdin from /dev/null
#                                     and compare exit status, stdout and stderr exactly
#   ok STDOUT ARGS...                 expect 0 STDOUT "" ARGS...
#   mark; expect_ttl KEY SECONDS      KEY's expiry was set to SECONDS from now by a command
#                                     run after `mark`: its TTL and PTTL lie between SECONDS
#                                     minus the time since `mark` and SECONDS (Redis's rounding)
#   finish                            exit 1 if any expectation failed
#
# Output is captured in files and read back with a sentinel, so trailing newlines count.
set -u
HKVCTL=${HKVCTL:?set HKVCTL to the hkvctl binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/hkvctl-test.XXXXXX")
DIR=$T/store
trap 'rm -rf "$T"' EXIT
unset HKV_DIR
FAILS=0
CHECKS=0

# skip WHY: 77 on a developer machine; a failure under CI=true, where everything is installed.
skip() {
	if [ "${CI:-}" = true ]; then echo "FAIL: $* (CI=true: nothing may be skipped)" >&2; exit 1; fi
	echo "skip: $*"
	exit 77
}

slurp() {
	local s
	s=$(cat "$1"; echo .)
	printf '%s' "${s%.}"
}

expect() {
	local rc=$1 out=$2 err=$3 got gout gerr
	shift 3
	"$HKVCTL" -d "$DIR" "$@" >"$T/out" 2>"$T/err" </dev/null
	got=$?
	gout=$(slurp "$T/out"; echo .)
	gout=${gout%.}
	gerr=$(slurp "$T/err"; echo .)
	gerr=${gerr%.}
	CHECKS=$((CHECKS + 1))
	if [[ $got != "$rc" || $gout != "$out" || $gerr != "$err" ]]; then
		FAILS=$((FAILS + 1))
		echo "FAIL (line ${BASH_LINENO[${#BASH_LINENO[@]} - 2]}): hkvctl $*"
		printf '  expected: rc=%s stdout=%q stderr=%q\n' "$rc" "$out" "$err"
		printf '  got:      rc=%s stdout=%q stderr=%q\n' "$got" "$gout" "$gerr"
	fi
}

ok() {
	local out=$1
	shift
	expect 0 "$out" "" "$@"
}

# check NAME CONDITION-COMMAND...: a free-form assertion.
check() {
	local name=$1
	shift
	CHECKS=$((CHECKS + 1))
	if ! "$@"; then
		FAILS=$((FAILS + 1))
		echo "FAIL (line ${BASH_LINENO[${#BASH_LINENO[@]} - 2]}): $name"
	fi
}

mark() {
	MARK=$(date +%s%3N)
}

expect_ttl() {
	local key=$1 ms=$(($2 * 1000)) ttl pttl el
	ttl=$("$HKVCTL" -d "$DIR" ttl "$key")
	pttl=$("$HKVCTL" -d "$DIR" pttl "$key")
	el=$(($(date +%s%3N) - MARK))
	CHECKS=$((CHECKS + 1))
	if ! [[ $ttl =~ ^[0-9]+$ && $pttl =~ ^[0-9]+$ ]] ||
		((pttl > ms || pttl < ms - el || ttl > ms / 1000 || ttl < (ms - el + 500) / 1000)); then
		FAILS=$((FAILS + 1))
		echo "FAIL (line ${BASH_LINENO[0]}): ttl of $key: expected ${ms}ms minus at most ${el}ms; got ttl=$ttl pttl=$pttl"
	fi
}

finish() {
	if ((FAILS)); then
		echo "$FAILS of $CHECKS checks failed"
		exit 1
	fi
	echo "all $CHECKS checks passed"
	exit 0
}
