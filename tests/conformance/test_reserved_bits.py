"""Case group 3 (reserved bits): with no extension negotiated, a frame with
RSV1, RSV2 or RSV3 set fails the connection with 1002 (RFC 6455 section 5.2).
Frames before the faulty one are still processed, and frames after it are not.
"""

import unittest

from cases import EchoCase, ParleydCase
from wsclient import (OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, RSV1, RSV2, RSV3,
                      close_payload, encode_frame)

ALL_RSV = RSV1 | RSV2 | RSV3


class ReservedBitsCases:
    group = "reserved bits"

    def test_rsv_on_each_opcode(self):
        frames = ((OP_TEXT, b"Hello"), (OP_BINARY, b"\x00\xff"), (OP_PING, b"ping"),
                  (OP_PONG, b"pong"), (OP_CLOSE, close_payload(1000)))
        for rsv in (RSV1, RSV2, RSV3, RSV1 | RSV3, ALL_RSV):
            for opcode, payload in frames:
                with self.case(f"RSV {rsv:#x} on opcode {opcode}"):
                    session = self.open()
                    session.send_frame(opcode, payload, rsv=rsv)
                    session.expect_close(1002)

    def test_rsv_after_valid_message(self):
        with self.case("text, then RSV2 text, then ping"):
            session = self.open()
            payload = self.text(20)
            session.send(encode_frame(OP_TEXT, payload) + encode_frame(OP_TEXT, b"bad", rsv=RSV2) +
                         encode_frame(OP_PING, b"never answered"))
            session.expect_reply(OP_TEXT, payload)
            session.expect_close(1002)

    def test_rsv_after_valid_message_chopped(self):
        with self.case("text, then RSV3 text, then ping, one byte a write"):
            session = self.open()
            payload = self.text(20)
            data = (encode_frame(OP_TEXT, payload) + encode_frame(OP_TEXT, b"bad", rsv=RSV3) +
                    encode_frame(OP_PING, b"never answered"))
            session.send_chopped(data, 1)
            session.expect_reply(OP_TEXT, payload)
            session.expect_close(1002)

    def test_rsv_on_continuation(self):
        with self.case("RSV1 on a continuation frame"):
            session = self.open()
            session.send(encode_frame(OP_TEXT, b"frag", fin=False) +
                         encode_frame(0x0, b"ment", rsv=RSV1))
            session.expect_close(1002)


class ReservedBitsEcho(ReservedBitsCases, EchoCase):
    pass


class ReservedBitsParleyd(ReservedBitsCases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
