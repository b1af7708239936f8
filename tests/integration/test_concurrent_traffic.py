"""Many users chat at once across four event loops and four store threads.

The checks are on delivery: every message gets its ack, and the store counts each once. The
test also gives the sanitizer builds (make asan, make tsan) concurrent work to check. There a
report makes parleyd exit with a non-zero code, which the final stop() turns into a failure.
"""

import asyncio
import random
import threading

from harness import Server, ServerTestCase

USERS = 6
SESSIONS_PER_USER = 2
ROUNDS_PER_USER = 150
ACK_TIMEOUT = 30.0


class Session:
    """A chat client that records the acks (cmd 20) it receives, by cid."""

    def __init__(self, client):
        self.client = client
        self.acked = set()
        self.errors = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        while True:
            try:
                frame = await self.client.recv(timeout=ACK_TIMEOUT)
            except Exception:
                return
            if frame.get("cmd") == 20:
                self.acked.add(frame.get("cid"))
            elif frame.get("cmd") == 21 and frame.get("cid"):
                self.errors.append(frame)


class ConcurrentTrafficTests(ServerTestCase):
    @classmethod
    def make_server(cls):
        return Server(["--threads", "4", "--store-threads", "4", "--message-rate", "0"])

    def make_users(self):
        users = [self.server.register_and_login("load") for _ in range(USERS)]
        for i, (_, token) in enumerate(users):
            for other, other_token in users[i + 1:]:
                self.server.make_friends(token, other["id"], other_token)
        owner_token = users[0][1]
        group = self.server.create_group(owner_token, "load", [user["id"] for user, _ in users[1:]])
        return users, group

    async def run_user(self, index, user, token, users, group, sent):
        """Send a random mix of commands and return the user's sessions."""
        rng = random.Random(index)
        sessions = [Session(await self.server.connect(token)) for _ in range(SESSIONS_PER_USER)]
        friends = [other for other, _ in users if other["id"] != user["id"]]
        for round_number in range(ROUNDS_PER_USER):
            session = rng.choice(sessions)
            friend = rng.choice(friends)
            cid = f"{user['id']}-{round_number}"
            action = rng.randrange(7)
            if action == 0:
                await session.client.send({"cmd": 10, "dstid": friend["id"], "content": cid, "cid": cid})
                sent.append((session, cid))
            elif action == 1:
                await session.client.send({"cmd": 11, "dstid": group["id"], "content": cid, "cid": cid})
                sent.append((session, cid))
            elif action == 2:
                await session.client.send({"cmd": 41, "dstid": friend["id"]})
            elif action == 3:
                await session.client.send({"cmd": 40, "conv": f"u:{friend['id']}", "seq": round_number})
            elif action == 4:
                await session.client.send({"cmd": 30, "conv": f"g:{group['id']}", "after": 0})
            elif action == 5:
                await session.client.send({"cmd": 42, "id": rng.randrange(1, 100)})
            else:
                # A short extra session, so that presence changes while messages fan out.
                extra = await self.server.connect(token)
                await extra.close()
            await asyncio.sleep(rng.random() * 0.005)
        return sessions

    def read_api(self, tokens, group, stop):
        """Request API pages until `stop` is set, and return the requests that failed."""
        failures = []
        rng = random.Random(99)
        paths = ("/api/conversations", f"/api/messages?conv=g:{group['id']}", "/api/me",
                 f"/api/groups/{group['id']}")
        while not stop.is_set():
            path = rng.choice(paths)
            status, body, _ = self.server.api("GET", path, token=rng.choice(tokens))
            if status != 200:
                failures.append((path, status, body))
        return failures

    async def test_mixed_traffic_is_acked_and_stored(self):
        users, group = await asyncio.to_thread(self.make_users)
        stop = threading.Event()
        api_failures = []
        reader = threading.Thread(
            target=lambda: api_failures.extend(
                self.read_api([token for _, token in users], group, stop)))
        reader.start()
        sent = []
        try:
            all_sessions = await asyncio.gather(*[
                self.run_user(index, user, token, users, group, sent)
                for index, (user, token) in enumerate(users)])
        finally:
            stop.set()
            reader.join()
        sessions = [session for user_sessions in all_sessions for session in user_sessions]

        deadline = asyncio.get_running_loop().time() + ACK_TIMEOUT
        while any(cid not in session.acked for session, cid in sent):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        missing = [cid for session, cid in sent if cid not in session.acked]
        self.assertEqual(missing, [], f"{len(missing)} of {len(sent)} messages got no ack")
        errors = [frame for session in sessions for frame in session.errors]
        self.assertEqual(errors, [], "messages were rejected")
        self.assertEqual(api_failures, [], "API requests failed during the traffic")

        status, body, _ = self.server.http("GET", "/metrics")
        self.assertEqual(status, 200, f"GET /metrics returned {status}")
        stored = [line for line in body.decode().splitlines()
                  if line.startswith("parley_messages_stored_total ")]
        self.assertEqual(stored, [f"parley_messages_stored_total {len(sent)}"],
                         "the store count differs from the messages sent")

        for session in sessions:
            await session.client.close()
            await session.reader
        # Under a sanitizer build a report makes parleyd exit non-zero, and stop() fails here.
        self.server.stop()


if __name__ == "__main__":
    import unittest

    unittest.main()
