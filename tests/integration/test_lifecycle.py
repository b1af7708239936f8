"""Process lifecycle: a taken port stops start-up, and shutdown closes WebSockets with 1001."""

import subprocess
import unittest

import websockets.exceptions

from harness import PARLEYD, WEB_DIR, Server


class LifecycleTests(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.server = Server()
        self.server.start()
        self.addCleanup(self.server.cleanup)

    def test_second_server_on_same_port_fails(self):
        second = Server()
        self.addCleanup(second.cleanup)
        command = [PARLEYD, "--listen", f"127.0.0.1:{self.server.port}",
                   "--db", f"sqlite:{second.db_path}", "--media-dir", second.media_dir,
                   "--web-dir", WEB_DIR]
        result = subprocess.run(command, capture_output=True, text=True, timeout=20)
        self.assertNotEqual(result.returncode, 0,
                            "a second parleyd started on a port that is already in use")
        self.assertIn("address already in use", result.stderr,
                      f"stderr does not name the cause: {result.stderr!r}")
        status, _, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, "the first server stopped answering")

    async def test_sigterm_closes_websockets_with_1001(self):
        _, token = self.server.register_and_login("shutdown")
        session = await self.server.connect(token)
        self.server.stop()
        with self.assertRaises(websockets.exceptions.ConnectionClosed) as raised:
            await session.ws.recv()
        received = raised.exception.rcvd
        self.assertIsNotNone(received, "the server closed TCP without a Close frame")
        self.assertEqual(received.code, 1001, f"close code {received.code}, expected 1001")


if __name__ == "__main__":
    unittest.main()
