#!/usr/bin/env bash
# test_cli.sh - hkv-server with redis-cli (Debian's redis-tools): exact replies over TCP and
# the unix socket, redis-server-style flags and a configuration file, requirepass,
# appendfsync, maxclients, the idle timeout, any other CONFIG SET parameter as a flag or a
# file line, bad options, data kept across a restart, and a clean SIGTERM (exit 0, socket
# file removed).
#
# Usage: test_cli.sh HKV_SERVER   (port: HKV_TEST_PORT, default 17013)
set -u
SERVER=${1:?usage: test_cli.sh HKV_SERVER}
PORT=${HKV_TEST_PORT:-17013}
T=$(mktemp -d "${TMPDIR:-/tmp}/hkv-server-cli.XXXXXX")
PID=
FAILS=0
CHECKS=0
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

if ! command -v redis-cli >/dev/null; then
	if [ "${CI:-}" = true ]; then echo "FAIL: redis-cli missing (CI=true)" >&2; exit 1; fi
	echo "skip: redis-cli is not installed (Debian package redis-tools)"
	exit 77
fi

check() { # WHAT GOT WANT
	CHECKS=$((CHECKS + 1))
	if [ "$2" != "$3" ]; then
		FAILS=$((FAILS + 1))
		printf 'FAIL: %s\n--- got:\n%s\n--- want:\n%s\n' "$1" "$2" "$3" >&2
	fi
}

refused() { # WHAT MESSAGE ARGS...: hkv-server with ARGS exits 1 at once, printing MESSAGE
	local what=$1 msg=$2 rc=0

	shift 2
	"$SERVER" "$@" >"$T/out" 2>&1 || rc=$?
	check "$what status" "$rc" 1
	check "$what message" "$(cat "$T/out")" "$msg"
}

start() { # ARGS...: start hkv-server, wait until it accepts
	"$SERVER" "$@" >"$T/log" 2>&1 &
	PID=$!
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
			return 0
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL: hkv-server did not start:" >&2
	cat "$T/log" >&2
	exit 1
}

stop() { # SIGTERM; the exit status must be 0
	kill -TERM "$PID"
	wait "$PID"
	check "exit status after SIGTERM" "$?" 0
	PID=
}

cli() { redis-cli -p "$PORT" --no-auth-warning -a pw "$@" 2>&1; }

cat >"$T/hkv-server.conf" <<EOF
# a configuration file in redis.conf's syntax
port $PORT
bind 127.0.0.1
unixsocket $T/hkv.sock
unixsocketperm 700
requirepass "pw"
appendfsync always
maxclients 4
timeout 1
notify-keyspace-events Kg
EOF
start "$T/hkv-server.conf" --dir "$T/data"

check "noauth" "$(redis-cli -p "$PORT" get k 2>&1)" "NOAUTH Authentication required."
check "set" "$(cli set k v)" "OK"
check "get" "$(cli get k)" "v"
check "get over the unix socket" "$(redis-cli -s "$T/hkv.sock" --no-auth-warning -a pw get k)" "v"
check "socket mode" "$(stat -c %a "$T/hkv.sock")" "700"
check "rpush" "$(cli rpush l a b c)" "3"
check "lrange" "$(cli lrange l 0 -1)" "a
b
c"
check "hset" "$(cli hset h f1 v1 f2 v2)" "2"
check "hgetall" "$(cli hgetall h)" "f1
v1
f2
v2"
check "zadd/zrange" "$(cli zadd z 1 a 2.5 b >/dev/null; cli zrange z 0 -1 withscores)" "a
1
b
2.5"
check "type" "$(cli type z)" "zset"
check "wrongtype" "$(cli get l)" "WRONGTYPE Operation against a key holding the wrong kind of value"
check "HKVFS STATS counts the four keys" "$(cli hkvfs stats | grep '^keys:')" "keys:4"
check "HKVFS SYNC" "$(cli hkvfs sync)" "OK"
check "HKVFS COMPACT" "$(cli hkvfs compact)" "0"
check "HKVFS PATH needs a mount" "$(cli hkvfs path k)" "ERR not mounted"
check "HKVFS bad subcommand" "$(cli hkvfs frob)" "ERR unknown subcommand 'frob'. Try HKVFS HELP."
check "unknown command" "$(cli frobnicate x)" \
	"ERR unknown command 'frobnicate', with args beginning with: 'x' "
check "arity" "$(cli get)" "ERR wrong number of arguments for 'get' command"
check "config get from the file" "$(cli config get appendfsync)" "appendfsync
always"
check "config get maxclients" "$(cli config get maxclients)" "maxclients
4"
check "config get notify" "$(cli config get notify-keyspace-events)" "notify-keyspace-events
gK"
check "config set" "$(cli config set timeout 1 hz 20)" "OK"
check "config set bad" "$(cli config set appendfsync sometimes)" \
	"ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"
