#!/usr/bin/env python3
# test_badinput.py - what hkv-server does with bad input, over raw sockets: malformed RESP,
# huge bulk and multibulk lengths, oversized inline requests, wrong arity, unknown commands,
# the pre-authentication limits, deep pipelines, and a fuzz run (fixed seed) of mutated
# requests. Each protocol error must get Redis's exact error and a closed connection; a
# usage error an exact error and an open connection; and the server must never go away.
#
# Usage: test_badinput.py HKV_SERVER   (port: HKV_TEST_PORT, default 17012)
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hkvtest import Checks, Raw, Server  # noqa: E402

binary = sys.argv[1]
port = int(os.environ.get("HKV_TEST_PORT", "17012"))
ck = Checks()
# what PING gets on a fresh connection (without requirepass: PONG; with it: NOAUTH)
PONG = b"+PONG\r\n"


def proto_error(what, data, err):
    """@data must get exactly "-ERR Protocol error: @err" and then a closed connection."""
    c = Raw(port)
    c.send(data)
    ck.eq(what, c.read_reply(), b"-ERR Protocol error: " + err + b"\r\n")
    ck.true(what + " closes", c.closed())
    c.close()


def reply(what, data, want, n=1):
    c = Raw(port)
    c.send(data)
    got = b"".join(c.read_reply() for _ in range(n))
    ck.eq(what, got, want)
    c.send(b"PING\r\n")
    ck.eq(what + ": connection stays usable", c.read_reply(), PONG)
    c.close()


def alive(what):
    c = Raw(port)
    c.send(b"*1\r\n$4\r\nPING\r\n")
    ck.eq(what + ": server alive", c.read_reply(), PONG)
    c.close()


srv = Server(binary, port)
try:
    proto_error("negative bulk length", b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$-5\r\n",
                b"invalid bulk length")
    proto_error("bulk over proto-max-bulk-len", b"*2\r\n$3\r\nGET\r\n$536870913\r\n",
                b"invalid bulk length")
    proto_error("bulk length not a number", b"*1\r\n$abc\r\n", b"invalid bulk length")
    proto_error("huge multibulk", b"*99999999999\r\n", b"invalid multibulk length")
    proto_error("multibulk not a number", b"*x\r\n", b"invalid multibulk length")
    proto_error("missing $", b"*1\r\nfoo\r\n", b"expected '$', got 'f'")
    proto_error("unbalanced quotes", b'SET "a b\r\n', b"unbalanced quotes in request")
    proto_error("inline too big", b"x" * (64 * 1024 + 10), b"too big inline request")
    proto_error("mbulk count line too big", b"*" + b"1" * (64 * 1024 + 10),
                b"too big mbulk count string")
    proto_error("bulk count line too big", b"*1\r\n$" + b"1" * (64 * 1024 + 10),
                b"too big bulk count string")
    alive("after protocol errors")

    reply("wrong arity", b"*1\r\n$3\r\nGET\r\n",
          b"-ERR wrong number of arguments for 'get' command\r\n")
    reply("wrong arity of a subcommand", b"CONFIG GET\r\n",
          b"-ERR wrong number of arguments for 'config|get' command\r\n")
    reply("unknown command", b"*3\r\n$6\r\nFOOBAR\r\n$1\r\na\r\n$2\r\nbc\r\n",
          b"-ERR unknown command 'FOOBAR', with args beginning with: 'a' 'bc' \r\n")
    reply("unknown subcommand", b"CONFIG FROB x\r\n",
          b"-ERR unknown subcommand 'FROB'. Try CONFIG HELP.\r\n")
    reply("inline with quotes", b'SET k "a\\x41\\n b"\r\nGET k\r\n',
          b"+OK\r\n$5\r\naA\n b\r\n", 2)
    reply("empty inline lines are skipped", b"\r\n\r\nPING\r\n", b"+PONG\r\n")
    reply("wrongtype", b"LPUSH l a\r\nGET l\r\n",
          b":1\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", 2)
    reply("syntax error", b"SET k v NX XX\r\n", b"-ERR syntax error\r\n")
    reply("not an integer", b"INCRBY k x\r\n",
          b"-ERR value is not an integer or out of range\r\n")

    # a deep pipeline in one write: every reply, in order
    c = Raw(port)
    c.send(b"".join(b"*3\r\n$5\r\nRPUSH\r\n$2\r\npl\r\n$%d\r\n%d\r\n" % (len(str(i)), i)
                    for i in range(2000)))
    got = [c.read_reply() for _ in range(2000)]
    ck.eq("pipeline of 2000", got, [b":%d\r\n" % (i + 1) for i in range(2000)])
    c.close()

    # RESP3 replies
    c = Raw(port)
    c.send(b"HELLO 3\r\n")
    c.read_reply()
    c.send(b"HSET h f v\r\nHGETALL h\r\nGET nokey\r\nZADD z 1.5 m\r\nZSCORE z m\r\n"
           b"SMEMBERS nokey\r\n")
    ck.eq("resp3", b"".join(c.read_reply() for _ in range(6)),
          b":1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n_\r\n:1\r\n,1.5\r\n~0\r\n")
    c.close()
finally:
    status = srv.stop()
    ck.eq("exit status after SIGTERM", status, 0)
    srv.cleanup()

# the pre-authentication limits
srv = Server(binary, port, "--requirepass", "s3cret")
PONG = b"-NOAUTH Authentication required.\r\n"
try:
    proto_error("unauthenticated multibulk", b"*20\r\n", b"unauthenticated multibulk length")
    proto_error("unauthenticated bulk", b"*2\r\n$4\r\nAUTH\r\n$20000\r\n",
                b"unauthenticated bulk length")
    reply("noauth", b"GET k\r\n", b"-NOAUTH Authentication required.\r\n")
    reply("wrong password", b"AUTH nope\r\n",
          b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    c = Raw(port)
    c.send(b"AUTH s3cret\r\nSET k v\r\nAUTH default s3cret\r\nPING\r\n")
    ck.eq("auth", b"".join(c.read_reply() for _ in range(4)), b"+OK\r\n+OK\r\n+OK\r\n+PONG\r\n")
    c.close()
    reply("hello without auth", b"HELLO 3\r\n",
          b"-NOAUTH HELLO must be called with the client already authenticated, otherwise "
          b"the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
          b"client and select the RESP protocol version at the same time\r\n")

    # fuzz: mutated valid requests, fixed seed; the server must answer on a fresh connection
    rnd = random.Random(20261205)
    base = [b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n",
            b"*4\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n", b"PING\r\n",
            b"*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n"]
    for i in range(400):
        data = bytearray(b"".join(rnd.choice(base) for _ in range(rnd.randint(1, 5))))
        for _ in range(rnd.randint(1, 6)):
            op = rnd.randint(0, 3)
            pos = rnd.randrange(len(data))
            if op == 0:
                data[pos] = rnd.randrange(256)
            elif op == 1:
                del data[pos]
            elif op == 2:
                data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
            else:
                data[pos:pos] = rnd.choice([b"*-1\r\n", b"$0\r\n", b"*0\r\n", b"\r\n",
                                            b"$2147483648\r\n", b"*2147483648\r\n"])
        c = Raw(port)
        try:
            c.send(bytes(data))
            c.s.shutdown(1)
            c.closed()
        except OSError:
            pass
        c.close()
        if i % 50 == 49:
            alive(f"fuzz round {i + 1}")
    alive("after fuzzing")
finally:
    status = srv.stop()
    ck.eq("exit status after SIGTERM (auth server)", status, 0)
    srv.cleanup()
ck.finish("test_badinput")
