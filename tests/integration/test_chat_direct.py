"""Friendship and 1:1 chat: requests, the WebSocket handshake, acks, deliveries and history."""

import time
import uuid

import websockets.exceptions

from harness import NOTICE_CMDS, ServerTestCase, conv_with

MAX_CONTENT_BYTES = 16 * 1024


class FriendshipTests(ServerTestCase):
    def test_request_and_accept(self):
        alice, alice_token = self.server.register_and_login("alice")
        bob, bob_token = self.server.register_and_login("bob")

        status, body, _ = self.server.api("POST", "/api/friends/requests", {"user_id": bob["id"]}, token=alice_token)
        self.assertEqual(status, 201, f"friend request returned {status} {body!r}")
        request = body["request"]
        for key in ("id", "from", "to", "state", "created"):
            self.assertIn(key, request, f"friend request {request!r} lacks {key!r}")
        self.assertEqual(request["from"], alice["id"], "request 'from' is not the sender")
        self.assertEqual(request["to"], bob["id"], "request 'to' is not the recipient")
        self.assertEqual(request["state"], "pending", "a new request is not pending")

        status, body, _ = self.server.api("GET", "/api/friends/requests", token=bob_token)
        self.assertEqual(status, 200, f"GET /api/friends/requests returned {status} {body!r}")
        self.assertIn(request["id"], [r["id"] for r in body["incoming"]], "the recipient does not see the request")
        status, body, _ = self.server.api("GET", "/api/friends/requests", token=alice_token)
        self.assertIn(request["id"], [r["id"] for r in body["outgoing"]], "the sender does not see the request")

        status, body, _ = self.server.api("POST", f"/api/friends/requests/{request['id']}/accept", token=bob_token)
        self.assertEqual(status, 200, f"accept returned {status} {body!r}")
        self.assertEqual(body["request"]["state"], "accepted", "an accepted request is not 'accepted'")

        status, body, _ = self.server.api("GET", "/api/friends", token=alice_token)
        self.assertEqual(status, 200, f"GET /api/friends returned {status} {body!r}")
        friends = {friend["id"]: friend for friend in body["friends"]}
        self.assertIn(bob["id"], friends, "the sender's friend list lacks the recipient after accept")
        self.assertIsInstance(friends[bob["id"]].get("online"), bool, "friend entry lacks a boolean 'online'")
        status, body, _ = self.server.api("GET", "/api/friends", token=bob_token)
        self.assertIn(alice["id"], [f["id"] for f in body["friends"]],
                      "the recipient's friend list lacks the sender after accept")

        status, body, _ = self.server.api("GET", "/api/friends/requests", token=bob_token)
        self.assertNotIn(request["id"], [r["id"] for r in body["incoming"]],
                         "an accepted request is still listed as pending")

    def test_mutual_requests_befriend(self):
        alice, alice_token = self.server.register_and_login("alice")
        bob, bob_token = self.server.register_and_login("bob")
        status, body, _ = self.server.api("POST", "/api/friends/requests", {"user_id": bob["id"]}, token=alice_token)
        self.assertEqual(status, 201, f"first request returned {status} {body!r}")
        status, body, _ = self.server.api("POST", "/api/friends/requests", {"user_id": alice["id"]}, token=bob_token)
        self.assertEqual(status, 201, f"the opposite request returned {status} {body!r}")

        status, body, _ = self.server.api("GET", "/api/friends", token=alice_token)
        self.assertIn(bob["id"], [f["id"] for f in body["friends"]],
                      "two opposite requests did not make the users friends (first side)")
        status, body, _ = self.server.api("GET", "/api/friends", token=bob_token)
        self.assertIn(alice["id"], [f["id"] for f in body["friends"]],
                      "two opposite requests did not make the users friends (second side)")

    async def test_request_notifies_recipient(self):
        alice, alice_token = self.server.register_and_login("alice")
        bob, bob_token = self.server.register_and_login("bob")
        bob_session = await self.connect(bob_token)
        status, _, _ = self.server.api("POST", "/api/friends/requests", {"user_id": bob["id"]}, token=alice_token)
        self.assertEqual(status, 201, "friend request failed")
        notice = await bob_session.recv_cmd(51)
        self.assertEqual(notice["request"]["from"], alice["id"], f"cmd 51 {notice!r} names another sender")


