"""HTTPS and WSS on parleyd's single port: --tls-cert, --tls-key and --tls-handshake-timeout.

A self-signed certificate for 127.0.0.1 is made with the openssl command when the module
loads its tests, and clients verify the server against it.
"""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import Server, ServerTestCase, conv_with

HANDSHAKE_TIMEOUT_S = 2.0
# How much later than the handshake timeout the server may close a stalled client: the
# timer fires on the loop's next pass, and the test process may be descheduled.
CLOSE_SLACK_S = 2.0

_cert_dir = None


def setUpModule():
    global _cert_dir
    _cert_dir = tempfile.mkdtemp(prefix="parley-tls-")
    make_certificate("server")
    make_certificate("other")


def tearDownModule():
    shutil.rmtree(_cert_dir, ignore_errors=True)


def make_certificate(name):
    """Write NAME.cert.pem and NAME.key.pem: a self-signed P-256 certificate for 127.0.0.1."""
    command = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", key_path(name), "-out", cert_path(name),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"openssl req failed with code {result.returncode}: {result.stderr}")


def cert_path(name="server"):
    return os.path.join(_cert_dir, f"{name}.cert.pem")


def key_path(name="server"):
    return os.path.join(_cert_dir, f"{name}.key.pem")


def client_context(version=None):
    """Return a client context that trusts the test certificate, pinned to `version` if given."""
    context = ssl.create_default_context(cafile=cert_path())
    if version is not None:
        context.minimum_version = version
        context.maximum_version = version
    return context


def tls_args(timeout_s=HANDSHAKE_TIMEOUT_S):
    return ["--tls-cert", cert_path(), "--tls-key", key_path(),
            "--tls-handshake-timeout", str(int(timeout_s * 1000))]


def client_hello_bytes():
    """Return the bytes of a real TLS ClientHello, as Python's ssl module sends it."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    session = client_context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try:
        session.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def read_until_close(sock):
    """Return every byte received on `sock` until the peer closes it."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def wait_for_close(sock, timeout):
    """Return the seconds until the peer closes `sock`, reading and dropping any bytes.

    Raises AssertionError if the connection is still open after `timeout` s.
    """
    start = time.monotonic()
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError(f"the server did not close the connection within {timeout} s") from None
    return time.monotonic() - start


