"""Start a real parleyd for integration tests and talk to it over real sockets.

The environment variable PARLEYD names the server binary and PARLEY_WEB_DIR the
web client folder. Without them the harness falls back to build/parleyd and web/
in this repository. Every wait is bounded, so a hung server fails a test instead
of hanging the suite.

Each Server stores its data in a new SQLite file, or, when PARLEY_TEST_DB_URL
names a MySQL or MariaDB server (mysql://USER:PASSWORD@HOST:PORT/DATABASE), in a
new database there that cleanup() drops (see mysql_db.py).
"""

import asyncio
import concurrent.futures
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import uuid

import websockets
import websockets.exceptions

import mysql_db

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARLEYD = os.environ.get("PARLEYD", os.path.join(REPO_ROOT, "build", "parleyd"))
WEB_DIR = os.environ.get("PARLEY_WEB_DIR", os.path.join(REPO_ROOT, "web"))
DB_URL = os.environ.get("PARLEY_TEST_DB_URL")

PASSWORD = "correct-horse-battery"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0

# Presence, friend and group change notices arrive whenever other users act,
# so tests that wait for one frame skip these.
NOTICE_CMDS = (50, 51, 52)

# How long assert_quiet waits to show that a frame does not arrive.
QUIET_SECONDS = 0.3

_name_counter = itertools.count(1)


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_name(prefix):
    """Return a valid username that no other test of this run uses."""
    return f"{prefix[:16]}_{next(_name_counter)}_{uuid.uuid4().hex[:6]}"


def with_cmd(*cmds):
    """Return a frame predicate that is true for frames whose cmd is one of `cmds`."""
    return lambda frame: frame.get("cmd") in cmds


def conv_with(user):
    """Return the key of the 1:1 conversation with `user`, as its partner reads it."""
    return f"u:{user['id']}"