check "config set immutable" "$(cli config set unixsocketperm 777)" \
	"ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config"
# CONFIG SET port moves the TCP listener; the unix socket stays
NEWPORT=$((PORT + 50))
check "config set port" "$(cli config set port "$NEWPORT")" "OK"
check "old port closed" "$(redis-cli -p "$PORT" ping 2>&1)" \
	"Could not connect to Redis at 127.0.0.1:$PORT: Connection refused"
check "new port, back" "$(redis-cli -p "$NEWPORT" --no-auth-warning -a pw config set port "$PORT")" "OK"
check "unix socket kept" "$(redis-cli -s "$T/hkv.sock" --no-auth-warning -a pw ping)" "PONG"
check "dbsize" "$(cli dbsize)" "4"
check "info persistence" "$(cli info persistence | grep -c '^aof_enabled:1')" "1"
check "echo binary-safe" "$(printf 'a\r\nb' | cli -x echo | od -An -c | tr -s ' ')" \
	" a \\r \\n b \\n"

# maxclients 4: an idle connection is closed after timeout (1 s); connections over the
# limit are refused with Redis's error
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
exec 6<>"/dev/tcp/127.0.0.1/$PORT"
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
exec 8<>"/dev/tcp/127.0.0.1/$PORT"
check "over maxclients" "$(redis-cli -p "$PORT" ping 2>&1)" "ERR max number of clients reached"
closed=no
for _ in $(seq 1 100); do # the idle timeout closes them within about 1 s
	if [ "$(cli ping)" = PONG ]; then
		closed=yes
		break
	fi
	sleep 0.05
done
check "idle clients closed by timeout" "$closed" yes
exec 5>&- 6>&- 7>&- 8>&-

stop
check "unix socket removed" "$([ -e "$T/hkv.sock" ] && echo present || echo removed)" removed

# a restart keeps everything (appendfsync always acknowledged it)
start --port "$PORT" --dir "$T/data" --requirepass pw --protected-mode yes
check "after restart" "$(cli get k; cli llen l; cli hget h f2)" "v
3
v2"
check "config get protected-mode" "$(cli config get protected-mode)" "protected-mode
yes"
stop

# bad options: a message naming the option, exit status 1, nothing started
refused "bad flag" "hkv-server: command line: bad value 'sometimes' for 'appendfsync'" \
	--port "$PORT" --dir "$T/data" --appendfsync sometimes
printf 'port %s\nfrobnicate yes\n' "$PORT" >"$T/bad.conf"
refused "bad config" "hkv-server: $T/bad.conf:2: unknown option 'frobnicate'" \
	"$T/bad.conf" --dir "$T/data"


# any other CONFIG SET parameter, from the file and the command line (values joined with
# spaces, the command line last), applied as CONFIG SET would
printf 'maxmemory 1gb\nmaxmemory-policy volatile-ttl\n' >"$T/more.conf"
start "$T/more.conf" --port "$PORT" --dir "$T/data" --maxmemory 100mb \
	--client-output-buffer-limit normal 1mb 512kb 60
check "maxmemory from the command line" "$(redis-cli -p "$PORT" config get maxmemory)" "maxmemory
104857600"
check "maxmemory-policy from the file" "$(redis-cli -p "$PORT" config get maxmemory-policy)" \
	"maxmemory-policy
volatile-ttl"
check "a parameter of several values" \
	"$(redis-cli -p "$PORT" config get client-output-buffer-limit)" "client-output-buffer-limit
normal 1048576 524288 60 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
stop
refused "bad CONFIG SET value" \
	"hkv-server: command line: CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction" \
	--port "$PORT" --dir "$T/data" --maxmemory-policy sometimes
check "nothing served after a bad value" "$(redis-cli -p "$PORT" ping 2>&1 | head -c 5)" \
	"Could"
# parameters CONFIG SET may not change: the value in use states what hkv-server does and is
# accepted; another is refused rather than ignored
start --port "$PORT" --dir "$T/data" --daemonize no --supervised no --databases 1
check "immutable parameters at their values" "$(redis-cli -p "$PORT" config get daemonize)" \
	"daemonize
no"
stop
refused "daemonize yes" \
	"hkv-server: command line: bad value 'yes' for 'daemonize': hkv-server keeps it at 'no'" \
	--port "$PORT" --dir "$T/data" --daemonize yes
printf 'databases 16\n' >"$T/db.conf"
refused "databases 16" \
	"hkv-server: $T/db.conf:1: bad value '16' for 'databases': hkv-server keeps it at '1'" \
	"$T/db.conf" --port "$PORT" --dir "$T/data"

echo "test_cli: $((CHECKS - FAILS))/$CHECKS checks passed"
[ "$FAILS" = 0 ]
