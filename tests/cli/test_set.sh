#!/bin/bash
# Set commands.
. "$(dirname "$0")/lib.sh"

ok $'3\n' sadd s c a b
ok $'1\n' sadd s a d
ok $'4\n' scard s
ok $'0\n' scard nokey
ok $'a\nb\nc\nd\n' smembers s
ok $'1) "a"\n2) "b"\n3) "c"\n4) "d"\n' --no-raw smembers s
ok $'1\n' sismember s a
ok $'0\n' sismember s zz
ok $'0\n' sismember nokey a
ok $'2\n' srem s a zz d
ok $'b\nc\n' smembers s
ok $'set\n' type s
ok $'0\nc\n' sscan s 0 MATCH c COUNT 100
ok $'1) "0"\n2) 1) "b"\n   2) "c"\n' --no-raw sscan s 0 COUNT 100
ok $'1) "0"\n2) (empty array)\n' --no-raw sscan nokey 0
ok $'2\n' srem s b c
ok $'0\n' exists s
ok '' smembers s
ok $'(empty array)\n' --no-raw smembers s
ok $'OK\n' set str v
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' sadd str m
expect 2 '' $'ERR syntax error\nUsage: hkvctl sscan KEY ARG [ARG ...]\n' \
	sscan s 0 COUNT 0
finish
