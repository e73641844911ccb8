#!/bin/bash
# Hash commands.
. "$(dirname "$0")/lib.sh"

ok $'2\n' hset h f1 v1 f2 v2
ok $'0\n' hset h f1 V1
ok $'1\n' hset h f3 v3
ok 'V1' hget h f1
ok '' hget h nofield
ok '' hget nokey f
ok $'(nil)\n' --no-raw hget h nofield
ok $'1\n' hexists h f2
ok $'0\n' hexists h nofield
ok $'3\n' hlen h
ok $'0\n' hlen nokey
ok $'f1\nV1\nf2\nv2\nf3\nv3\n' hgetall h
ok $'1) "f1"\n2) "V1"\n3) "f2"\n4) "v2"\n5) "f3"\n6) "v3"\n' --no-raw hgetall h
ok $'f1\nf2\nf3\n' hkeys h
ok $'V1\nv2\nv3\n' hvals h
ok $'V1\n\nv3\n' hmget h f1 nofield f3
ok $'0\n' hsetnx h f1 x
ok $'1\n' hsetnx h f4 x
ok $'2\n' hdel h f4 f3 nofield
ok $'2\n' hlen h
ok $'5\n' hincrby h n 5
ok $'2\n' hincrby h n -3
expect 1 '' $'ERR hash value is not an integer\n' hincrby h f1 1
expect 1 '' $'ERR value is not an integer or out of range\n' hincrby h n x
ok $'hash\n' type h
ok $'(empty array)\n' --no-raw hgetall nokey
ok '' hgetall nokey

# hscan walks every field exactly once across calls
for i in $(seq 1 25); do args+=(f$i v$i); done
ok $'25\n' hset hs "${args[@]}"
cur=0
: >"$T/seen"
for round in $(seq 1 100); do
	"$HKVCTL" -d "$DIR" hscan hs "$cur" COUNT 7 >"$T/page"
	cur=$(head -n 1 "$T/page")
	tail -n +2 "$T/page" | paste - - >>"$T/seen"
	[[ $cur == 0 ]] && break
done
check "hscan ends with cursor 0" test "$cur" = 0
check "hscan returns each field once with its value" \
	test "$(sort "$T/seen" | md5sum)" = "$(for i in $(seq 1 25); do printf 'f%s\tv%s\n' $i $i; done | sort | md5sum)"
ok $'0\nf7\nv7\n' hscan hs 0 MATCH f7 COUNT 1000
expect 1 '' $'ERR invalid cursor\n' hscan hs nonsense

# the last field removed deletes the key
ok $'2\n' hdel h f1 f2
ok $'1\n' hdel h n
ok $'0\n' exists h
ok $'none\n' type h

ok $'OK\n' set s v
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' hset s f v
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' hget s f
expect 2 '' $'ERR wrong number of arguments for \'hset\' command\nUsage: hkvctl hset KEY ARG ARG [ARG ...]\n' \
	hset h f1 v1 f2
finish
