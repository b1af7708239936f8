"""Identity and access: spoofed fields, handshake ids, revoked tokens, other users' chats, bad frames."""

import asyncio
import json
import urllib.parse
import uuid

import websockets
import websockets.exceptions

from harness import ServerTestCase, conv_with, with_cmd

MAX_CONTENT_BYTES = 16 * 1024

# Marks a field that test_wrong_field_types leaves out of the frame.
MISSING = object()


class SpoofedFieldTests(ServerTestCase):
    async def test_message_fields_ignored(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        group = self.server.create_group(alice_token, "spoof", [bob["id"]])
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        spoofed = {"userid": bob["id"], "id": 1, "seq": 99, "ts": 5, "conv": f"u:{alice['id']}"}

        for cmd, dstid, conv in ((10, bob["id"], conv_with(alice)), (11, group["id"], f"g:{group['id']}")):
            with self.subTest(cmd=cmd):
                ack = await alice_session.send_message(cmd, dstid, f"spoofed cmd {cmd}", **spoofed)
                self.assertEqual(ack["cmd"], 20, f"a cmd {cmd} with spoofed fields got {ack!r}")
                self.assertEqual(ack["seq"], 1, f"cmd {cmd}: the payload's seq was used")
                delivery = await bob_session.recv_cmd(cmd)
                self.assertEqual(delivery["userid"], alice["id"], f"cmd {cmd}: the payload's userid was trusted")
                self.assertEqual(delivery["conv"], conv, f"cmd {cmd}: the payload's conv was used")
                self.assertEqual(delivery["id"], ack["id"], f"cmd {cmd}: the payload's id was used")
                self.assertGreater(delivery["ts"], 5, f"cmd {cmd}: the payload's ts was used")

    async def test_notice_userid_ignored(self):
        group, (owner, owner_token), [(first, first_token), (second, second_token)] = self.friend_group(2)
        owner_session = await self.connect(owner_token)
        first_session = await self.connect(first_token)
        ack = await owner_session.send_message(11, group["id"], "read me")
        self.assertEqual(ack["cmd"], 20, f"setup message got {ack!r}")

        await first_session.send({"cmd": 40, "conv": f"g:{group['id']}", "seq": 1, "userid": second["id"]})
        receipt = await owner_session.recv_cmd(40)
        self.assertEqual(receipt["userid"], first["id"], "a read mark's payload userid was trusted")
        self.assertEqual(self.unread_counts(second_token), {f"g:{group['id']}": 1},
                         "a spoofed read mark moved another member's mark")

        await first_session.send({"cmd": 41, "dstid": owner["id"], "userid": second["id"]})
        notice = await owner_session.recv_cmd(41)
        self.assertEqual(notice["userid"], first["id"], "a typing notice's payload userid was trusted")

        error = await first_session.expect_error({"cmd": 42, "id": ack["id"], "userid": owner["id"]})
        self.assertEqual(error.get("code"), "forbidden", "a recall with the sender's userid in the payload")


class HandshakeIdentityTests(ServerTestCase):
    async def assert_rejected(self, token, status, case, user_id=None, via="query"):
        with self.assertRaises(websockets.exceptions.InvalidStatusCode, msg=f"{case}: the upgrade succeeded") as caught:
            await self.server.connect(token, via=via, user_id=user_id)
        self.assertEqual(caught.exception.status_code, status, f"{case}: the upgrade's status")

    async def test_query_id_checked(self):
        (alice, alice_token), (bob, _) = self.server.register_many(["alice", "bob"])
        cases = {
            "another user's id": (bob["id"], 401),
            "an unknown user's id": (bob["id"] + 100000, 401),
            "id 0": (0, 400),
            "a negative id": (-alice["id"], 400),
            "a non-numeric id": ("alice", 400),
            "the right id followed by letters": (f"{alice['id']}x", 400),
            "an empty id": ("", 400),
        }
        for label, (user_id, status) in cases.items():
            with self.subTest(label):
                await self.assert_rejected(alice_token, status, label, user_id=user_id)

    async def open_with_header(self, header_token, query):
        """Open /chat with a token in the Authorization header and `query`, and return the welcome user."""
        uri = f"ws://127.0.0.1:{self.server.port}/chat?{query}"
        headers = {"Authorization": f"Bearer {header_token}"}
        ws = await asyncio.wait_for(websockets.connect(uri, open_timeout=5, extra_headers=headers), 6)
        try:
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
        finally:
            await ws.close()
        return welcome["user"]

    async def test_header_token_wins(self):
        (alice, alice_token), (bob, bob_token) = self.server.register_many(["alice", "bob"])
        user = await self.open_with_header(alice_token, f"token={bob_token}")
        self.assertEqual(user["id"], alice["id"], "the query token won over the header token")
        user = await self.open_with_header(alice_token, f"token={bob_token}&id={alice['id']}")
        self.assertEqual(user["id"], alice["id"], "the header token's user with a matching id")
        with self.assertRaises(websockets.exceptions.InvalidStatusCode,
                               msg="an id of the query token's user was accepted") as caught:
            await self.open_with_header(alice_token, f"token={bob_token}&id={bob['id']}")
        self.assertEqual(caught.exception.status_code, 401, "an id of the query token's user")

    async def test_logout_closes_only_its_sessions(self):
        user, first_token = self.server.register_and_login("devices")
        _, second_token = self.server.login(user["username"])
        revoked = await self.connect(first_token)
        kept = await self.connect(second_token)

        status, body, _ = self.server.api("POST", "/api/logout", token=first_token)
        self.assertEqual(status, 204, f"logout returned {status} {body!r}")
        code = await revoked.wait_closed()
        self.assertEqual(code, 1008, "the logged-out token's session close code")
        self.assertEqual(await kept.heartbeat(), {"cmd": 0}, "a session of another token stopped answering")

        cases = {
            "GET /api/friends": ("GET", "/api/friends", None),
            "POST /api/groups": ("POST", "/api/groups", {"name": "after logout"}),
            "POST /api/logout": ("POST", "/api/logout", None),
        }
        for label, (method, path, body) in cases.items():
            with self.subTest(label):
                status, reply, _ = self.server.api(method, path, body, token=first_token)
                self.assertEqual(status, 401, f"{label} with a logged-out token returned {status} {reply!r}")
                self.assertErrorBody(reply, "unauthenticated")
        await self.assert_rejected(first_token, 401, "a logged-out token in the header", via="header")


class BodyBeforeTokenTests(ServerTestCase):
    def test_body_checked_before_token(self):
        routes = [("POST", "/api/groups"), ("POST", "/api/friends/requests"), ("POST", "/api/groups/1/members")]
        for method, path in routes:
            for label, token in (("no token", None), ("an unknown token", "0" * 64)):
                with self.subTest(f"{method} {path}", token=label):
                    status, body, _ = self.server.api(method, path, b"[1, 2]", token=token,
                                                      headers={"Content-Type": "application/json"})
                    self.assertEqual(status, 400, f"a non-object body with {label} returned {status} {body!r}")
                    self.assertErrorBody(body, "invalid_argument")
                    status, body, _ = self.server.api(method, path, {"name": "g", "user_id": 1}, token=token)
                    self.assertEqual(status, 401, f"a valid body with {label} returned {status} {body!r}")
                    self.assertErrorBody(body, "unauthenticated")


class OutsiderTests(ServerTestCase):
    async def test_others_chat_unreadable(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        carol, carol_token = self.server.register_and_login("carol")
        self.server.make_friends(alice_token, carol["id"], carol_token)
        alice_session = await self.connect(alice_token)
        private = await alice_session.send_message(10, bob["id"], "between alice and bob")
        shared = await alice_session.send_message(10, carol["id"], "between alice and carol")
        self.assertEqual(private["cmd"], 20, f"the private message got {private!r}")

        carol_session = await self.connect(carol_token)
        expected = {conv_with(alice): [shared["id"]], conv_with(bob): []}
        for conv, ids in expected.items():
            with self.subTest(conv):
                status, body, _ = self.server.api("GET", f"/api/messages?conv={conv}", token=carol_token)
                self.assertEqual(status, 200, f"history of {conv} returned {status} {body!r}")
                self.assertEqual([m["id"] for m in body["messages"]], ids, f"carol's history of {conv}")
                messages, _ = await carol_session.sync({"conv": conv, "after": 0})
                self.assertEqual([m["id"] for m in messages], ids, f"carol's sync of {conv}")
        messages, _ = await carol_session.sync({"after_ts": 0})
        self.assertEqual([m["id"] for m in messages], [shared["id"]], "carol's sync of every conversation")
        self.assertEqual([e["conv"] for e in self.conversations(carol_token)], [conv_with(alice)],
                         "carol's conversation list")

    async def test_malformed_conv_keys(self):
        user, token = self.server.register_and_login("prober")
        session = await self.connect(token)
        keys = ["u:0", "u:-1", "u:+5", "u: 5", "u:5 ", "u:5x", "u:", "g:", "g:0", "x:5", "", "u:1:2",
                "u:99999999999999999999", "u:5\u0000", conv_with(user)]
        for key in keys:
            with self.subTest(key=key):
                status, body, _ = self.server.api("GET", "/api/messages?conv=" + urllib.parse.quote(key, safe=":"), token=token)
                self.assertEqual(status, 400, f"history of conv {key!r} returned {status} {body!r}")
                self.assertErrorBody(body, "invalid_argument")
                error = await session.expect_error({"cmd": 30, "conv": key, "after": 0})
                self.assertEqual(error.get("code"), "invalid_argument", f"sync of conv {key!r} got {error!r}")

    async def test_sync_rejections(self):
        (_, token), (bob, _) = self.friends_pair()
        session = await self.connect(token)
        cases = {
            "neither conv nor after_ts": {},
            "after a string": {"conv": conv_with(bob), "after": "3"},
            "after a fraction": {"conv": conv_with(bob), "after": 1.5},
            "after_ts a string": {"after_ts": "0"},
            "after_ts null": {"after_ts": None},
        }
        for label, fields in cases.items():
            with self.subTest(label):
                error = await session.expect_error({"cmd": 30, **fields})
                self.assertEqual(error.get("code"), "invalid_argument", f"a sync with {label} got {error!r}")

    async def test_unknown_group_forbidden(self):
        _, token = self.server.register_and_login("lost")
        session = await self.connect(token)
        reply = await session.send_message(11, 987654321, "anyone?", cid="lost-1")
        self.assertEqual(reply, {"cmd": 21, "cid": "lost-1", "code": "forbidden", "message": reply.get("message")},
                         "a message to a group that does not exist")


class RepeatTests(ServerTestCase):
    async def test_cid_reused_elsewhere(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        group = self.server.create_group(alice_token, "repeat", [bob["id"]])
        session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        first = await session.send_message(10, bob["id"], "original", cid="shared-cid")
        await bob_session.recv_cmd(10)

        repeat = await session.send_message(11, group["id"], "other text", cid="shared-cid")
        self.assertEqual(repeat, first, "a cid reused in another conversation did not return the stored ack")
        await self.assert_quiet({"group member": bob_session}, with_cmd(10, 11),
                                "a cid reused in another conversation")
        status, body, _ = self.server.api("GET", f"/api/messages?conv=g:{group['id']}", token=alice_token)
        self.assertEqual(body["messages"], [], "a cid reused in another conversation stored a message")


class FrameValidationTests(ServerTestCase):
    async def test_content_over_limit(self):
        (_, alice_token), (bob, _) = self.friends_pair()
        session = await self.connect(alice_token)
        for label, content in (("ASCII", "x" * (MAX_CONTENT_BYTES + 1)),
                               ("two-byte characters", "\u00e9" * (MAX_CONTENT_BYTES // 2 + 1))):
            with self.subTest(label):
                reply = await session.send_message(10, bob["id"], content, cid="big")
                self.assertEqual(reply["cmd"], 21, f"content of 16 KiB + 1 byte in {label} got cmd {reply['cmd']}")
                self.assertEqual(reply.get("code"), "too_large", f"the error code for {label} content over 16 KiB")
                self.assertEqual(reply.get("cid"), "big", f"the error for {label} content lacks the cid")
        self.assertEqual(await session.heartbeat(), {"cmd": 0}, "the connection stopped answering")

    async def test_wrong_field_types(self):
        (_, alice_token), (bob, bob_token) = self.friends_pair()
        session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        cases = {
            "dstid missing": {"dstid": MISSING},
            "dstid a string": {"dstid": str(bob["id"])},
            "dstid a fraction": {"dstid": bob["id"] + 0.5},
            "dstid a whole float": {"dstid": float(bob["id"])},
            "dstid 0": {"dstid": 0},
            "dstid negative": {"dstid": -bob["id"]},
            "dstid true": {"dstid": True},
            "dstid null": {"dstid": None},
            "media a string": {"media": "1"},
            "media 0": {"media": 0},
            "media 9": {"media": 9},
            "media null": {"media": None},
            "media a float": {"media": 1.0},
            "content a number": {"content": 5},
            "content a list": {"content": ["x"]},
            "content an object": {"content": {"text": "x"}},
            "content empty without url": {"content": ""},
            "content null without url": {"content": None},
            "url a number": {"url": 5},
            "url javascript:": {"url": "javascript:alert(1)"},
            "url a relative path": {"url": "media/x.png"},
            "url over 1024 bytes": {"url": "https://e.com/" + "a" * 1011},
            "pic a number": {"pic": 5},
            "pic data:": {"pic": "data:image/png;base64,AAAA"},
            "pic over 1024 bytes": {"pic": "/media/" + "a" * 1018},
            "memo a number": {"memo": 5},
            "memo over 1024 bytes": {"memo": "m" * 1025},
            "amount a string": {"amount": "5"},
            "amount a fraction": {"amount": 1.5},
            "amount null": {"amount": None},
            "dstid the sender's own id": {"dstid": session.user["id"]},
        }
        for label, fields in cases.items():
            with self.subTest(label):
                cid = "bad-" + uuid.uuid4().hex
                frame = {"cmd": 10, "dstid": bob["id"], "content": "x", "cid": cid}
                for name, value in fields.items():
                    if value is MISSING:
                        del frame[name]
                    else:
                        frame[name] = value
                reply = await session.submit(frame)
                self.assertEqual(reply.get("cmd"), 21, f"a message with {label} got {reply!r}")
                self.assertEqual(reply.get("code"), "invalid_argument", f"the error code for {label}")
                self.assertEqual(reply.get("cid"), cid, f"the error for {label} lacks the message's cid")

        for label, cid in (("a number", 5), ("a list", ["c"]), ("over 64 bytes", "c" * 65)):
            with self.subTest(f"cid {label}"):
                error = await session.expect_error({"cmd": 10, "dstid": bob["id"], "content": "x", "cid": cid})
                self.assertEqual(error.get("code"), "invalid_argument", f"the error code for a cid of {label}")
                self.assertNotIn("cid", error, f"the error for a cid of {label} carries a cid")

        self.assertEqual(await session.heartbeat(), {"cmd": 0}, "the connection stopped answering")
        ack = await session.send_message(10, bob["id"], "valid at last", cid="good")
        self.assertEqual(ack["seq"], 1, "a rejected message used up a seq")
        delivered = await bob_session.collect(lambda f: f.get("cmd") == 10, 0.3)
        self.assertEqual([m["content"] for m in delivered], ["valid at last"], "a rejected message was delivered")

    async def test_null_fields_absent(self):
        (_, alice_token), (bob, _) = self.friends_pair()
        session = await self.connect(alice_token)
        acks = []
        for attempt in ("first", "second"):
            await session.send({"cmd": 10, "dstid": bob["id"], "content": "no cid", "cid": None, "memo": None,
                                "pic": None, "url": None})
            acks.append(await session.recv_cmd(20))
            self.assertEqual(acks[-1]["cid"], "", f"the {attempt} null cid was not treated as absent")
        self.assertEqual([ack["seq"] for ack in acks], [1, 2], "a message without cid was taken for a repeat")
        await session.send({"cmd": 10, "dstid": bob["id"], "content": None, "url": "/media/a.png", "cid": "u"})
        ack = await session.recv_cmd(20)
        self.assertEqual(ack["cid"], "u", "a null content next to a url was rejected")