class HandshakeTests(ServerTestCase):
    async def test_token_in_query(self):
        user, token = self.server.register_and_login("wsq")
        client = await self.connect(token, via="query")
        self.assertEqual(client.welcome["user"]["id"], user["id"], "welcome frame names another user")
        self.assertUserShape(client.welcome["user"])

    async def test_token_in_header(self):
        user, token = self.server.register_and_login("wsh")
        client = await self.connect(token, via="header")
        self.assertEqual(client.welcome["user"]["id"], user["id"], "welcome frame names another user")

    async def test_query_with_matching_id(self):
        user, token = self.server.register_and_login("wsid")
        client = await self.connect(token, user_id=user["id"])
        self.assertEqual(client.welcome["user"]["id"], user["id"], "welcome frame names another user")

    async def test_query_with_other_id_rejected(self):
        user, token = self.server.register_and_login("wsid2")
        other, _ = self.server.register_and_login("wsid3")
        with self.assertRaises(websockets.exceptions.InvalidStatusCode,
                               msg="a token with someone else's id was upgraded") as caught:
            await websockets.connect(
                f"ws://127.0.0.1:{self.server.port}/chat?token={token}&id={other['id']}", open_timeout=5)
        self.assertIn(caught.exception.status_code, (401, 403),
                      "a mismatched id got a status other than 401 or 403")

    async def test_bad_token_gets_401(self):
        cases = {
            "made-up token in query": f"ws://127.0.0.1:{self.server.port}/chat?token=not-a-token",
            "no token": f"ws://127.0.0.1:{self.server.port}/chat",
            "empty token": f"ws://127.0.0.1:{self.server.port}/chat?token=",
        }
        for label, uri in cases.items():
            with self.subTest(label):
                with self.assertRaises(websockets.exceptions.InvalidStatusCode,
                                       msg=f"{label} was upgraded") as caught:
                    await websockets.connect(uri, open_timeout=5)
                self.assertEqual(caught.exception.status_code, 401, f"{label} got a status other than 401")
        with self.assertRaises(websockets.exceptions.InvalidStatusCode,
                               msg="a made-up Authorization header was upgraded") as caught:
            await websockets.connect(f"ws://127.0.0.1:{self.server.port}/chat", open_timeout=5,
                                     extra_headers={"Authorization": "Bearer not-a-token"})
        self.assertEqual(caught.exception.status_code, 401, "a made-up header token got a status other than 401")

    async def test_heartbeat_echoed(self):
        _, token = self.server.register_and_login("hb")
        client = await self.connect(token)
        reply = await client.heartbeat()
        self.assertEqual(reply, {"cmd": 0}, "heartbeat reply differs from {\"cmd\":0}")

    async def test_invalid_frames_keep_connection(self):
        _, token = self.server.register_and_login("badf")
        client = await self.connect(token)
        cases = {
            "not JSON": "this is not json",
            "truncated JSON": '{"cmd": 10, ',
            "JSON array": "[1, 2, 3]",
            "missing cmd": '{"dstid": 1, "content": "x"}',
            "cmd as string": '{"cmd": "10"}',
            "cmd as fraction": '{"cmd": 10.5}',
            "unknown cmd": '{"cmd": 999}',
        }
        for label, text in cases.items():
            with self.subTest(label):
                await client.send_raw(text)
                reply = await client.recv_until(lambda frame: frame.get("cmd") not in NOTICE_CMDS)
                self.assertEqual(reply.get("cmd"), 21, f"{label} got {reply!r}, expected cmd 21")
                self.assertEqual(reply.get("code"), "invalid_argument", f"{label} got error code {reply.get('code')!r}")
                self.assertIsInstance(reply.get("message"), str, f"{label} error {reply!r} lacks a message")
                self.assertEqual(await client.heartbeat(), {"cmd": 0},
                                 f"the connection stopped answering heartbeats after {label}")

    async def test_binary_frame_closes_1003(self):
        _, token = self.server.register_and_login("bin")
        client = await self.connect(token)
        await client.send_raw(b'{"cmd": 0}')
        code = await client.wait_closed()
        self.assertEqual(code, 1003, f"a binary frame closed the connection with {code}, expected 1003")


