#!/bin/bash
# The daemon serves Redis's protocol on DATA_DIR/hkvfs.sock (mode 0600) while mounted, and on
# TCP with -o resp=HOST:PORT: a write through the mount is read over RESP and back; a write
# with `echo >` fires a keyspace notification and breaks a WATCH; a password file makes AUTH
# necessary; malformed resp options refuse the mount with a clear message; redis-py (Debian's
# python3-redis) works against the daemon on both doors.
. "${HKVFS_TESTLIB:?run through ctest}"
hkv_setup
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo secret-pass > "$WORK/pass"
chmod 600 "$WORK/pass"

# bad options refuse the mount and say why
for bad in resp=nohost resp=127.0.0.1:0 resp=127.0.0.1:70000 resp=::1:6380 resp_passfile=rel; do
	if out=$(m "$HKVFS" "$DATA" "$MNT" -f -o "$bad" 2>&1); then fail "mount with -o $bad succeeded"; fi
	case "$out" in *"${bad%%=*}="*) ;; *) fail "-o $bad: unclear error '$out'" ;; esac
	mounted && fail "-o $bad mounted"
done
echo "" > "$WORK/empty"
if out=$(m "$HKVFS" "$DATA" "$MNT" -f -o "resp_passfile=$WORK/empty" 2>&1); then
	fail "mount with an empty password file succeeded"
fi
mounted && fail "an empty password file mounted"

