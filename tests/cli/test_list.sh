#!/bin/bash
# List commands.
. "$(dirname "$0")/lib.sh"

ok $'3\n' rpush l a b c
ok $'5\n' lpush l y z
ok $'z\ny\na\nb\nc\n' lrange l 0 -1
ok $'1) "z"\n2) "y"\n3) "a"\n4) "b"\n5) "c"\n' --no-raw lrange l 0 -1
ok $'a\nb\n' lrange l 2 3
ok $'b\nc\n' lrange l -2 -1
ok '' lrange l 10 20
ok $'(empty array)\n' --no-raw lrange l 10 20
ok $'5\n' llen l
ok $'0\n' llen nokey
ok 'z' lindex l 0
ok 'c' lindex l -1
ok '' lindex l 99
ok $'(nil)\n' --no-raw lindex l 99
ok $'OK\n' lset l 0 Z
ok 'Z' lpop l
ok 'c' rpop l
ok $'y\na\n' lpop l 2
ok '' lpop nokey
ok $'(nil)\n' --no-raw rpop nokey
ok $'(nil)\n' --no-raw lpop nokey 3
expect 1 '' $'ERR no such key\n' lset nokey 0 x
expect 1 '' $'ERR index out of range\n' lset l 5 x
ok $'6\n' rpush l x b x b x
ok $'b\nx\nb\nx\nb\nx\n' lrange l 0 -1
ok $'2\n' lrem l 2 x
ok $'b\nb\nb\nx\n' lrange l 0 -1
ok $'1\n' lrem l -1 b
ok $'b\nb\nx\n' lrange l 0 -1
ok $'2\n' lrem l 0 b
ok $'x\n' lrange l 0 -1
ok $'2\n' linsert l BEFORE x w
ok $'3\n' linsert l after x y
ok $'-1\n' linsert l before nopivot v
ok $'0\n' linsert nokey before x v
ok $'w\nx\ny\n' lrange l 0 -1
ok $'OK\n' ltrim l 1 -1
ok $'x\ny\n' lrange l 0 -1
ok $'list\n' type l
ok $'OK\n' ltrim l 5 10
ok $'0\n' exists l
expect 2 '' $'ERR syntax error\nUsage: hkvctl linsert KEY ARG ARG ARG\n' \
	linsert l middle x v
expect 1 '' $'ERR value is not an integer or out of range\n' lrange l a b
ok $'OK\n' set s v
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' rpush s x
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' lpop s 2
finish
