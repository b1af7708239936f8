"""Deeply nested JSON in API bodies and chat frames is rejected without harm to the server.

A recursive JSON parser uses stack for every nesting level, and 1 MB of '[' was enough to
overflow a loop thread's stack and kill parleyd.
"""

from harness import ServerTestCase


class DeepJsonTests(ServerTestCase):
    def assertHealthy(self):
        status, _, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, f"GET /healthz returned {status} after the nested JSON")

    def test_api_body_nested_to_the_limit(self):
        # Non-upload bodies may take 256 KiB, so this is the deepest body a client can send.
        # A recursive parser overflowed a loop thread's 8 MiB stack at about 200,000 levels.
        body = "[" * (256 * 1024)
        status, parsed, _ = self.server.api(
            "POST", "/api/register", body, headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400, f"a 256 KiB nested body returned {status} {parsed!r}")
        self.assertErrorBody(parsed, "invalid_argument")
        self.assertHealthy()

    def test_api_body_over_limit_rejected(self):
        body = "[" * (1 << 20)
        status, parsed, _ = self.server.api(
            "POST", "/api/register", body, headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413, f"a 1 MiB body returned {status} {parsed!r}")
        self.assertErrorBody(parsed, "too_large")
        self.assertHealthy()

    async def test_chat_frame_nested_to_the_limit(self):
        _, token = self.server.register_and_login("deep")
        session = await self.connect(token)
        # The default --max-message is 64 KiB, so this is the deepest frame a client can send.
        await session.send_raw("[" * (64 * 1024 - 1))
        reply = await session.recv_until(lambda frame: frame.get("cmd") == 21)
        self.assertEqual(reply.get("code"), "invalid_argument", f"error frame is {reply!r}")
        pong = await session.heartbeat()
        self.assertEqual(pong, {"cmd": 0}, "the session does not answer cmd 0 after the frame")
        self.assertHealthy()


if __name__ == "__main__":
    import unittest

    unittest.main()
