"""Base classes of the conformance cases and the per-case session helper.

Each group file defines its cases once, in a mixin, and runs them against
both binaries through EchoCase and ParleydCase. A case opens its own
connection, sends hand-built frames and checks what comes back: a reply, a
Pong, or the close code followed by the server closing TCP.
"""

import atexit
import collections
import contextlib
import socket
import sys
import unittest

from servers import EchoServer, EchoTarget, ParleydServer, ParleydTarget
from wsclient import (OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, ConnectionClosed, close_payload,
                      encode_frame)

# How long the server may take to close TCP after the closing handshake.
EOF_TIMEOUT = 3.0

# Cases run, by (group, binary); printed when the run ends.
CASE_COUNTS = collections.Counter()


def _print_case_counts():
    if not CASE_COUNTS:
        return
    lines = [f"  {group:<16} {binary:<12} {count:>4}" for (group, binary), count in sorted(CASE_COUNTS.items())]
    print("conformance cases by group and binary:\n" + "\n".join(lines), file=sys.stderr)


atexit.register(_print_case_counts)


class Session:
    """One WebSocket connection of a case, with checks bound to its test.

    After parleyd closes with 1003 because of a binary message, the session
    has `ended`: later sends are dropped and later expectations pass, since
    the rest of the case cannot reach the server.
    """

    def __init__(self, test, target):
        self.test = test
        self.target = target
        self.client = target.open()
        self.ended = False

    def close_socket(self):
        self.client.close()

    # Sending

    def send(self, data):
        try:
            self.client.send(data)
        except OSError:
            if not self.ended:
                raise

    def send_frame(self, opcode, payload=b"", **options):
        self.send(encode_frame(opcode, payload, **options))

    def send_chopped(self, data, chunk, pause=0.001):
        try:
            self.client.send_chopped(data, chunk, pause)
        except OSError:
            if not self.ended:
                raise

    # Receiving

    def next_frame(self, timeout=None):
        """Return the next frame that belongs to the case, skipping the target's notices."""
        while True:
            try:
                frame = self.client.read_frame(timeout)
            except ConnectionClosed:
                self.test.fail("the server closed TCP while a frame was expected")
            except socket.timeout:
                self.test.fail(f"no frame from the server within {timeout or self.client.timeout} s")
            self.test.assertFalse(frame.masked, f"server frames must not be masked: {frame!r}")
            self.test.assertEqual(frame.rsv, 0, f"server frame with RSV bits: {frame!r}")
            self.test.assertTrue(frame.fin, f"unexpected fragmented server frame: {frame!r}")
            if not self.target.is_noise(frame):
                return frame

    def expect_reply(self, opcode, payload):
        """Check that the server processed one text or binary message."""
        if self.ended:
            return
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if opcode == OP_BINARY and not self.target.accepts_binary:
            self.expect_close(1003)
            self.ended = True
            return
        self.target.check_reply(self.test, self.next_frame(), opcode, payload)

    def expect_pong(self, payload):
        if self.ended:
            return
        frame = self.next_frame()
        self.test.assertEqual(frame.opcode, OP_PONG, f"expected a Pong, got {frame!r}")
        self.test.assertEqual(frame.payload, bytes(payload), "Pong payload differs from the Ping's")

    def expect_close(self, *codes, allow_empty=False, timeout=None):
        """Check for a Close with one of `codes`, reply with a Close, and check that TCP is closed."""
        if self.ended:
            return
        frame = self.next_frame(timeout)
        self.test.assertEqual(frame.opcode, OP_CLOSE, f"expected a Close with {codes}, got {frame!r}")
        code = frame.close_code()
        if code is None:
            self.test.assertTrue(allow_empty, f"Close without a code, expected one of {codes}")
            self.test.assertEqual(frame.payload, b"", "Close body of 1 byte")
        else:
            self.test.assertIn(code, codes, f"close code {code}, reason {frame.payload[2:]!r}")
            frame.payload[2:].decode("utf-8")  # the reason must be UTF-8
        self.ended = True
        self.finish_close(code)

    def finish_close(self, code):
        """Reply to the server's Close and check that the server then closes TCP."""
        reply = close_payload(code) if code is not None else b""
        try:
            self.client.send(encode_frame(OP_CLOSE, reply))
        except OSError:
            pass  # the server may already have closed both directions
        self.test.assertTrue(self.client.wait_eof(EOF_TIMEOUT),
                             f"server did not close TCP within {EOF_TIMEOUT} s of the closing handshake")

    def expect_nothing(self, duration):
        """Check that no frame of the case arrives within `duration` s."""
        try:
            while True:
                frame = self.client.read_frame(duration)
                if not self.target.is_noise(frame):
                    self.test.fail(f"expected no frame, got {frame!r}")
        except socket.timeout:
            pass

    def expect_open(self):
        """Check with a Ping that the session still works."""
        if self.ended:
            return
        self.send_frame(OP_PING, b"still open?")
        self.expect_pong(b"still open?")

    def close_normally(self):
        """Run the client-initiated closing handshake with 1000."""
        if self.ended:
            return
        self.send_frame(OP_CLOSE, close_payload(1000))
        self.expect_close(1000)


class ConformanceCase(unittest.TestCase):
    """Runs the cases of one group against one binary started for the class."""

    group = "unnamed"
    server_class = None
    target_class = None
    server_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.server_class(cls.server_args)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise
        cls.target = cls.target_class(cls.server)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.cleanup()
        finally:
            super().tearDownClass()

    def open(self):
        """Open a session that is closed when the test ends."""
        session = Session(self, self.target)
        self.addCleanup(session.close_socket)
        return session

    @contextlib.contextmanager
    def case(self, name):
        """Run one case as a subtest and count it for the summary."""
        CASE_COUNTS[(self.group, self.target.name)] += 1
        with self.subTest(name):
            yield

    def text(self, length):
        return self.target.text(length)


class EchoCase(ConformanceCase):
    server_class = EchoServer
    target_class = EchoTarget


class ParleydCase(ConformanceCase):
    server_class = ParleydServer
    target_class = ParleydTarget
