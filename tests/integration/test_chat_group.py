"""Groups: creation, membership, listing and message fan-out with one shared sequence."""

import asyncio

from harness import ServerTestCase


class GroupTests(ServerTestCase):
    def make_group(self, name="trio"):
        """Create a group of an owner and two of the owner's friends.

        Returns (group, owner, first member, second member), each person a (user, token) pair.
        """
        owner = self.server.register_and_login("owner")
        first = self.server.register_and_login("memb")
        second = self.server.register_and_login("memb")
        for user, token in (first, second):
            self.server.make_friends(owner[1], user["id"], token)
        group = self.server.create_group(owner[1], name, members=[first[0]["id"], second[0]["id"]])
        return group, owner, first, second

    async def collect_frames(self, session, count, cmds, timeout=5.0):
        """Return the next `count` frames whose cmd is in `cmds`, skipping the others."""
        frames = []
        for _ in range(count):
            frames.append(await session.recv_until(lambda frame: frame.get("cmd") in cmds, timeout))
        return frames

    def test_create_returns_group(self):
        group, owner, _, _ = self.make_group("created")
        for key in ("id", "name", "owner", "open", "member_count", "created"):
            self.assertIn(key, group, f"group {group!r} lacks {key!r}")
        self.assertEqual(group["name"], "created", "group name differs from the request")
        self.assertEqual(group["owner"], owner[0]["id"], "the creator is not the group's owner")
        self.assertEqual(group["member_count"], 3, "member_count does not count the owner and two members")
        self.assertIs(group["open"], False, "a group created without 'open' is open")

    def test_create_with_non_friend_forbidden(self):
        owner, owner_token = self.server.register_and_login("owner")
        stranger, _ = self.server.register_and_login("stranger")
        status, body, _ = self.server.api(
            "POST", "/api/groups", {"name": "nope", "members": [stranger["id"]]}, token=owner_token)
        self.assertEqual(status, 403, f"creating a group with a non-friend returned {status} {body!r}")
        self.assertErrorBody(body, "forbidden")

    def test_list_groups(self):
        group, owner, first, _ = self.make_group()
        outsider, outsider_token = self.server.register_and_login("outsider")
        for label, token in (("owner", owner[1]), ("member", first[1])):
            with self.subTest(label):
                status, body, _ = self.server.api("GET", "/api/groups", token=token)
                self.assertEqual(status, 200, f"GET /api/groups as {label} returned {status} {body!r}")
                self.assertIn(group["id"], [g["id"] for g in body["groups"]], f"the {label} does not see the group")
        status, body, _ = self.server.api("GET", "/api/groups", token=outsider_token)
        self.assertEqual(status, 200, f"GET /api/groups as outsider returned {status} {body!r}")
        self.assertNotIn(group["id"], [g["id"] for g in body["groups"]], "an outsider's group list has the group")

    def test_details_for_members_only(self):
        group, owner, first, second = self.make_group()
        status, body, _ = self.server.api("GET", f"/api/groups/{group['id']}", token=first[1])
        self.assertEqual(status, 200, f"GET /api/groups/ID as a member returned {status} {body!r}")
        self.assertEqual(body["group"]["id"], group["id"], "group details describe another group")
        roles = {member["user"]["id"]: member["role"] for member in body["members"]}
        self.assertEqual(roles, {owner[0]["id"]: "owner", first[0]["id"]: "member", second[0]["id"]: "member"},
                         "member list or roles differ from the created group")

        _, outsider_token = self.server.register_and_login("outsider")
        status, body, _ = self.server.api("GET", f"/api/groups/{group['id']}", token=outsider_token)
        self.assertIn(status, (403, 404), f"an outsider reading group details got {status} {body!r}")
        self.assertErrorBody(body, "forbidden" if status == 403 else "not_found")

    async def test_owner_adds_member(self):
        group, owner, _, _ = self.make_group()
        newcomer, newcomer_token = self.server.register_and_login("newcomer")
        status, body, _ = self.server.api(
            "POST", f"/api/groups/{group['id']}/members", {"user_id": newcomer["id"]}, token=owner[1])
        self.assertEqual(status, 200, f"the owner adding a member got {status} {body!r}")

        status, body, _ = self.server.api("GET", f"/api/groups/{group['id']}", token=newcomer_token)
        self.assertEqual(status, 200, f"the added member reading group details got {status} {body!r}")
        self.assertIn(newcomer["id"], [m["user"]["id"] for m in body["members"]], "the added user is not a member")
        self.assertEqual(body["group"]["member_count"], 4, "member_count did not grow with the added member")

        session = await self.connect(newcomer_token)
        ack = await session.send_message(11, group["id"], "thanks for adding me")
        self.assertEqual(ack["cmd"], 20, f"the added member's group message got {ack!r}")

    def test_plain_member_cannot_add(self):
        group, _, first, _ = self.make_group()
        newcomer, _ = self.server.register_and_login("newcomer")
        status, body, _ = self.server.api(
            "POST", f"/api/groups/{group['id']}/members", {"user_id": newcomer["id"]}, token=first[1])
        self.assertEqual(status, 403, f"a plain member adding someone got {status} {body!r}")
        self.assertErrorBody(body, "forbidden")

    async def test_message_fans_out(self):
        group, owner, first, second = self.make_group()
        owner_session = await self.connect(owner[1])
        first_session = await self.connect(first[1])
        second_session = await self.connect(second[1])
        conv = f"g:{group['id']}"

        ack = await owner_session.send_message(11, group["id"], "hello group")
        self.assertEqual(ack["cmd"], 20, f"the sender got {ack!r}, expected an ack")
        self.assertEqual(ack["seq"], 1, "the first group message is not seq 1")
        self.assertEqual(ack["conv"], conv, "the group ack is not keyed g:ID")

        for label, session in (("first member", first_session), ("second member", second_session)):
            with self.subTest(label):
                delivery = await session.recv_cmd(11)
                self.assertEqual(delivery["conv"], conv, f"the {label}'s delivery is not keyed g:ID")
                self.assertEqual(delivery["seq"], ack["seq"], f"the {label} sees another seq")
                self.assertEqual(delivery["id"], ack["id"], f"the {label} sees another id")
                self.assertEqual(delivery["userid"], owner[0]["id"], f"the {label} sees another sender")
                self.assertEqual(delivery["content"], "hello group", f"the {label} sees other content")

        echoes = await owner_session.collect(lambda frame: frame.get("cmd") == 11, 0.5)
        self.assertEqual(echoes, [], "the sending session got its own group message as a delivery")

    async def test_sender_other_session_delivered(self):
        group, owner, _, _ = self.make_group()
        phone = await self.connect(owner[1])
        laptop = await self.connect(owner[1])
        ack = await phone.send_message(11, group["id"], "from the phone")
        copy = await laptop.recv_cmd(11)
        self.assertEqual(copy["id"], ack["id"], "the sender's other session did not get the group message")

    async def test_non_member_forbidden(self):
        group, owner, first, _ = self.make_group()
        outsider, outsider_token = self.server.register_and_login("outsider")
        outsider_session = await self.connect(outsider_token)
        first_session = await self.connect(first[1])

        error = await outsider_session.send_message(11, group["id"], "let me in", cid="out-1")
        self.assertEqual(error["cmd"], 21, f"a non-member's group message got {error!r}, expected cmd 21")
        self.assertEqual(error.get("code"), "forbidden", "a non-member's group message is not 'forbidden'")
        self.assertEqual(error.get("cid"), "out-1", "the error lacks the message's cid")
        leaked = await first_session.collect(lambda frame: frame.get("cmd") == 11, 0.5)
        self.assertEqual(leaked, [], "a member received a non-member's rejected message")

        owner_session = await self.connect(owner[1])
        ack = await owner_session.send_message(11, group["id"], "members only")
        self.assertEqual(ack["seq"], 1, "the rejected message used up a seq")

    async def test_interleaved_senders_share_order(self):
        group, owner, first, second = self.make_group()
        owner_session = await self.connect(owner[1])
        first_session = await self.connect(first[1])
        second_session = await self.connect(second[1])
        per_sender = 5

        async def send_burst(session, label):
            for number in range(per_sender):
                await session.send({"cmd": 11, "dstid": group["id"], "content": f"{label} {number}",
                                    "cid": f"{label}-{number}"})

        await asyncio.gather(send_burst(owner_session, "owner"), send_burst(first_session, "first"))
        total = 2 * per_sender
        views = {
            "owner": await self.collect_frames(owner_session, total, (11, 20, 21)),
            "first member": await self.collect_frames(first_session, total, (11, 20, 21)),
            "second member": await self.collect_frames(second_session, total, (11, 21)),
        }

        expected_seqs = list(range(1, total + 1))
        seq_to_id = {}
        for label, frames in views.items():
            errors = [frame for frame in frames if frame.get("cmd") == 21]
            self.assertEqual(errors, [], f"the {label} got errors")
            deliveries = [frame for frame in frames if frame["cmd"] == 11]
            delivered_seqs = [frame["seq"] for frame in deliveries]
            self.assertEqual(delivered_seqs, sorted(delivered_seqs),
                             f"the {label} received group messages out of seq order")
            self.assertEqual(sorted(frame["seq"] for frame in frames), expected_seqs,
                             f"the {label} saw seqs with gaps or repeats")
            view = {frame["seq"]: frame["id"] for frame in frames}
            if seq_to_id:
                self.assertEqual(view, seq_to_id, f"the {label} maps seqs to other message ids")
            else:
                seq_to_id = view

        second_contents = [frame["content"] for frame in views["second member"]]
        for label in ("owner", "first"):
            own = [content for content in second_contents if content.startswith(label + " ")]
            self.assertEqual(own, [f"{label} {n}" for n in range(per_sender)],
                             f"one sender's messages ({label}) were reordered")
