"""Start parley-echo or parleyd on a free port, and describe how each one replies.

The environment variables PARLEY_ECHO and PARLEYD name the binaries, and
PARLEY_WEB_DIR the web client folder parleyd serves. Without them the suite
falls back to build/ and web/ in this repository. parleyd gets a fresh SQLite
file in a temporary folder and one registered user whose token opens /chat.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

from wsclient import OP_TEXT, RawClient

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ECHO_BINARY = os.environ.get("PARLEY_ECHO", os.path.join(REPO_ROOT, "build", "parley-echo"))
PARLEYD_BINARY = os.environ.get("PARLEYD", os.path.join(REPO_ROOT, "build", "parleyd"))
WEB_DIR = os.environ.get("PARLEY_WEB_DIR", os.path.join(REPO_ROOT, "web"))

# Both servers accept messages up to this size, the largest of case group 9.
MAX_MESSAGE = 16 << 20
HANDSHAKE_TIMEOUT_MS = 1000
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

# The subprotocols parley-echo is started with, in its order.
ECHO_SUBPROTOCOLS = ("chat", "superchat")
# The subprotocol parleyd's /chat confirms when offered.
PARLEYD_SUBPROTOCOL = "parley.v1"

# parleyd's reply to a heartbeat, and the cmd of its error frames.
HEARTBEAT = b'{"cmd":0}'
ERROR_CMD = 21
# Presence, friend and group notices may arrive at any time on a chat session.
NOTICE_CMDS = (50, 51, 52)


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One server process with its own temporary folder and log file."""

    name = "server"

    def __init__(self, binary, extra_args=()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.tmp = tempfile.mkdtemp(prefix=f"parley-conf-{self.name}-")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.port = None
        self.proc = None

    def command(self):
        raise NotImplementedError

    def wait_ready(self):
        """Return once the server accepts connections and responds; raise when it does not."""
        raise NotImplementedError

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"server binary {self.binary!r} is missing or not executable; "
                               "build it with `cmake --build build` or set PARLEY_ECHO and PARLEYD")
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command() + self.extra_args, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} during "
                                   f"start-up; log tail:\n{self.log_tail()}")
            try:
                self.wait_ready()
                return
            except (OSError, AssertionError) as error:
                last_error = error
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} was not ready within {START_TIMEOUT} s "
                           f"(last error: {last_error!r}); log tail:\n{self.log_tail()}")

    def stop(self):
        """Stop with SIGTERM and raise AssertionError unless the process exits with 0."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(f"{self.name} did not exit within {STOP_TIMEOUT} s of SIGTERM; "
                                 f"log tail:\n{self.log_tail()}")
        if proc.returncode != 0:
            raise AssertionError(f"{self.name} exited with code {proc.returncode} after SIGTERM, "
                                 f"expected 0; log tail:\n{self.log_tail()}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def cleanup(self):
        try:
            self.stop()
        finally:
            self.kill()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as log:
                text = log.read().decode("utf-8", "replace")
        except OSError as error:
            return f"(log unreadable: {error})"
        return "\n".join(text.splitlines()[-lines:])


class EchoServer(ServerProcess):
    """parley-echo: every message comes back with its opcode."""

    name = "parley-echo"

    def __init__(self, extra_args=()):
        super().__init__(ECHO_BINARY, extra_args)

    def command(self):
        return [
            self.binary,
            "--listen", f"127.0.0.1:{self.port}",
            "--threads", "2",
            "--max-message", str(MAX_MESSAGE),
            "--handshake-timeout", str(HANDSHAKE_TIMEOUT_MS),
            "--subprotocol", ",".join(ECHO_SUBPROTOCOLS),
            "--log-level", "warn",
        ]

    def wait_ready(self):
        socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()


class ParleydServer(ServerProcess):
    """parleyd with a fresh database and one user whose token opens /chat."""

    name = "parleyd"

    def __init__(self, extra_args=()):
        super().__init__(PARLEYD_BINARY, extra_args)
        self.token = None

    def command(self):
        return [
            self.binary,
            "--listen", f"127.0.0.1:{self.port}",
            "--db", f"sqlite:{os.path.join(self.tmp, 'parley.db')}",
            "--media-dir", os.path.join(self.tmp, "media"),
            "--web-dir", WEB_DIR,
            "--threads", "2",
            "--max-message", str(MAX_MESSAGE),
            "--handshake-timeout", str(HANDSHAKE_TIMEOUT_MS),
            "--log-level", "warn",
        ]

    def wait_ready(self):
        status, _ = self.request("GET", "/healthz")
        if status != 200:
            raise AssertionError(f"GET /healthz returned {status}")

    def request(self, method, path, body=None):
        """Send one HTTP request with a JSON body and return (status, parsed JSON or None)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5.0)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=json.dumps(body) if body is not None else None,
                               headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            connection.close()

    def start(self):
        super().start()
        name = f"conf_{uuid.uuid4().hex[:10]}"
        password = "correct-horse-battery"
        status, body = self.request("POST", "/api/register", {"username": name, "password": password})
        if status != 201:
            raise RuntimeError(f"registering {name!r} returned {status} {body!r}, expected 201")
        status, body = self.request("POST", "/api/login", {"username": name, "password": password})
        if status != 200 or "token" not in (body or {}):
            raise RuntimeError(f"login of {name!r} returned {status} {body!r}, expected a token")
        self.token = body["token"]


