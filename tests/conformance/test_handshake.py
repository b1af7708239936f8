"""The opening handshake (RFC 6455 section 4.2): what the server accepts,
what it rejects with 400 or 426, subprotocol selection, frames pipelined
behind the request, and a request that trickles in past the handshake timeout.
"""

import base64
import time
import unittest

from cases import EchoCase, ParleydCase
from servers import ECHO_SUBPROTOCOLS, HANDSHAKE_TIMEOUT_MS, PARLEYD_SUBPROTOCOL
from wsclient import OP_TEXT, RawClient, accept_key, build_request, encode_frame, new_key

# Each entry: name, headers to add, default headers to leave out, method, version.
ACCEPTED = (
    ("header names in capitals", (("UPGRADE", "websocket"), ("CONNECTION", "Upgrade")),
     ("Upgrade", "Connection"), "GET", "HTTP/1.1"),
    ("tokens in other case", (("Upgrade", "WebSocket"), ("Connection", "upgrade")),
     ("Upgrade", "Connection"), "GET", "HTTP/1.1"),
    ("Connection token list", (("Connection", "keep-alive, Upgrade"),), ("Connection",), "GET",
     "HTTP/1.1"),
    ("Connection in two lines", (("Connection", "keep-alive"), ("Connection", "Upgrade")),
     ("Connection",), "GET", "HTTP/1.1"),
    ("Upgrade token list", (("Upgrade", "foo/2, websocket"),), ("Upgrade",), "GET", "HTTP/1.1"),
    ("Origin header", (("Origin", "http://example.com"),), (), "GET", "HTTP/1.1"),
)

KEY_15 = base64.b64encode(b"k" * 15).decode()
KEY_17 = base64.b64encode(b"k" * 17).decode()

