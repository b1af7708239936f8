"""At its descriptor limit parleyd closes new connections at once and keeps serving.

parleyd runs under `prlimit --nofile=N:N`, so its hard limit is small. The test opens more
connections than fit. Each one must get an HTTP response or be closed by the server promptly,
so none waits in the backlog. The server must not spin while at the cap, and it must accept
again once descriptors are free.
"""

import os
import shutil
import socket
import time
import unittest

from harness import Server

LIMIT = 80           # the server's descriptor limit, soft and hard
ATTEMPTS = 120       # more connections than fit under LIMIT
REPLY_TIMEOUT = 5.0  # seconds until a connection must get its response or be closed
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def cpu_seconds(pid):
    """Return the user + system CPU time of process `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def outcome(sock):
    """Return "served" if the server sent a response head, "closed" if it closed the socket."""
    sock.settimeout(REPLY_TIMEOUT)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return "closed"
    except socket.timeout:
        return "hung"
    if not data:
        return "closed"
    if data.startswith(b"HTTP/1.1 200"):
        return "served"
    return "other"


@unittest.skipIf(shutil.which("prlimit") is None, "prlimit (util-linux) is not installed")
class DescriptorLimitTests(unittest.TestCase):
    def setUp(self):
        self.server = Server(command_prefix=["prlimit", f"--nofile={LIMIT}:{LIMIT}", "--"])
        self.server.start()
        self.addCleanup(self.server.cleanup)

    def open_connections(self, count):
        socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
            sock.sendall(REQUEST)
            socks.append(sock)
        return socks

    def test_over_limit_connections_closed(self):
        with open(self.server.log_path, "rb") as log:
            self.assertIn(f"up to {LIMIT} descriptors, so at most".encode(), log.read(),
                          "the start-up log does not state the descriptor limit")
        socks = self.open_connections(ATTEMPTS)
        try:
            outcomes = [outcome(sock) for sock in socks]
            served = outcomes.count("served")
            closed = outcomes.count("closed")
            self.assertEqual(served + closed, ATTEMPTS,
                             f"connections neither served nor closed: {outcomes}")
            self.assertGreater(served, 0, "no connection was served")
            self.assertGreater(closed, 0, f"{ATTEMPTS} connections all fit under {LIMIT}")

            # At the cap with clients still knocking, the server must not spin on accept().
            before = cpu_seconds(self.server.proc.pid)
            extra = self.open_connections(20)
            socks.extend(extra)
            time.sleep(1.0)
            used = cpu_seconds(self.server.proc.pid) - before
            self.assertLess(used, 0.5, f"the server used {used:.2f} s of CPU in 1 s at the cap")
            self.assertTrue(all(outcome(sock) == "closed" for sock in extra),
                            "a connection beyond the cap was not closed")
        finally:
            for sock in socks:
                sock.close()

        # Descriptors are free again: new connections are served.
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            status, _, _ = self.server.http("GET", "/healthz", timeout=2)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(status, 200, "the server did not accept again after the cap")
        with open(self.server.log_path, "rb") as log:
            self.assertIn(b"rejected so far", log.read(), "the rejected connections were not logged")


if __name__ == "__main__":
    unittest.main()