class Target:
    """What a case needs to know about the binary under test.

    `check_reply` turns "the server processed this message" into a check that
    fits the binary: parley-echo echoes it, and parleyd replies to a text
    message with a JSON frame. parleyd closes with 1003 on a binary message,
    so `accepts_binary` is False for it.
    """

    name = "target"
    # Whether binary messages keep the session open.
    accepts_binary = True

    def __init__(self, server):
        self.server = server

    @property
    def port(self):
        return self.server.port

    @property
    def path(self):
        return "/"

    def open(self):
        """Connect, complete the handshake and return the RawClient."""
        client = RawClient(self.port)
        try:
            _, response = client.handshake(self.path, self.port)
            if response.status != 101:
                raise AssertionError(f"handshake returned {response.status} {response.body!r}, expected 101")
            self.after_open(client)
        except BaseException:
            client.close()
            raise
        return client

    def after_open(self, client):
        pass

    def text(self, length):
        """Return a valid text payload of `length` bytes that the target replies to."""
        return b"*" * length

    def is_noise(self, frame):
        """Return whether a frame may arrive at any time and is not part of a case."""
        return False


class EchoTarget(Target):
    name = "parley-echo"

    def check_reply(self, test, frame, opcode, payload):
        test.assertEqual(frame.opcode, opcode, f"echo of a message of opcode {opcode:#x}: {frame!r}")
        test.assertEqual(len(frame.payload), len(payload), f"length of the echo: {frame!r}")
        test.assertTrue(frame.payload == payload, f"echo differs from the message sent: {frame!r}")


class ParleydTarget(Target):
    name = "parleyd"
    accepts_binary = False

    @property
    def path(self):
        return "/chat?token=" + urllib.parse.quote(self.server.token, safe="")

    def after_open(self, client):
        welcome = client.read_frame()
        if welcome.opcode != OP_TEXT or json.loads(welcome.payload).get("cmd") != 1:
            raise AssertionError(f"first frame is {welcome!r}, expected the welcome frame (cmd 1)")

    def text(self, length):
        # A heartbeat padded with JSON whitespace gets the heartbeat back, at any length.
        if length < len(HEARTBEAT):
            return b"*" * length
        return HEARTBEAT + b" " * (length - len(HEARTBEAT))

    def is_noise(self, frame):
        if frame.opcode != OP_TEXT:
            return False
        try:
            return json.loads(frame.payload).get("cmd") in NOTICE_CMDS
        except ValueError:
            return False

    def check_reply(self, test, frame, opcode, payload):
        test.assertEqual(opcode, OP_TEXT, "parleyd replies only to text messages")
        test.assertEqual(frame.opcode, OP_TEXT, f"parleyd's reply to a text message: {frame!r}")
        reply = json.loads(frame.payload)
        if payload.startswith(HEARTBEAT) and not payload[len(HEARTBEAT):].strip(b" "):
            test.assertEqual(reply, {"cmd": 0}, "reply to a heartbeat")
        else:
            test.assertEqual(reply.get("cmd"), ERROR_CMD, f"reply to a text that is no command: {reply!r}")
