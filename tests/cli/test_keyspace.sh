#!/bin/bash
# Keyspace commands: del, exists, type, expiry, rename, scan.
. "$(dirname "$0")/lib.sh"

ok $'OK\n' mset a 1 b 2 c 3
ok $'2\n' del a b nokey
ok $'1\n' exists c
ok $'2\n' exists c c
ok $'0\n' exists a nokey
ok $'string\n' type c
ok $'none\n' type nokey

# expiry: relative, absolute, options, persist
ok $'-1\n' ttl c
ok $'-2\n' ttl nokey
ok $'-2\n' pttl nokey
mark
ok $'1\n' expire c 100
expect_ttl c 100
ok $'0\n' expire c 200 NX
ok $'1\n' expire c 200 XX
ok $'0\n' expire c 150 GT
ok $'1\n' expire c 300 GT
mark
ok $'1\n' expire c 50 LT
expect_ttl c 50
mark
ok $'1\n' pexpire c 120000
expect_ttl c 120
ok $'1\n' expireat c 4102444800
check "expireat sets an absolute time" test "$("$HKVCTL" -d "$DIR" ttl c)" -gt 1000000
ok $'1\n' pexpireat c 4102444800000
ok $'1\n' persist c
ok $'0\n' persist c
ok $'-1\n' ttl c
ok $'0\n' expire nokey 10
ok $'OK\n' set d x
ok $'1\n' expire d -1
ok $'0\n' exists d
ok $'OK\n' set d x
ok $'1\n' pexpireat d 1000
ok '' get d
expect 2 '' $'ERR NX and XX, GT or LT options at the same time are not compatible\nUsage: hkvctl expire KEY ARG [ARG ...]\n' \
	expire c 10 NX XX
expect 2 '' $'ERR GT and LT options at the same time are not compatible\nUsage: hkvctl expire KEY ARG [ARG ...]\n' \
	expire c 10 GT LT
expect 2 '' $'ERR Unsupported option FOO\nUsage: hkvctl expire KEY ARG [ARG ...]\n' \
	expire c 10 FOO
expect 2 '' $'ERR invalid expire time in \'expire\' command\nUsage: hkvctl expire KEY ARG [ARG ...]\n' \
	expire c 9223372036854775807

# rename keeps value and expiry
mark
ok $'1\n' expire c 100
ok $'OK\n' rename c c2
ok '3' get c2
expect_ttl c2 100
ok $'0\n' exists c
expect 1 '' $'ERR no such key\n' rename c c3
ok $'OK\n' set other o
ok $'0\n' renamenx c2 other
ok $'1\n' renamenx c2 c3
ok $'OK\n' rename c3 other
ok '3' get other
ok $'OK\n' rename other other

# scan: every key once over a full iteration; MATCH, TYPE, COUNT
"$HKVCTL" -d "$DIR" del other >/dev/null
for i in $(seq 1 40); do args+=(key:$i v); done
ok $'OK\n' mset "${args[@]}"
ok $'3\n' rpush list:1 a b c
ok $'1\n' sadd set:1 m
cur=0
: >"$T/seen"
for round in $(seq 1 100); do
	"$HKVCTL" -d "$DIR" scan "$cur" COUNT 9 >"$T/page"
	cur=$(head -n 1 "$T/page")
	tail -n +2 "$T/page" >>"$T/seen"
	[[ $cur == 0 ]] && break
done
check "scan ends with cursor 0" test "$cur" = 0
check "scan returns every key exactly once" \
	test "$(sort "$T/seen" | md5sum)" = "$( (for i in $(seq 1 40); do echo key:$i; done; echo list:1; echo set:1) | sort | md5sum)"
ok $'0\nkey:4\nkey:40\n' scan 0 MATCH 'key:4*' COUNT 1000
ok $'0\nlist:1\n' scan 0 TYPE list COUNT 1000
ok $'1) "0"\n2) 1) "set:1"\n' --no-raw scan 0 TYPE set COUNT 1000
ok $'1) "0"\n2) (empty array)\n' --no-raw scan 0 TYPE zset COUNT 1000
check "scan COUNT 5 returns a cursor to resume from" \
	test "$("$HKVCTL" -d "$DIR" scan 0 COUNT 5 | head -n 1)" != 0
# Redis 7.0 matches the type by name: an unknown one matches no key (no error before 7.2)
ok $'0\n' scan 0 TYPE blob
expect 1 '' $'ERR invalid cursor\n' scan xyz
expect 2 '' $'ERR syntax error\nUsage: hkvctl scan ARG [ARG ...]\n' \
	scan 0 MATCH
finish
