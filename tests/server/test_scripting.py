#!/usr/bin/env python3
# test_scripting.py - hkv-server's Lua scripting against Redis 7.0's behaviour, on the wire
# (raw RESP, so that every reply is checked byte for byte) and through redis-py:
#   - Lua <-> RESP conversions both ways, RESP2 and RESP3 (redis.setresp)
#   - errors: redis.call raising, redis.pcall returning, error_reply/status_reply, refused
#     commands, compile errors, numkeys
#   - EVALSHA, NOSCRIPT, SCRIPT LOAD|EXISTS|FLUSH, EVAL_RO and the no-writes shebang
#   - the sandbox: globals, library tables, metatables, bytecode, missing os/io/print
#   - busy scripts: -BUSY for others, SCRIPT KILL, -UNKILLABLE, MULTI/EXEC during a busy
#     script, and atomicity: SHUTDOWN NOSAVE during a script that wrote leaves none of its
#     writes in the store (the script is one engine transaction)
# Synchronisation is on replies only: a command sent while a script is busy is answered
# (-BUSY) once the script passes lua-time-limit, so the test waits on that reply.
#
# Usage: test_scripting.py HKV_SERVER   (port: HKV_TEST_PORT, default 21014)
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hkvtest import Checks, Raw, Server, skip  # noqa: E402

try:
    import redis
except ImportError:
    skip("python3-redis is not installed")

binary = sys.argv[1]
port = int(os.environ.get("HKV_TEST_PORT", "21014"))
BUSY = (b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
        b"SHUTDOWN NOSAVE.\r\n")


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def sha(body):
    return hashlib.sha1(body.encode()).hexdigest()


def where(body, line=1):
    return f" script: f_{sha(body)}, on @user_script:{line}.".encode()


