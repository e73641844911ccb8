#!/bin/bash
# Output styles: redis-cli style on a terminal (forced here with --no-raw), plain otherwise
# (forced with --raw). See docs/hkvctl.md "Output".
. "$(dirname "$0")/lib.sh"

ok $'11\n' rpush l a b c d e f g h i j k
ok $' 1) "a"\n 2) "b"\n 3) "c"\n 4) "d"\n 5) "e"\n 6) "f"\n 7) "g"\n 8) "h"\n 9) "i"\n10) "j"\n11) "k"\n' \
	--no-raw lrange l 0 -1
ok $'(integer) 11\n' --no-raw llen l
ok $'11\n' --raw llen l
ok $'OK\n' --no-raw set k v
ok $'OK\n' --raw set k v
ok $'string\n' --no-raw type k
ok 'v' --raw get k
ok $'"v"\n' --no-raw get k
ok $'"v"\n' --raw --no-raw get k
ok 'v' --no-raw --raw get k
# nested arrays (scan replies) line up under their parent's index
for i in $(seq 1 10); do args+=(f$i $i); done
ok $'10\n' hset h "${args[@]}"
# (a small hash: HSCAN gives it whole, in insertion order, as Redis gives a listpack)
ok $'1) "0"\n2) 1) "f1"\n   2) "1"\n   3) "f2"\n   4) "2"\n   5) "f10"\n   6) "10"\n' \
	--no-raw hscan h 0 MATCH 'f[12]*' COUNT 100
ok $'6\n' hset h2 a 1 b 2 c 3 d 4 e 5 f 6
ok $'1) "0"\n2)  1) "a"\n    2) "1"\n    3) "b"\n    4) "2"\n    5) "c"\n    6) "3"\n    7) "d"\n    8) "4"\n    9) "e"\n   10) "5"\n   11) "f"\n   12) "6"\n' \
	--no-raw hscan h2 0 COUNT 100
ok $'0\nf1\n1\nf2\n2\nf10\n10\n' hscan h 0 MATCH 'f[12]*' COUNT 100
# nil inside an array: "(nil)" on a terminal, an empty line otherwise
ok $'1) "v"\n2) (nil)\n' --no-raw mget k nokey
ok $'v\n\n' mget k nokey
# empty string vs nil
ok $'OK\n' set empty ''
ok $'""\n' --no-raw get empty
ok '' get empty
# text meant for a human (INFO, CLIENT INFO, stat) prints as it is in both styles, as redis-cli
ok $'# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\n' --no-raw info keyspace
ok $'# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\n' --raw INFO keyspace
ok $'"# Keyspace\\r\\ndb0:keys=5,expires=0,avg_ttl=0\\r\\n"\n' --no-raw echo $'# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\n'
check "client info is one raw line on a terminal" \
	test "$("$HKVCTL" -d "$DIR" --no-raw client info | grep -c '^id=[0-9]* addr=')" = 1
# (each run's open and close adds to the value log: the numbers move, the text does not)
check "stat is the same text in both styles" \
	test "$("$HKVCTL" -d "$DIR" --no-raw stat | tr -d 0-9.)" = \
	"$("$HKVCTL" -d "$DIR" --raw stat | tr -d 0-9.)"

# stat: INFO-style lines, then the segment table
"$HKVCTL" -d "$DIR" stat >"$T/stat"
check "stat exits 0" test $? = 0
for f in keys expires index_bytes vlog_bytes vlog_live vlog_dead segments reads writes \
	commits syncs compactions compact_bytes expired crc_errors; do
	check "stat prints $f" grep -q "^$f:[0-9][0-9]*$" "$T/stat"
done
check "stat counts keys" grep -qx "keys:5" "$T/stat"
check "stat has the segment table header" grep -qE '^ +id +active +bytes +live +dead +dead%$' "$T/stat"
head -c 300000 /dev/urandom | "$HKVCTL" -d "$DIR" set big - >/dev/null
"$HKVCTL" -d "$DIR" stat >"$T/stat"
check "a large value shows a segment row" grep -qE '^ +[0-9]+ +(yes|no) +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+$' "$T/stat"
ok $'OK\n' set big small
"$HKVCTL" -d "$DIR" compact --all >"$T/out"
check "compact --all prints a count" grep -qE '^[0-9]+$' "$T/out"
ok $'(integer) 0\n' --no-raw compact
finish
