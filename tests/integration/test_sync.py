"""Sync (cmd 30) of missed messages, per conversation and by time, also across a restart."""

import asyncio
import json
import os

from harness import NOTICE_CMDS, Server, ServerTestCase, conv_with


class SyncMixin:
    async def sync(self, session, request, timeout=5.0):
        """Send a cmd 30 request and return the message frames before the closing cmd 31."""
        await session.send({"cmd": 30, **request})
        messages = []
        while True:
            frame = await session.recv_until(lambda f: f.get("cmd") not in NOTICE_CMDS, timeout)
            if frame["cmd"] == 31:
                return messages
            self.assertIn(frame["cmd"], (10, 11), f"sync {request!r} sent {frame!r} before cmd 31")
            messages.append(frame)

    async def send_offline_messages(self, sender_token, recipient, count, prefix="missed"):
        """Send `count` 1:1 messages to `recipient` and return their acks."""
        session = await self.connect(sender_token)
        acks = []
        for number in range(1, count + 1):
            ack = await session.send_message(10, recipient["id"], f"{prefix} {number}")
            self.assertEqual(ack["cmd"], 20, f"message {number} got {ack!r}")
            acks.append(ack)
        await session.close()
        return acks


class SyncTests(SyncMixin, ServerTestCase):
    async def test_conversation_from_start(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        acks = await self.send_offline_messages(alice_token, bob, 3)

        bob_session = await self.connect(bob_token)
        messages = await self.sync(bob_session, {"conv": conv_with(alice), "after": 0})
        self.assertEqual([m["seq"] for m in messages], [1, 2, 3], "sync after 0 did not return seqs 1..3 in order")
        self.assertEqual([m["id"] for m in messages], [a["id"] for a in acks], "synced ids differ from the acks")
        self.assertEqual([m["content"] for m in messages], ["missed 1", "missed 2", "missed 3"],
                         "synced content differs")
        self.assertTrue(all(m["cmd"] == 10 for m in messages), "synced 1:1 messages are not cmd 10")
        self.assertTrue(all(m.get("userid") == alice["id"] for m in messages), "synced messages name another sender")
        self.assertTrue(all(m.get("conv") == conv_with(alice) for m in messages),
                        "synced messages are not keyed from the reader's side")

    async def test_conversation_after_seq(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        acks = await self.send_offline_messages(alice_token, bob, 3)
        bob_session = await self.connect(bob_token)
        messages = await self.sync(bob_session, {"conv": conv_with(alice), "after": 2})
        self.assertEqual([m["id"] for m in messages], [acks[2]["id"]], "sync after 2 did not return only seq 3")

    async def test_conversation_up_to_date(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        await self.send_offline_messages(alice_token, bob, 2)
        bob_session = await self.connect(bob_token)
        messages = await self.sync(bob_session, {"conv": conv_with(alice), "after": 2})
        self.assertEqual(messages, [], "sync after the last seq returned messages")

    async def test_sender_side_sync(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        acks = await self.send_offline_messages(alice_token, bob, 2)
        alice_session = await self.connect(alice_token)
        messages = await self.sync(alice_session, {"conv": conv_with(bob), "after": 0})
        self.assertEqual([m["id"] for m in messages], [a["id"] for a in acks],
                         "the sender's own sync misses its sent messages")
        self.assertTrue(all(m.get("conv") == conv_with(bob) for m in messages),
                        "the sender's sync is not keyed u:RECIPIENT")

    async def test_all_conversations_after_ts(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        group = self.server.create_group(alice_token, "sync group", members=[bob["id"]])
        alice_session = await self.connect(alice_token)

        first = await alice_session.send_message(10, bob["id"], "before the mark")
        await asyncio.sleep(0.05)
        second = await alice_session.send_message(10, bob["id"], "direct after the mark")
        await asyncio.sleep(0.05)
        third = await alice_session.send_message(11, group["id"], "group after the mark")
        for ack in (first, second, third):
            self.assertEqual(ack["cmd"], 20, f"setup message got {ack!r}")
        self.assertLess(first["ts"], second["ts"], "messages 50 ms apart share a ts")

        bob_session = await self.connect(bob_token)
        messages = await self.sync(bob_session, {"after_ts": first["ts"]})
        self.assertEqual([m["id"] for m in messages], [second["id"], third["id"]],
                         "sync by ts did not return exactly the later 1:1 and group messages, oldest first")
        self.assertEqual(messages[0]["cmd"], 10, "the 1:1 message was not synced as cmd 10")
        self.assertEqual(messages[0]["conv"], conv_with(alice), "the synced 1:1 message is not keyed u:SENDER")
        self.assertEqual(messages[1]["cmd"], 11, "the group message was not synced as cmd 11")
        self.assertEqual(messages[1]["conv"], f"g:{group['id']}", "the synced group message is not keyed g:ID")

        messages = await self.sync(bob_session, {"after_ts": 0})
        self.assertEqual([m["id"] for m in messages], [first["id"], second["id"], third["id"]],
                         "sync from ts 0 did not return every message oldest first")

    async def test_group_sync_needs_membership(self):
        (alice, alice_token), (bob, _) = self.friends_pair()
        group = self.server.create_group(alice_token, "closed", members=[bob["id"]])
        alice_session = await self.connect(alice_token)
        ack = await alice_session.send_message(11, group["id"], "members only")
        self.assertEqual(ack["cmd"], 20, f"setup message got {ack!r}")

        _, outsider_token = self.server.register_and_login("outsider")
        outsider = await self.connect(outsider_token)
        await outsider.send({"cmd": 30, "conv": f"g:{group['id']}", "after": 0})
        frame = await outsider.recv_until(lambda f: f.get("cmd") not in NOTICE_CMDS)
        self.assertIn(frame["cmd"], (21, 31), f"an outsider's group sync got {frame!r}")
        if frame["cmd"] == 21:
            self.assertEqual(frame.get("code"), "forbidden", "an outsider's group sync error is not 'forbidden'")


def masked_text_frame(payload):
    """Return a final, masked text frame (payload under 126 bytes) as a client sends it."""
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


class SyncBurstTests(SyncMixin, ServerTestCase):
    async def test_sync_burst_bounded(self):
        """One sync runs and 16 wait per session; the rest of a burst gets rate_limited."""
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        await self.send_offline_messages(alice_token, bob, 2)
        session = await self.connect(bob_token)
        burst = 40
        # One TCP write, so that the server reads the whole burst before any sync finishes.
        payload = json.dumps({"cmd": 30, "conv": conv_with(alice), "after": 0}).encode()
        session.ws.transport.write(masked_text_frame(payload) * burst)
        done = limited = 0
        while done + limited < burst:
            reply = await session.recv_until(lambda f: f.get("cmd") in (21, 31))
            if reply["cmd"] == 31:
                done += 1
            else:
                self.assertEqual(reply["code"], "rate_limited", f"unexpected error {reply!r}")
                limited += 1
        self.assertGreaterEqual(done, 17, "fewer syncs than one running plus 16 queued were served")
        self.assertGreater(limited, 0, f"all {burst} syncs of a burst were served")


class LargeSyncTests(ServerTestCase):
    """Sync of more escaped bytes than the session may queue (16 MiB) comes in several pages."""

    # Each message is 16,384 '"' characters, the maximum content, which JSON escaping doubles,
    # so 600 of them encode to about 19 MiB of frames.
    MESSAGE_COUNT = 600
    CONTENT = '"' * 16384

    @classmethod
    def make_server(cls):
        return Server(extra_args=["--message-rate", "0"])

    async def send_escape_heavy(self, sender_token, recipient):
        """Send MESSAGE_COUNT maximum-size messages to `recipient` and return their acks by id."""
        session = await self.connect(sender_token)
        cids = [f"large-{number}" for number in range(self.MESSAGE_COUNT)]
        for cid in cids:
            await session.send({"cmd": 10, "dstid": recipient["id"], "cid": cid, "content": self.CONTENT})
        acks = {}
        while len(acks) < self.MESSAGE_COUNT:
            ack = await session.recv_until(lambda f: f.get("cmd") in (20, 21), timeout=30.0)
            self.assertEqual(ack["cmd"], 20, f"setup message got {ack!r}")
            acks[ack["cid"]] = ack
        await session.close()
        return [acks[cid] for cid in cids]

    async def sync_all_pages(self, session, first_request, next_request):
        """Sync until `more` is false and return the pages; `next_request` maps a page's last message to the next request."""
        pages = []
        request = first_request
        while True:
            messages, more = await session.sync(request, timeout=30.0)
            self.assertTrue(messages or not more, f"page {len(pages) + 1} is empty but says more: {request!r}")
            pages.append(messages)
            if not more:
                return pages
            self.assertLess(len(pages), self.MESSAGE_COUNT, "sync pages do not end")
            request = next_request(messages[-1])

    def assert_every_message_once(self, pages, expected_ids, form):
        ids = [m["id"] for page in pages for m in page]
        self.assertGreater(len(pages), 1, f"{form} sync of about 19 MiB came in one page")
        self.assertEqual(len(ids), len(set(ids)), f"{form} sync repeated messages")
        self.assertEqual(ids, expected_ids, f"{form} sync did not return every message once, in order")
        contents_intact = all(m["content"] == self.CONTENT for page in pages for m in page)
        self.assertTrue(contents_intact, f"{form} sync altered message content")

    async def test_conversation_pages_by_size(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        acks = await self.send_escape_heavy(alice_token, bob)
        bob_session = await self.connect(bob_token)

        pages = await self.sync_all_pages(
            bob_session, {"conv": conv_with(alice), "after": 0},
            lambda last: {"conv": conv_with(alice), "after": last["seq"]})

        self.assert_every_message_once(pages, [a["id"] for a in acks], "conv")
        reply = await bob_session.heartbeat()
        self.assertEqual(reply["cmd"], 0, f"the connection did not stay usable after sync, got {reply!r}")

    async def test_all_conversations_pages_by_size(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        acks = await self.send_escape_heavy(alice_token, bob)
        bob_session = await self.connect(bob_token)

        first_ts = min(a["ts"] for a in acks)
        pages = await self.sync_all_pages(
            bob_session, {"after_ts": first_ts - 1}, lambda last: {"after_ts": last["ts"]})

        # Sync by time orders by ts, then id.
        expected_ids = [a["id"] for a in sorted(acks, key=lambda a: (a["ts"], a["id"]))]
        self.assert_every_message_once(pages, expected_ids, "after_ts")
        reply = await bob_session.heartbeat()
        self.assertEqual(reply["cmd"], 0, f"the connection did not stay usable after sync, got {reply!r}")


class RestartTests(SyncMixin, ServerTestCase):
    async def test_restart_keeps_messages(self):
        (alice, alice_token), (bob, _) = self.friends_pair()
        acks = await self.send_offline_messages(alice_token, bob, 3)

        self.server.restart()

        _, alice_token = self.server.login(alice["username"])
        _, bob_token = self.server.login(bob["username"])
        bob_session = await self.connect(bob_token)
        messages = await self.sync(bob_session, {"conv": conv_with(alice), "after": 0})
        self.assertEqual([m["id"] for m in messages], [a["id"] for a in acks], "ids changed across a restart")
        self.assertEqual([m["seq"] for m in messages], [1, 2, 3], "seqs changed across a restart")
        self.assertEqual([m["content"] for m in messages], ["missed 1", "missed 2", "missed 3"],
                         "content changed across a restart")

        alice_session = await self.connect(alice_token)
        ack = await alice_session.send_message(10, bob["id"], "after the restart")
        self.assertEqual(ack["cmd"], 20, f"a message after the restart got {ack!r}")
        self.assertEqual(ack["seq"], 4, "the sequence restarted instead of continuing after seq 3")
        self.assertNotIn(ack["id"], [a["id"] for a in acks], "a message id was reused after the restart")
