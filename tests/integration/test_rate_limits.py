"""Rate limits: messages per user and failed logins per address, answered with rate_limited."""

import uuid

from harness import PASSWORD, Server, ServerTestCase, conv_with


class MessageRateTests(ServerTestCase):
    @classmethod
    def make_server(cls):
        return Server(["--message-rate", "5"])  # bursts of 10

    async def test_message_burst_limited(self):
        (alice, alice_token), (bob, _) = self.friends_pair()
        session = await self.connect(alice_token)
        cids = [uuid.uuid4().hex for _ in range(30)]
        for cid in cids:
            await session.send({"cmd": 10, "dstid": bob["id"], "content": "x", "cid": cid})
        replies = {}
        while len(replies) < len(cids):
            frame = await session.recv_until(lambda f: f.get("cid") in cids and f["cid"] not in replies)
            replies[frame["cid"]] = frame
        acked = [c for c in cids if replies[c]["cmd"] == 20]
        limited = [c for c in cids if replies[c]["cmd"] == 21]
        self.assertGreaterEqual(len(acked), 10, "the burst of 10 was not allowed")
        self.assertLess(len(acked), 20, f"{len(acked)} of 30 instant messages passed a limit of 5/s")
        self.assertEqual(len(acked) + len(limited), 30)
        for cid in limited:
            self.assertEqual(replies[cid]["code"], "rate_limited", f"reply {replies[cid]!r}")

        # A rejected message takes no seq: the acked ones are numbered without gaps.
        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv_with(bob)}", token=alice_token)
        self.assertEqual(status, 200)
        self.assertEqual([m["seq"] for m in body["messages"]], list(range(1, len(acked) + 1)))


class LoginRateTests(ServerTestCase):
    @classmethod
    def make_server(cls):
        return Server(["--login-failures", "3"])

    def test_failed_logins_limited(self):
        user, _ = self.server.register_and_login("ratelogin")
        for attempt in range(3):
            status, body, _ = self.server.api(
                "POST", "/api/login", {"username": user["username"], "password": "wrong-password"})
            self.assertEqual(status, 401, f"failed login {attempt} returned {status} {body!r}")
        status, body, _ = self.server.api(
            "POST", "/api/login", {"username": user["username"], "password": PASSWORD})
        self.assertEqual(status, 429, f"login after 3 failures returned {status} {body!r}")
        self.assertErrorBody(body, "rate_limited")
