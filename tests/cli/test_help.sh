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

# the list is the command table's: every command it has, with hkvctl's own verbs
for verb in getdel getex smove lmove zunionstore sintercard copy object hkvfs multi; do
	check "--help lists $verb" grep -q "^  $verb " "$T/help"
done
check "--help says how many commands the table has" \
	grep -qE '^Commands of the table \([0-9]{3}, as Redis 7\.0\.[0-9]+;' "$T/help"

# one command: a usage line from its arity and key positions, the table's summary and docs
GET_HELP=$'Usage: hkvctl get KEY\n\nGet the string value of a key\nGroup: string; since Redis 1.0.0.\n'
ok "$GET_HELP" get --help
ok "$GET_HELP" help get
ok "$GET_HELP" help GET
ok $'Usage: hkvctl stat\n\nstore statistics and the value-log segment table (HKVFS STATS)\n' stat --help
ok $'Usage: hkvctl mset KEY ARG [KEY ARG ...]\n\nSet several keys\nGroup: string; since Redis 1.0.1.\n' help mset
ok $'Usage: hkvctl del KEY [KEY ...]\n\nDelete keys\nGroup: generic; since Redis 1.0.0.\n' help del
"$HKVCTL" help config >"$T/config-help"
check "a container's help lists its subcommands" grep -qE '^  get +[A-Z]' "$T/config-help"
check "a container's usage line" test "$(head -n 1 "$T/config-help")" = \
	"Usage: hkvctl config SUBCOMMAND [ARG ...]"
check "COMMAND --help does not need a data directory" \
	test "$("$HKVCTL" zrange --help | head -n 1)" = "Usage: hkvctl zrange KEY ARG ARG [ARG ...]"
check "COMMAND --help does not create a store" test ! -e "$DIR"
expect 2 '' $'ERR unknown command \'nope\'\n' help nope
check "--version" grep -q '^hkvctl [0-9]' <("$HKVCTL" --version)
# verbs are case-insensitive, as in Redis
ok $'OK\n' SET k v
ok 'v' GeT k
finish
