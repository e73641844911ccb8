#!/bin/bash
# hkvctl's two doors print the same thing. One list of commands runs against two stores that
# start empty: one hkvctl opens itself (in-process), one that hkv-server holds (hkv_open() says
# EBUSY, so hkvctl sends the words as RESP to DATA_DIR/hkvfs.sock, as it does to a mounted
# daemon). Every command's stdout, stderr and exit status must be byte-identical, binary
# values with newlines and NULs, errors and multi-key commands included. Then, through the
# socket, MSET and DEL of two keys are atomic for a reader polling the pair meanwhile, and a
# data directory too long for a unix socket path is still reached.
. "$(dirname "$0")/lib.sh"

HKV_SERVER=${HKV_SERVER:-}
[[ -x $HKV_SERVER ]] || skip "no hkv-server"
IDLE=$T/idle
BUSY=$T/busy
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p"; done; rm -rf "$T"' EXIT

# serve DIR [CWD SOCKET]: hkv-server holds the store in DIR and listens on its hkvfs.sock
serve() {
	local dir=$1 cwd=${2:-$PWD} sock=${3:-$1/hkvfs.sock} i
	mkdir -p "$dir"
	(cd "$cwd" && exec "$HKV_SERVER" --dir "$dir" --port 0 --unixsocket "$sock") \
		>>"$T/server.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 1 200); do
		[[ $(cd "$cwd" && redis-cli -s "$sock" PING 2>/dev/null) == PONG ]] && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	cat "$T/server.log"
	echo "FAIL: hkv-server did not come up on $sock"
	exit 1
}

command -v redis-cli >/dev/null || skip "no redis-cli (Debian's redis-tools)"
serve "$BUSY"
check "hkv-server holds the busy store's lock" bash -c "! flock -n '$BUSY/LOCK' true"
"$HKVCTL" -d "$BUSY" INFO server >"$T/info"
check "commands on the busy store are served by hkv-server" \
	grep -qx "process_id:${PIDS[0]}"$'\r' "$T/info"

printf 'a\0b\nc\r\n\xff\0' >"$T/bin"
: >"$T/empty"