class DirectMessageTests(ServerTestCase):
    async def test_ack_and_delivery(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        before_ms = int(time.time() * 1000)

        ack = await alice_session.send_message(10, bob["id"], "hello bob", cid="c-1")
        self.assertEqual(ack["cmd"], 20, f"sender got {ack!r}, expected an ack (cmd 20)")
        self.assertEqual(ack["cid"], "c-1", "ack carries another cid")
        self.assertIsInstance(ack.get("id"), int, f"ack {ack!r} lacks an integer id")
        self.assertEqual(ack.get("seq"), 1, "the first message of a conversation is not seq 1")
        self.assertEqual(ack.get("conv"), conv_with(bob), "the sender's ack is not keyed u:RECIPIENT")
        self.assertIsInstance(ack.get("ts"), int, f"ack {ack!r} lacks an integer ts")
        self.assertLess(abs(ack["ts"] - before_ms), 60_000, "ack ts is not Unix milliseconds near now")

        delivery = await bob_session.recv_cmd(10)
        self.assertEqual(delivery.get("userid"), alice["id"], "delivery names another sender")
        self.assertEqual(delivery.get("conv"), conv_with(alice), "the recipient's delivery is not keyed u:SENDER")
        self.assertEqual(delivery.get("content"), "hello bob", "delivered content differs")
        self.assertEqual(delivery.get("seq"), 1, "delivered seq differs from the ack")
        self.assertEqual(delivery.get("id"), ack["id"], "delivered id differs from the ack")
        self.assertEqual(delivery.get("ts"), ack["ts"], "delivered ts differs from the ack")

    async def test_sender_only_acked(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        ack = await alice_session.send_message(10, bob["id"], "only an ack for me")
        self.assertEqual(ack["cmd"], 20, f"sender got {ack!r}")
        echoes = await alice_session.collect(lambda frame: frame.get("cmd") == 10, 0.5)
        self.assertEqual(echoes, [], "the sending session also got its own message as a delivery")

    async def test_payload_userid_ignored(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        ack = await alice_session.send_message(10, bob["id"], "spoofed", userid=bob["id"])
        self.assertEqual(ack["cmd"], 20, f"sender got {ack!r}")
        delivery = await bob_session.recv_cmd(10)
        self.assertEqual(delivery["userid"], alice["id"], "the server trusted the userid in the payload")
        self.assertEqual(delivery["conv"], conv_with(alice), "a spoofed userid changed the conversation key")

    async def test_seq_shared_both_directions(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        turns = [(alice_session, bob_session, bob), (bob_session, alice_session, alice)] * 3
        for expected_seq, (sender, receiver, recipient) in enumerate(turns, start=1):
            ack = await sender.send_message(10, recipient["id"], f"message {expected_seq}")
            self.assertEqual(ack["cmd"], 20, f"message {expected_seq} got {ack!r}")
            self.assertEqual(ack["seq"], expected_seq, f"ack seq skips or repeats at message {expected_seq}")
            delivery = await receiver.recv_cmd(10)
            self.assertEqual(delivery["seq"], expected_seq, f"delivery seq skips or repeats at message {expected_seq}")
            self.assertEqual(delivery["content"], f"message {expected_seq}", "deliveries arrive out of order")

    async def test_non_friend_forbidden(self):
        alice, alice_token = self.server.register_and_login("alice")
        carol, carol_token = self.server.register_and_login("carol")
        alice_session = await self.connect(alice_token)
        carol_session = await self.connect(carol_token)

        error = await alice_session.send_message(10, carol["id"], "not friends yet", cid="nf-1")
        self.assertEqual(error["cmd"], 21, f"a message to a non-friend got {error!r}, expected cmd 21")
        self.assertEqual(error.get("code"), "forbidden", "a message to a non-friend is not 'forbidden'")
        self.assertEqual(error.get("cid"), "nf-1", "the error lacks the message's cid")
        leaked = await carol_session.collect(lambda frame: frame.get("cmd") == 10, 0.5)
        self.assertEqual(leaked, [], "a non-friend received a rejected message")

        self.server.make_friends(alice_token, carol["id"], carol_token)
        ack = await alice_session.send_message(10, carol["id"], "friends now")
        self.assertEqual(ack["cmd"], 20, f"a message after befriending got {ack!r}")
        self.assertEqual(ack["seq"], 1, "the rejected message used up a seq")

    async def test_unknown_recipient_rejected(self):
        _, token = self.server.register_and_login("lonely")
        session = await self.connect(token)
        error = await session.send_message(10, 987654321, "nobody there")
        self.assertEqual(error["cmd"], 21, f"a message to a user who does not exist got {error!r}")
        self.assertIn(error.get("code"), ("forbidden", "not_found"),
                      "a message to a missing user got an unexpected error code")

    async def test_oversized_content_rejected(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        ack = await alice_session.send_message(10, bob["id"], "first")
        self.assertEqual(ack["seq"], 1, f"first message got {ack!r}")

        cases = {
            "16 KiB + 1 ASCII bytes": "x" * (MAX_CONTENT_BYTES + 1),
            # 8193 characters but 16386 UTF-8 bytes: the limit counts bytes.
            "16386 bytes in 8193 characters": "\u00e9" * (MAX_CONTENT_BYTES // 2 + 1),
        }
        for label, content in cases.items():
            with self.subTest(label):
                error = await alice_session.send_message(10, bob["id"], content)
                self.assertEqual(error["cmd"], 21, f"content of {label} got cmd {error['cmd']}, expected 21")
                self.assertIn(error.get("code"), ("invalid_argument", "too_large"),
                              f"content of {label} got error code {error.get('code')!r}")
                self.assertEqual(await alice_session.heartbeat(), {"cmd": 0},
                                 f"the connection stopped answering after content of {label}")

        ack = await alice_session.send_message(10, bob["id"], "after the rejected ones")
        self.assertEqual(ack["cmd"], 20, f"a valid message after rejections got {ack!r}")
        self.assertEqual(ack["seq"], 2, "a rejected message used up a seq")
        contents = [frame["content"] for frame in await bob_session.collect(lambda f: f.get("cmd") == 10, 1.0)]
        self.assertEqual(contents, ["first", "after the rejected ones"], "the recipient got a rejected message")

    async def test_content_at_limit_accepted(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        content = "\u00e9" * (MAX_CONTENT_BYTES // 2)
        ack = await alice_session.send_message(10, bob["id"], content)
        self.assertEqual(ack["cmd"], 20, f"content of exactly 16 KiB got {ack!r}")
        delivery = await bob_session.recv_cmd(10)
        self.assertEqual(delivery["content"], content, "16 KiB of content arrived altered")

    async def test_second_session_gets_own_message(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        phone = await self.connect(alice_token)
        laptop = await self.connect(alice_token, via="header")
        bob_session = await self.connect(bob_token)
        ack = await phone.send_message(10, bob["id"], "from my phone")
        self.assertEqual(ack["cmd"], 20, f"sender got {ack!r}")

        copy = await laptop.recv_cmd(10)
        self.assertEqual(copy["id"], ack["id"], "the sender's other session got another message")
        self.assertEqual(copy["userid"], alice["id"], "the sender's other session sees another sender")
        self.assertEqual(copy["conv"], conv_with(bob), "the sender's other session does not key it u:RECIPIENT")
        self.assertEqual(copy["seq"], ack["seq"], "the sender's other session sees another seq")
        delivery = await bob_session.recv_cmd(10)
        self.assertEqual(delivery["id"], ack["id"], "the recipient got another message")

    async def test_every_recipient_session_delivered(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_sessions = [await self.connect(bob_token) for _ in range(3)]
        ack = await alice_session.send_message(10, bob["id"], "to all your devices")
        for index, session in enumerate(bob_sessions):
            delivery = await session.recv_cmd(10)
            self.assertEqual(delivery["id"], ack["id"], f"recipient session {index} got another message")

    async def test_repeated_cid_deduplicated(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        cid = "dup-" + uuid.uuid4().hex
        first = await alice_session.send_message(10, bob["id"], "once", cid=cid)
        second = await alice_session.send_message(10, bob["id"], "once", cid=cid)
        self.assertEqual(first["cmd"], 20, f"first send got {first!r}")
        self.assertEqual(second["cmd"], 20, f"a repeated cid got {second!r}, expected another ack")
        self.assertEqual(second["id"], first["id"], "a repeated cid got a new message id")
        self.assertEqual(second["seq"], first["seq"], "a repeated cid got a new seq")

        deliveries = await bob_session.collect(lambda frame: frame.get("cmd") == 10, 1.0)
        self.assertEqual(len(deliveries), 1, f"a repeated cid was delivered {len(deliveries)} times")

        following = await alice_session.send_message(10, bob["id"], "next")
        self.assertEqual(following["seq"], first["seq"] + 1, "a repeated cid used up a seq")
        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv_with(bob)}", token=alice_token)
        self.assertEqual([m["id"] for m in body["messages"]], [first["id"], following["id"]],
                         "history stores a repeated cid twice")

    async def test_history_oldest_first(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        acks = []
        for number in range(1, 6):
            acks.append(await alice_session.send_message(10, bob["id"], f"history {number}"))

        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv_with(bob)}", token=alice_token)
        self.assertEqual(status, 200, f"GET /api/messages returned {status} {body!r}")
        messages = body["messages"]
        self.assertEqual([m["seq"] for m in messages], [1, 2, 3, 4, 5], "history is not oldest first")
        self.assertEqual([m["id"] for m in messages], [a["id"] for a in acks], "history ids differ from the acks")
        self.assertEqual([m["content"] for m in messages], [f"history {n}" for n in range(1, 6)],
                         "history content differs")
        self.assertTrue(all(m.get("userid") == alice["id"] for m in messages), "history names another sender")
        self.assertTrue(all(m.get("conv") == conv_with(bob) for m in messages),
                        "the sender's history is not keyed u:RECIPIENT")

        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv_with(alice)}", token=bob_token)
        self.assertEqual(status, 200, f"the recipient's GET /api/messages returned {status} {body!r}")
        self.assertEqual([m["id"] for m in body["messages"]], [a["id"] for a in acks],
                         "the recipient's history differs from the sender's")
        self.assertTrue(all(m.get("conv") == conv_with(alice) for m in body["messages"]),
                        "the recipient's history is not keyed u:SENDER")

    async def test_history_paging(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        for number in range(1, 6):
            await alice_session.send_message(10, bob["id"], f"page {number}")
        conv = conv_with(bob)
        cases = {
            "limit=2": (f"/api/messages?conv={conv}&limit=2", [4, 5]),
            "before=4&limit=2": (f"/api/messages?conv={conv}&before=4&limit=2", [2, 3]),
            "before=2": (f"/api/messages?conv={conv}&before=2", [1]),
            "before=1": (f"/api/messages?conv={conv}&before=1", []),
        }
        for label, (path, expected) in cases.items():
            with self.subTest(label):
                status, body, _ = self.server.api("GET", path, token=alice_token)
                self.assertEqual(status, 200, f"{label} returned {status} {body!r}")
                self.assertEqual([m["seq"] for m in body["messages"]], expected, f"{label} returned other seqs")

    async def test_history_hidden_from_outsider(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        carol, carol_token = self.server.register_and_login("carol")
        alice_session = await self.connect(alice_token)
        ack = await alice_session.send_message(10, bob["id"], "private")
        self.assertEqual(ack["cmd"], 20, f"sender got {ack!r}")

        for conv in (conv_with(alice), conv_with(bob)):
            with self.subTest(conv):
                status, body, _ = self.server.api("GET", f"/api/messages?conv={conv}", token=carol_token)
                self.assertIn(status, (200, 403, 404), f"an outsider reading {conv} got {status} {body!r}")
                if status == 200:
                    self.assertNotIn(ack["id"], [m["id"] for m in body["messages"]],
                                     f"an outsider reading {conv} saw someone else's private message")
                    self.assertEqual(body["messages"], [], f"an outsider reading {conv} got messages it never took part in")
                else:
                    self.assertErrorBody(body, "forbidden" if status == 403 else "not_found")

    def test_history_requires_token(self):
        status, body, _ = self.server.api("GET", "/api/messages?conv=u:1")
        self.assertEqual(status, 401, f"GET /api/messages without a token returned {status} {body!r}")
        self.assertErrorBody(body, "unauthenticated")
