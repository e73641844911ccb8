#!/bin/bash
# Collections as directory layouts: hash, set, zset, list (push/pop through file operations),
# typed directories made with setfattr user.hkv.type.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
hkv_mount
# hash
m mkdir "$MNT/h"
m setfattr -n user.hkv.type -v hash "$MNT/h"
expect_eq "$(m getfattr --only-values -n user.hkv.type "$MNT/h")" hash "type xattr"
m sh -c "printf Ada > '$MNT/h/name'; printf 36 > '$MNT/h/age'"
expect_eq "$(ctl hget h name)" Ada "hash field in engine"
expect_eq "$(m cat "$MNT/h/age")" 36 "hash field read"
expect_eq "$(m ls "$MNT/h" | tr '\n' ' ')" "age name " "hash fields listed"
m rm "$MNT/h/age"
expect_eq "$(ctl hgetall h | head -1)" name "field removed"
# set
m mkdir "$MNT/s"
m setfattr -n user.hkv.type -v set "$MNT/s"
m touch "$MNT/s/red" "$MNT/s/blue"
expect_eq "$(ctl smembers s | tr '\n' ' ')" "blue red " "touch adds members"
# the write(2) itself fails with EINVAL (not the close), with a log line
expect_err "Invalid argument" m python3 -c "import os; os.write(os.open('$MNT/s/red', os.O_WRONLY), b'data')"
grep -q "set member refused" "$LOG" || fail "no log line for a write into a set member"
m rm "$MNT/s/red"
expect_eq "$(ctl smembers s | tr '\n' ' ')" "blue " "rm removes a member"
m rm "$MNT/s/blue"
m test -d "$MNT/s" || fail "an emptied set stays a directory"
# zset
m mkdir "$MNT/z"
m setfattr -n user.hkv.type -v zset "$MNT/z"
m sh -c "echo 3 > '$MNT/z/c'; echo 1 > '$MNT/z/a'; echo 2.5 > '$MNT/z/b'"
expect_eq "$(m ls -f "$MNT/z" | grep -v '^\.' | tr '\n' ' ')" "a b c " "score order"
expect_eq "$(m cat "$MNT/z/b")" 2.5 "score as text"
# what can never be a score fails at write(2); what only fails to parse whole, at close(2)
expect_err "Invalid argument" m python3 -c "import os; os.write(os.open('$MNT/z/a', os.O_WRONLY | os.O_TRUNC), b'notanumber')"
grep -q "invalid score" "$LOG" || fail "no log line for an invalid score"
expect_err "Invalid argument" m python3 -c "import os; fd = os.open('$MNT/z/a', os.O_WRONLY | os.O_TRUNC); os.write(fd, b'1e'); os.close(fd)"
expect_eq "$(ctl zscore z a)" 1 "bad score changed nothing"
# a larger sorted set with ties: every member listed once, in (score, member) order, across
# many readdir replies (the listing walks the score index from a position cursor)
for i in $(seq 0 1499); do echo "zadd big $((i % 7)) m$(printf %04d $(( (i * 7919) % 1500 )))"; done |
	while read -r verb k s mem; do ctl "$verb" "$k" "$s" "$mem" >/dev/null; done
want=$(ctl zrange big 0 -1 | awk '{print $1}' | tr '\n' ' ')
got=$(m ls -f "$MNT/big" | grep -v '^\.' | tr '\n' ' ')
expect_eq "$(echo "$got" | wc -w)" 1500 "every member listed once"
expect_eq "$got" "$want" "listing in ZRANGE order"
# list
m mkdir "$MNT/l"
m setfattr -n user.hkv.type -v list "$MNT/l"
m sh -c "printf b > '$MNT/l/append'; printf c > '$MNT/l/append'; printf a > '$MNT/l/prepend'"
expect_eq "$(ctl lrange l 0 -1 | tr '\n' ' ')" "a b c " "pushes"
expect_eq "$(m ls -f "$MNT/l" | grep -v '^\.' | tr '\n' ' ')" "0 1 2 " "indexes listed in order"
expect_eq "$(m cat "$MNT/l/0")$(m cat "$MNT/l/2")" ac "read by index"
m sh -c "printf B > '$MNT/l/1'"
expect_eq "$(ctl lrange l 0 -1 | tr '\n' ' ')" "a B c " "write by index = LSET"
m rm "$MNT/l/0"
expect_eq "$(m cat "$MNT/l/0")" B "rm of the first index pops the head"
m rm "$MNT/l/1"
expect_eq "$(ctl lrange l 0 -1 | tr '\n' ' ')" "B " "rm of the last index pops the tail"
ctl rpush l x >/dev/null; ctl rpush l y >/dev/null
expect_err "Operation not permitted" m rm "$MNT/l/1"
# typed directories: only on an empty directory, known names only
m mkdir "$MNT/e"
expect_err "Invalid argument" m setfattr -n user.hkv.type -v bogus "$MNT/e"
m sh -c "echo x > '$MNT/e/f'"
expect_err "Directory not empty" m setfattr -n user.hkv.type -v hash "$MNT/e"
expect_err "Operation not permitted" m setfattr -n user.hkv.type -v set "$MNT/h"
echo ok
