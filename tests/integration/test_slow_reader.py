"""A chat client that stops reading: the server must drop it and keep serving the sender.

The slow client is a WebSocket over a plain socket with a small receive buffer, so
the kernel stops taking data almost at once and the server's output queue for it
grows. The server allows 16 MiB of queued output per chat WebSocket and then
closes the connection. The sender meanwhile gets an ack for every message, and
after reconnecting the slow user finds the rest of the messages with sync.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import time

from harness import Server, ServerTestCase, conv_with

HIGH_WATER_BYTES = 16 << 20
CLOSE_LOG_LINE = f"closed: output queue above {HIGH_WATER_BYTES} bytes (peer not reading)"
RECEIVE_BUFFER_BYTES = 4096
# The largest content allowed, so that few messages fill the queue.
CONTENT = "x" * (16 * 1024)
# Messages sent before waiting for their acks.
WINDOW = 100
# About 66 MB of frames, three times the queue limit plus a few MiB of socket buffers.
MAX_MESSAGES = 4000
MAX_RSS_GROWTH_KIB = 200 * 1024
SYNC_PAGE = 1000
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def rss_kib(pid):
    """Return the resident set size of process `pid` in KiB, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no VmRSS line")


class RawChatClient:
    """A chat WebSocket on a blocking socket whose receive buffer is set before connecting."""

    def __init__(self, port, token, receive_buffer):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""
        key = base64.b64encode(os.urandom(16))
        request = (f"GET /chat?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("iso-8859-1").split("\r\n")
        if lines[0].split(" ")[1] != "101":
            raise AssertionError(f"the upgrade returned {lines[0]!r}, expected status 101")
        expected_accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID).digest()).decode()
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        if headers.get("sec-websocket-accept") != expected_accept:
            raise AssertionError(f"Sec-WebSocket-Accept is {headers.get('sec-websocket-accept')!r}")

    def _receive(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError("the server closed the connection during the handshake")
        self.buffer += chunk

    def drain(self, timeout):
        """Read until the server ends the connection and return how: "EOF" or "RST".

        Raises AssertionError when the connection is still open after `timeout` s.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                return "RST"
            except socket.timeout:
                raise AssertionError(f"the connection was still open {timeout} s after the close was logged")
            if not chunk:
                return "EOF"
            self.buffer += chunk

    def text_frames(self):
        """Parse the complete frames received so far and return the text frames as parsed JSON.

        A frame cut off by the close is left out.
        """
        frames = []
        data = self.buffer
        offset = 0
        while len(data) - offset >= 2:
            opcode = data[offset] & 0x0F
            length = data[offset + 1] & 0x7F
            header = 2
            if length == 126:
                if len(data) - offset < 4:
                    break
                length = struct.unpack_from("!H", data, offset + 2)[0]
                header = 4
            elif length == 127:
                if len(data) - offset < 10:
                    break
                length = struct.unpack_from("!Q", data, offset + 2)[0]
                header = 10
            if len(data) - offset < header + length:
                break
            payload = data[offset + header:offset + header + length]
            offset += header + length
            if opcode == 0x1:
                frames.append(json.loads(payload))
        return frames

    def close(self):
        self.sock.close()


class SlowReaderTests(ServerTestCase):
    @classmethod
    def make_server(cls):
        return Server(["--message-rate", "0"])

    def close_logged(self):
        return CLOSE_LOG_LINE in self.server.log_tail(lines=100000)

    async def test_slow_reader_dropped(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        flooder = await self.connect(alice_token)
        slow = RawChatClient(self.server.port, bob_token, RECEIVE_BUFFER_BYTES)
        self.addCleanup(slow.close)
        rss_before = rss_kib(self.server.proc.pid)
        rss_max = rss_before

        acks = []
        sent_after_close = None
        while len(acks) < MAX_MESSAGES and (sent_after_close is None or len(acks) < sent_after_close + WINDOW):
            first = len(acks) + 1
            for number in range(first, first + WINDOW):
                await flooder.send({"cmd": 10, "dstid": bob["id"], "cid": f"flood-{number}", "content": CONTENT})
            replies = await flooder.recv_frames(WINDOW, (20, 21), timeout=60)
            for number, reply in enumerate(replies, start=first):
                self.assertEqual(reply["cmd"], 20, f"flood message {number} got {reply!r}, expected an ack")
                self.assertEqual(reply["seq"], number, f"flood message {number} was acked out of order")
            acks.extend(replies)
            rss_max = max(rss_max, rss_kib(self.server.proc.pid))
            if sent_after_close is None and self.close_logged():
                sent_after_close = len(acks)

        self.assertIsNotNone(sent_after_close, f"no '{CLOSE_LOG_LINE}' line after {len(acks)} messages; "
                                               f"log tail:\n{self.server.log_tail()}")
        self.assertGreater(len(acks), sent_after_close, "no messages were sent after the slow reader was dropped")
        self.assertLess(rss_max - rss_before, MAX_RSS_GROWTH_KIB,
                        f"the server's RSS grew from {rss_before} KiB to {rss_max} KiB while one reader stalled")
        ending = slow.drain(timeout=10)
        self.assertIn(ending, ("EOF", "RST"), "the slow reader's socket did not end")

        received = [frame for frame in slow.text_frames() if frame.get("cmd") == 10]
        seen = [frame["seq"] for frame in received]
        self.assertEqual(seen, list(range(1, len(seen) + 1)),
                         "the frames that reached the slow reader are not seqs 1, 2, 3 … in order")
        self.assertLess(len(seen), len(acks), "the slow reader received every message although it stopped reading")

        session = await self.connect(bob_token)
        synced = []
        more = True
        while more:
            after = synced[-1]["seq"] if synced else len(seen)
            page, more = await session.sync({"conv": conv_with(alice), "after": after}, timeout=30)
            self.assertLessEqual(len(page), SYNC_PAGE, f"a sync page holds {len(page)} messages")
            if more:
                self.assertTrue(page, "a sync answer with more: true holds no message")
            synced.extend(page)
        self.assertEqual(seen + [frame["seq"] for frame in synced], list(range(1, len(acks) + 1)),
                         "the slow reader's frames and its sync do not hold every message exactly once")
        self.assertEqual([frame["id"] for frame in received + synced], [ack["id"] for ack in acks],
                         "the messages the slow reader got have other ids than the acks")
        lines = [line for line in self.server.log_tail(lines=100000).splitlines() if "peer not reading" in line]
        self.assertEqual(len(lines), 1, f"the server dropped other readers too: {lines!r}")
