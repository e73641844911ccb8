#!/bin/bash
# Sorted-set commands, ZADD options and ZRANGE forms.
. "$(dirname "$0")/lib.sh"

ok $'3\n' zadd z 1 a 2 b 3 c
ok $'1\n' zadd z 1.5 ab
ok $'0\n' zadd z 10 a
ok $'a\n' zrange z -1 -1
ok $'1\n' zadd z CH 1 a
ok $'0\n' zadd z NX 100 a
ok '1' zscore z a
ok $'0\n' zadd z XX 5 new
ok '' zscore z new
ok $'(nil)\n' --no-raw zscore z new
ok $'0\n' zadd z GT 0 a
ok '1' zscore z a
ok $'1\n' zadd z GT CH 4 a
ok '4' zscore z a
ok $'1\n' zadd z LT CH 0.5 a
ok '0.5' zscore z a
ok '2.5' zadd z INCR 2 a
ok '' zadd z NX INCR 1 a
ok $'(nil)\n' --no-raw zadd z NX INCR 1 a
ok '3' zincrby z 0.5 a
# Redis 7.0 replies scores with %.17g (the shortest form came in 7.2)
ok '0.10000000000000001' zincrby z 0.1 x
ok $'5\n' zcard z
ok $'0\n' zcard nokey

# z: x 0.1, ab 1.5, b 2, a 3, c 3
ok $'x\nab\nb\na\nc\n' zrange z 0 -1
ok $'x\n0.10000000000000001\nab\n1.5\n' zrange z 0 1 WITHSCORES
ok $'1) "x"\n2) "0.10000000000000001"\n3) "ab"\n4) "1.5"\n' --no-raw zrange z 0 1 WITHSCORES
ok $'c\na\nb\nab\nx\n' zrange z 0 -1 REV
ok $'ab\nb\na\nc\n' zrange z 1.5 3 BYSCORE
ok $'b\na\nc\n' zrange z '(1.5' 3 BYSCORE
ok $'ab\nb\n' zrange z 1.5 '(3' BYSCORE
ok $'x\nab\nb\na\nc\n' zrange z -inf +inf BYSCORE
ok $'c\na\nb\n' zrange z +inf '(1.5' BYSCORE REV
ok $'ab\nb\n' zrange z -inf +inf BYSCORE LIMIT 1 2
ok $'b\n2\n' zrange z -inf +inf BYSCORE LIMIT 2 1 WITHSCORES
ok '' zrange z 5 inf BYSCORE
ok $'0\n' zrank z x
ok $'4\n' zrank z c
ok $'0\n' zrevrank z c
ok '' zrank z nomember
ok $'(nil)\n' --no-raw zrank z nomember
ok $'0\na\n3\nab\n1.5\n' zscan z 0 MATCH 'a*' COUNT 100
ok $'2\n' zrem z x ab nomember
ok $'b\na\nc\n' zrange z 0 -1
ok $'zset\n' type z

# scores print in their shortest exact form, without an exponent for integer parts
ok $'2\n' zadd sc 20 m 1e16 n
ok '20' zscore sc m
ok '10000000000000000' zscore sc n
ok '25' zincrby sc 5 m
ok '25.100000000000001' zincrby sc 0.1 m

# infinities and errors
ok $'2\n' zadd inf -inf lo +inf hi
ok $'lo\n-inf\nhi\ninf\n' zrange inf 0 -1 WITHSCORES
expect 2 '' $'ERR XX and NX options at the same time are not compatible\nUsage: hkvctl zadd KEY ARG ARG [ARG ...]\n' \
	zadd z NX XX 1 a
expect 2 '' $'ERR GT, LT, and/or NX options at the same time are not compatible\nUsage: hkvctl zadd KEY ARG ARG [ARG ...]\n' \
	zadd z NX GT 1 a
expect 2 '' $'ERR INCR option supports a single increment-element pair\nUsage: hkvctl zadd KEY ARG ARG [ARG ...]\n' \
	zadd z INCR 1 a 2 b
expect 1 '' $'ERR value is not a valid float\n' zadd z 1 a nan b
ok $'3\n' zcard z
expect 2 '' $'ERR syntax error\nUsage: hkvctl zadd KEY ARG ARG [ARG ...]\n' \
	zadd z 1 a 2
expect 2 '' $'ERR min or max is not a float\nUsage: hkvctl zrange KEY ARG ARG [ARG ...]\n' \
	zrange z '((1' 2 BYSCORE
expect 2 '' $'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\nUsage: hkvctl zrange KEY ARG ARG [ARG ...]\n' \
	zrange z 0 -1 LIMIT 0 1
ok $'OK\n' set s v
expect 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' zadd s 1 m
finish