class Server:
    """A parleyd process on a free port with its own database and media folder."""

    def __init__(self, extra_args=(), ssl_context=None, command_prefix=()):
        self.extra_args = list(extra_args)  # appended to the parleyd command line
        # Put before the parleyd command, e.g. ["prlimit", "--nofile=80:80", "--"].
        self.command_prefix = list(command_prefix)
        # With an ssl.SSLContext, HTTP and WebSocket traffic use TLS (https://, wss://).
        self.ssl_context = ssl_context
        self.tmp = tempfile.mkdtemp(prefix="parley-it-")
        self.db_path = os.path.join(self.tmp, "parley.db")
        # The parleyd --db URL: a fresh database on the PARLEY_TEST_DB_URL server, or the file.
        self.db_url = mysql_db.create_database(DB_URL) if DB_URL else f"sqlite:{self.db_path}"
        self.media_dir = os.path.join(self.tmp, "media")
        self.log_path = os.path.join(self.tmp, "parleyd.log")
        self.port = None
        self.proc = None
        self._log_file = None

    def start(self):
        """Start the server and wait until GET /healthz returns 200."""
        if not os.access(PARLEYD, os.X_OK):
            raise RuntimeError(
                f"server binary {PARLEYD!r} is missing or not executable. "
                "Build it with `cmake --build build` or set PARLEYD.")
        self.port = free_port()
        self._log_file = open(self.log_path, "ab")
        command = [
            *self.command_prefix,
            PARLEYD,
            "--listen", f"127.0.0.1:{self.port}",
            "--db", self.db_url,
            "--media-dir", self.media_dir,
            "--web-dir", WEB_DIR,
            "--threads", "2",
            "--log-level", "info",
            *self.extra_args,
        ]
        self.proc = subprocess.Popen(
            command, stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_healthy()

    def _wait_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None  # nothing left to stop
                self._close_log()
                raise RuntimeError(
                    f"parleyd exited with code {code} during start-up; "
                    f"log tail:\n{self.log_tail()}")
            try:
                status, _, _ = self.http("GET", "/healthz", timeout=1.0)
                if status == 200:
                    return
                last_error = f"GET /healthz returned {status}"
            except OSError as error:
                last_error = repr(error)
            time.sleep(0.05)
        self._kill()
        raise RuntimeError(
            f"parleyd did not become healthy within {START_TIMEOUT} s "
            f"(last error: {last_error}); log tail:\n{self.log_tail()}")

    def stop(self):
        """Stop the server with SIGTERM and raise AssertionError unless it exits with 0."""
        if self.proc is None:
            return
        proc = self.proc
        self.proc = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
                self._close_log()
                raise AssertionError(
                    f"parleyd did not exit within {STOP_TIMEOUT} s of SIGTERM and was killed; "
                    f"log tail:\n{self.log_tail()}")
        self._close_log()
        if proc.returncode != 0:
            raise AssertionError(
                f"parleyd exited with code {proc.returncode} after SIGTERM, expected 0; "
                f"log tail:\n{self.log_tail()}")

    def restart(self):
        """Stop the server and start it again on the same database and media folder."""
        self.stop()
        self.start()

    def kill(self):
        """Kill the server with SIGKILL, as a crash or power loss would, and wait for it to exit."""
        self._kill()

    def cleanup(self):
        """Stop the server if it still runs and remove its temporary folder and database."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if DB_URL:
                mysql_db.drop_database(self.db_url)

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None
        self._close_log()

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log_tail(self, lines=40):
        """Return the last lines of the server log."""
        try:
            with open(self.log_path, "rb") as log:
                text = log.read().decode("utf-8", "replace")
        except OSError as error:
            return f"(log unreadable: {error})"
        return "\n".join(text.splitlines()[-lines:])

    # HTTP

    def http(self, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT):
        """Send one HTTP request and return (status, body bytes, lower-cased headers)."""
        if self.ssl_context is not None:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=timeout, context=self.ssl_context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            response_headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, data, response_headers
        finally:
            connection.close()

    def api(self, method, path, body=None, token=None, headers=None):
        """Call the JSON API and return (status, parsed JSON or None, lower-cased headers).

        A dict or list body is sent as JSON; bytes or str are sent unchanged.
        """
        request_headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            request_headers.setdefault("Content-Type", "application/json")
        if token is not None:
            request_headers["Authorization"] = f"Bearer {token}"
        status, data, response_headers = self.http(method, path, body, request_headers)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return status, parsed, response_headers

    def register(self, name, password=PASSWORD, nickname=None):
        """Register `name` and return (status, parsed body)."""
        body = {"username": name, "password": password}
        if nickname is not None:
            body["nickname"] = nickname
        status, parsed, _ = self.api("POST", "/api/register", body)
        return status, parsed

    def login(self, name, password=PASSWORD):
        """Log in and return (user dict, token), raising AssertionError on failure."""
        status, body, _ = self.api("POST", "/api/login", {"username": name, "password": password})
        if status != 200 or not isinstance(body, dict) or "token" not in body:
            raise AssertionError(f"login of {name!r} returned {status} {body!r}, expected 200 with a token")
        return body["user"], body["token"]

    def register_and_login(self, prefix="user"):
        """Register a fresh user with a unique name and return (user dict, token)."""
        name = unique_name(prefix)
        status, body = self.register(name)
        if status != 201:
            raise AssertionError(f"registration of {name!r} returned {status} {body!r}, expected 201")
        return self.login(name)

    def register_many(self, prefixes):
        """Register and log in one fresh user per prefix and return [(user dict, token)…] in order.

        Registration and login each hash a password with scrypt, so the requests run on several
        threads to keep all of the server's store threads busy.
        """
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self.register_and_login, prefixes))

    def make_friends(self, a_token, b_user_id, b_token):
        """Make A and B friends: A sends a request and B accepts it."""
        status, body, _ = self.api("POST", "/api/friends/requests", {"user_id": b_user_id}, token=a_token)
        if status != 201:
            raise AssertionError(f"friend request to user {b_user_id} returned {status} {body!r}, expected 201")
        request_id = body["request"]["id"]
        status, body, _ = self.api("POST", f"/api/friends/requests/{request_id}/accept", token=b_token)
        if status != 200:
            raise AssertionError(f"accepting friend request {request_id} returned {status} {body!r}, expected 200")

    def create_group(self, token, name, members=(), open_group=None):
        """Create a group and return its GROUP dict, raising AssertionError unless 201."""
        body = {"name": name, "members": list(members)}
        if open_group is not None:
            body["open"] = open_group
        status, parsed, _ = self.api("POST", "/api/groups", body, token=token)
        if status != 201:
            raise AssertionError(f"creating group {name!r} returned {status} {parsed!r}, expected 201")
        return parsed["group"]

    def connect(self, token, via="query", user_id=None):
        """Open a chat WebSocket and return an awaitable that yields a Client."""
        return Client.connect(self.port, token, via, user_id, self.ssl_context)


def raw_request(port, data, timeout=5.0):
    """Send raw bytes on a new connection and return the raw bytes of the first response.

    Reading stops after one complete response, when the server closes the
    connection, or after `timeout` s, whichever comes first.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        reader = ResponseReader(sock)
        try:
            reader.read_response()
        except (AssertionError, OSError, ValueError, IndexError):
            pass
        return reader.consumed


class ResponseReader:
    """Reads HTTP/1.1 responses from one socket, keeping bytes that arrive early.

    A second pipelined response that arrives in the same read as the first
    stays buffered for the next call. The socket's own timeout bounds every read.
    """

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.consumed = b""

    def _fill(self, what):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before the {what} ended; received {self.consumed[:200]!r}")
        self.buffer += chunk
        self.consumed += chunk

    def _take_until(self, separator, what):
        while separator not in self.buffer:
            self._fill(what)
        data, self.buffer = self.buffer.split(separator, 1)
        return data

    def _take(self, count, what):
        while len(self.buffer) < count:
            self._fill(what)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_response(self):
        """Read one response and return (status, lower-cased headers, body).

        The body length comes from Content-Length or chunked transfer coding.
        """
        head = self._take_until(b"\r\n\r\n", "response headers")
        lines = head.decode("iso-8859-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()

        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._take_until(b"\r\n", "chunk size").split(b";")[0], 16)
                if size == 0:
                    self._take_until(b"\r\n", "chunked body")
                    break
                body += self._take(size, "chunk")
                self._take_until(b"\r\n", "chunk")
        else:
            body = self._take(int(headers.get("content-length", "0")), "response body")
        return status, headers, body


class Client:
    """A chat WebSocket session that has already received its welcome frame.

    Frames that `recv_until` skips are kept in `skipped`, so a test can still
    inspect presence notices that arrived in between.
    """

    def __init__(self, ws, welcome):
        self.ws = ws
        self.welcome = welcome
        self.skipped = []

    @classmethod
    async def connect(cls, port, token, via="query", user_id=None, ssl_context=None):
        """Connect with the token in the query (`via="query"`) or in an Authorization header.

        A `user_id` is sent as the `id` query parameter that may accompany a query token.
        With an `ssl_context` the connection uses wss://.
        """
        scheme = "ws" if ssl_context is None else "wss"
        if via == "query":
            uri = f"{scheme}://127.0.0.1:{port}/chat?token={urllib.parse.quote(token, safe='')}"
            if user_id is not None:
                uri += f"&id={user_id}"
            ws = await asyncio.wait_for(websockets.connect(uri, open_timeout=5, ssl=ssl_context), 6)
        elif via == "header":
            uri = f"{scheme}://127.0.0.1:{port}/chat"
            ws = await asyncio.wait_for(
                websockets.connect(uri, open_timeout=5, ssl=ssl_context,
                                   extra_headers={"Authorization": f"Bearer {token}"}), 6)
        else:
            raise ValueError(f"unknown token transport {via!r}; use 'query' or 'header'")
        try:
            first = await asyncio.wait_for(ws.recv(), 5)
        except asyncio.TimeoutError:
            await ws.close()
            raise AssertionError("no welcome frame within 5 s of the upgrade")
        welcome = json.loads(first)
        if welcome.get("cmd") != 1:
            await ws.close()
            raise AssertionError(f"first frame is {welcome!r}, expected the welcome frame (cmd 1)")
        return cls(ws, welcome)

    @property
    def user(self):
        return self.welcome["user"]

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def send_raw(self, data):
        """Send a str as a text frame or bytes as a binary frame, unchanged."""
        await self.ws.send(data)

    async def send_message(self, cmd, dstid, content, cid=None, timeout=5.0, **fields):
        """Send a 1:1 (cmd 10) or group (cmd 11) message and return the ack or error frame for it.

        The reply is the cmd 20 or cmd 21 frame that carries the message's cid.
        """
        cid = cid or uuid.uuid4().hex
        return await self.submit({"cmd": cmd, "dstid": dstid, "content": content, "cid": cid, **fields}, timeout)

    async def submit(self, frame, timeout=5.0):
        """Send a message frame unchanged and return the ack or error frame (cmd 20 or 21) with its cid."""
        await self.send(frame)
        return await self.recv_until(
            lambda reply: reply.get("cmd") in (20, 21) and reply.get("cid") == frame.get("cid"), timeout)

    async def recv(self, timeout=5.0):
        """Return the next frame, parsed, raising AssertionError if none comes within `timeout` s."""
        try:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no frame within {timeout} s") from None
        return json.loads(frame)

    async def recv_until(self, predicate, timeout=5.0):
        """Return the first frame for which `predicate` is true, keeping the others in `skipped`."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = []
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            except asyncio.TimeoutError:
                break
            if predicate(frame):
                return frame
            seen.append(frame)
            self.skipped.append(frame)
        raise AssertionError(f"no matching frame within {timeout} s; frames skipped meanwhile: {seen!r}")

    async def recv_cmd(self, cmd, timeout=5.0):
        """Return the next frame with the given cmd, skipping other frames."""
        return await self.recv_until(lambda frame: frame.get("cmd") == cmd, timeout)

    async def collect(self, predicate, duration):
        """Return every frame matching `predicate` that arrives within `duration` s."""
        deadline = asyncio.get_running_loop().time() + duration
        matched = []
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return matched
            try:
                frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            except asyncio.TimeoutError:
                return matched
            if predicate(frame):
                matched.append(frame)
            else:
                self.skipped.append(frame)

    async def heartbeat(self, timeout=5.0):
        """Send cmd 0 and return the server's reply, skipping notices in between."""
        await self.send({"cmd": 0})
        return await self.recv_until(lambda frame: frame.get("cmd") not in NOTICE_CMDS, timeout)

    async def wait_closed(self, timeout=5.0):
        """Read until the server closes the connection and return the close code."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except websockets.exceptions.ConnectionClosed:
            return self.ws.close_code
        except TimeoutError:
            raise AssertionError(f"server did not close the connection within {timeout} s") from None

    async def close(self):
        await asyncio.wait_for(self.ws.close(), 5)

    async def recv_frames(self, count, cmds, timeout=5.0):
        """Return the next `count` frames whose cmd is in `cmds`, keeping the others in `skipped`."""
        frames = []
        for _ in range(count):
            frames.append(await self.recv_until(lambda frame: frame.get("cmd") in cmds, timeout))
        return frames

    async def expect_error(self, command, timeout=5.0):
        """Send `command` and return the next error frame (cmd 21)."""
        await self.send(command)
        return await self.recv_cmd(21, timeout)

    async def sync(self, request, timeout=5.0):
        """Send cmd 30 with `request` and return (message frames, `more` of the closing cmd 31).

        Raises AssertionError when the server replies with an error frame instead.
        """
        await self.send({"cmd": 30, **request})
        messages = []
        while True:
            frame = await self.recv_until(lambda f: f.get("cmd") in (10, 11, 21, 31), timeout)
            if frame["cmd"] == 21:
                raise AssertionError(f"sync {request!r} was answered with {frame!r}")
            if frame["cmd"] == 31:
                return messages, frame.get("more")
            messages.append(frame)


class ServerTestCase(unittest.IsolatedAsyncioTestCase):
    """Test case base that runs one server for all tests of the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.make_server()
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def make_server(cls):
        """Return the class's Server; subclasses override this to pass options."""
        return Server()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.cleanup()
        finally:
            super().tearDownClass()

    def assertErrorBody(self, body, code):
        """Assert that `body` is the API error shape with the given code."""
        self.assertIsInstance(body, dict, f"error response body is {body!r}, expected a JSON object")
        self.assertIn("error", body, f"error response body {body!r} lacks the 'error' member")
        error = body["error"]
        self.assertEqual(error.get("code"), code, f"error code in {body!r}, expected {code!r}")
        self.assertIsInstance(error.get("message"), str, f"error message in {body!r} is not a string")
        self.assertTrue(error.get("message"), f"error message in {body!r} is empty")

    def assertUserShape(self, user):
        """Assert that `user` is a USER object: id, username, nickname, avatar."""
        self.assertIsInstance(user, dict, f"user is {user!r}, expected an object")
        for key in ("id", "username", "nickname", "avatar"):
            self.assertIn(key, user, f"user {user!r} lacks {key!r}")
        self.assertIsInstance(user["id"], int, f"user id in {user!r} is not an integer")
        self.assertIsInstance(user["username"], str, f"username in {user!r} is not a string")

    async def connect(self, token, via="query", user_id=None):
        """Open a chat session that is closed when the test ends."""
        client = await self.server.connect(token, via, user_id)
        self.addAsyncCleanup(client.close)
        return client

    def friends_pair(self, a_prefix="alice", b_prefix="bob"):
        """Register two users, make them friends and return ((user, token), (user, token))."""
        (a_user, a_token), (b_user, b_token) = self.server.register_many([a_prefix, b_prefix])
        self.server.make_friends(a_token, b_user["id"], b_token)
        return (a_user, a_token), (b_user, b_token)

    async def assert_quiet(self, sessions, predicate, case):
        """Assert that no session in `sessions` (label -> Client) receives a matching frame for QUIET_SECONDS."""
        frames = await asyncio.gather(*(session.collect(predicate, QUIET_SECONDS) for session in sessions.values()))
        for label, received in zip(sessions, frames):
            self.assertEqual(received, [], f"{case}: the {label} received {received!r}")

    def conversations(self, token):
        """Return the caller's GET /api/conversations list, asserting status 200."""
        status, body, _ = self.server.api("GET", "/api/conversations", token=token)
        self.assertEqual(status, 200, f"GET /api/conversations returned {status} {body!r}")
        return body["conversations"]

    def unread_counts(self, token):
        """Return {conv: unread} from the caller's conversation list."""
        return {entry["conv"]: entry["unread"] for entry in self.conversations(token)}

    def friend_group(self, member_count, open_group=None, prefix="grp"):
        """Create a group of a new owner and `member_count` new friends of the owner.

        Returns (group, owner, members), where owner and each member is a (user, token) pair.
        """
        people = self.server.register_many([prefix + "own"] + [prefix + "mem"] * member_count)
        owner, members = people[0], people[1:]
        for user, token in members:
            self.server.make_friends(owner[1], user["id"], token)
        group = self.server.create_group(owner[1], unique_name(prefix), [user["id"] for user, _ in members],
                                         open_group)
        return group, owner, members
