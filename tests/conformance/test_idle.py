"""Idle timeout: a session that stays silent gets a Ping from the server, and
one that sends no Pong back is closed.

parley-echo pings after one idle period (--idle-timeout in ms) and starts the
closing handshake with 1001 after a second. parleyd's /chat pings after half
its idle period (--idle-timeout in seconds) and starts the closing handshake
with 1001 after the whole one.
"""

import time
import unittest

from cases import EchoCase, ParleydCase
from wsclient import OP_PING, OP_PONG, ConnectionClosed, encode_frame


class IdleCases:
    group = "idle"
    # Seconds of silence before the server pings, and before it closes.
    ping_after = None
    close_after = None
    # Close code of an idle session, or None when the server drops TCP without a Close.
    idle_close_code = None

    def wait_for_ping(self, session):
        """Return the seconds until the server's Ping, checking its frame."""
        started = time.monotonic()
        frame = session.next_frame(timeout=self.close_after + 2.0)
        self.assertEqual(frame.opcode, OP_PING, f"expected the server's Ping, got {frame!r}")
        return time.monotonic() - started

    def test_silent_session_pinged(self):
        with self.case("silent session gets a ping"):
            session = self.open()
            waited = self.wait_for_ping(session)
            self.assertGreaterEqual(waited, self.ping_after * 0.9)
            self.assertLess(waited, self.close_after)

    def test_answered_pings_keep_session(self):
        with self.case("session answering pings stays open"):
            session = self.open()
            deadline = time.monotonic() + 2.5 * self.close_after
            while time.monotonic() < deadline:
                try:
                    frame = session.client.read_frame(max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    break
                except ConnectionClosed:
                    self.fail("server closed a session that answered every ping")
                self.assertEqual(frame.opcode, OP_PING, f"expected only pings, got {frame!r}")
                session.send(encode_frame(OP_PONG, frame.payload))
            session.expect_open()
            session.close_normally()

    def test_unanswered_ping_closes(self):
        with self.case("session ignoring the ping is closed"):
            session = self.open()
            started = time.monotonic()
            self.wait_for_ping(session)
            if self.idle_close_code is not None:
                session.expect_close(self.idle_close_code, timeout=self.close_after + 2.0)
            else:
                self.assertTrue(session.client.wait_eof(self.close_after + 2.0),
                                "idle session still open")
            self.assertGreaterEqual(time.monotonic() - started, self.close_after * 0.9)


class IdleEcho(IdleCases, EchoCase):
    server_args = ("--idle-timeout", "300")
    ping_after = 0.3
    close_after = 0.6
    idle_close_code = 1001


class IdleParleyd(IdleCases, ParleydCase):
    server_args = ("--idle-timeout", "1")
    ping_after = 0.5
    close_after = 1.0
    idle_close_code = 1001


if __name__ == "__main__":
    unittest.main()
