"""Case group 2 (pings and pongs): a Pong echoes the Ping's payload, control
payloads over 125 bytes fail with 1002, and unsolicited Pongs are ignored
(RFC 6455 sections 5.5.2 and 5.5.3).
"""

import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_PING, OP_PONG, OP_TEXT, encode_frame

BINARY_125 = bytes(range(125))


class PingCases:
    group = "pings"

    def test_ping_payloads(self):
        for name, payload in (("empty", b""), ("text", b"Hello, world!"),
                              ("binary", b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
                              ("125 bytes", BINARY_125), ("125 bytes of text", b"*" * 125)):
            with self.case(f"ping with {name} payload"):
                session = self.open()
                session.send_frame(OP_PING, payload)
                session.expect_pong(payload)
                session.close_normally()

    def test_ping_over_125_bytes(self):
        for length in (126, 65535):
            with self.case(f"ping of {length} bytes"):
                session = self.open()
                session.send_frame(OP_PING, b"p" * length)
                session.expect_close(1002)

    def test_ping_in_extended_length_form(self):
        # A control frame must use the 7-bit form; the extended forms fail from the
        # first two bytes, whatever length follows.
        for length_bytes in (2, 8):
            with self.case(f"ping of 5 bytes in the {length_bytes * 8}-bit form"):
                session = self.open()
                session.send_frame(OP_PING, b"hello", length_bytes=length_bytes)
                session.expect_close(1002)

    def test_ping_chopped(self):
        with self.case("ping of 125 bytes written one byte at a time"):
            session = self.open()
            session.send_chopped(encode_frame(OP_PING, BINARY_125), 1)
            session.expect_pong(BINARY_125)
            session.close_normally()

    def test_unsolicited_pongs_ignored(self):
        for payload in (b"", b"unsolicited pong payload"):
            with self.case(f"unsolicited pong of {len(payload)} bytes"):
                session = self.open()
                session.send_frame(OP_PONG, payload)
                session.expect_nothing(0.1)
                session.expect_open()
                session.close_normally()

    def test_pong_then_ping(self):
        with self.case("unsolicited pong, then ping"):
            session = self.open()
            session.send_frame(OP_PONG, b"ping me not")
            session.send_frame(OP_PING, b"ping me")
            session.expect_pong(b"ping me")
            session.close_normally()

    def test_ten_pings(self):
        for chunk in (None, 1):
            with self.case("ten pings" + (" written one byte at a time" if chunk else "")):
                session = self.open()
                payloads = [f"payload-{i}".encode() for i in range(10)]
                data = b"".join(encode_frame(OP_PING, payload) for payload in payloads)
                if chunk:
                    session.send_chopped(data, chunk)
                else:
                    session.send(data)
                for payload in payloads:
                    session.expect_pong(payload)
                session.close_normally()

    def test_ping_between_messages(self):
        with self.case("text, ping, text"):
            session = self.open()
            first, second = self.text(30), self.text(40)
            session.send(encode_frame(OP_TEXT, first) + encode_frame(OP_PING, b"between") +
                         encode_frame(OP_TEXT, second))
            session.expect_reply(OP_TEXT, first)
            session.expect_pong(b"between")
            session.expect_reply(OP_TEXT, second)
            session.close_normally()


class PingsEcho(PingCases, EchoCase):
    pass


class PingsParleyd(PingCases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
