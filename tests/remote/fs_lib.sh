# Shared helpers for tests/remote/fs_*.sh: hkvfs mounts of real Redis servers started by
# tests/remote/cluster.sh. It reuses tests/fs/lib.sh (fail, skip, m, expect_err, expect_eq,
# poll) and replaces its setup and cleanup: several mounts (one daemon each, killed by PID and
# unmounted in the EXIT trap) and the servers, stopped by cluster.sh whatever happens.
#
# Environment (from ctest): HKVFS (the daemon), HERE (this folder).
HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
# shellcheck source=../fs/lib.sh
. "$HERE/../fs/lib.sh"
HARNESS=$HERE/cluster.sh
RDIR=
MNTS=()
PIDS=()

rfs_cleanup() {
	local rc=$? i drc
	# everything below runs whatever fails: the servers and mounts must not outlive the test
	set +e
	for i in "${!PIDS[@]}"; do
		[ -n "${PIDS[$i]}" ] || continue
		if [ "$rc" = 0 ]; then
			# a passing test ends with a clean unmount and the daemon's exit status 0
			if timeout "$T" fusermount3 -u "${MNTS[$i]}"; then
				drc=0
				timeout "$T" tail --pid="${PIDS[$i]}" -f /dev/null || drc=124
				if [ "$drc" = 0 ]; then
					wait "${PIDS[$i]}" || drc=$?
				fi
				if [ "$drc" != 0 ]; then
					echo "FAIL: daemon ${PIDS[$i]} exited with $drc" >&2
					rc=1
				else
					PIDS[$i]=
				fi
			else
				echo "FAIL: unmount of ${MNTS[$i]}" >&2
				rc=1
			fi
		fi
		if [ -n "${PIDS[$i]}" ]; then kill -9 "${PIDS[$i]}" 2>/dev/null || true; fi
		fusermount3 -u -z "${MNTS[$i]}" 2>/dev/null || true
	done
	if [ -n "$RDIR" ]; then
		"$HARNESS" stop "$RDIR" >/dev/null 2>&1 || true
		if [ "$rc" != 0 ]; then
			for f in "$WORK"/hkvfs-*.log; do
				[ -f "$f" ] || continue
				echo "== $f (last lines)" >&2
				tail -n 25 "$f" >&2
			done
		fi
	fi
	if [ -n "$WORK" ]; then
		if [ "$rc" != 0 ] && [ -n "${HKVFS_TEST_KEEP:-}" ]; then
			cp -r "$WORK" "$HKVFS_TEST_KEEP/" 2>/dev/null || true
		fi
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# rfs_setup: root, FUSE and redis-server are needed (skip 77 without them, fail under CI=true)
rfs_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	( exec 3<>/dev/fuse ) 2>/dev/null || skip "/dev/fuse unusable"
	command -v fusermount3 >/dev/null || skip "no fusermount3"
	command -v redis-server >/dev/null || skip "redis-server not installed"
	command -v redis-cli >/dev/null || skip "redis-cli not installed"
	WORK=$(mktemp -d /tmp/hkvfs-remote-test.XXXXXX)
	chmod 755 "$WORK"
	RDIR=$WORK/redis
	trap rfs_cleanup EXIT
}

# start_cluster BASEPORT: 3 masters + 3 replicas; sets SEEDS (two of the masters) and PORT0
start_cluster() {
	"$HARNESS" start "$RDIR" "$1" >/dev/null || fail "cluster did not start"
	SEEDS=127.0.0.1:$1,127.0.0.1:$(($1 + 1))
	PORT0=$1
}

# start_standalone PORT [redis-server args...]: one server; sets SEEDS and PORT0
start_standalone() {
	"$HARNESS" standalone "$RDIR" "$1" >/dev/null || fail "redis-server did not start"
	SEEDS=127.0.0.1:$1
	PORT0=$1
}

rcli() { timeout "$T" redis-cli -c -p "$PORT0" "$@"; }

# rmount N [OPTS]: mount the servers on $WORK/mntN with its own daemon (log $WORK/hkvfs-N.log)
rmount() {
	local n=$1 mnt=$WORK/mnt$1 deadline=$((SECONDS + 20))
	local opts="log=$WORK/hkvfs-$1.log,loglevel=debug${2:+,$2}"
	mkdir -p "$mnt"
	"$HKVFS" "redis://$SEEDS" "$mnt" -f -o "$opts" &
	PIDS[$n]=$!
	MNTS[$n]=$mnt
	until grep -q " $mnt [^ ]* .*- fuse.hkvfs " /proc/self/mountinfo; do
		kill -0 "${PIDS[$n]}" 2>/dev/null || fail "daemon $n exited during mount"
		[ $SECONDS -lt $deadline ] || fail "mount $n did not appear"
		sleep 0.05
	done
}

# the slot of a key, as the cluster computes it
keyslot() { rcli CLUSTER KEYSLOT "$1"; }

# the reserved name SFX ("hkvfs.meta:", "hkvfs.empty:") of KEY, searched on every node
reserved_of() {
	local p
	for p in $(awk '{print $2}' "$RDIR/pids"); do
		timeout "$T" redis-cli -p "$p" --scan --pattern "{*}$1$2" 2>/dev/null
	done | sort -u | head -n1
}
meta_of() { reserved_of hkvfs.meta: "$1"; }
