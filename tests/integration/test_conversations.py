"""GET /api/conversations (order, the last message, unread counts) and the limits of GET /api/messages."""

from harness import ServerTestCase, conv_with


class ConversationListTests(ServerTestCase):
    def setup_three(self):
        """Register Alice, Bob and Carol, make Alice friends with both and create a group of the three.

        Returns (group, alice, bob, carol), each person a (user, token) pair.
        """
        group, alice, [bob, carol] = self.friend_group(2, prefix="conv")
        return group, alice, bob, carol

    async def send(self, session, cmd, dstid, content):
        ack = await session.send_message(cmd, dstid, content)
        self.assertEqual(ack["cmd"], 20, f"message {content!r} got {ack!r}")
        return ack

    async def test_newest_first(self):
        group, (alice, alice_token), (bob, bob_token), (carol, carol_token) = self.setup_three()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        carol_session = await self.connect(carol_token)
        group_conv = f"g:{group['id']}"

        to_bob = await self.send(alice_session, 10, bob["id"], "to bob")
        from_carol = await self.send(carol_session, 10, alice["id"], "from carol")
        in_group = await self.send(alice_session, 11, group["id"], "to the group")
        entries = self.conversations(alice_token)
        self.assertEqual([e["conv"] for e in entries], [group_conv, conv_with(carol), conv_with(bob)],
                         "the list is not ordered by the newest last message")
        self.assertEqual([e["last"]["id"] for e in entries], [in_group["id"], from_carol["id"], to_bob["id"]],
                         "a conversation's last message is not its newest")

        from_bob = await self.send(bob_session, 10, alice["id"], "bob again")
        entries = self.conversations(alice_token)
        self.assertEqual([e["conv"] for e in entries], [conv_with(bob), group_conv, conv_with(carol)],
                         "a new message did not move its conversation to the front")
        last = entries[0]["last"]
        expected = {"id": from_bob["id"], "userid": bob["id"], "dstid": alice["id"], "conv": conv_with(bob),
                    "seq": 2, "ts": from_bob["ts"], "cid": from_bob["cid"], "media": 1, "content": "bob again"}
        self.assertEqual(last, expected, "the last message differs from the MSG that was sent")

        entries = self.conversations(bob_token)
        self.assertEqual([e["conv"] for e in entries], [conv_with(alice), group_conv],
                         "the other side's list differs")
        self.assertEqual(entries[0]["last"]["conv"], conv_with(alice), "the last message is not keyed from the reader's side")

    async def test_unread_counts(self):
        group, (alice, alice_token), (bob, bob_token), (_, carol_token) = self.setup_three()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        for number in range(1, 4):
            await self.send(alice_session, 10, bob["id"], f"direct {number}")
            delivery = await bob_session.recv_cmd(10)
            self.assertEqual(delivery["seq"], number, f"direct message {number} was not delivered")
        await self.send(bob_session, 10, alice["id"], "reply")
        await self.send(alice_session, 11, group["id"], "group 1")
        await self.send(alice_session, 11, group["id"], "group 2")
        await self.send(bob_session, 11, group["id"], "group 3")

        group_conv = f"g:{group['id']}"
        cases = {
            "alice": (alice_token, {conv_with(bob): 1, group_conv: 1}),
            "bob, with deliveries but no read mark": (bob_token, {conv_with(alice): 3, group_conv: 2}),
            "carol, who was offline": (carol_token, {group_conv: 3}),
        }
        for label, (token, expected) in cases.items():
            self.assertEqual(self.unread_counts(token), expected, f"unread counts of {label}")

        await bob_session.send({"cmd": 40, "conv": conv_with(alice), "seq": 2})
        await alice_session.recv_cmd(40)
        self.assertEqual(self.unread_counts(bob_token), {conv_with(alice): 1, group_conv: 2},
                         "unread counts of bob after marking seq 2 of the direct chat")
        await bob_session.send({"cmd": 40, "conv": group_conv, "seq": 3})
        await alice_session.recv_cmd(40)
        self.assertEqual(self.unread_counts(bob_token), {conv_with(alice): 1, group_conv: 0},
                         "unread counts of bob after marking the whole group read")

    async def test_listed_conversations(self):
        group, (alice, alice_token), (bob, bob_token), (carol, carol_token) = self.setup_three()
        self.assertEqual(self.conversations(alice_token), [], "a group without messages is listed")

        alice_session = await self.connect(alice_token)
        await self.send(alice_session, 10, bob["id"], "direct")
        await self.send(alice_session, 11, group["id"], "group")
        status, body, _ = self.server.api("DELETE", f"/api/friends/{bob['id']}", token=alice_token)
        self.assertEqual(status, 204, f"unfriending returned {status} {body!r}")
        status, body, _ = self.server.api("DELETE", f"/api/groups/{group['id']}/members/{bob['id']}", token=bob_token)
        self.assertEqual(status, 204, f"leaving the group returned {status} {body!r}")

        self.assertEqual([e["conv"] for e in self.conversations(bob_token)], [conv_with(alice)],
                         "the list after leaving the group and unfriending the partner")
        self.assertEqual([e["conv"] for e in self.conversations(carol_token)], [f"g:{group['id']}"],
                         "a group member's list lacks the group or lists others' direct chats")

    def test_empty_for_new_user(self):
        _, token = self.server.register_and_login("newcomer")
        self.assertEqual(self.conversations(token), [], "a new user has conversations")

    def test_requires_token(self):
        status, body, _ = self.server.api("GET", "/api/conversations")
        self.assertEqual(status, 401, f"GET /api/conversations without a token returned {status} {body!r}")
        self.assertErrorBody(body, "unauthenticated")


class HistoryLimitTests(ServerTestCase):
    async def test_page_sizes(self):
        (_, alice_token), (bob, _) = self.friends_pair()
        session = await self.connect(alice_token)
        count = 55
        for number in range(1, count + 1):
            await session.send({"cmd": 10, "dstid": bob["id"], "content": f"page {number}", "cid": f"p{number}"})
        replies = await session.recv_frames(count, (20, 21))
        self.assertEqual({reply["cmd"] for reply in replies}, {20}, "a setup message was rejected")

        conv = conv_with(bob)
        cases = {"no limit": ("", list(range(6, count + 1))), "limit=200": ("&limit=200", list(range(1, count + 1)))}
        for label, (query, expected) in cases.items():
            with self.subTest(label):
                status, body, _ = self.server.api("GET", f"/api/messages?conv={conv}{query}", token=alice_token)
                self.assertEqual(status, 200, f"history with {label} returned {status} {body!r}")
                self.assertEqual([m["seq"] for m in body["messages"]], expected, f"the page with {label}")

    def test_history_rejections(self):
        (_, token), (bob, _) = self.friends_pair()
        conv = conv_with(bob)
        queries = {
            "conv missing": "",
            "limit 0": f"conv={conv}&limit=0",
            "limit 201": f"conv={conv}&limit=201",
            "limit negative": f"conv={conv}&limit=-1",
            "limit not a number": f"conv={conv}&limit=ten",
            "before 0": f"conv={conv}&before=0",
            "before negative": f"conv={conv}&before=-2",
            "before not a number": f"conv={conv}&before=x",
        }
        for label, query in queries.items():
            with self.subTest(label):
                status, body, _ = self.server.api("GET", f"/api/messages?{query}", token=token)
                self.assertEqual(status, 400, f"history with {label} returned {status} {body!r}")
                self.assertErrorBody(body, "invalid_argument")
