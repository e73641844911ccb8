#!/usr/bin/env bash
# cluster.sh - start and stop real Redis servers on loopback for the remote-backend tests.
#
#   cluster.sh start DIR BASEPORT   3 masters + 3 replicas on BASEPORT..BASEPORT+5, each in
#                                   DIR/node-PORT; creates the cluster with redis-cli
#                                   --cluster create --cluster-replicas 1, waits (bounded
#                                   polling) until every node reports cluster_state:ok, all
#                                   nodes agree on the slots, and every master has its replica
#                                   linked; prints the seed list "127.0.0.1:P,...".
#   cluster.sh standalone DIR PORT  one non-cluster server; prints "127.0.0.1:PORT".
#   cluster.sh wait DIR [replicas]  wait again until the live nodes of DIR are healthy (after
#                                   a failover or a restart); "replicas": and every master
#                                   has a linked replica.
#   cluster.sh pid DIR PORT         the PID of the node on PORT started from DIR.
#   cluster.sh restart DIR PORT     start the node on PORT again with its nodes.conf (after
#                                   a kill -9: it rejoins, as a replica if it was failed over).
#   cluster.sh stop DIR             kill exactly the PIDs started from DIR (TERM, then KILL
#                                   after 5 s), whichever are still those servers.
#
# Every server started is recorded in DIR/pids ("PID PORT" per line) before anything else can
# fail; a failed start stops what it started (trap). Environment: REDIS_SERVER, REDIS_CLI
# (defaults from PATH), CLUSTER_WAIT_S (default 60): the bound of every wait.
set -euo pipefail

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
WAIT_S=${CLUSTER_WAIT_S:-60}

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

# is PID still the redis-server we started on PORT? (guards against PID reuse)
ours() {
	local pid=$1 port=$2 cmd
	[ -r "/proc/$pid/cmdline" ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *redis-server*":$port"* || $cmd == *redis-server*"--port $port "* ]]
}

stop_dir() {
	local dir=$1 pid port left
	[ -f "$dir/pids" ] || return 0
	while read -r pid port; do
		if ours "$pid" "$port"; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done <"$dir/pids"
	while read -r pid port; do
		left=50
		while ours "$pid" "$port" && [ $left -gt 0 ]; do
			sleep 0.1
			left=$((left - 1))
		done
		if ours "$pid" "$port"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done <"$dir/pids"
	rm -f "$dir/pids"
}

# a port where something already listens would make a confusing failure later
port_free() {
	if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
		die "port $1 is in use (another test run? pick other ports)"
	fi
}

# start_node DIR PORT CLUSTER(yes|no) [keep]: "keep" reuses the node's nodes.conf
start_node() {
	local dir=$1 port=$2 cluster=$3 nd="$1/node-$2" pid
	port_free "$port"
	mkdir -p "$nd"
	if [ "${4:-}" != keep ]; then
		rm -f "$nd/nodes.conf" "$nd/dump.rdb"
	fi
	local args=(--port "$port" --bind 127.0.0.1 --dir "$nd" --logfile "$nd/redis.log"
		--daemonize no --appendonly no --save '' --protected-mode no)
	if [ "$cluster" = yes ]; then
		args+=(--cluster-enabled yes --cluster-config-file "$nd/nodes.conf"
			--cluster-node-timeout 1000 --cluster-replica-validity-factor 0
			--repl-diskless-sync-delay 0)
	fi
	setsid "$REDIS_SERVER" "${args[@]}" </dev/null >>"$nd/redis.log" 2>&1 &
	pid=$!
	echo "$pid $port" >>"$dir/pids"
}

cli() {
	"$REDIS_CLI" -h 127.0.0.1 -p "$1" "${@:2}" </dev/null 2>/dev/null
}

wait_ping() {
	local port=$1 end=$((SECONDS + WAIT_S))
	until [ "$(cli "$port" PING)" = PONG ]; do
		[ $SECONDS -lt $end ] || die "server on port $port did not answer PING within ${WAIT_S}s"
		sleep 0.05
	done
}

ports_of() {
	awk '{print $2}' "$1/pids"
}

