"""Presence (cmd 50) and users with several sessions.

The server runs two event loops and the kernel spreads new connections over them
(SO_REUSEPORT). So a user with six sessions has sessions on both loops unless all
six land on one, which an even spread makes a 1 in 32 chance.
"""

import asyncio

from harness import ServerTestCase, conv_with, with_cmd

SESSIONS_PER_USER = 6


class DeviceTestCase(ServerTestCase):
    async def connect_many(self, token, count):
        return list(await asyncio.gather(*(self.connect(token) for _ in range(count))))

    def friend_online(self, token, friend_id):
        status, body, _ = self.server.api("GET", "/api/friends", token=token)
        self.assertEqual(status, 200, f"GET /api/friends returned {status} {body!r}")
        return {friend["id"]: friend["online"] for friend in body["friends"]}[friend_id]


class PresenceTests(DeviceTestCase):
    async def test_first_and_last_session(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        _, stranger_token = self.server.register_and_login("stranger")
        watchers = {"first watcher": await self.connect(bob_token), "second watcher": await self.connect(bob_token)}
        stranger = await self.connect(stranger_token)

        def about_alice(frame):
            return frame.get("cmd") == 50 and frame.get("userid") == alice["id"]

        self.assertIs(self.friend_online(bob_token, alice["id"]), False, "a friend with no session is online")

        first = await self.connect(alice_token)
        for label, session in watchers.items():
            notice = await session.recv_until(about_alice)
            self.assertEqual(notice, {"cmd": 50, "userid": alice["id"], "online": True},
                             f"the {label}'s notice of the first session")
        others = await self.connect_many(alice_token, SESSIONS_PER_USER - 1)
        await self.assert_quiet({**watchers, "stranger": stranger}, about_alice, "more sessions opened")
        self.assertIs(self.friend_online(bob_token, alice["id"]), True, "a friend with sessions is not online")
        self.assertIs(self.friend_online(alice_token, bob["id"]), True, "the watching friend is not online")

        await asyncio.gather(*(session.close() for session in others))
        await self.assert_quiet({**watchers, "stranger": stranger}, about_alice, "all but one session closed")
        self.assertIs(self.friend_online(bob_token, alice["id"]), True, "a friend with one session left is offline")

        await first.close()
        for label, session in watchers.items():
            notice = await session.recv_until(about_alice)
            self.assertEqual(notice, {"cmd": 50, "userid": alice["id"], "online": False},
                             f"the {label}'s notice of the last session closing")
        self.assertIs(self.friend_online(bob_token, alice["id"]), False, "a friend with no session left is online")
        await self.assert_quiet({"stranger": stranger}, about_alice, "after the last session closed")


class SessionTests(DeviceTestCase):
    async def test_direct_reaches_every_session(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        sender, *sender_others = await self.connect_many(alice_token, SESSIONS_PER_USER)
        recipients = await self.connect_many(bob_token, SESSIONS_PER_USER)
        count = 5

        acks = [await sender.send_message(10, bob["id"], f"message {n}") for n in range(1, count + 1)]
        self.assertEqual([ack["seq"] for ack in acks], list(range(1, count + 1)), "the sending session's acks")
        views = [("recipient", session, conv_with(alice)) for session in recipients]
        views += [("sender's other", session, conv_with(bob)) for session in sender_others]
        for index, (label, session, conv) in enumerate(views):
            deliveries = await session.recv_frames(count, (10,))
            self.assertEqual([d["id"] for d in deliveries], [ack["id"] for ack in acks],
                             f"{label} session {index} missed messages or got them out of order")
            self.assertEqual({d["conv"] for d in deliveries}, {conv}, f"{label} session {index} got another conv")
        await self.assert_quiet({"sending session": sender}, with_cmd(10), "direct messages")

    async def test_group_reaches_every_session(self):
        group, (_, owner_token), [(_, member_token)] = self.friend_group(1)
        sender, *sender_others = await self.connect_many(owner_token, 3)
        members = await self.connect_many(member_token, 3)
        count = 3

        acks = [await sender.send_message(11, group["id"], f"message {n}") for n in range(1, count + 1)]
        for index, session in enumerate(sender_others + members):
            deliveries = await session.recv_frames(count, (11,))
            self.assertEqual([d["id"] for d in deliveries], [ack["id"] for ack in acks],
                             f"session {index} missed group messages or got them out of order")
        await self.assert_quiet({"sending session": sender}, with_cmd(11), "group messages")

    async def test_sync_answers_one_session(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        asker, other = await self.connect_many(bob_token, 2)
        alice_session = await self.connect(alice_token)
        ack = await alice_session.send_message(10, bob["id"], "sync me")
        for session in (asker, other):
            await session.recv_cmd(10)

        messages, more = await asker.sync({"conv": conv_with(alice), "after": 0})
        self.assertEqual([m["id"] for m in messages], [ack["id"]], "the asking session's sync answer")
        self.assertIs(more, False, "a complete sync answer says more: true")
        await self.assert_quiet({"other session": other}, with_cmd(10, 31), "a sync")