REJECTED = (
    ("no Host", (), ("Host",), "GET", "HTTP/1.1", 400),
    ("no Upgrade", (), ("Upgrade",), "GET", "HTTP/1.1", 400),
    ("Upgrade h2c", (("Upgrade", "h2c"),), ("Upgrade",), "GET", "HTTP/1.1", 400),
    ("no Connection", (), ("Connection",), "GET", "HTTP/1.1", 400),
    ("Connection keep-alive only", (("Connection", "keep-alive"),), ("Connection",), "GET",
     "HTTP/1.1", 400),
    ("no key", (), ("Sec-WebSocket-Key",), "GET", "HTTP/1.1", 400),
    ("key of 15 bytes", (("Sec-WebSocket-Key", KEY_15),), ("Sec-WebSocket-Key",), "GET",
     "HTTP/1.1", 400),
    ("key of 17 bytes", (("Sec-WebSocket-Key", KEY_17),), ("Sec-WebSocket-Key",), "GET",
     "HTTP/1.1", 400),
    ("key not base64", (("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!=="),),
     ("Sec-WebSocket-Key",), "GET", "HTTP/1.1", 400),
    ("repeated key", (("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),), (), "GET", "HTTP/1.1",
     400),
    ("repeated version", (("Sec-WebSocket-Version", "13"),), (), "GET", "HTTP/1.1", 400),
    ("POST", (), (), "POST", "HTTP/1.1", 400),
    ("HTTP/1.0", (), (), "GET", "HTTP/1.0", 400),
    ("version 8", (("Sec-WebSocket-Version", "8"),), ("Sec-WebSocket-Version",), "GET",
     "HTTP/1.1", 426),
    ("version 14", (("Sec-WebSocket-Version", "14"),), ("Sec-WebSocket-Version",), "GET",
     "HTTP/1.1", 426),
    ("no version", (), ("Sec-WebSocket-Version",), "GET", "HTTP/1.1", 426),
)


class HandshakeCases:
    group = "handshake"
    supported_subprotocols = ()

    def request(self, extra=(), omit=(), method="GET", version="HTTP/1.1"):
        """Send one upgrade request on a new connection and return (client, key, response)."""
        client = RawClient(self.target.port)
        self.addCleanup(client.close)
        key = new_key()
        client.send(build_request(self.target.path, self.target.port, key, extra, omit, method,
                                  version))
        return client, key, client.read_response()

    def assert_accepted(self, key, response):
        self.assertEqual(response.status, 101, f"body: {response.body!r}")
        self.assertEqual(response.headers.get("upgrade"), ["websocket"])
        self.assertEqual(response.headers.get("connection"), ["Upgrade"])
        self.assertEqual(response.headers.get("sec-websocket-accept"), [accept_key(key)])

    def test_valid_request(self):
        with self.case("valid request"):
            _, key, response = self.request()
            self.assert_accepted(key, response)
            self.assertNotIn("sec-websocket-protocol", response.headers)

    def test_accepted_variants(self):
        for name, extra, omit, method, version in ACCEPTED:
            with self.case(f"accepted: {name}"):
                _, key, response = self.request(extra, omit, method, version)
                self.assert_accepted(key, response)

    def test_rejected_requests(self):
        for name, extra, omit, method, version, status in REJECTED:
            with self.case(f"rejected: {name}"):
                client, _, response = self.request(extra, omit, method, version)
                self.assertEqual(response.status, status, f"body: {response.body!r}")
                if status == 426:
                    self.assertEqual(response.headers.get("sec-websocket-version"), ["13"])
                self.assertTrue(client.wait_eof(3.0), "connection still open after the rejection")

    def test_oversized_request_head(self):
        with self.case("request head over 16 KiB"):
            client, _, response = self.request((("X-Padding", "p" * 20000),))
            self.assertEqual(response.status, 431, f"body: {response.body!r}")
            self.assertTrue(client.wait_eof(3.0), "connection still open after the rejection")

    def test_subprotocol_selected(self):
        chosen = self.supported_subprotocols[-1]
        offers = ((f"unknown, {chosen}",), ("unknown", chosen))
        for lines in offers:
            with self.case(f"subprotocol offered in {len(lines)} header lines"):
                extra = tuple(("Sec-WebSocket-Protocol", line) for line in lines)
                _, key, response = self.request(extra)
                self.assert_accepted(key, response)
                self.assertEqual(response.headers.get("sec-websocket-protocol"), [chosen])

    def test_subprotocol_not_supported(self):
        with self.case("only unknown subprotocols offered"):
            _, key, response = self.request((("Sec-WebSocket-Protocol", "unknown, other"),))
            self.assert_accepted(key, response)
            self.assertNotIn("sec-websocket-protocol", response.headers)

    def test_frames_pipelined_after_request(self):
        with self.case("text frame in the same write as the request"):
            client = RawClient(self.target.port)
            self.addCleanup(client.close)
            key = new_key()
            payload = self.text(40)
            client.send(build_request(self.target.path, self.target.port, key) +
                        encode_frame(OP_TEXT, payload))
            self.assert_accepted(key, client.read_response())
            self.target.after_open(client)
            frame = client.read_frame()
            while self.target.is_noise(frame):
                frame = client.read_frame()
            self.target.check_reply(self, frame, OP_TEXT, payload)

    def test_trickling_request_closed(self):
        with self.case("request sent one byte per 50 ms"):
            client = RawClient(self.target.port)
            self.addCleanup(client.close)
            request = build_request(self.target.path, self.target.port, new_key())
            started = time.monotonic()
            closed = False
            for byte in request:
                try:
                    client.send(bytes([byte]))
                except OSError:
                    closed = True
                    break
                if client.wait_eof(0.05):
                    closed = True
                    break
            elapsed = time.monotonic() - started
            self.assertTrue(closed, f"the whole request trickled in over {elapsed:.1f} s unclosed")
            self.assertGreaterEqual(elapsed, HANDSHAKE_TIMEOUT_MS / 1000 * 0.9)
            self.assertLess(elapsed, HANDSHAKE_TIMEOUT_MS / 1000 + 1.0)


class HandshakeEcho(HandshakeCases, EchoCase):
    supported_subprotocols = ECHO_SUBPROTOCOLS

    def test_request_with_body(self):
        with self.case("request with a body"):
            _, _, response = self.request((("Content-Length", "5"),))
            self.assertEqual(response.status, 413, f"body: {response.body!r}")


class HandshakeParleyd(HandshakeCases, ParleydCase):
    supported_subprotocols = (PARLEYD_SUBPROTOCOL,)


if __name__ == "__main__":
    unittest.main()
