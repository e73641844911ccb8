#!/bin/bash
# --help, COMMAND --help, help COMMAND, --version.
. "$(dirname "$0")/lib.sh"

"$HKVCTL" --help >"$T/help" 2>&1
check "--help exits 0" test $? = 0
check "--help starts with the usage line" \
	test "$(head -n 1 "$T/help")" = "Usage: hkvctl [OPTIONS] COMMAND [ARG...]"
for verb in get set del exists scan type ttl pttl expire pexpire expireat persist rename \
	renamenx append strlen getrange setrange incr incrby decr decrby incrbyfloat hset hget \
	hdel hexists hlen hgetall hincrby hscan lpush rpush lpop rpop lindex lset lrange llen \
	lrem ltrim linsert sadd srem sismember smembers scard sscan zadd zrem zscore zincrby \
	zrange zrank zrevrank zcard zscan stat compact kernel; do
	check "--help lists $verb" grep -q "^  $verb " "$T/help"
done
check "-h is --help" test "$("$HKVCTL" -h)" = "$(cat "$T/help")"
check "help is --help" test "$("$HKVCTL" help)" = "$(cat "$T/help")"

ok $'Usage: hkvctl get KEY\n\nprint the string value of KEY\n' get --help
ok $'Usage: hkvctl get KEY\n\nprint the string value of KEY\n' help get
ok $'Usage: hkvctl get KEY\n\nprint the string value of KEY\n' help GET
ok $'Usage: hkvctl stat\n\nstore statistics and the value-log segment table\n' stat --help
check "COMMAND --help does not need a data directory" \
	test "$("$HKVCTL" zrange --help | head -n 1)" = \
	"Usage: hkvctl zrange KEY START STOP [BYSCORE] [REV] [LIMIT OFFSET COUNT] [WITHSCORES]"
check "COMMAND --help does not create a store" test ! -e "$DIR"
expect 2 '' $'ERR unknown command \'nope\'\n' help nope
check "--version" grep -q '^hkvctl [0-9]' <("$HKVCTL" --version)
# verbs are case-insensitive, as in Redis
ok $'OK\n' SET k v
ok 'v' GeT k
finish
