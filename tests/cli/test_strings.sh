#!/bin/bash
# String commands: get/set and its options, append, ranges, counters, binary values.
. "$(dirname "$0")/lib.sh"

ok $'OK\n' set k v
ok 'v' get k
ok $'"v"\n' --no-raw get k
ok '' get missing
ok $'(nil)\n' --no-raw get missing

# NX / XX / GET
ok '' set k v2 NX
ok 'v' get k
ok $'OK\n' set k v2 XX
ok '' set nokey x XX
ok $'0\n' exists nokey
ok 'v2' set k v3 GET
ok '' set fresh f GET
ok 'f' get fresh
expect 2 '' $'ERR syntax error\nUsage: hkvctl set KEY ARG [ARG ...]\n' \
	set k v NX XX

# expiry options
mark
ok $'OK\n' set e v EX 100
expect_ttl e 100
mark
ok $'OK\n' set e v PX 100000
ok $'OK\n' set e v2 KEEPTTL
expect_ttl e 100
ok $'OK\n' set e v3
ok $'-1\n' ttl e
ok $'OK\n' set e v EXAT 4102444800
check "EXAT sets an absolute expiry" test "$("$HKVCTL" -d "$DIR" pttl e)" -gt 1000000
ok $'OK\n' set e v PXAT 4102444800000
expect 2 '' $'ERR invalid expire time in \'set\' command\nUsage: hkvctl set KEY ARG [ARG ...]\n' \
	set e v EX 0
expect 1 '' $'ERR value is not an integer or out of range\n' set e v EX soon
expect 2 '' $'ERR syntax error\nUsage: hkvctl set KEY ARG [ARG ...]\n' \
	set e v EX 10 KEEPTTL
ok 'v' set e v PX 1 GET
ok $'OK\n' set gone v PXAT 1000
ok '' get gone

# append, strlen, getrange, setrange
ok $'5\n' append a Hello
ok $'11\n' append a ' World'
ok 'Hello World' get a
ok $'11\n' strlen a
ok $'0\n' strlen nokey
ok 'Hell' getrange a 0 3
ok 'rld' getrange a -3 -1
ok 'Hello World' getrange a 0 -1
ok '' getrange a 20 30
ok '' getrange nokey 0 -1
ok $'11\n' setrange a 6 Redis
ok 'Hello Redis' get a
ok $'5\n' setrange pad 3 ab
ok $'"\\x00\\x00\\x00ab"\n' --no-raw get pad
expect 2 '' $'ERR offset is out of range\nUsage: hkvctl setrange KEY ARG ARG\n' setrange a -1 x

# counters
ok $'1\n' incr n
ok $'11\n' incrby n 10
ok $'10\n' decr n
ok $'-5\n' decrby n 15
ok '-5' get n
ok $'(integer) -4\n' --no-raw incr n
ok $'OK\n' set big 9223372036854775807
expect 1 '' $'ERR increment or decrement would overflow\n' incr big
expect 1 '' $'ERR value is not an integer or out of range\n' incr a
expect 1 '' $'ERR value is not an integer or out of range\n' incrby n 1.5
expect 1 '' $'ERR value is not an integer or out of range\n' incrby n 01
expect 2 '' $'ERR decrement would overflow\nUsage: hkvctl decrby KEY ARG\n' \
	decrby n -9223372036854775808
ok '10.5' incrbyfloat f 10.5
ok '10.6' incrbyfloat f 0.1
ok '10.6' get f
ok $'OK\n' set f 5.0e3
ok '5200' incrbyfloat f 2.0e2
ok '3' incrbyfloat i3 3
expect 1 '' $'ERR value is not a valid float\n' incrbyfloat a 1
expect 1 '' $'ERR value is not a valid float\n' incrbyfloat f abc

# mset / mget
ok $'OK\n' mset m1 a m2 b
ok $'a\nb\n\n' mget m1 m2 m3
ok $'1) "a"\n2) "b"\n3) (nil)\n' --no-raw mget m1 m2 m3
expect 2 '' $'ERR wrong number of arguments for \'mset\' command\nUsage: hkvctl mset KEY ARG [KEY ARG ...]\n' \
	mset m1 a m2

# binary-safe values through stdin and arguments; keys with spaces and newlines
head -c 65536 /dev/urandom >"$T/blob"
printf 'a\0b\0\n' >>"$T/blob"
"$HKVCTL" -d "$DIR" set blob - <"$T/blob" >/dev/null
"$HKVCTL" -d "$DIR" get blob >"$T/blob.out"
check "set KEY - / get round-trips bytes" cmp -s "$T/blob" "$T/blob.out"
ok $'65541\n' strlen blob
: | "$HKVCTL" -d "$DIR" set empty - >/dev/null
ok $'0\n' strlen empty
ok $'1\n' exists empty
ok $'OK\n' set $'key with\nnewline and space' $'v\tv'
ok $'v\tv' get $'key with\nnewline and space'
ok $'OK\n' set q $'a"b\\c\n\x01\xff'
ok $'"a\\"b\\\\c\\n\\x01\\xff"\n' --no-raw get q
ok $'OK\n' set -- --help dashes
ok 'dashes' get -- --help

finish
