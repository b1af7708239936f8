"""Case group 4 (opcodes): the reserved opcodes 3-7 (data) and 11-15 (control)
fail the connection with 1002 (RFC 6455 section 5.2), with or without a
payload, and after a valid message that is still processed.
"""

import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_PING, OP_TEXT, encode_frame

RESERVED_OPCODES = (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)


class OpcodeCases:
    group = "opcodes"

    def test_reserved_opcodes(self):
        for opcode in RESERVED_OPCODES:
            for payload in (b"", b"reserved opcode payload"):
                with self.case(f"opcode {opcode} with {len(payload)} bytes"):
                    session = self.open()
                    session.send_frame(opcode, payload)
                    session.expect_close(1002)

    def test_reserved_opcode_after_message(self):
        for opcode in RESERVED_OPCODES:
            with self.case(f"text, then opcode {opcode}, then ping"):
                session = self.open()
                payload = self.text(25)
                session.send(encode_frame(OP_TEXT, payload) + encode_frame(opcode, b"x") +
                             encode_frame(OP_PING, b"never answered"))
                session.expect_reply(OP_TEXT, payload)
                session.expect_close(1002)

    def test_reserved_opcode_not_final(self):
        for opcode in (3, 11):
            with self.case(f"opcode {opcode} with FIN clear"):
                session = self.open()
                session.send_frame(opcode, b"x", fin=False)
                session.expect_close(1002)


class OpcodesEcho(OpcodeCases, EchoCase):
    pass


class OpcodesParleyd(OpcodeCases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