srv = Server(binary, port)
srv2 = None
ck = Checks()
try:
    c = Raw(port)

    def q(*args):
        c.send(enc(*args))
        return c.read_reply()

    def ev(body, *args):
        return q("EVAL", body, *args)

    # --- Lua -> RESP ---
    ck.eq("string", ev("return 'hello'", 0), b"$5\r\nhello\r\n")
    ck.eq("number truncated", ev("return 100.5", 0), b":100\r\n")
    ck.eq("negative number truncated", ev("return -3.9", 0), b":-3\r\n")
    ck.eq("number out of range (as Redis on x86-64)", ev("return 1e30", 0),
          b":-9223372036854775808\r\n")
    ck.eq("NaN", ev("return 0/0", 0), b":-9223372036854775808\r\n")
    ck.eq("true -> 1", ev("return true", 0), b":1\r\n")
    ck.eq("false -> null", ev("return false", 0), b"$-1\r\n")
    ck.eq("nil -> null", ev("return nil", 0), b"$-1\r\n")
    ck.eq("status table", ev("return {ok='fine'}", 0), b"+fine\r\n")
    ck.eq("error table", ev("return {err='ERR this is an error'}", 0),
          b"-ERR this is an error\r\n")
    ck.eq("error table with a code", ev("return {err='MYCODE custom'}", 0), b"-MYCODE custom\r\n")
    ck.eq("nested array", ev("return {1,2,3,'ciao',{1,2}}", 0),
          b"*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n")
    ck.eq("array truncated at the first nil", ev("return {1,2,nil,4}", 0), b"*2\r\n:1\r\n:2\r\n")
    ck.eq("hash part ignored", ev("return {1, x=2}", 0), b"*1\r\n:1\r\n")
    ck.eq("function -> null", ev("return function() end", 0), b"$-1\r\n")
    ck.eq("KEYS and ARGV", ev("return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", 2, "a", "b", "c", "d"),
          b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n")
    ck.eq("#ARGV", ev("return #ARGV", 1, "k", "x", "y", "z"), b":3\r\n")
    ck.eq("double table (RESP2)", ev("return {double=3.5}", 0), b"$3\r\n3.5\r\n")

    # --- RESP -> Lua ---
    ck.eq("set", ev("return redis.call('set',KEYS[1],ARGV[1])", 1, "k", "v"), b"+OK\r\n")
    ck.eq("bulk -> string", ev("return type(redis.call('get',KEYS[1]))", 1, "k"),
          b"$6\r\nstring\r\n")
    ck.eq("integer -> number", ev("return type(redis.call('incr',KEYS[1]))", 1, "n"),
          b"$6\r\nnumber\r\n")
    ck.eq("nil bulk -> false",
          ev("return redis.call('get',KEYS[1]) == false", 1, "nokey"), b":1\r\n")
    ck.eq("status -> {ok=}", ev("return redis.call('set',KEYS[1],'x')['ok']", 1, "k"),
          b"$2\r\nOK\r\n")
    ck.eq("multi bulk -> table",
          ev("redis.call('rpush',KEYS[1],'a','b','c'); "
             "local t = redis.call('lrange',KEYS[1],0,-1); return {#t, t[1], t[3]}", 1, "l"),
          b"*3\r\n:3\r\n$1\r\na\r\n$1\r\nc\r\n")
    ck.eq("error -> {err=} (pcall)",
          ev("return redis.pcall('incr',KEYS[1])['err']", 1, "l"),
          b"$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    ck.eq("RESP3 map", ev("redis.setresp(3); redis.call('hset',KEYS[1],'f','v'); "
                          "return redis.call('hgetall',KEYS[1])['map']['f']", 1, "h"),
          b"$1\r\nv\r\n")
    ck.eq("RESP3 null -> nil", ev("redis.setresp(3); return redis.call('get','nokey') == nil",
                                  0), b":1\r\n")
    ck.eq("RESP3 double", ev("redis.setresp(3); redis.call('zadd',KEYS[1],2.5,'m'); "
                             "return redis.call('zscore',KEYS[1],'m')['double'] * 2", 1, "z"),
          b":5\r\n")
    ck.eq("RESP2 double is a bulk", ev("return redis.call('zscore',KEYS[1],'m')", 1, "z"),
          b"$3\r\n2.5\r\n")
    ck.eq("number arguments use %.17g", ev("redis.call('set',KEYS[1],0.1); "
                                           "return redis.call('get',KEYS[1])", 1, "f"),
          b"$19\r\n0.10000000000000001\r\n")
    ck.eq("RESP3 caller gets booleans", q("HELLO", "3")[:1], b"%")
    ck.eq("setresp(3) true -> #t", ev("redis.setresp(3); return true", 0), b"#t\r\n")
    ck.eq("RESP3 map returned", ev("redis.setresp(3); return {map={a=1}}", 0),
          b"%1\r\n$1\r\na\r\n:1\r\n")
    ck.eq("RESP3 false -> null", ev("return false", 0), b"_\r\n")
    ck.eq("back to RESP2", q("HELLO", "2")[:1], b"*")

    # --- errors ---
    body = "return redis.call('incr',KEYS[1])"
    ck.eq("redis.call raises", ev(body, 1, "l"),
          b"-WRONGTYPE Operation against a key holding the wrong kind of value" + where(body)
          + b"\r\n")
    body = "redis.call('nosuchcommand')"
    ck.eq("unknown command", ev(body, 0),
          b"-ERR Unknown Redis command called from script" + where(body) + b"\r\n")
    body = "redis.call('get','a','b','c')"
    ck.eq("arity", ev(body, 0),
          b"-ERR Wrong number of args calling Redis command from script" + where(body) + b"\r\n")
    ck.eq("blocking command refused", ev("return redis.pcall('blpop','x',0)", 0),
          b"-ERR This Redis command is not allowed from script\r\n")
    ck.eq("no arguments", ev("return redis.pcall()", 0),
          b"-ERR Please specify at least one argument for this redis lib call\r\n")
    ck.eq("bad argument type", ev("return redis.pcall('get', {})", 0),
          b"-ERR Lua redis lib command arguments must be strings or integers\r\n")
    ck.eq("error_reply", ev("return redis.error_reply('My Error')", 0), b"-My Error\r\n")
    ck.eq("error_reply with code", ev("return redis.error_reply('-MY custom')", 0),
          b"-MY custom\r\n")
    ck.eq("status_reply", ev("return redis.status_reply('STATUS')", 0), b"+STATUS\r\n")
    ck.eq("pcall gives the message",
          ev("local ok, e = pcall(function() redis.call('incr', KEYS[1]) end) return e", 1, "l"),
          b"$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    body = "error('boom')"
    ck.eq("runtime error", ev(body, 0),
          b"-ERR user_script:1: boom" + where(body) + b"\r\n")
    ck.eq("compile error", ev("return (", 0),
          b"-ERR Error compiling script (new function): user_script:1: unexpected symbol near "
          b"'<eof>'\r\n")
    ck.eq("numkeys too big", ev("return 1", 2, "a"),
          b"-ERR Number of keys can't be greater than number of args\r\n")
    ck.eq("numkeys negative", ev("return 1", -1),
          b"-ERR Number of keys can't be negative\r\n")
    ck.eq("numkeys not a number", ev("return 1", "x"),
          b"-ERR value is not an integer or out of range\r\n")
    ck.eq("sha1hex", ev("return redis.sha1hex('Pizza & Mandolino')", 0),
          b"$40\r\n74822d82031af7493c20eefa13bd07ec4fada82f\r\n")
    ck.eq("sha1hex of ''", ev("return redis.sha1hex('')", 0),
          b"$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n")
    ck.eq("redis.log", ev("redis.log(redis.LOG_WARNING, 'from', 'a script') return 1", 0),
          b":1\r\n")
    ck.eq("runtime error keeps earlier writes",
          ev("redis.call('set',KEYS[1],'kept'); error('after the write')", 1, "kept")[:1], b"-")
    ck.eq("... kept", q("GET", "kept"), b"$4\r\nkept\r\n")

    # a script inside EXEC nests in EXEC's transaction; EVAL_RO in a pipelined batch in the
    # batch's
    ck.eq("multi", q("MULTI"), b"+OK\r\n")
    ck.eq("eval queued", ev("redis.call('set',KEYS[1],'1') return redis.call('incr',KEYS[1])",
                            1, "m"), b"+QUEUED\r\n")
    ck.eq("incr queued", q("INCR", "m"), b"+QUEUED\r\n")
    ck.eq("exec", q("EXEC"), b"*2\r\n:2\r\n:3\r\n")
    c.send(enc("SET", "p", "1") + enc("EVAL_RO", "return redis.call('get',KEYS[1])", 1, "p")
           + enc("INCR", "p") + enc("EVAL_RO", "return redis.call('get',KEYS[1])", 1, "p"))
    ck.eq("pipelined", [c.read_reply() for _ in range(4)],
          [b"+OK\r\n", b"$1\r\n1\r\n", b":2\r\n", b"$1\r\n2\r\n"])

    # --- EVALSHA, NOSCRIPT, SCRIPT ---
    body = "return 'cached ' .. ARGV[1]"
    ck.eq("script load", q("SCRIPT", "LOAD", body), b"$40\r\n" + sha(body).encode() + b"\r\n")
    ck.eq("evalsha", q("EVALSHA", sha(body), 0, "x"), b"$8\r\ncached x\r\n")
    ck.eq("evalsha upper case", q("EVALSHA", sha(body).upper(), 0, "y"), b"$8\r\ncached y\r\n")
    ck.eq("script exists", q("SCRIPT", "EXISTS", sha(body), "0" * 40), b"*2\r\n:1\r\n:0\r\n")
    ck.eq("evalsha unknown", q("EVALSHA", "0" * 40, 0),
          b"-NOSCRIPT No matching script. Please use EVAL.\r\n")
    ck.eq("evalsha bad length", q("EVALSHA", "abc", 0),
          b"-NOSCRIPT No matching script. Please use EVAL.\r\n")
    ck.eq("eval caches too", ev("return 7", 0), b":7\r\n")
    ck.eq("... under its sha", q("EVALSHA", sha("return 7"), 0), b":7\r\n")
    ck.eq("script flush", q("SCRIPT", "FLUSH"), b"+OK\r\n")
    ck.eq("flushed", q("EVALSHA", sha(body), 0, "x"),
          b"-NOSCRIPT No matching script. Please use EVAL.\r\n")
    ck.eq("script flush bad option", q("SCRIPT", "FLUSH", "now"),
          b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n")
    ck.eq("script kill with nothing running", q("SCRIPT", "KILL"),
          b"-NOTBUSY No scripts in execution right now.\r\n")
    ck.eq("eval_ro reads", q("EVAL_RO", "return redis.call('get',KEYS[1])", 1, "kept"),
          b"$4\r\nkept\r\n")
    body = "return redis.call('del',KEYS[1])"
    ck.eq("eval_ro refuses writes", q("EVAL_RO", body, 1, "kept"),
          b"-ERR Write commands are not allowed from read-only scripts." + where(body) + b"\r\n")
    ck.eq("shebang no-writes", ev("#!lua flags=no-writes\nreturn redis.pcall('set','a','b')", 0),
          b"-ERR Write commands are not allowed from read-only scripts.\r\n")
    ck.eq("shebang write script with eval_ro", q("EVAL_RO", "#!lua\nreturn 1", 0),
          b"-ERR Can not execute a script with write flag using *_ro command.\r\n")
    ck.eq("shebang unknown flag", ev("#!lua flags=bogus\nreturn 1", 0),
          b"-ERR Unexpected flag in script shebang: bogus\r\n")
    ck.eq("shebang keeps line numbers", ev("#!lua\nerror('x')", 0)[:30],
          b"-ERR user_script:2: x script: ")

    # --- the sandbox ---
    for what, body, want in [
        ("read an undeclared global", "return a",
         b"-ERR user_script:1: Script attempted to access nonexistent global variable 'a'"),
        ("create a global", "a = 10", b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("replace _G", "_G = {}", b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("replace redis", "redis = 1", b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("redis.call", "redis.call = function() return 1 end",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("string.upper", "string.upper = nil",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("the strings' metatable", "getmetatable('').__index.upper = 1",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("setmetatable(_G)", "setmetatable(_G, {})",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("_G's metatable", "getmetatable(_G).__index = {}",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("rawset(_G)", "rawset(_G, 'x', 1)",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("table.insert(_G)", "table.insert(_G, 1)",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("the thread's globals", "setfenv(0, {})",
         b"-ERR user_script:1: Attempt to modify a readonly table"),
        ("loadstring'ed code", "loadstring('x = 1')()",
         b"-ERR [string \"x = 1\"]:1: Attempt to modify a readonly table"),
        ("bytecode", "return loadstring(string.dump(function() return 1 end))()",
         b"-ERR user_script:1: attempt to call a nil value"),
        ("os", "return os.time()",
         b"-ERR user_script:1: Script attempted to access nonexistent global variable 'os'"),
        ("io", "return io",
         b"-ERR user_script:1: Script attempted to access nonexistent global variable 'io'"),
        ("print", "print('x')",
         b"-ERR user_script:1: Script attempted to access nonexistent global variable 'print'"),
        ("dofile", "dofile('/etc/passwd')",
         b"-ERR user_script:1: Script attempted to access nonexistent global variable 'dofile'"),
        ("require", "require('os')",
         b"-ERR user_script:1: Script attempted to access nonexistent global variable 'require'"),
    ]:
        got = ev(body, 0)
        ck.true(f"sandbox: {what}: {got!r}", got.startswith(want))
    for lib in ("cjson", "bit", "math", "table", "coroutine"):
        got = ev(f"{lib}.x = 1", 0)
        ck.true(f"sandbox: {lib} is read-only: {got!r}",
                got.startswith(b"-ERR user_script:1: Attempt to modify a readonly table"))
    ck.eq("cjson.encode", ev("return cjson.encode({1, 'a', {x=true}})", 0),
          b'$18\r\n[1,"a",{"x":true}]\r\n')
    ck.eq("cjson.decode", ev("return cjson.decode('{\"k\":[10,20]}').k[2]", 0), b":20\r\n")
    ck.eq("bit", ev("return bit.bor(bit.lshift(1, 4), 3)", 0), b":19\r\n")
    ck.eq("getfenv(0) is the sandbox", ev("return getfenv(0) == _G", 0), b":1\r\n")
    ck.eq("string methods work", ev("return ('abc'):upper()", 0), b"$3\r\nABC\r\n")
    ck.eq("locals are fine", ev("local t = {} t.x = 1 return t.x", 0), b":1\r\n")
    ck.eq("KEYS do not leak into the next script", ev("return #KEYS", 0), b":0\r\n")

    # --- busy scripts ---
    r = redis.Redis(port=port)
    ck.eq("lua-time-limit", q("CONFIG", "SET", "lua-time-limit", "10"), b"+OK\r\n")
    a = Raw(port)
    w = Raw(port)

    def wait_busy():
        """PING from a third connection until the script is running and past the limit:
        a PING that arrives first gets PONG; once the script runs it gets BUSY."""
        for _ in range(100000):
            w.send(enc("PING"))
            rep = w.read_reply()
            if rep != b"+PONG\r\n":
                return rep
        return b"never busy"

    a.send(enc("EVAL", "while true do end", 0) + enc("PING", "after"))
    ck.eq("others get BUSY", wait_busy(), BUSY)
    ck.eq("PING is BUSY", q("PING"), BUSY)
    ck.eq("GET is BUSY too", q("GET", "kept"), BUSY)
    fresh = Raw(port)
    fresh.send(enc("PING"))
    ck.eq("a connection made during the script is served", fresh.read_reply(), BUSY)
    fresh.close()
    # a pipeline of data commands (a batch, outside a script) is answered one by one
    p = Raw(port)
    p.send(enc("GET", "a") + enc("SET", "a", "1") + enc("MULTI") + enc("GET", "a") + enc("EXEC"))
    ck.eq("pipeline while busy", [p.read_reply() for _ in range(5)],
          [BUSY, BUSY, b"+OK\r\n", BUSY,
           b"-EXECABORT Transaction discarded because of: " + BUSY[1:]])
    p.close()
    ck.eq("script kill", q("SCRIPT", "KILL"), b"+OK\r\n")
    body = "while true do end"
    ck.eq("the script's caller gets the kill error", a.read_reply(),
          b"-ERR Script killed by user with SCRIPT KILL..." + where(body) + b"\r\n")
    ck.eq("... then its pipelined command", a.read_reply(), b"$5\r\nafter\r\n")
    ck.eq("served again", q("PING"), b"+PONG\r\n")

    a.send(enc("EVAL", "local f = function() while 1 do redis.call('ping') end end "
               "while 1 do pcall(f) end", 0))
    ck.eq("BUSY (pcall loop)", wait_busy(), BUSY)
    ck.eq("kill (pcall loop)", q("SCRIPT", "KILL"), b"+OK\r\n")
    ck.true("pcall cannot catch the kill", b"killed by user" in a.read_reply())

    # MULTI during a busy script: BUSY commands make EXEC abort (Redis's unit/multi)
    ck.eq("set xx", q("SET", "xx", "1"), b"+OK\r\n")
    ck.eq("multi before", q("MULTI"), b"+OK\r\n")
    ck.eq("queued", q("INCR", "xx"), b"+QUEUED\r\n")
    a.send(enc("EVAL", "while true do end", 0))
    ck.eq("BUSY (before EXEC)", wait_busy(), BUSY)
    ck.eq("exec while busy", q("EXEC"),
          b"-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. "
          b"You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n")
    ck.eq("kill", q("SCRIPT", "KILL"), b"+OK\r\n")
    ck.true("killed", a.read_reply().startswith(b"-ERR Script killed"))
    ck.eq("nothing of the transaction ran", q("GET", "xx"), b"$1\r\n1\r\n")
    ck.eq("not in MULTI any more", q("PING", "x"), b"$1\r\nx\r\n")

    # a script that wrote cannot be killed; SHUTDOWN NOSAVE drops its transaction
    ck.eq("set before", r.set("before", "1"), True)
    a.send(enc("EVAL", "redis.call('set',KEYS[1],'1'); redis.call('rpush',KEYS[2],'a'); "
               "while true do end", 2, "w1", "w2"))
    ck.eq("BUSY (writer)", wait_busy(), BUSY)
    ck.eq("unkillable", q("SCRIPT", "KILL"),
          b"-UNKILLABLE Sorry the script already executed write commands against the dataset. "
          b"You can either wait the script termination or kill the server in a hard way using "
          b"the SHUTDOWN NOSAVE command.\r\n")
    ck.eq("still BUSY", q("PING"), BUSY)
    c.send(enc("SHUTDOWN", "NOSAVE"))
    ck.true("shutdown closes the connection", c.closed())
    ck.eq("server exit status", srv.proc.wait(timeout=30), 0)
    srv2 = Server(binary, port, "--dir", srv.dir)
    r2 = redis.Redis(port=port)
    ck.eq("the write before the script is there", r2.get("before"), b"1")
    ck.eq("none of the killed script's writes", r2.exists("w1", "w2"), 0)
    ck.eq("kept is there", r2.get("kept"), b"kept")
finally:
    status = srv.stop()
    ck.eq("exit status", status, 0)
    if srv2:
        ck.eq("exit status (restarted)", srv2.stop(), 0)
        srv2.cleanup()
    srv.cleanup()
ck.finish("test_scripting")
