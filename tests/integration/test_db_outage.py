"""The database server stops under load and starts again: parleyd rides it out.

While MariaDB is down, every call that needs the store fails with `unavailable`
(HTTP 503, WebSocket cmd 21) and no message is acked, but the WebSocket sessions
stay open and reply to pings. Once MariaDB is back, sending works again on the
same sessions, and every message that was acked is in history exactly once with
its acked id and seq, with no gaps in the seqs.

Runs only against the throwaway MariaDB of `scripts/mariadb.sh run`, which sets
PARLEY_TEST_MARIADB_DIR, because the test stops and starts that server.
"""

import asyncio
import json
import os
import subprocess
import time
import unittest

import websockets.exceptions

from harness import DB_URL, REPO_ROOT, Server, conv_with
from test_crash_recovery import history

MARIADB_DIR = os.environ.get("PARLEY_TEST_MARIADB_DIR")
MARIADB_SCRIPT = os.path.join(REPO_ROOT, "scripts", "mariadb.sh")
WINDOW = 8  # messages in flight per sender
RECOVERY_TIMEOUT = 30.0  # s; parleyd retries its connections at most 5 s apart


def mariadb(command):
    """Stop or start the test's MariaDB server and wait until that is done."""
    subprocess.run([MARIADB_SCRIPT, command, MARIADB_DIR], check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


class Sender:
    """Sends messages on one session with WINDOW in flight and records every reply."""

    def __init__(self, client, dstid, name):
        self.client = client
        self.dstid = dstid
        self.name = name
        self.number = 0
        self.acked = {}  # cid -> (id, seq)
        self.failed = {}  # cid -> error frame
        self.pending = set()
        self.replied = asyncio.Event()

    def next_cid(self):
        self.number += 1
        return f"{self.name}-{self.number}"

    async def send(self, cid):
        self.pending.add(cid)
        await self.client.send({"cmd": 10, "dstid": self.dstid, "cid": cid, "content": cid})

    def take_reply(self, frame):
        """Record an ack or error frame for one of our cids. Returns False for other frames."""
        cid = frame.get("cid")
        if frame.get("cmd") not in (20, 21) or cid not in self.pending:
            return False
        self.pending.discard(cid)
        if frame["cmd"] == 20:
            self.acked[cid] = (frame["id"], frame["seq"])
            self.failed.pop(cid, None)
        else:
            self.failed[cid] = frame
        self.replied.set()
        return True

    async def read_replies(self):
        async for raw in self.client.ws:
            frame = json.loads(raw)
            if not self.take_reply(frame):
                self.client.skipped.append(frame)

    async def pump(self, stop):
        """Keep WINDOW messages in flight until `stop` is set."""
        while not stop.is_set():
            if len(self.pending) >= WINDOW:
                self.replied.clear()
                try:
                    await asyncio.wait_for(self.replied.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
                continue
            await self.send(self.next_cid())
            await asyncio.sleep(0.005)

    async def drain(self, timeout=20.0):
        """Wait until every message sent has a reply."""
        deadline = time.monotonic() + timeout
        while self.pending:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.pending)} messages of {self.name} got no reply "
                                     f"within {timeout} s")
            await asyncio.sleep(0.05)


@unittest.skipUnless(MARIADB_DIR and DB_URL,
                     "needs the throwaway MariaDB of scripts/mariadb.sh run "
                     "(PARLEY_TEST_MARIADB_DIR and PARLEY_TEST_DB_URL)")
