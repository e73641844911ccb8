# hkvtest.py - helpers for the hkv-server tests written in Python: start a fresh hkv-server on
# a scratch data directory, stop it with SIGTERM (it must exit 0), speak raw RESP over a
# socket, and count checks.
#
# Ports: each test takes its own (HKV_TEST_PORT or the default it passes) so that ctest -j
# runs them side by side.
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def skip(why):
    """77 on a developer machine; a failure under CI=true, where everything is installed."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: {why} (CI=true: nothing may be skipped)", file=sys.stderr)
        sys.exit(1)
    print(f"skip: {why}")
    sys.exit(77)


class Server:
    """A hkv-server process over a scratch directory."""

    def __init__(self, binary, port, *args, conf=None):
        self.port = port
        self.tmp = tempfile.mkdtemp(prefix="hkv-server-test.")
        self.dir = os.path.join(self.tmp, "data")
        self.log = os.path.join(self.tmp, "server.log")
        cmd = [binary]
        if conf is not None:
            path = os.path.join(self.tmp, "hkv-server.conf")
            with open(path, "w") as f:
                f.write(conf)
            cmd.append(path)
        cmd += ["--port", str(port), "--dir", self.dir] + list(args)
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.logf.close()
                    raise RuntimeError("hkv-server did not start: " + open(self.log).read())
                time.sleep(0.02)

    def stop(self):
        """SIGTERM; returns the exit status (0 expected)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Raw:
    """A raw socket: send bytes, read exactly the reply bytes expected."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def read_line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_reply(self):
        """One whole RESP2/RESP3 reply, as the raw bytes."""
        line = self.read_line()
        t = line[:1]
        if t in (b"$", b"=", b"!"):
            n = int(line[1:-2])
            if n < 0:
                return line
            while len(self.buf) < n + 2:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed")
                self.buf += chunk
            body, self.buf = self.buf[: n + 2], self.buf[n + 2 :]
            return line + body
        if t in (b"*", b"~", b">", b"%", b"|"):
            n = int(line[1:-2])
            if n < 0:
                return line
            if t in (b"%", b"|"):
                n *= 2
            return line + b"".join(self.read_reply() for _ in range(n))
        return line

    def closed(self):
        """True if the server closed the connection (after any pending bytes)."""
        self.s.settimeout(5)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


class Checks:
    def __init__(self):
        self.n = 0
        self.fails = 0

    def eq(self, what, got, want):
        self.n += 1
        if got != want:
            self.fails += 1
            print(f"FAIL: {what}: got {got!r}, want {want!r}", file=sys.stderr)

    def true(self, what, cond):
        self.eq(what, bool(cond), True)

    def raises(self, what, fn, text):
        """fn() must raise an exception whose message is exactly @text."""
        self.n += 1
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any client error is the subject here
            if str(e) != text:
                self.fails += 1
                print(f"FAIL: {what}: error {str(e)!r}, want {text!r}", file=sys.stderr)
            return
        self.fails += 1
        print(f"FAIL: {what}: no error, want {text!r}", file=sys.stderr)

    def finish(self, name):
        print(f"{name}: {self.n - self.fails}/{self.n} checks passed")
        sys.exit(1 if self.fails else 0)
