#!/bin/bash
# Error messages and exit statuses: 1 when the command fails, 2 when the command line is wrong.
. "$(dirname "$0")/lib.sh"

expect 2 '' $'ERR wrong number of arguments for \'get\' command\nUsage: hkvctl get KEY\n' get
expect 2 '' $'ERR wrong number of arguments for \'get\' command\nUsage: hkvctl get KEY\n' get a b
expect 2 '' $'ERR unknown command \'frobnicate\', with args beginning with: \'x\' \nTry \'hkvctl --help\'.\n' \
	frobnicate x

# no store yet: reads fail clearly and create nothing; the first write creates it
expect 1 '' "ERR no store in $DIR (the first write creates it)"$'\n' get k
check "a read does not create the store" test ! -e "$DIR"
ok $'OK\n' set k v
check "a write creates the store" test -d "$DIR"
expect 2 '' $'ERR syntax error\nUsage: hkvctl compact [--all]\n' compact --some

# command errors
ok $'OK\n' set s str
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' lpush s x
expect 1 '' $'(error) WRONGTYPE Operation against a key holding the wrong kind of value\n' \
	--no-raw lpush s x
expect 1 '' $'ERR value is not an integer or out of range\n' incr s
expect 1 '' $'ERR no such key\n' rename nokey x

# usage errors in tty style get the "(error) " prefix too
expect 2 '' $'(error) ERR syntax error\nUsage: hkvctl set KEY ARG [ARG ...]\n' \
	--no-raw set k v BOGUS

# a nil reply is success
ok '' get nokey
ok $'(nil)\n' --no-raw get nokey

# no data directory
"$HKVCTL" get k >"$T/out" 2>"$T/err" </dev/null
check "no -d and no HKV_DIR: exit 2" test $? = 2
check "no -d and no HKV_DIR: message" \
	test "$(cat "$T/err")" = $'ERR no data directory: use -d DIR or set HKV_DIR\nUsage: hkvctl get KEY'
check "HKV_DIR is used" test "$(HKV_DIR=$DIR "$HKVCTL" get k)" = v
check "-d wins over HKV_DIR" test "$(HKV_DIR=/nonexistent "$HKVCTL" -d "$DIR" get k)" = v
check "--dir" test "$("$HKVCTL" --dir "$DIR" get k)" = v

# bad global options
"$HKVCTL" -d "$DIR" --sync sometimes get k >/dev/null 2>"$T/err"
check "bad --sync: exit 2" test $? = 2
check "bad --sync: message" \
	test "$(cat "$T/err")" = "hkvctl: --sync must be always, everysec or none"
check "--sync always works" test "$("$HKVCTL" -d "$DIR" --sync always set k2 v)" = OK
"$HKVCTL" -d "$DIR" --bogus get k >/dev/null 2>&1
check "unknown option: exit 2" test $? = 2
"$HKVCTL" >/dev/null 2>&1
check "no command: exit 2" test $? = 2

# the store is held by another process (as a running hkvfs daemon holds it): EBUSY
exec 4>>"$DIR/LOCK"
flock -x 4
expect 1 '' "ERR store in use by another process: $DIR (is it mounted? stop the hkvfs daemon, or use its mount)"$'\n' \
	get k
exec 4>&-
ok 'v' get k

# a store directory that cannot be opened
echo junk >"$T/notastore"
expect 1 '' "ERR cannot open store $T/notastore: Not a directory"$'\n' -d "$T/notastore" get k

# HKVFS on the in-process server: the daemon's administration command, minus what needs a mount
ok $'OK\n' HKVFS SYNC
ok $'OK\n' hkvfs sync
expect 1 '' $'ERR not mounted\n' HKVFS PATH k
expect 1 '' $'ERR not mounted\n' HKVFS CONFIG
expect 2 '' $'ERR unknown subcommand \'nope\'. Try HKVFS HELP.\nUsage: hkvctl hkvfs SUBCOMMAND [ARG ...]\n' \
	HKVFS nope
expect 2 '' $'ERR wrong number of arguments for \'hkvfs|path\' command\nUsage: hkvctl hkvfs SUBCOMMAND [ARG ...]\n' \
	HKVFS PATH
expect 2 '' $'ERR wrong number of arguments for \'hkvfs|sync\' command\nUsage: hkvctl hkvfs SUBCOMMAND [ARG ...]\n' \
	HKVFS SYNC now
expect 2 '' $'ERR syntax error\nUsage: hkvctl hkvfs SUBCOMMAND [ARG ...]\n' HKVFS COMPACT SOME
expect 2 '' $'ERR wrong number of arguments for \'stat\' command\nUsage: hkvctl stat\n' stat now
expect 2 '' $'ERR wrong number of arguments for \'compact\' command\nUsage: hkvctl compact [--all]\n' \
	compact --all now
ok $'0\n' compact ALL
ok $'0\n' HKVFS COMPACT all
"$HKVCTL" -d "$DIR" HKVFS HELP >"$T/out"
check "HKVFS HELP names every subcommand" \
	test "$(grep -cE '^(STATS|CONFIG|COMPACT \[ALL\]|SYNC|PATH <key>|HELP)$' "$T/out")" = 6
"$HKVCTL" -d "$DIR" HKVFS STATS >"$T/out"
check "HKVFS STATS is stat" grep -qx 'keys:3' "$T/out"

# commands that need a connection of their own are refused before a door is chosen
expect 1 '' $'ERR hkvctl runs one command and prints its one reply: \'psubscribe a*\' needs a client that stays connected (redis-cli -s DATA_DIR/hkvfs.sock while the store is mounted)\n' \
	psubscribe 'a*'

# SCAN cursors live in DATA_DIR/hkvctl.cursors between runs; a damaged file loses them only
for i in $(seq 1 30); do args+=(c:$i v); done
ok $'OK\n' mset "${args[@]}"
cur=$("$HKVCTL" -d "$DIR" scan 0 COUNT 5 | head -n 1)
check "a first page leaves a cursor" test "$cur" != 0
check "the cursor is kept in the data directory" test -s "$DIR/hkvctl.cursors"
"$HKVCTL" -d "$DIR" scan "$cur" COUNT 5 >"$T/out"
check "the next run goes on from the cursor" test $? = 0
printf 'junk' >"$DIR/hkvctl.cursors"
expect 1 '' "hkvctl: warning: $DIR/hkvctl.cursors is damaged; its cursors are dropped"$'\nERR invalid cursor\n' \
	scan "$cur" COUNT 5
ok $'0\nc:1\n' scan 0 MATCH 'c:1' COUNT 1000

# the kernel verb is dispatched (its own tool decides what to print)
"$HKVCTL" kernel --help >/dev/null 2>&1
rc=$?
check "kernel --help is dispatched (0, or 1 when built without kernel support)" \
	test "$rc" = 0 -o "$rc" = 1
finish
