"""Case group 6 (UTF-8 handling): text messages must be valid UTF-8 (RFC 3629)
or the connection fails with 1007 (RFC 6455 section 8.1). The check is fail-fast:
the server closes as soon as the bytes received so far cannot start any valid
text, in the middle of a frame and across fragment boundaries, before the rest
of the message arrives.
"""

import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_CONTINUATION, OP_TEXT, encode_frame

GREEK = "κόσμε".encode("utf-8")

VALID = (
    ("empty", b""),
    ("ASCII and Latin-1", "Hello-µ@ßöäüàá-UTF-8!!".encode("utf-8")),
    ("Greek", GREEK),
    ("U+0000", b"\x00"),
    ("U+007F", b"\x7f"),
    ("U+0080", b"\xc2\x80"),
    ("U+07FF", b"\xdf\xbf"),
    ("U+0800", b"\xe0\xa0\x80"),
    ("U+D7FF", b"\xed\x9f\xbf"),
    ("U+E000", b"\xee\x80\x80"),
    ("U+FFFD", b"\xef\xbf\xbd"),
    ("U+FFFE noncharacter", b"\xef\xbf\xbe"),
    ("U+FFFF", b"\xef\xbf\xbf"),
    ("U+10000", b"\xf0\x90\x80\x80"),
    ("U+1FFFF noncharacter", b"\xf0\x9f\xbf\xbf"),
    ("U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("mixed lengths", "a\u00e9\u4e2d\U0001f600z".encode("utf-8")),
)

INVALID = (
    ("lone continuation 0x80", b"\x80"),
    ("lone continuation 0xBF", b"\xbf"),
    ("two continuations", b"\x80\xbf"),
    ("continuation after Greek", GREEK + b"\x80"),
    ("C0 lead", b"\xc0"),
    ("C1 lead", b"\xc1\xbf"),
    ("F5 lead", b"\xf5\x80\x80\x80"),
    ("FE", b"\xfe"),
    ("FF", b"\xff"),
    ("FE FE FF FF", b"\xfe\xfe\xff\xff"),
    ("five-byte form", b"\xf8\x88\x80\x80\x80"),
    ("six-byte form", b"\xfc\x84\x80\x80\x80\x80"),
    ("overlong slash in 2 bytes", b"\xc0\xaf"),
    ("overlong slash in 3 bytes", b"\xe0\x80\xaf"),
    ("overlong slash in 4 bytes", b"\xf0\x80\x80\xaf"),
    ("overlong U+07FF", b"\xe0\x9f\xbf"),
    ("overlong U+FFFF", b"\xf0\x8f\xbf\xbf"),
    ("overlong NUL", b"\xc0\x80"),
    ("surrogate U+D800", b"\xed\xa0\x80"),
    ("surrogate U+DBFF", b"\xed\xad\xbf"),
    ("surrogate U+DFFF", b"\xed\xbf\xbf"),
    ("surrogate pair", b"\xed\xa0\x80\xed\xb0\x80"),
    ("above U+10FFFF", b"\xf4\x90\x80\x80"),
    ("F7 BF BF BF", b"\xf7\xbf\xbf\xbf"),
    ("truncated 2-byte", b"\xc2"),
    ("truncated 3-byte", b"\xe0\xa0"),
    ("truncated 4-byte", b"\xf0\x90\x80"),
    ("Greek then truncated", GREEK + b"\xce"),
    ("lead followed by ASCII", b"\xe0a\x80"),
    ("surrogate inside valid text", GREEK + b"\xed\xa0\x80edited"),
)


def byte_fragments(payload):
    """Return the frames of a text message with one byte per fragment."""
    if not payload:
        return encode_frame(OP_TEXT, b"")
    frames = []
    for index in range(len(payload)):
        opcode = OP_TEXT if index == 0 else OP_CONTINUATION
        frames.append(encode_frame(opcode, payload[index:index + 1], fin=index == len(payload) - 1))
    return b"".join(frames)


class Utf8Cases:
    group = "utf8"

    def test_valid_text(self):
        for name, payload in VALID:
            with self.case(f"valid {name} in one frame"):
                session = self.open()
                session.send_frame(OP_TEXT, payload)
                session.expect_reply(OP_TEXT, payload)
                session.close_normally()

    def test_valid_text_one_byte_per_fragment(self):
        for name, payload in VALID:
            with self.case(f"valid {name} with one byte per fragment"):
                session = self.open()
                session.send(byte_fragments(payload))
                session.expect_reply(OP_TEXT, payload)
                session.close_normally()

    def test_valid_text_one_byte_per_write(self):
        with self.case("valid Greek in one frame, one byte a write"):
            session = self.open()
            session.send_chopped(encode_frame(OP_TEXT, GREEK), 1)
            session.expect_reply(OP_TEXT, GREEK)
            session.close_normally()

    def test_character_split_across_fragments(self):
        with self.case("Greek split inside a character"):
            session = self.open()
            session.send(encode_frame(OP_TEXT, GREEK[:3], fin=False) +
                         encode_frame(OP_CONTINUATION, GREEK[3:8], fin=False) +
                         encode_frame(OP_CONTINUATION, GREEK[8:]))
            session.expect_reply(OP_TEXT, GREEK)
            session.close_normally()

    def test_invalid_text(self):
        for name, payload in INVALID:
            with self.case(f"invalid {name} in one frame"):
                session = self.open()
                session.send_frame(OP_TEXT, payload)
                session.expect_close(1007)

    def test_invalid_text_one_byte_per_fragment(self):
        for name, payload in INVALID:
            with self.case(f"invalid {name} with one byte per fragment"):
                session = self.open()
                session.send(byte_fragments(payload))
                session.expect_close(1007)

    def test_fail_fast_between_fragments(self):
        # The first fragment is valid, the second makes the text invalid, and the third
        # would complete it: the server must close before the third is sent.
        cases = (("code point above U+10FFFF", GREEK, b"\xf4\x90\x80\x80", b"edited"),
                 ("lead byte, then bad continuation", GREEK + b"\xf4", b"\x90", b"\x80\x80edited"))
        for name, first, second, third in cases:
            with self.case(f"fail fast between fragments: {name}"):
                session = self.open()
                session.send(encode_frame(OP_TEXT, first, fin=False))
                session.send(encode_frame(OP_CONTINUATION, second, fin=False))
                session.expect_close(1007)
                session.send(encode_frame(OP_CONTINUATION, third))

    def test_fail_fast_inside_frame(self):
        # One frame; only the bytes up to the invalid sequence are sent at first.
        cases = (("code point above U+10FFFF", GREEK + b"\xf4\x90\x80\x80", b"edited" * 100),
                 ("bad continuation", GREEK + b"\xf4\x90", b"\x80\x80edited" * 100),
                 ("surrogate", b"a" * 1000 + b"\xed\xa0", b"\x80" + b"b" * 70000))
        for name, head, tail in cases:
            with self.case(f"fail fast inside one frame: {name}"):
                session = self.open()
                frame = encode_frame(OP_TEXT, head + tail)
                cut = len(frame) - len(tail)
                session.send(frame[:cut])
                session.expect_close(1007)
                session.send(frame[cut:])

    def test_invalid_after_valid_message(self):
        with self.case("valid message, then invalid message"):
            session = self.open()
            valid = self.text(10)
            session.send(encode_frame(OP_TEXT, valid) + encode_frame(OP_TEXT, b"\xff"))
            session.expect_reply(OP_TEXT, valid)
            session.expect_close(1007)


class Utf8Echo(Utf8Cases, EchoCase):
    pass


class Utf8Parleyd(Utf8Cases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
