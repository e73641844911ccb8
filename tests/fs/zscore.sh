#!/usr/bin/env bash
# zscore: writing a sorted set member's score with a shell redirection. `echo 2.5 > z/m`
# opens with O_TRUNC, moves the descriptor (dup2) and closes the first copy before writing:
# that FLUSH must not commit the empty content as a score. No "invalid score" in the log, the
# score is 2.5; over an existing member too; `: > z/m` (really empty) still fails the commit
# at the last close and says so in the log; a non-number is refused at the write.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
hkv_setup
hkv_mount
mkdir "$MNT/z"
setfattr -n user.hkv.type -v zset "$MNT/z"
m bash -c "echo 2.5 > '$MNT/z/m'" || fail "echo 2.5 > z/m"
expect_eq "$(m cat "$MNT/z/m")" 2.5 "score of a new member"
m bash -c "echo 7 > '$MNT/z/m'" || fail "echo 7 > z/m"
expect_eq "$(m cat "$MNT/z/m")" 7 "score of an existing member"
grep -q "invalid score" "$LOG" && fail "invalid score logged: $(grep 'invalid score' "$LOG")"
m bash -c ": > '$MNT/z/m'" || true
expect_eq "$(m cat "$MNT/z/m")" 7 "score after an empty write"
grep -q "invalid score '' for a zset member" "$LOG" || fail "an empty score is not logged"
expect_err "Invalid argument" bash -c "echo abc > '$MNT/z/m'"
expect_eq "$(m cat "$MNT/z/m")" 7 "score after a refused write"
exit 0
