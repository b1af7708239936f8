"""Read marks (cmd 40), typing notices (cmd 41) and recall (cmd 42)."""

import sqlite3

from harness import ServerTestCase, conv_with, with_cmd

RECALL_WINDOW_MS = 2 * 60 * 1000


class ReceiptTestCase(ServerTestCase):
    async def send_messages(self, session, cmd, dstid, count, prefix="message"):
        """Send `count` messages and return their acks."""
        acks = []
        for number in range(1, count + 1):
            ack = await session.send_message(cmd, dstid, f"{prefix} {number}")
            self.assertEqual(ack["cmd"], 20, f"{prefix} {number} got {ack!r}")
            acks.append(ack)
        return acks


class ReadMarkTests(ReceiptTestCase):
    async def test_direct_read_receipt(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_phone, alice_laptop = await self.connect(alice_token), await self.connect(alice_token)
        bob_phone, bob_laptop = await self.connect(bob_token), await self.connect(bob_token)
        await self.send_messages(alice_phone, 10, bob["id"], 3)
        self.assertEqual(self.unread_counts(bob_token), {conv_with(alice): 3},
                         "delivered messages do not count as unread before a read mark")

        # Each pair is (seq marked, unread expected). Marking seq 1 after seq 2 keeps the mark at 2.
        marks = [(2, 1), (1, 1), (3, 0)]
        for seq, unread in marks:
            with self.subTest(seq=seq):
                await bob_phone.send({"cmd": 40, "conv": conv_with(alice), "seq": seq})
                expected = {"cmd": 40, "userid": bob["id"], "conv": conv_with(bob), "seq": seq}
                for label, session in (("sender's phone", alice_phone), ("sender's laptop", alice_laptop)):
                    receipt = await session.recv_cmd(40)
                    self.assertEqual(receipt, expected, f"the {label} got another receipt for seq {seq}")
                await self.assert_quiet({"reader's session": bob_phone, "reader's other session": bob_laptop},
                                        with_cmd(40), f"read mark {seq}")
                self.assertEqual(self.unread_counts(bob_token), {conv_with(alice): unread},
                                 f"the reader's unread count after marking seq {seq}")
        self.assertEqual(self.unread_counts(alice_token), {conv_with(bob): 0},
                         "the sender's own messages count as unread")

    async def test_group_read_receipt(self):
        group, (owner, owner_token), [(first, first_token), (second, second_token)] = self.friend_group(2)
        conv = f"g:{group['id']}"
        owner_session = await self.connect(owner_token)
        first_session = await self.connect(first_token)
        second_session = await self.connect(second_token)
        await self.send_messages(owner_session, 11, group["id"], 2)

        await first_session.send({"cmd": 40, "conv": conv, "seq": 2})
        expected = {"cmd": 40, "userid": first["id"], "conv": conv, "seq": 2}
        for label, session in (("owner", owner_session), ("other member", second_session)):
            receipt = await session.recv_cmd(40)
            self.assertEqual(receipt, expected, f"the {label} got another group receipt")
        await self.assert_quiet({"reader": first_session}, with_cmd(40), "group read mark")

        cases = {"owner": (owner_token, 0), "reader": (first_token, 0), "other member": (second_token, 2)}
        for label, (token, unread) in cases.items():
            self.assertEqual(self.unread_counts(token), {conv: unread}, f"the {label}'s unread count")

    async def test_mark_beyond_last_seq(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        await self.send_messages(alice_session, 10, bob["id"], 2)
        await bob_session.send({"cmd": 40, "conv": conv_with(alice), "seq": 100})
        receipt = await alice_session.recv_cmd(40)
        self.assertEqual(receipt["seq"], 100, "a mark above the last seq was not passed on unchanged")

        await self.send_messages(alice_session, 10, bob["id"], 1, prefix="later")
        self.assertEqual(self.unread_counts(bob_token), {conv_with(alice): 0},
                         "a message below a mark set ahead of the last seq counts as unread")

    async def test_read_mark_rejections(self):
        group, _, _ = self.friend_group(1)
        user, token = self.server.register_and_login("reader")
        session = await self.connect(token)
        invalid = {
            "conv missing": {"seq": 1},
            "the reader's own u: key": {"conv": conv_with(user), "seq": 1},
            "an unknown conv prefix": {"conv": "x:1", "seq": 1},
            "conv a number": {"conv": 1, "seq": 1},
            "seq missing": {"conv": "u:1"},
            "seq negative": {"conv": "u:1", "seq": -1},
            "seq a string": {"conv": "u:1", "seq": "1"},
            "seq a fraction": {"conv": "u:1", "seq": 1.5},
        }
        forbidden = {
            "a group the reader is not in": {"conv": f"g:{group['id']}", "seq": 1},
            "a group that does not exist": {"conv": f"g:{group['id'] + 100000}", "seq": 1},
        }
        for code, cases in (("invalid_argument", invalid), ("forbidden", forbidden)):
            for label, fields in cases.items():
                with self.subTest(label):
                    error = await session.expect_error({"cmd": 40, **fields})
                    self.assertEqual(error.get("code"), code, f"a read mark with {label} got {error!r}")


    async def test_stranger_read_mark_not_found(self):
        stranger, stranger_token = self.server.register_and_login("stranger")
        target, target_token = self.server.register_and_login("target")
        sender = await self.connect(stranger_token)
        watched = await self.connect(target_token)
        error = await sender.expect_error({"cmd": 40, "conv": conv_with(target), "seq": 1})
        self.assertEqual(error.get("code"), "not_found", f"a mark on an empty chat got {error!r}")
        await self.assert_quiet({"target": watched}, lambda f: f.get("cmd") == 40,
                                "a stranger's read mark")


class TypingTests(ReceiptTestCase):
    async def test_typing_reaches_every_session(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_typist, alice_other = await self.connect(alice_token), await self.connect(alice_token)
        bob_phone, bob_laptop = await self.connect(bob_token), await self.connect(bob_token)

        await alice_typist.send({"cmd": 41, "dstid": bob["id"], "userid": bob["id"]})
        expected = {"cmd": 41, "userid": alice["id"], "conv": conv_with(alice)}
        for label, session in (("recipient's phone", bob_phone), ("recipient's laptop", bob_laptop)):
            notice = await session.recv_cmd(41)
            self.assertEqual(notice, expected, f"the {label} got another typing notice")
        quiet = {"typist": alice_typist, "typist's other session": alice_other}
        await self.assert_quiet(quiet, with_cmd(41), "typing")

        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv_with(bob)}", token=alice_token)
        self.assertEqual(status, 200, f"GET /api/messages returned {status} {body!r}")
        self.assertEqual(body["messages"], [], "a typing notice was stored as a message")
        self.assertEqual(self.conversations(bob_token), [], "a typing notice created a conversation")

    async def test_typing_needs_friendship(self):
        (_, token), (stranger, stranger_token) = self.server.register_many(["typist", "stranger"])
        session = await self.connect(token)
        stranger_session = await self.connect(stranger_token)
        for label, dstid in (("a stranger", stranger["id"]), ("an unknown user", stranger["id"] + 100000)):
            with self.subTest(label):
                error = await session.expect_error({"cmd": 41, "dstid": dstid})
                self.assertEqual(error.get("code"), "forbidden", f"typing to {label} got {error!r}")
        await self.assert_quiet({"stranger": stranger_session}, with_cmd(41), "typing to a stranger")

    async def test_typing_rejections(self):
        user, token = self.server.register_and_login("typist")
        session = await self.connect(token)
        cases = {
            "dstid missing": {},
            "dstid the typist's own id": {"dstid": user["id"]},
            "dstid 0": {"dstid": 0},
            "dstid negative": {"dstid": -5},
            "dstid a string": {"dstid": str(user["id"] + 1)},
        }
        for label, fields in cases.items():
            with self.subTest(label):
                error = await session.expect_error({"cmd": 41, **fields})
                self.assertEqual(error.get("code"), "invalid_argument", f"typing with {label} got {error!r}")


class RecallTests(ReceiptTestCase):
    def history(self, token, conv):
        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv}", token=token)
        self.assertEqual(status, 200, f"GET /api/messages?conv={conv} returned {status} {body!r}")
        return {message["id"]: message for message in body["messages"]}

    def age_message(self, message_id, age_ms):
        """Move a stored message's ts `age_ms` into the past, as if it had been sent that long ago."""
        if not self.server.db_url.startswith("sqlite:"):
            self.skipTest("ageing a message writes the SQLite file directly")
        with sqlite3.connect(self.server.db_path, timeout=5) as db:
            db.execute("UPDATE messages SET ts = ts - ? WHERE id = ?", (age_ms, message_id))
        db.close()

    async def test_recall_erases_message(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        sender, sender_other = await self.connect(alice_token), await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        ack = await sender.send_message(10, bob["id"], "take this back", media=8, url="https://example.com/p",
                                        pic="/media/x.png", memo="for you", amount=500)
        untouched = await sender.send_message(10, bob["id"], "this one stays")

        await sender.send({"cmd": 42, "id": ack["id"], "userid": bob["id"]})
        for label, session, conv in (("sending session", sender, conv_with(bob)),
                                     ("sender's other session", sender_other, conv_with(bob)),
                                     ("recipient", bob_session, conv_with(alice))):
            notice = await session.recv_cmd(42)
            self.assertEqual(notice, {"cmd": 42, "id": ack["id"], "conv": conv}, f"the {label} got another recall")

        for label, token, conv in (("sender", alice_token, conv_with(bob)), ("recipient", bob_token, conv_with(alice))):
            with self.subTest(label):
                history = self.history(token, conv)
                recalled = history[ack["id"]]
                self.assertEqual(recalled["content"], "", f"the {label}'s history keeps recalled content")
                self.assertIs(recalled.get("recalled"), True, f"the {label}'s history lacks recalled: true")
                for field in ("url", "pic", "memo", "amount"):
                    self.assertNotIn(field, recalled, f"the {label}'s history keeps the recalled {field}")
                self.assertEqual(recalled["seq"], ack["seq"], f"recall changed the seq in the {label}'s history")
                self.assertEqual(history[untouched["id"]]["content"], "this one stays",
                                 f"recall changed another message in the {label}'s history")
                self.assertNotIn("recalled", history[untouched["id"]], f"the {label}'s other message is marked recalled")

        synced, _ = await bob_session.sync({"conv": conv_with(alice), "after": 0})
        self.assertEqual(synced[0]["content"], "", "sync returns recalled content")
        self.assertIs(synced[0].get("recalled"), True, "sync lacks recalled: true")

    async def test_group_recall(self):
        group, (_, owner_token), [(_, first_token), (_, second_token)] = self.friend_group(2)
        owner_session = await self.connect(owner_token)
        members = {"first member": await self.connect(first_token), "second member": await self.connect(second_token)}
        ack = await owner_session.send_message(11, group["id"], "group message to recall")

        await owner_session.send({"cmd": 42, "id": ack["id"]})
        expected = {"cmd": 42, "id": ack["id"], "conv": f"g:{group['id']}"}
        for label, session in (("sender", owner_session), *members.items()):
            notice = await session.recv_cmd(42)
            self.assertEqual(notice, expected, f"the {label} got another group recall")
        recalled = self.history(first_token, f"g:{group['id']}")[ack["id"]]
        self.assertEqual(recalled["content"], "", "a member's history keeps recalled group content")

    async def test_recall_others_message_forbidden(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        ack = await alice_session.send_message(10, bob["id"], "mine, not yours")

        cases = {"another user's message": ack["id"], "an unknown id": ack["id"] + 100000}
        for label, message_id in cases.items():
            with self.subTest(label):
                error = await bob_session.expect_error({"cmd": 42, "id": message_id, "userid": alice["id"]})
                self.assertEqual(error.get("code"), "forbidden", f"recalling {label} got {error!r}")
        await self.assert_quiet({"sender": alice_session}, with_cmd(42), "a rejected recall")
        message = self.history(alice_token, conv_with(bob))[ack["id"]]
        self.assertEqual(message["content"], "mine, not yours", "a rejected recall erased the message")

    async def test_recall_rejections(self):
        _, token = self.server.register_and_login("recaller")
        session = await self.connect(token)
        cases = {"id missing": {}, "id 0": {"id": 0}, "id negative": {"id": -1}, "id a string": {"id": "7"}}
        for label, fields in cases.items():
            with self.subTest(label):
                error = await session.expect_error({"cmd": 42, **fields})
                self.assertEqual(error.get("code"), "invalid_argument", f"a recall with {label} got {error!r}")

    async def test_recall_window(self):
        (_, alice_token), (bob, _) = self.friends_pair()
        session = await self.connect(alice_token)
        late, recent = await self.send_messages(session, 10, bob["id"], 2)
        self.age_message(late["id"], RECALL_WINDOW_MS + 1000)
        self.age_message(recent["id"], RECALL_WINDOW_MS - 10000)

        error = await session.expect_error({"cmd": 42, "id": late["id"]})
        self.assertEqual(error.get("code"), "forbidden", f"recalling a message older than 2 minutes got {error!r}")
        self.assertEqual(self.history(alice_token, conv_with(bob))[late["id"]]["content"], "message 1",
                         "a rejected late recall erased the message")

        await session.send({"cmd": 42, "id": recent["id"]})
        notice = await session.recv_cmd(42)
        self.assertEqual(notice["id"], recent["id"], "a message 1:50 old could not be recalled")