# every live node: cluster_state:ok, 16384 slots ok, all nodes known; with "replicas": every
# master has a linked replica; redis-cli --cluster check: all nodes agree about the slots
healthy() {
	local dir=$1 replicas=${2:-} port info first pid
	while read -r pid port; do
		ours "$pid" "$port" || continue
		info=$(cli "$port" CLUSTER INFO | tr -d '\r') || return 1
		grep -qx 'cluster_state:ok' <<<"$info" || return 1
		grep -qx 'cluster_slots_ok:16384' <<<"$info" || return 1
		grep -qx "cluster_known_nodes:$(ports_of "$dir" | sort -u | wc -l)" <<<"$info" || return 1
		[ -n "$replicas" ] || continue
		info=$(cli "$port" INFO replication | tr -d '\r') || return 1
		if grep -qx 'role:master' <<<"$info"; then
			grep -q '^slave0:.*state=online' <<<"$info" || return 1
		else
			grep -qx 'master_link_status:up' <<<"$info" || return 1
		fi
	done <"$dir/pids"
	first=$(while read -r pid port; do ours "$pid" "$port" && echo "$port"; done <"$dir/pids" | head -n1)
	[ -n "$first" ] || return 1
	"$REDIS_CLI" --cluster check "127.0.0.1:$first" </dev/null 2>/dev/null |
		grep -q 'All nodes agree about slots configuration' || return 1
	return 0
}

wait_healthy() {
	local dir=$1 end=$((SECONDS + WAIT_S))
	until healthy "$dir" "${2:-}"; do
		[ $SECONDS -lt $end ] || die "cluster in $dir not healthy within ${WAIT_S}s"
		sleep 0.1
	done
}

seeds() {
	ports_of "$1" | sort -un | sed 's/^/127.0.0.1:/' | paste -sd, -
}

cmd=${1:-}
case "$cmd" in
start)
	[ $# -eq 3 ] || die "usage: cluster.sh start DIR BASEPORT"
	dir=$2
	base=$3
	command -v "$REDIS_SERVER" >/dev/null || die "$REDIS_SERVER not found"
	mkdir -p "$dir"
	[ ! -s "$dir/pids" ] || die "$dir already has running servers (cluster.sh stop $dir)"
	trap 'stop_dir "$dir"' EXIT
	for i in 0 1 2 3 4 5; do
		start_node "$dir" $((base + i)) yes
	done
	for i in 0 1 2 3 4 5; do
		wait_ping $((base + i))
	done
	"$REDIS_CLI" --cluster create $(for i in 0 1 2 3 4 5; do echo "127.0.0.1:$((base + i))"; done) \
		--cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
		die "redis-cli --cluster create failed: $(tail -n3 "$dir/create.log")"
	wait_healthy "$dir" replicas
	trap - EXIT
	seeds "$dir"
	;;
standalone)
	[ $# -eq 3 ] || die "usage: cluster.sh standalone DIR PORT"
	dir=$2
	command -v "$REDIS_SERVER" >/dev/null || die "$REDIS_SERVER not found"
	mkdir -p "$dir"
	[ ! -s "$dir/pids" ] || die "$dir already has running servers (cluster.sh stop $dir)"
	trap 'stop_dir "$dir"' EXIT
	start_node "$dir" "$3" no
	wait_ping "$3"
	trap - EXIT
	echo "127.0.0.1:$3"
	;;
wait)
	[ $# -ge 2 ] || die "usage: cluster.sh wait DIR [replicas]"
	wait_healthy "$2" "${3:-}"
	;;
restart)
	[ $# -eq 3 ] || die "usage: cluster.sh restart DIR PORT"
	pid=$(awk -v p="$3" '$2 == p {print $1}' "$2/pids" | tail -n1)
	[ -n "$pid" ] || die "no node on port $3 was started from $2"
	! ours "$pid" "$3" || die "the node on port $3 is still running (PID $pid)"
	start_node "$2" "$3" yes keep
	wait_ping "$3"
	;;
pid)
	[ $# -eq 3 ] || die "usage: cluster.sh pid DIR PORT"
	awk -v p="$3" '$2 == p {print $1}' "$2/pids" | tail -n1
	;;
stop)
	[ $# -eq 2 ] || die "usage: cluster.sh stop DIR"
	stop_dir "$2"
	;;
*)
	die "usage: cluster.sh start DIR BASEPORT | standalone DIR PORT | wait DIR [replicas] | pid DIR PORT | restart DIR PORT | stop DIR"
	;;
esac