hkv_mount "resp=127.0.0.1:$PORT"
expect_eq "$(stat -c %a "$DATA/hkvfs.sock")" 600 "socket mode"
m python3 - "$MNT" "$DATA/hkvfs.sock" "$PORT" <<'PY'
import os, socket, subprocess, sys
mnt, sock, port = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Resp:
    """A minimal RESP2 client: enough to assert exact replies without a library."""
    def __init__(self, unix=None, tcp=None):
        self.s = socket.socket(socket.AF_UNIX if unix else socket.AF_INET)
        self.s.settimeout(15)
        self.s.connect(unix or tcp)
        self.f = self.s.makefile("rb")
    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Exception(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError("bad reply line %r" % line)
    def call(self, *args):
        self.send(*args)
        return self.read()

def check(what, got, want):
    if isinstance(got, Exception):
        got = "error: " + str(got)
    if got != want:
        sys.exit("FAIL: %s: got %r, expected %r" % (what, got, want))

u = Resp(unix=sock)
t = Resp(tcp=("127.0.0.1", port))
check("PING over the unix socket", u.call("PING"), "PONG")
check("PING over TCP", t.call("PING"), "PONG")

# the mount and RESP are one store, both ways
with open(mnt + "/fromfs", "wb") as f:
    f.write(b"line1\nline2\0end")
check("mount write read over RESP", u.call("GET", "fromfs"), b"line1\nline2\0end")
check("SET over TCP", t.call("SET", "fromresp", b"v\n1"), "OK")
with open(mnt + "/fromresp", "rb") as f:
    check("RESP write read through the mount (no stale kernel cache)", f.read(), b"v\n1")
check("SET again", u.call("SET", "fromresp", "second"), "OK")
with open(mnt + "/fromresp", "rb") as f:
    check("second RESP write read through the mount", f.read(), b"second")
check("RPUSH", u.call("RPUSH", "l", "a", "b", "c"), 3)
check("a list is a directory", sorted(os.listdir(mnt + "/l")), ["0", "1", "2"])
os.unlink(mnt + "/fromfs")
check("rm seen over RESP", u.call("EXISTS", "fromfs"), 0)
check("TYPE", u.call("TYPE", "l"), "list")
check("appendfsync is the mount's sync=", u.call("CONFIG", "GET", "appendfsync"), [b"appendfsync", b"everysec"])
check("unknown command",
      str(u.call("NOSUCH", "x")),
      "ERR unknown command 'NOSUCH', with args beginning with: 'x' ")
check("HKVFS PATH", u.call("HKVFS", "PATH", "fromresp"), (mnt + "/fromresp").encode())
check("HKVFS bad subcommand is an error", isinstance(u.call("HKVFS", "NOPE"), Exception), True)
stats = u.call("HKVFS", "STATS")
check("HKVFS STATS has the key count as name:value", b"\nkeys:" in b"\n" + stats, True)

# keyspace notifications for writes made through the mount
check("CONFIG SET notify-keyspace-events", u.call("CONFIG", "SET", "notify-keyspace-events", "KEA"), "OK")
sub = Resp(unix=sock)
check("SUBSCRIBE", sub.call("SUBSCRIBE", "__keyevent@0__:set", "__keyevent@0__:del"),
      [b"subscribe", b"__keyevent@0__:set", 1])
check("second subscription", sub.read(), [b"subscribe", b"__keyevent@0__:del", 2])
subprocess.run(["sh", "-c", "echo hello > '%s/greet'" % mnt], check=True, timeout=15)
check("a 'set' event for echo >", sub.read(), [b"message", b"__keyevent@0__:set", b"greet"])
os.unlink(mnt + "/greet")
while True:
    msg = sub.read()
    if msg[1] == b"__keyevent@0__:del":
        break
    check("only set events before the del", msg, [b"message", b"__keyevent@0__:set", b"greet"])
check("a 'del' event for rm", msg, [b"message", b"__keyevent@0__:del", b"greet"])

# WATCH sees a write made through the mount
check("SET w", u.call("SET", "w", "1"), "OK")
check("WATCH", u.call("WATCH", "w"), "OK")
with open(mnt + "/w", "wb") as f:
    f.write(b"2")
check("MULTI", u.call("MULTI"), "OK")
check("queued", u.call("SET", "w", "3"), "QUEUED")
check("EXEC aborted by the mount's write", u.call("EXEC"), None)
with open(mnt + "/w", "rb") as f:
    check("the mount's write stands", f.read(), b"2")

# MULTI/EXEC is visible through the mount as a whole
check("MULTI", u.call("MULTI"), "OK")
u.call("SET", "m1", "a")
u.call("SET", "m2", "b")
check("EXEC", u.call("EXEC"), ["OK", "OK"])
check("both keys through the mount", sorted(n for n in os.listdir(mnt) if n.startswith("m")), ["m1", "m2"])
PY
# a real client library from Debian (python3-redis) against the daemon
PYR=/usr/bin/python3
"$PYR" -c 'import redis' 2>/dev/null || skip "no python3-redis for /usr/bin/python3"
m "$PYR" - "$MNT" "$DATA/hkvfs.sock" "$PORT" <<'PY'
import os, subprocess, sys
import redis
mnt, sock, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def check(what, got, want):
    if got != want:
        sys.exit("FAIL: redis-py: %s: got %r, expected %r" % (what, got, want))
for r in (redis.Redis(unix_socket_path=sock), redis.Redis(host="127.0.0.1", port=port)):
    with open(mnt + "/py", "wb") as f:
        f.write(b"via the mount")
    check("GET of a mount write", r.get("py"), b"via the mount")
    check("HSET", r.hset("pyh", mapping={"name": "ada", "lang": "c"}), 2)
    with open(mnt + "/pyh/name", "rb") as f:
        check("a hash field as a file", f.read(), b"ada")
    check("EXPIRE", r.expire("pyh", 100), True)
    check("TTL", 0 < r.ttl("pyh") <= 100, True)
    check("ZADD", r.zadd("pyz", {"a": 1, "b": 2}), 2)
    check("the sorted set's members as files", sorted(os.listdir(mnt + "/pyz")), ["a", "b"])
    with r.pipeline(transaction=True) as p:
        p.set("pt1", "x").incr("pt2").lpush("pt3", "y")
        check("MULTI/EXEC", p.execute(), [True, 1, 1])
    check("DEL", r.delete("py", "pyh", "pyz", "pt1", "pt2", "pt3"), 6)
    check("the mount sees the deletes", [n for n in os.listdir(mnt) if n.startswith("p")], [])
r = redis.Redis(unix_socket_path=sock)
r.config_set("notify-keyspace-events", "KEA")
ps = r.pubsub()
ps.subscribe("__keyspace@0__:pyn")
check("subscribed", ps.get_message(timeout=10)["type"], "subscribe")
subprocess.run(["sh", "-c", "echo hi > '%s/pyn'" % mnt], check=True, timeout=15)
msg = ps.get_message(timeout=10)
check("a keyspace event for echo > (redis-py)", (msg or {}).get("data"), b"set")
PY
hkv_umount
expect_eq "$([ -e "$DATA/hkvfs.sock" ] && echo left || echo gone)" gone "socket removed at unmount"

# a password: clients must AUTH, on the unix socket as on TCP
hkv_mount "resp=127.0.0.1:$PORT,resp_passfile=$WORK/pass,sync=always"
m python3 - "$DATA/hkvfs.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
f = s.makefile("rb")
def call(*a):
    s.sendall(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
    return f.readline()
r = call(b"GET", b"k")
if not r.startswith(b"-NOAUTH"):
    sys.exit("FAIL: GET without AUTH: %r" % r)
r = call(b"AUTH", b"wrong")
if not r.startswith(b"-WRONGPASS"):
    sys.exit("FAIL: AUTH with a wrong password: %r" % r)
if call(b"AUTH", b"secret-pass") != b"+OK\r\n":
    sys.exit("FAIL: AUTH")
if call(b"PING") != b"+PONG\r\n":
    sys.exit("FAIL: PING after AUTH")
r = call(b"CONFIG", b"GET", b"appendfsync") + f.readline() + f.readline() + f.readline() + f.readline()
if r != b"*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n":
    sys.exit("FAIL: appendfsync of a sync=always mount: %r" % r)
PY
echo ok