class DatabaseOutageTests(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.server = Server(["--message-rate", "0"])
        self.server.start()
        self.addCleanup(self.server.cleanup)
        # Whatever happens in the test, the server comes back for the tests after it.
        self.addCleanup(mariadb, "start")

    async def wait_until_sent(self, sender, timeout=RECOVERY_TIMEOUT):
        """Send one message after another until one is acked; return its cid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cid = sender.next_cid()
            await sender.send(cid)
            await sender.drain(timeout=10)
            if cid in sender.acked:
                return cid
            await asyncio.sleep(0.2)
        raise AssertionError(f"no message was acked within {timeout} s of MariaDB's restart")

    async def test_outage_fails_calls_then_recovers(self):
        alice, alice_token = self.server.register_and_login("outage_a")
        bob, bob_token = self.server.register_and_login("outage_b")
        self.server.make_friends(alice_token, bob["id"], bob_token)
        alice_session = await self.server.connect(alice_token)
        bob_session = await self.server.connect(bob_token)
        sender = Sender(alice_session, bob["id"], "out")
        reader = asyncio.create_task(sender.read_replies())
        try:
            await self.run_outage(sender, alice, alice_token, bob_token, bob_session)
        finally:
            reader.cancel()
            try:
                await reader
            except (asyncio.CancelledError, websockets.exceptions.ConnectionClosed):
                pass
        self.check_history(sender, alice_token, bob)

    async def run_outage(self, sender, alice, alice_token, bob_token, bob_session):
        # Load before and through the stop.
        stop = asyncio.Event()
        pump = asyncio.create_task(sender.pump(stop))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(mariadb, "stop")
        await asyncio.sleep(0.5)
        stop.set()
        await pump
        await sender.drain()
        self.assertGreater(len(sender.acked), 0, "no message was acked before MariaDB stopped")
        acked_before_outage = dict(sender.acked)

        # MariaDB is down: store calls fail with unavailable, sessions stay up.
        status, body, _ = self.server.api("GET", "/api/friends", token=bob_token)
        self.assertEqual(status, 503, f"GET /api/friends during the outage returned {body!r}")
        self.assertEqual(body["error"]["code"], "unavailable", f"error body {body!r}")
        cid = sender.next_cid()
        await sender.send(cid)
        await sender.drain()
        self.assertIn(cid, sender.failed, f"{cid} was acked while MariaDB was down")
        self.assertEqual(sender.failed[cid].get("code"), "unavailable",
                         f"reply to {cid}: {sender.failed[cid]!r}")
        self.assertEqual(sender.acked, acked_before_outage, "a message was acked during the outage")
        for code in {frame.get("code") for frame in sender.failed.values()}:
            self.assertEqual(code, "unavailable", f"a send failed with {code!r} during the outage")
        await bob_session.send({"cmd": 0})
        await bob_session.recv_cmd(0)  # fails the test unless the pong arrives
        await bob_session.send({"cmd": 30, "conv": conv_with(alice), "after": 0})
        sync_error = await bob_session.recv_cmd(21)
        self.assertEqual(sync_error.get("code"), "unavailable", f"sync reply {sync_error!r}")

        # MariaDB is back: the same sessions send and receive again.
        await asyncio.to_thread(mariadb, "start")
        cid = await self.wait_until_sent(sender)
        delivered = await bob_session.recv_until(
            lambda frame: frame.get("cmd") == 10 and frame.get("cid") == cid, timeout=10)
        self.assertEqual(delivered["content"], cid, f"delivered frame {delivered!r}")
        # Each store connection reconnects at its own next attempt, so some requests may
        # still fail for a few seconds.
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while True:
            status, body, _ = self.server.api("GET", "/api/friends", token=alice_token)
            if status == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        self.assertEqual(status, 200, f"GET /api/friends after the outage returned {body!r}")

        # Retrying every failed cid stores each exactly once.
        for cid in list(sender.failed):
            await sender.send(cid)
        await sender.drain()
        self.assertEqual(sender.failed, {}, f"retries after the outage failed: {sender.failed!r}")

    def check_history(self, sender, alice_token, bob):
        messages = history(self.server, alice_token, conv_with(bob))
        seqs = [m["seq"] for m in messages]
        self.assertEqual(seqs, list(range(1, len(messages) + 1)), "seqs are not 1..n")
        cids = [m.get("cid") for m in messages]
        self.assertEqual(len(cids), len(set(cids)), "a cid is stored twice")
        stored = {m.get("cid"): m for m in messages}
        for cid, (message_id, seq) in sender.acked.items():
            self.assertIn(cid, stored, f"acked message {cid} is missing from history")
            self.assertEqual(stored[cid]["id"], message_id, f"id of {cid} changed")
            self.assertEqual(stored[cid]["seq"], seq, f"seq of {cid} changed")
        self.assertEqual(set(cids), set(sender.acked),
                         "history and the acked messages differ after every cid was retried")


if __name__ == "__main__":
    unittest.main()