# shown ARGS...: the command line for a failure message, cut at 160 characters
shown() {
	local s="$*"
	((${#s} > 160)) && s="${s:0:160}..."
	printf '%s' "$s"
}

# both [<FILE] ARGS...: run ARGS on both stores (stdin from FILE, default empty), compare.
N=0
both() {
	local in=$T/empty d
	if [[ $1 == '<'* ]]; then
		in=${1#<}
		shift
	fi
	N=$((N + 1))
	for d in idle busy; do
		local dir=$IDLE
		[[ $d == busy ]] && dir=$BUSY
		"$HKVCTL" -d "$dir" "$@" <"$in" >"$T/$d.out" 2>"$T/$d.err"
		echo $? >"$T/$d.rc"
		sed -i "s|$dir|DATA_DIR|g" "$T/$d.err"
	done
	CHECKS=$((CHECKS + 1))
	if ! cmp -s "$T/idle.out" "$T/busy.out" || ! cmp -s "$T/idle.err" "$T/busy.err" ||
		! cmp -s "$T/idle.rc" "$T/busy.rc"; then
		FAILS=$((FAILS + 1))
		echo "FAIL (line ${BASH_LINENO[0]}): hkvctl $(shown "$@") differs between the doors"
		for d in idle busy; do
			printf '  %s: rc=%s stdout=%q stderr=%q\n' "$d" "$(cat "$T/$d.rc")" \
				"$(cat "$T/$d.out")" "$(cat "$T/$d.err")"
		done
	fi
	RC=$(cat "$T/idle.rc")
	# (bash strings cannot hold NUL: binary stdout is compared with cmp, not here)
	OUT=$(tr -d '\0' <"$T/idle.out"; echo .)
	OUT=${OUT%.}
	ERR=$(slurp "$T/idle.err"; echo .)
	ERR=${ERR%.}
}

# both_is RC STDOUT STDERR [<FILE] ARGS...: both(), and the common output is this one
both_is() {
	local rc=$1 out=$2 err=$3
	shift 3
	both "$@"
	CHECKS=$((CHECKS + 1))
	if [[ $RC != "$rc" || $OUT != "$out" || $ERR != "$err" ]]; then
		FAILS=$((FAILS + 1))
		echo "FAIL (line ${BASH_LINENO[0]}): hkvctl $(shown "$@")"
		printf '  expected: rc=%s stdout=%q stderr=%q\n' "$rc" "$out" "$err"
		printf '  got:      rc=%s stdout=%q stderr=%q\n' "$RC" "$OUT" "$ERR"
	fi
}

# the idle store exists too, so that neither door says "no store"
"$HKVCTL" -d "$IDLE" set seed 1 >/dev/null && "$HKVCTL" -d "$IDLE" del seed >/dev/null

# strings, binary values in and out, both styles
both_is 0 $'OK\n' '' set k v
both_is 0 'v' '' get k
both_is 0 $'OK\n' '' "<$T/bin" set bin -
both get bin
check "the binary value comes back exactly" cmp -s "$T/idle.out" "$T/bin"
both_is 0 $'"a\\x00b\\nc\\r\\n\\xff\\x00"\n' '' --no-raw get bin
both_is 0 $'9\n' '' strlen bin
both_is 0 $'OK\n' '' "<$T/empty" set empty -
both_is 0 $'""\n' '' --no-raw get empty
both_is 0 $'OK\n' '' set $'key with\nnewline' $'value\twith\ttabs'
both_is 0 $'value\twith\ttabs' '' get $'key with\nnewline'
both_is 0 '' '' get nokey
both_is 0 $'(nil)\n' '' --no-raw get nokey
both_is 0 $'1\n' '' incr n
both_is 0 $'11\n' '' incrby n 10
both_is 0 '1.5' '' incrbyfloat f 1.5
both_is 0 $'4\n' '' append k 123
both_is 0 'v12' '' getrange k 0 2
both_is 0 'v123' '' getdel k
both_is 0 $'OK\n' '' set k v

# multi-key commands, one request each
both_is 0 $'OK\n' '' mset a 1 b $'two\nlines' c 3
both_is 0 $'1\ntwo\nlines\n\n3\n' '' mget a b nokey c
both_is 0 $'1) "1"\n2) "two\\nlines"\n3) (nil)\n4) "3"\n' '' --no-raw mget a b nokey c
both_is 0 $'0\n' '' msetnx c x d y
both_is 0 $'2\n' '' del a b nokey
both_is 0 $'1\n' '' exists a b c
both_is 0 $'OK\n' '' rename c c2
both_is 0 $'1\n' '' copy c2 c3

# collections
both_is 0 $'3\n' '' rpush l x $'y\nz' w
both_is 0 $'x\ny\nz\nw\n' '' lrange l 0 -1
both_is 0 $'1) "x"\n2) "y\\nz"\n3) "w"\n' '' --no-raw lrange l 0 -1
both_is 0 'x' '' lmove l l2 LEFT RIGHT
both_is 0 $'l\ny\nz\n' '' blpop l 1
both_is 0 '' '' blpop nolist 0.1
both_is 0 $'2\n' '' hset h f1 v1 f2 $'v\n2'
both_is 0 $'1) "f1"\n2) "v1"\n3) "f2"\n4) "v\\n2"\n' '' --no-raw hgetall h
both_is 0 $'3\n' '' sadd s m1 m2 m3
both_is 0 $'1\n' '' smove s s2 m1
both_is 0 $'m2\nm3\n' '' smembers s
both_is 0 $'3\n' '' zadd z 1 a 2.5 b 0.1 c
both_is 0 $'c\n0.10000000000000001\na\n1\nb\n2.5\n' '' zrange z 0 -1 WITHSCORES
both_is 0 $'1) "c"\n2) "0.10000000000000001"\n3) "a"\n4) "1"\n5) "b"\n6) "2.5"\n' '' \
	--no-raw zrange z 0 -1 WITHSCORES
both_is 0 $'3\n' '' zunionstore z2 2 z z WEIGHTS 1 2
both_is 0 $'list\n' '' type l2
both_is 0 $'none\n' '' type nokey

# expiry, with absolute times so that the replies are the same at any moment
both_is 0 $'1\n' '' expireat k 4102444800
both_is 0 $'4102444800\n' '' expiretime k
both_is 0 $'1\n' '' persist k
both_is 0 $'-1\n' '' ttl k

# the whole keyspace in one page, in both styles
both_is 0 $'0\nbin\nc2\nc3\nempty\nf\nh\nk\nkey with\nnewline\nl\nl2\nn\ns\ns2\nz\nz2\n' '' \
	scan 0 COUNT 1000
both --no-raw scan 0 MATCH 'c*' COUNT 1000
both_is 0 $'15\n' '' dbsize

# errors: exit statuses, texts, usage lines
both_is 1 '' $'WRONGTYPE Operation against a key holding the wrong kind of value\n' lpush k x
both_is 1 '' $'(error) WRONGTYPE Operation against a key holding the wrong kind of value\n' \
	--no-raw lpush k x
both_is 1 '' $'ERR value is not an integer or out of range\n' incr k
both_is 2 '' $'ERR syntax error\nUsage: hkvctl set KEY ARG [ARG ...]\n' set k v NX XX
both_is 2 '' $'ERR wrong number of arguments for \'get\' command\nUsage: hkvctl get KEY\n' get
both_is 2 '' $'ERR unknown command \'frobnicate\', with args beginning with: \'x\' \nTry \'hkvctl --help\'.\n' \
	frobnicate x
both_is 2 '' $'ERR unknown subcommand \'nope\'. Try OBJECT HELP.\nUsage: hkvctl object SUBCOMMAND [ARG ...]\n' \
	object nope
both_is 1 '' $'ERR no such key\n' rename nokey x
both_is 1 '' $'ERR EXEC without MULTI\n' exec
both_is 1 '' $'ERR hkvctl runs one command and prints its one reply: \'subscribe ch\' needs a client that stays connected (redis-cli -s DATA_DIR/hkvfs.sock while the store is mounted)\n' \
	subscribe ch
both_is 0 $'PONG\n' '' ping
both_is 0 $'a\nb' '' echo $'a\nb'
both_is 0 $'OK\n' '' flushall
both_is 0 $'0\n' '' dbsize

# hundreds of arguments in one request (the client writes them in several batches)
many=()
for i in $(seq 1 300); do many+=("many:$i" "v$i"); done
both_is 0 $'OK\n' '' mset "${many[@]}"
keys=()
for i in $(seq 1 300); do keys+=("many:$i"); done
both_is 0 "$(printf 'v%s\n' $(seq 1 300))"$'\n' '' mget "${keys[@]}"
both_is 0 $'300\n' '' del "${keys[@]}"

# Through the socket, MSET and DEL of two keys are one request each: a reader polling both
# keys with MGET in a tight loop never sees them differ.
SOCK=$BUSY/hkvfs.sock
"$HKVCTL" -d "$BUSY" mset a 0 b 0 >/dev/null
redis-cli -s "$SOCK" -r 1000000 -i 0 mget a b >"$T/reads" 2>/dev/null &
READER=$!
PIDS+=($READER)
for i in $(seq 1 40); do
	"$HKVCTL" -d "$BUSY" mset a "$i" b "$i" >/dev/null
	"$HKVCTL" -d "$BUSY" del a b >/dev/null
done
"$HKVCTL" -d "$BUSY" mset a end b end >/dev/null
kill "$READER" 2>/dev/null
wait "$READER"
# the reader was killed with its output half flushed: keep its whole MGET replies only
head -n -1 "$T/reads" >"$T/lines"
(($(wc -l <"$T/lines") % 2)) && sed -i '$d' "$T/lines"
paste - - <"$T/lines" >"$T/pairs"
check "the reader polled throughout the writes" test "$(sort -u "$T/pairs" | wc -l)" -ge 3
check "MSET and DEL of two keys through the socket are atomic" \
	test -z "$(awk -F'\t' 'NF && $1 != $2' "$T/pairs")"

# SHUTDOWN ends without a reply on both doors; through the socket it stops hkv-server
both_is 1 '' $'ERR no reply: the server closed the connection\n' shutdown
timeout 30 tail --pid="${PIDS[0]}" -f /dev/null
check "SHUTDOWN through the socket stopped hkv-server" bash -c "! kill -0 ${PIDS[0]} 2>/dev/null"

# A data directory longer than a unix socket path (107 bytes) is still reached.
LONG=$T/$(printf 'd%.0s' $(seq 1 60))/$(printf 'e%.0s' $(seq 1 60))
mkdir -p "$LONG"
serve "$LONG" "$LONG" hkvfs.sock
check "the long directory's socket path is over the limit" test ${#LONG} -gt 108
"$HKVCTL" -d "$LONG" set k long >/dev/null
check "a long data directory is reached through its socket" \
	test "$("$HKVCTL" -d "$LONG" get k)" = long
finish
