"""Case groups 9 (limits and performance) and 10 (automatic fragmentation).

Both servers run with a 16 MiB message limit. A message at the limit passes.
One over it fails with 1009 as soon as a frame header shows the excess, before
its payload is sent. Large messages, many fragments, byte-wise writes and
bursts of small messages check that the reader keeps up without losing data.
"""

import os
import time
import unittest

from cases import EchoCase, ParleydCase
from servers import MAX_MESSAGE
from wsclient import OP_BINARY, OP_CONTINUATION, OP_TEXT, encode_frame

KIB = 1024
MIB = 1024 * KIB


def fragmented(opcode, payload, size):
    """Return the frames of `payload` as one message in fragments of `size` bytes."""
    frames = []
    for start in range(0, len(payload), size):
        last = start + size >= len(payload)
        frames.append(encode_frame(opcode if start == 0 else OP_CONTINUATION,
                                   payload[start:start + size], fin=last))
    return b"".join(frames)


class LimitCases:
    group = "limits"

    def payload(self, opcode, length):
        return self.text(length) if opcode == OP_TEXT else os.urandom(length)

    def test_message_at_limit(self):
        for opcode in (OP_TEXT, OP_BINARY):
            with self.case(f"opcode {opcode} of exactly the limit"):
                session = self.open()
                payload = self.payload(opcode, MAX_MESSAGE)
                session.send_frame(opcode, payload)
                session.expect_reply(opcode, payload)
                session.close_normally()

    def test_frame_over_limit(self):
        for opcode, length in ((OP_TEXT, MAX_MESSAGE + 1), (OP_BINARY, MAX_MESSAGE + 1),
                               (OP_BINARY, 1 << 62)):
            with self.case(f"opcode {opcode} header announcing {length} bytes"):
                session = self.open()
                # Only the header is sent: the server must decide from it alone.
                session.send_frame(opcode, b"", length=length)
                session.expect_close(1009)

    def test_fragments_over_limit(self):
        with self.case("fragments adding up to the limit plus one"):
            session = self.open()
            session.send_frame(OP_BINARY, b"x" * 1000, fin=False)
            session.send_frame(OP_CONTINUATION, b"", length=MAX_MESSAGE - 999)
            session.expect_close(1009)

    def test_large_messages(self):
        for opcode in (OP_TEXT, OP_BINARY):
            for length in (64 * KIB, 256 * KIB, MIB, 4 * MIB):
                with self.case(f"opcode {opcode} of {length} bytes"):
                    session = self.open()
                    payload = self.payload(opcode, length)
                    session.send_frame(opcode, payload)
                    session.expect_reply(opcode, payload)
                    session.close_normally()

    def test_fragmented_messages(self):
        cases = ((MIB, 64), (MIB, 4 * KIB), (4 * MIB, 64 * KIB), (4 * MIB, MIB), (4 * MIB, 4 * MIB))
        for opcode in (OP_TEXT, OP_BINARY):
            for length, size in cases:
                with self.case(f"opcode {opcode} of {length} bytes in fragments of {size}"):
                    session = self.open()
                    payload = self.payload(opcode, length)
                    session.send(fragmented(opcode, payload, size))
                    session.expect_reply(opcode, payload)
                    session.close_normally()

    def test_chopped_messages(self):
        for opcode in (OP_TEXT, OP_BINARY):
            for chunk in (64, 4 * KIB, 64 * KIB):
                with self.case(f"opcode {opcode} of 1 MiB in writes of {chunk}"):
                    session = self.open()
                    payload = self.payload(opcode, MIB)
                    session.send_chopped(encode_frame(opcode, payload), chunk, pause=0)
                    session.expect_reply(opcode, payload)
                    session.close_normally()

    def test_many_small_messages(self):
        for opcode in (OP_TEXT, OP_BINARY):
            for length in (16, 1024):
                with self.case(f"1000 messages of opcode {opcode} and {length} bytes"):
                    session = self.open()
                    payloads = [self.payload(opcode, length) for _ in range(1000)]
                    session.send(b"".join(encode_frame(opcode, payload) for payload in payloads))
                    for payload in payloads:
                        session.expect_reply(opcode, payload)
                    session.close_normally()

    def test_many_messages_with_round_trips(self):
        with self.case("100 text messages, each waiting for its reply"):
            session = self.open()
            started = time.monotonic()
            for _ in range(100):
                payload = self.text(100)
                session.send_frame(OP_TEXT, payload)
                session.expect_reply(OP_TEXT, payload)
            self.assertLess(time.monotonic() - started, 5.0, "100 round trips took over 5 s")
            session.close_normally()

    def test_auto_fragmented_message(self):
        # Case group 10: a 64 KiB message split into frames of 1300 bytes, as a client
        # with automatic fragmentation sends it.
        for opcode in (OP_TEXT, OP_BINARY):
            with self.case(f"opcode {opcode} of 64 KiB in frames of 1300"):
                session = self.open()
                payload = self.payload(opcode, 64 * KIB)
                session.send(fragmented(opcode, payload, 1300))
                session.expect_reply(opcode, payload)
                session.close_normally()


class LimitsEcho(LimitCases, EchoCase):
    pass


class LimitsParleyd(LimitCases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
