"""Acked messages survive SIGKILL: each is stored once, seqs have no gaps, retries deduplicate.

Several senders keep up to WINDOW messages in flight each (1:1 and group) while the server is
killed at a random moment. After a restart on the same database, every message the client saw
acked must be in history exactly once with the id and seq of its ack, each conversation's seqs
must be 1..n, and resending every cid of the round (acked or not) must neither store nor
deliver anything twice. PARLEY_CRASH_ROUNDS sets how many kill-and-restart rounds run.
"""

import asyncio
import json
import os
import random
import unittest

import websockets.exceptions

from harness import Server, conv_with, unique_name

ROUNDS = int(os.environ.get("PARLEY_CRASH_ROUNDS", "3"))
WINDOW = 16
PAGE = 200


class Stream:
    """One sender's messages to one conversation during the test."""

    def __init__(self, name, token, cmd, dstid, conv):
        self.name = name
        self.token = token
        self.cmd = cmd
        self.dstid = dstid
        self.conv = conv  # as the sender reads it
        self.sent = []  # cids in sending order, over all rounds
        self.acked = {}  # cid -> (id, seq)
        self.errors = []

    def message(self, cid):
        return {"cmd": self.cmd, "dstid": self.dstid, "cid": cid, "content": f"{self.name} {cid}"}


async def pump(server, stream, round_number):
    """Send with WINDOW messages in flight until the connection dies."""
    session = await server.connect(stream.token)
    window = asyncio.Semaphore(WINDOW)
    own = set()

    async def read_replies():
        try:
            async for raw in session.ws:
                frame = json.loads(raw)
                cid = frame.get("cid")
                if cid not in own or frame.get("cmd") not in (20, 21):
                    continue
                if frame["cmd"] == 20:
                    stream.acked[cid] = (frame["id"], frame["seq"])
                else:
                    stream.errors.append(frame)
                window.release()
        finally:
            # Wake the sender if it waits for a free slot, so that it sees the connection died.
            window.release()

    reader = asyncio.create_task(read_replies())
    number = 0
    try:
        while not reader.done():
            await window.acquire()
            cid = f"{stream.name}-r{round_number}-{number}"
            number += 1
            own.add(cid)
            stream.sent.append(cid)
            await session.ws.send(json.dumps(stream.message(cid)))
    except (websockets.exceptions.ConnectionClosed, OSError):
        pass
    finally:
        try:
            await reader
        except (websockets.exceptions.ConnectionClosed, OSError):
            pass


def history(server, token, conv):
    """Return the whole conversation, oldest first, through the paged history API."""
    messages = []
    before = None
    while True:
        path = f"/api/messages?conv={conv}&limit={PAGE}"
        if before is not None:
            path += f"&before={before}"
        status, body, _ = server.api("GET", path, token=token)
        if status != 200:
            raise AssertionError(f"GET {path} returned {status}: {body!r}")
        page = body["messages"]
        messages[:0] = page
        if len(page) < PAGE:
            return messages
        before = page[0]["seq"]


class CrashRecoveryTests(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        # The senders go as fast as acks allow, far above the default per-user message rate.
        self.server = Server(["--message-rate", "0"])
        self.server.start()
        self.addCleanup(self.server.cleanup)

    def make_streams(self):
        server = self.server
        streams = []
        for pair in range(2):
            a, a_token = server.register_and_login(f"crash_a{pair}")
            b, b_token = server.register_and_login(f"crash_b{pair}")
            server.make_friends(a_token, b["id"], b_token)
            streams.append(Stream(f"a{pair}", a_token, 10, b["id"], conv_with(b)))
            # Both directions of one chat share one seq counter, so both sides send.
            streams.append(Stream(f"b{pair}", b_token, 10, a["id"], conv_with(a)))

        owner, owner_token = server.register_and_login("crash_owner")
        members = []
        for index in range(2):
            member, member_token = server.register_and_login(f"crash_m{index}")
            server.make_friends(owner_token, member["id"], member_token)
            members.append((member, member_token))
        group = server.create_group(owner_token, unique_name("crashgroup"),
                                    [m["id"] for m, _ in members])
        conv = f"g:{group['id']}"
        streams.append(Stream("owner", owner_token, 11, group["id"], conv))
        for index, (_, token) in enumerate(members):
            streams.append(Stream(f"m{index}", token, 11, group["id"], conv))
        return streams

    def check_history(self, streams, label):
        """Compare each conversation's history with what the clients saw acked."""
        for stream in streams:
            messages = history(self.server, stream.token, stream.conv)
            seqs = [m["seq"] for m in messages]
            self.assertEqual(seqs, list(range(1, len(messages) + 1)),
                             f"{label}: seqs of {stream.conv} as {stream.name} reads it are not 1..n")
            cids = [(m["userid"], m.get("cid")) for m in messages]
            self.assertEqual(len(cids), len(set(cids)),
                             f"{label}: a (sender, cid) pair is stored twice in {stream.conv}")
            stored = {m.get("cid"): m for m in messages if m.get("cid") in stream.acked}
            for cid, (message_id, seq) in stream.acked.items():
                self.assertIn(cid, stored, f"{label}: acked message {cid} is missing from history")
                self.assertEqual(stored[cid]["id"], message_id, f"{label}: id of {cid} changed")
                self.assertEqual(stored[cid]["seq"], seq, f"{label}: seq of {cid} changed")

    async def retry_all(self, stream):
        """Resend every cid of the stream and check each repeat of an acked cid is acked the same."""
        session = await self.server.connect(stream.token)
        try:
            for cid in stream.sent:
                await session.send(stream.message(cid))
            pending = set(stream.sent)
            while pending:
                reply = await session.recv_until(
                    lambda f: f.get("cmd") in (20, 21) and f.get("cid") in pending, timeout=20)
                cid = reply["cid"]
                pending.discard(cid)
                self.assertEqual(reply["cmd"], 20, f"retry of {cid} got {reply!r}")
                if cid in stream.acked:
                    self.assertEqual((reply["id"], reply["seq"]), stream.acked[cid],
                                     f"retry of acked {cid} returned a different id or seq")
                else:
                    stream.acked[cid] = (reply["id"], reply["seq"])
        finally:
            await session.close()

    async def test_kill_under_load_keeps_acked_messages(self):
        streams = self.make_streams()
        for round_number in range(ROUNDS):
            tasks = [asyncio.create_task(pump(self.server, s, round_number)) for s in streams]
            await asyncio.sleep(random.uniform(0.5, 1.5))
            self.server.kill()
            await asyncio.wait_for(asyncio.gather(*tasks), 20)
            acked = sum(len(s.acked) for s in streams)
            self.assertGreater(acked, 0, f"round {round_number}: no message was acked before the kill")
            for stream in streams:
                self.assertEqual(stream.errors, [], f"round {round_number}: {stream.name} got errors")

            self.server.start()
            self.check_history(streams, f"round {round_number} after restart")

        for stream in streams:
            await self.retry_all(stream)
        self.check_history(streams, "after retrying every cid")
        for stream in streams:
            messages = history(self.server, stream.token, stream.conv)
            own = [m for m in messages if m.get("cid") in set(stream.sent)]
            self.assertEqual(len(own), len(stream.sent),
                             f"{stream.name}: history holds {len(own)} of its {len(stream.sent)} cids")


if __name__ == "__main__":
    unittest.main()