class TlsServingTests(ServerTestCase):
    """Everything the plain port serves, served over TLS."""

    @classmethod
    def make_server(cls):
        return Server(extra_args=tls_args(), ssl_context=client_context())

    def assertStillServing(self):
        status, body, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, f"GET /healthz over TLS returned {status} {body!r} afterwards")

    def test_https_healthz(self):
        status, body, headers = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, f"GET /healthz over TLS returned {status} {body!r}")
        self.assertIn(b"ok", body, f"GET /healthz body is {body!r}")
        self.assertIn("application/json", headers.get("content-type", ""),
                      f"GET /healthz has content type {headers.get('content-type')!r}")

    def test_https_index_page(self):
        status, body, headers = self.server.http("GET", "/")
        self.assertEqual(status, 200, f"GET / over TLS returned {status}")
        self.assertIn("text/html", headers.get("content-type", ""),
                      f"GET / has content type {headers.get('content-type')!r}")
        self.assertIn(b"<html", body.lower(), "GET / over TLS did not return the HTML page")

    def test_https_register_and_login(self):
        user, token = self.server.register_and_login("tlsuser")
        self.assertUserShape(user)
        status, body, _ = self.server.api("GET", "/api/friends", token=token)
        self.assertEqual(status, 200, f"GET /api/friends over TLS returned {status} {body!r}")
        self.assertEqual(body.get("friends"), [], f"a new user has friends {body!r}")

    def test_large_upload_roundtrip(self):
        _, token = self.server.register_and_login("tlsupload")
        data = os.urandom(3 * 1024 * 1024)
        boundary = "----parleytls"
        body = (f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="file"; filename="noise.bin"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        body += data + f"\r\n--{boundary}--\r\n".encode()
        status, parsed, _ = self.server.api(
            "POST", "/api/upload", body, token=token,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        self.assertEqual(status, 201, f"a 3 MiB upload over TLS returned {status} {parsed!r}")
        status, served, _ = self.server.http("GET", parsed["url"])
        self.assertEqual(status, 200, f"GET {parsed['url']} over TLS returned {status}")
        self.assertEqual(len(served), len(data), "the file served over TLS has another length")
        self.assertEqual(served, data, "the file served over TLS differs from the upload")

    def test_protocol_versions_negotiated(self):
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(name):
                context = client_context(version)
                with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
                    with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                        self.assertEqual(tls.version(), name, f"a client pinned to {name} got {tls.version()}")
                        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        response = read_until_close(tls)
                self.assertTrue(response.startswith(b"HTTP/1.1 200"),
                                f"GET /healthz over {name} returned {response[:80]!r}")

    def test_session_resumed(self):
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(name):
                context = client_context(version)
                session = None
                for attempt in ("first", "second"):
                    with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
                        with context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
                            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                            response = read_until_close(tls)
                            reused = tls.session_reused
                            session = tls.session  # TLS 1.3 tickets arrive after the handshake
                    self.assertTrue(response.startswith(b"HTTP/1.1 200"),
                                    f"the {attempt} GET /healthz over {name} returned {response[:80]!r}")
                self.assertTrue(reused, f"the second {name} connection did not resume the session")

    def test_non_aead_cipher_rejected(self):
        context = client_context(ssl.TLSVersion.TLSv1_2)
        context.set_ciphers("ECDHE-ECDSA-AES128-SHA")
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
            with self.assertRaises(ssl.SSLError, msg="a CBC-only TLS 1.2 client completed the handshake"):
                context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.assertStillServing()
        deadline = time.monotonic() + 2
        while "TLS handshake failed: no shared cipher" not in self.server.log_tail(200):
            self.assertLess(time.monotonic(), deadline,
                            f"the failed handshake was not logged; log tail:\n{self.server.log_tail()}")
            time.sleep(0.05)

    def test_plain_http_gets_400(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            response = read_until_close(sock)
        self.assertTrue(response.startswith(b"HTTP/1.1 400 "),
                        f"plain HTTP on the TLS port got {response[:80]!r}, expected a 400")
        self.assertIn(b"https://", response, f"the 400 does not point to https://: {response!r}")
        self.assertIn(b"Connection: close", response, "the 400 does not announce the close")
        self.assertStillServing()

    def test_garbage_handshake_closed(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(b"\x16\x03\x01\x00\x05hello, not a ClientHello")
            elapsed = wait_for_close(sock, HANDSHAKE_TIMEOUT_S + CLOSE_SLACK_S)
        self.assertLess(elapsed, HANDSHAKE_TIMEOUT_S,
                        "a malformed ClientHello was kept open until the handshake timeout")
        self.assertStillServing()

    async def test_wss_direct_chat(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token, via="header")
        self.assertEqual(alice_session.user["id"], alice["id"], "the wss welcome names another user")

        ack = await alice_session.send_message(10, bob["id"], "hello over wss")
        self.assertEqual(ack["cmd"], 20, f"the sender got {ack!r}, expected an ack")
        delivery = await bob_session.recv_cmd(10)
        self.assertEqual(delivery["content"], "hello over wss", "the message arrived altered")
        self.assertEqual(delivery["conv"], conv_with(alice), "the recipient sees another conversation")

        reply = await bob_session.send_message(10, alice["id"], "and back")
        self.assertEqual(reply["cmd"], 20, f"the reply got {reply!r}, expected an ack")
        delivery = await alice_session.recv_cmd(10)
        self.assertEqual(delivery["content"], "and back", "the reply arrived altered")

    async def test_wss_message_burst_in_order(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        contents = [f"burst {number}" for number in range(40)]
        for content in contents:
            await alice_session.send({"cmd": 10, "dstid": bob["id"], "content": content,
                                      "cid": content.replace(" ", "-")})
        received = [frame["content"] for frame in await bob_session.collect(
            lambda frame: frame.get("cmd") == 10, 3.0)]
        self.assertEqual(received, contents, "a burst of messages over wss arrived incomplete or reordered")


class TlsHandshakeTimeoutTests(ServerTestCase):
    """A client that never starts the handshake is closed after the timeout."""

    @classmethod
    def make_server(cls):
        return Server(extra_args=tls_args(), ssl_context=client_context())

    def test_silent_client_closed(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            elapsed = wait_for_close(sock, HANDSHAKE_TIMEOUT_S + CLOSE_SLACK_S)
        self.assertGreaterEqual(elapsed, HANDSHAKE_TIMEOUT_S - 0.2,
                                "a silent client was closed before the handshake timeout")
        self.assertIn("TLS handshake timed out", self.server.log_tail(200),
                      "the handshake timeout was not logged")


class TlsStalledHandshakeTests(ServerTestCase):
    """Clients stalled in the middle of a ClientHello do not hold up others."""

    # Long enough that a loaded test machine serves the other clients well before it ends.
    TIMEOUT_S = 5.0

    @classmethod
    def make_server(cls):
        return Server(extra_args=tls_args(cls.TIMEOUT_S), ssl_context=client_context())

    async def test_half_client_hello_does_not_block(self):
        hello = client_hello_bytes()
        self.assertEqual(hello[0], 0x16, f"the ClientHello starts with {hello[:5]!r}")
        stalled = []
        try:
            for _ in range(8):
                sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
                stalled.append(sock)
                sock.sendall(hello[: len(hello) // 2])
            opened = time.monotonic()

            for attempt in range(10):
                start = time.monotonic()
                status, _, _ = self.server.http("GET", "/healthz", timeout=self.TIMEOUT_S / 2)
                self.assertEqual(status, 200, f"GET /healthz {attempt} returned {status} beside stalled clients")
                self.assertLess(time.monotonic() - start, 1.0,
                                f"GET /healthz {attempt} was slow beside stalled handshakes")
            user, token = self.server.register_and_login("besidestalled")
            session = await self.connect(token)
            self.assertEqual(await session.heartbeat(), {"cmd": 0}, "a wss session beside stalled clients did not answer")
            self.assertLess(time.monotonic() - opened, self.TIMEOUT_S,
                            "the other clients were served only after the stalled ones timed out")
            for index, sock in enumerate(stalled):
                sock.setblocking(False)
                with self.assertRaises(BlockingIOError, msg=f"stalled client {index} was closed early"):
                    sock.recv(1)
                sock.setblocking(True)

            for sock in stalled:
                remaining = self.TIMEOUT_S + CLOSE_SLACK_S - (time.monotonic() - opened)
                wait_for_close(sock, max(remaining, 0.1))
        finally:
            for sock in stalled:
                sock.close()


class TlsFailureLogTests(ServerTestCase):
    """Handshake failures are logged with their reason, but not without bound."""

    LOGS_PER_WINDOW_PER_LOOP = 20
    LOOPS = 2  # the harness starts parleyd with --threads 2

    @classmethod
    def make_server(cls):
        return Server(extra_args=tls_args(), ssl_context=client_context())

    def test_failure_logs_rate_limited(self):
        for _ in range(60):
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
                sock.sendall(b"\x16\x03\x01\x00\x05hello, not a ClientHello")
                wait_for_close(sock, HANDSHAKE_TIMEOUT_S + CLOSE_SLACK_S)
        logged = [line for line in self.server.log_tail(1000).splitlines()
                  if "TLS handshake failed" in line]
        self.assertGreater(len(logged), 0, "no handshake failure was logged")
        self.assertLessEqual(len(logged), self.LOGS_PER_WINDOW_PER_LOOP * self.LOOPS,
                             f"{len(logged)} of 60 handshake failures were logged within seconds")
        self.assertRegex(logged[0], r"conn \d+ 127\.0\.0\.1:\d+ TLS handshake failed: \w",
                         "a handshake failure line lacks the connection id, peer or reason")
        status, _, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, f"GET /healthz returned {status} after 60 failed handshakes")


class TlsStartupTests(unittest.TestCase):
    """Flag and file errors stop parleyd before it listens."""

    def start_failure(self, extra_args):
        server = Server(extra_args=extra_args, ssl_context=client_context())
        try:
            with self.assertRaises(RuntimeError, msg=f"parleyd started with {extra_args}") as caught:
                server.start()
            return str(caught.exception)
        finally:
            server.cleanup()

    def test_key_of_other_certificate_rejected(self):
        message = self.start_failure(["--tls-cert", cert_path(), "--tls-key", key_path("other")])
        self.assertIn("does not match the certificate", message, f"start-up failure is {message!r}")

    def test_missing_certificate_file_rejected(self):
        missing = os.path.join(_cert_dir, "missing.pem")
        message = self.start_failure(["--tls-cert", missing, "--tls-key", key_path()])
        self.assertIn("missing.pem", message, f"start-up failure {message!r} does not name the file")

    def test_cert_without_key_rejected(self):
        message = self.start_failure(["--tls-cert", cert_path()])
        self.assertIn("code 2", message, f"start-up failure is {message!r}")
        self.assertIn("--tls-key", message, f"start-up failure {message!r} does not name --tls-key")
