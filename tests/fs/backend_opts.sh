#!/usr/bin/env bash
# backend_opts: an option that only the other kind of backend uses is refused, not ignored.
# A store directory refuses sync=replicas, timeout_ms=, user=, credentials= (redis:// only);
# a redis:// source refuses sync=always|everysec|none, compress=, compress_level=, resp=,
# resp_passfile= (local store only). Each refusal: non-zero exit of the daemon, a message
# naming the option on the terminal, an error line in the log, no mount. The redis:// refusals need no server: options are checked before connecting.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
hkv_setup

# refused SOURCE OPT: the daemon (detaching, log in a file) must refuse OPT, naming it
refused() {
	local src=$1 opt=$2 name=${2%%=*} out rc=0
	: >"$LOG"
	out=$(timeout "$T" "$HKVFS" "$src" "$MNT" -o "log=$LOG,$opt" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$src accepted -o $opt"
	[ "$rc" != 124 ] || fail "$src -o $opt: timed out"
	case "$out" in *"option $name"*) ;; *) fail "$src -o $opt: message '$out'" ;; esac
	grep -q "error: option $name" "$LOG" || fail "$src -o $opt: no log line"
	mounted && fail "$src -o $opt: mounted"
	return 0
}

for opt in sync=replicas timeout_ms=1000 user=fs credentials=/etc/hkvfs-cred; do
	refused "$DATA" "$opt"
done
for opt in sync=always sync=none compress=on compress_level=3 resp=127.0.0.1:7223 \
	resp_passfile=/etc/hkvfs-pass; do
	refused redis://127.0.0.1:7223 "$opt"
done

# foreground: the same message reaches stderr through the log
out=$(timeout "$T" "$HKVFS" "$DATA" "$MNT" -f -o sync=replicas 2>&1) && fail "-f accepted sync=replicas"
case "$out" in *"option sync=replicas is for a network source"*) ;; *) fail "-f message: $out" ;; esac

# the options each backend does use are still accepted: a local store with sync=none
hkv_mount sync=none
echo ok >"$MNT/k"
expect_eq "$(m cat "$MNT/k")" ok "a write on the local store"
exit 0
