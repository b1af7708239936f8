"""Case group 7 (close handling): the closing handshake of RFC 6455 section 7.

The server replies to a Close with a Close carrying the same code (or an
empty one for an empty body) and then closes TCP itself. A 1-byte body, a body over
125 bytes, and a code that must not appear on the wire fail with 1002; a reason
that is not UTF-8 fails with 1007. Data after a Close is ignored.
"""

import signal
import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_CLOSE, OP_CONTINUATION, OP_PING, OP_TEXT, close_payload, encode_frame

# 1000-1003 and 1007-1011 of RFC 6455 section 7.4.1, 1012-1014 of the IANA
# registry, and the ranges for libraries (3000-3999) and applications (4000-4999).
VALID_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3999, 4000, 4999)
# Unused (0-999), reserved (1004, 1016-2999), local-only (1005, 1006, 1015) or
# outside the defined range (5000 and up).
INVALID_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)


class CloseCases:
    group = "close"

    def test_message_then_close(self):
        with self.case("text, then close"):
            session = self.open()
            payload = self.text(20)
            session.send(encode_frame(OP_TEXT, payload) + encode_frame(OP_CLOSE, close_payload(1000)))
            session.expect_reply(OP_TEXT, payload)
            session.expect_close(1000)

    def test_close_twice(self):
        with self.case("close sent twice"):
            session = self.open()
            close = encode_frame(OP_CLOSE, close_payload(1000))
            session.send(close + close)
            session.expect_close(1000)

    def test_frames_after_close_ignored(self):
        followers = (("ping", encode_frame(OP_PING, b"after close")),
                     ("text", encode_frame(OP_TEXT, b"after close")),
                     ("invalid frame", encode_frame(3, b"")))
        for name, follower in followers:
            with self.case(f"close, then {name}"):
                session = self.open()
                session.send(encode_frame(OP_CLOSE, close_payload(1000)) + follower)
                session.expect_close(1000)

    def test_close_inside_fragmented_message(self):
        with self.case("first fragment, close, last fragment"):
            session = self.open()
            session.send(encode_frame(OP_TEXT, b"fragment1", fin=False) +
                         encode_frame(OP_CLOSE, close_payload(1000)) +
                         encode_frame(OP_CONTINUATION, b"fragment2"))
            session.expect_close(1000)

    def test_large_message_then_close(self):
        with self.case("256 KiB text, close, ping"):
            session = self.open()
            payload = self.text(256 * 1024)
            session.send(encode_frame(OP_TEXT, payload) + encode_frame(OP_CLOSE, close_payload(1000)) +
                         encode_frame(OP_PING, b"after close"))
            session.expect_reply(OP_TEXT, payload)
            session.expect_close(1000)

    def test_empty_close(self):
        with self.case("close without a body"):
            session = self.open()
            session.send_frame(OP_CLOSE, b"")
            session.expect_close(1000, allow_empty=True)

    def test_close_body_of_one_byte(self):
        with self.case("close body of 1 byte"):
            session = self.open()
            session.send_frame(OP_CLOSE, b"\x03")
            session.expect_close(1002)

    def test_close_reasons(self):
        reasons = (("no reason", b""), ("short reason", b"Hello World!"),
                   ("UTF-8 reason", "κόσμε, a close reason".encode("utf-8")),
                   ("123-byte reason", b"*" * 123))
        for name, reason in reasons:
            with self.case(f"close 1000 with {name}"):
                session = self.open()
                session.send_frame(OP_CLOSE, close_payload(1000, reason))
                session.expect_close(1000)

    def test_close_body_over_125_bytes(self):
        with self.case("close with a 124-byte reason"):
            session = self.open()
            session.send_frame(OP_CLOSE, close_payload(1000, b"*" * 124))
            session.expect_close(1002)

    def test_close_reason_not_utf8(self):
        for reason in (b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", b"\xff", b"\xc2"):
            with self.case(f"close reason {reason[-6:]!r} that is not UTF-8"):
                session = self.open()
                session.send_frame(OP_CLOSE, close_payload(1000, reason))
                session.expect_close(1007)

    def test_valid_codes_echoed(self):
        for code in VALID_CODES:
            with self.case(f"close code {code}"):
                session = self.open()
                session.send_frame(OP_CLOSE, close_payload(code))
                session.expect_close(code)

    def test_invalid_codes(self):
        for code in INVALID_CODES:
            with self.case(f"invalid close code {code}"):
                session = self.open()
                session.send_frame(OP_CLOSE, close_payload(code))
                session.expect_close(1002)

    def test_fragmented_close(self):
        with self.case("close in two fragments"):
            session = self.open()
            session.send(encode_frame(OP_CLOSE, b"\x03", fin=False) +
                         encode_frame(OP_CONTINUATION, b"\xe8"))
            session.expect_close(1002)


class ShutdownCases:
    """A server stopped by SIGTERM closes its sessions and exits with 0. Each class
    stops its own server, so these cases do not share one with the others."""

    group = "close"
    # Close code sent to open sessions on shutdown, or None when TCP is dropped.
    shutdown_close_code = None

    def test_sigterm_closes_sessions(self):
        with self.case("SIGTERM with a session open"):
            session = self.open()
            session.expect_open()
            self.server.proc.send_signal(signal.SIGTERM)
            if self.shutdown_close_code is None:
                self.assertTrue(session.client.wait_eof(5.0), "session still open after SIGTERM")
            else:
                session.expect_close(self.shutdown_close_code)
            self.server.stop()


class CloseEcho(CloseCases, EchoCase):
    pass


class CloseParleyd(CloseCases, ParleydCase):
    pass


class ShutdownEcho(ShutdownCases, EchoCase):
    shutdown_close_code = 1001


class ShutdownParleyd(ShutdownCases, ParleydCase):
    # NOTE: parleyd drops every connection on shutdown without a Close frame.
    shutdown_close_code = None


if __name__ == "__main__":
    unittest.main()
