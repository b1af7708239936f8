"""Case group 5 (fragmentation): messages in several frames, and control
frames between fragments. RFC 6455 section 5.4 makes three faults fail with
1002: a fragmented control frame, a continuation with nothing to continue, and
a new data frame inside a fragmented message.
"""

import time
import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_BINARY, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, encode_frame


def fragments(opcode, parts):
    """Return the frames of one message split into `parts`."""
    frames = []
    for index, part in enumerate(parts):
        frames.append(encode_frame(opcode if index == 0 else OP_CONTINUATION, part,
                                   fin=index == len(parts) - 1))
    return frames


class FragmentationCases:
    group = "fragmentation"

    def test_fragmented_control_frames(self):
        for opcode in (OP_PING, OP_PONG):
            with self.case(f"opcode {opcode} in two fragments"):
                session = self.open()
                session.send(encode_frame(opcode, b"fragment1", fin=False) +
                             encode_frame(OP_CONTINUATION, b"fragment2"))
                session.expect_close(1002)

    def test_text_in_fragments(self):
        for count in (2, 3, 10):
            with self.case(f"text in {count} fragments"):
                session = self.open()
                payload = self.text(300)
                size = -(-len(payload) // count)
                parts = [payload[i:i + size] for i in range(0, len(payload), size)]
                session.send(b"".join(fragments(OP_TEXT, parts)))
                session.expect_reply(OP_TEXT, payload)
                session.close_normally()

    def test_text_in_fragments_chopped(self):
        with self.case("text in two fragments, one byte a write"):
            session = self.open()
            payload = self.text(40)
            session.send_chopped(b"".join(fragments(OP_TEXT, [payload[:20], payload[20:]])), 1)
            session.expect_reply(OP_TEXT, payload)
            session.close_normally()

    def test_binary_in_fragments(self):
        with self.case("binary in three fragments"):
            session = self.open()
            parts = [b"\x00" * 10, b"\xff" * 10, b"\x80" * 10]
            session.send(b"".join(fragments(OP_BINARY, parts)))
            session.expect_reply(OP_BINARY, b"".join(parts))
            session.close_normally()

    def test_empty_fragments(self):
        for opcode in (OP_TEXT, OP_BINARY):
            with self.case(f"opcode {opcode} in three empty fragments"):
                session = self.open()
                session.send(b"".join(fragments(opcode, [b"", b"", b""])))
                session.expect_reply(opcode, b"")
                session.close_normally()

    def test_ping_between_fragments(self):
        for chunk in (None, 1):
            with self.case("ping between two fragments" + (", one byte a write" if chunk else "")):
                session = self.open()
                payload = self.text(30)
                first, last = fragments(OP_TEXT, [payload[:15], payload[15:]])
                data = first + encode_frame(OP_PING, b"between") + last
                if chunk:
                    session.send_chopped(data, chunk)
                else:
                    session.send(data)
                session.expect_pong(b"between")
                session.expect_reply(OP_TEXT, payload)
                session.close_normally()

    def test_pings_between_five_fragments(self):
        with self.case("text in five fragments with two pings between, with pauses"):
            session = self.open()
            payload = self.text(50)
            frames = fragments(OP_TEXT, [payload[i:i + 10] for i in range(0, 50, 10)])
            frames.insert(2, encode_frame(OP_PING, b"ping 1"))
            frames.insert(4, encode_frame(OP_PING, b"ping 2"))
            for frame in frames:
                session.send(frame)
                time.sleep(0.01)
            session.expect_pong(b"ping 1")
            session.expect_pong(b"ping 2")
            session.expect_reply(OP_TEXT, payload)
            session.close_normally()

    def test_pong_between_fragments(self):
        with self.case("unsolicited pong between two fragments"):
            session = self.open()
            payload = self.text(30)
            first, last = fragments(OP_TEXT, [payload[:15], payload[15:]])
            session.send(first + encode_frame(OP_PONG, b"between") + last)
            session.expect_reply(OP_TEXT, payload)
            session.close_normally()

    def test_continuation_without_start(self):
        for fin in (True, False):
            for chunk in (None, 1):
                with self.case(f"continuation with FIN {fin} and no message"
                               + (", one byte a write" if chunk else "")):
                    session = self.open()
                    data = (encode_frame(OP_CONTINUATION, b"non-continuation payload", fin=fin) +
                            encode_frame(OP_TEXT, b"Hello, world!"))
                    if chunk:
                        session.send_chopped(data, chunk)
                    else:
                        session.send(data)
                    session.expect_close(1002)

    def test_continuation_after_complete_message(self):
        for fin in (True, False):
            with self.case(f"complete fragmented text, then continuation with FIN {fin}"):
                session = self.open()
                payload = self.text(20)
                data = b"".join(fragments(OP_TEXT, [payload[:10], payload[10:]]))
                data += encode_frame(OP_CONTINUATION, b"nothing to continue", fin=fin)
                data += encode_frame(OP_TEXT, b"Hello")
                session.send(data)
                session.expect_reply(OP_TEXT, payload)
                session.expect_close(1002)

    def test_data_frame_inside_fragmented_message(self):
        for second in (OP_TEXT, OP_BINARY):
            for fin in (True, False):
                with self.case(f"opcode {second} with FIN {fin} inside a fragmented text"):
                    session = self.open()
                    session.send(encode_frame(OP_TEXT, b"fragment1", fin=False) +
                                 encode_frame(second, b"fragment2", fin=fin) +
                                 encode_frame(OP_CONTINUATION, b"fragment3"))
                    session.expect_close(1002)


class FragmentationEcho(FragmentationCases, EchoCase):
    pass


class FragmentationParleyd(FragmentationCases, ParleydCase):
    pass


if __name__ == "__main__":
    unittest.main()
