"""Case group 1 (framing): payload lengths at every length-form boundary.

The 7-bit length form covers 0-125, the 16-bit form 126-65535, the 64-bit
form the rest (RFC 6455 section 5.2). The server accepts a length written in
a longer form than needed: the minimal form is a rule for senders only.
"""

import os
import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_BINARY, OP_TEXT, encode_frame

BOUNDARY_LENGTHS = (0, 1, 125, 126, 127, 128, 65535, 65536, 65537)


class FramingCases:
    group = "framing"

    def test_text_lengths(self):
        for length in BOUNDARY_LENGTHS:
            with self.case(f"text of {length} bytes"):
                session = self.open()
                payload = self.text(length)
                session.send_frame(OP_TEXT, payload)
                session.expect_reply(OP_TEXT, payload)
                session.close_normally()

    def test_binary_lengths(self):
        for length in BOUNDARY_LENGTHS:
            with self.case(f"binary of {length} bytes"):
                session = self.open()
                payload = os.urandom(length)
                session.send_frame(OP_BINARY, payload)
                session.expect_reply(OP_BINARY, payload)
                session.close_normally()

    def test_chopped_writes(self):
        for opcode, chunk in ((OP_TEXT, 997), (OP_BINARY, 997), (OP_TEXT, 1)):
            length = 65536 if chunk > 1 else 300
            with self.case(f"opcode {opcode} of {length} bytes in writes of {chunk}"):
                session = self.open()
                payload = self.text(length) if opcode == OP_TEXT else os.urandom(length)
                session.send_chopped(encode_frame(opcode, payload), chunk, pause=0)
                session.expect_reply(opcode, payload)
                session.close_normally()

    def test_messages_in_one_write(self):
        with self.case("three messages in one write"):
            session = self.open()
            payloads = [self.text(10), self.text(200), self.text(70000)]
            session.send(b"".join(encode_frame(OP_TEXT, payload) for payload in payloads))
            for payload in payloads:
                session.expect_reply(OP_TEXT, payload)
            session.close_normally()

    def test_non_minimal_lengths_accepted(self):
        for length_bytes, length in ((2, 10), (8, 10), (8, 200)):
            with self.case(f"{length} bytes in the {length_bytes * 8}-bit length form"):
                session = self.open()
                payload = self.text(length)
                session.send_frame(OP_TEXT, payload, length_bytes=length_bytes)
                session.expect_reply(OP_TEXT, payload)
                session.close_normally()

    def test_length_with_top_bit_set(self):
        with self.case("64-bit length with the most significant bit set"):
            session = self.open()
            session.send_frame(OP_BINARY, b"", length_bytes=8, length=(1 << 63) + 5)
            session.expect_close(1002)

    def test_zero_masking_key(self):
        with self.case("masking key of zero bytes"):
            session = self.open()
            payload = self.text(20)
            session.send_frame(OP_TEXT, payload, mask_key=b"\0\0\0\0")
            session.expect_reply(OP_TEXT, payload)
            session.close_normally()

    def test_unmasked_frames(self):
        for opcode, payload in ((OP_TEXT, b"hello"), (OP_BINARY, b""), (OP_TEXT, b"x" * 200)):
            with self.case(f"unmasked frame of opcode {opcode}, {len(payload)} bytes"):
                session = self.open()
                session.send_frame(opcode, payload, mask=False)
                session.expect_close(1002)


class FramingEcho(FramingCases, EchoCase):
    pass


class FramingParleyd(FramingCases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
