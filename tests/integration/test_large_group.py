"""A group of 1,000 members: live fan-out to the connected ones, sync for the others.

Registration and login each hash a password with scrypt. Server.register_many took about 300 ms
per user for 40 users on a 2-core machine at load average 12, so registering 1,000 users through
the API would take about five minutes there. The test therefore registers the
owner through the API and writes the other 999 users straight into the SQLite file with a copy
of the owner's password hash, so each of them can log in with the owner's password.
Memberships, logins, messages and sync all go through the API and the chat WebSocket.
"""

import asyncio
import concurrent.futures
import sqlite3
import time
import uuid

from harness import PASSWORD, ServerTestCase

GROUP_SIZE = 1000
CONNECTED_MEMBERS = 50
SENDERS = 3
MESSAGES_PER_SENDER = 30
OFFLINE_CHECKED = 10
TOTAL_MESSAGES = SENDERS * MESSAGES_PER_SENDER


class LargeGroupTests(ServerTestCase):
    def seed_users(self, template_id, count):
        """Insert `count` users sharing the password hash of user `template_id` and return their usernames."""
        if not self.server.db_url.startswith("sqlite:"):
            self.skipTest("the test writes users into the SQLite file directly")
        prefix = f"big{uuid.uuid4().hex[:6]}_"
        names = [f"{prefix}{number:04d}" for number in range(count)]
        with sqlite3.connect(self.server.db_path, timeout=10) as db:
            (password_hash,) = db.execute("SELECT password_hash FROM users WHERE id = ?", (template_id,)).fetchone()
            now_ms = int(time.time() * 1000)
            db.executemany("INSERT INTO users (username, password_hash, nickname, created) VALUES (?, ?, ?, ?)",
                           [(name, password_hash, name, now_ms) for name in names])
        db.close()
        return names

    def login_many(self, names):
        """Log each user in, on several threads, and return [(user, token)…] in order."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda name: self.server.login(name, PASSWORD), names))

    def add_members(self, group, owner_token, user_ids):
        def add(user_id):
            status, body, _ = self.server.api("POST", f"/api/groups/{group['id']}/members", {"user_id": user_id},
                                              token=owner_token)
            return status, body

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(add, user_ids))
        failures = [(user_id, result) for user_id, result in zip(user_ids, results) if result[0] != 200]
        self.assertEqual(failures, [], "adding members failed")

    async def send_all(self, session, group, label):
        for number in range(1, MESSAGES_PER_SENDER + 1):
            await session.send({"cmd": 11, "dstid": group["id"], "cid": f"{label}-{number}",
                                "content": f"{label} {number}"})

    async def test_fan_out_and_sync(self):
        owner, owner_token = self.server.register_and_login("bigowner")
        names = self.seed_users(owner["id"], GROUP_SIZE - 1)
        group = self.server.create_group(owner_token, "thousand")
        with sqlite3.connect(self.server.db_path) as db:
            placeholders = ",".join("?" * len(names))
            ids = {name: user_id for user_id, name in
                   db.execute(f"SELECT id, username FROM users WHERE username IN ({placeholders})", names)}
        db.close()
        self.add_members(group, owner_token, [ids[name] for name in names])
        status, body, _ = self.server.api("GET", f"/api/groups/{group['id']}", token=owner_token)
        self.assertEqual(body["group"]["member_count"], GROUP_SIZE, "member_count after adding every member")

        connected = self.login_many(names[:CONNECTED_MEMBERS])
        sessions = list(await asyncio.gather(*(self.connect(token) for _, token in connected)))
        senders = sessions[:SENDERS]
        labels = [f"sender{index}" for index in range(SENDERS)]

        readers = [asyncio.create_task(session.recv_frames(TOTAL_MESSAGES, (11, 20, 21), timeout=30))
                   for session in sessions]
        await asyncio.gather(*(self.send_all(session, group, label) for session, label in zip(senders, labels)))
        views = await asyncio.gather(*readers)

        seq_to_id = {}
        for index, frames in enumerate(views):
            errors = [frame for frame in frames if frame["cmd"] == 21]
            self.assertEqual(errors, [], f"connected member {index} got errors")
            deliveries = [frame for frame in frames if frame["cmd"] == 11]
            delivered_seqs = [frame["seq"] for frame in deliveries]
            self.assertEqual(delivered_seqs, sorted(delivered_seqs), f"member {index} got messages out of seq order")
            self.assertEqual(sorted(frame["seq"] for frame in frames), list(range(1, TOTAL_MESSAGES + 1)),
                             f"member {index} saw seqs with gaps or repeats")
            if index >= SENDERS:
                self.assertEqual(len(deliveries), TOTAL_MESSAGES, f"member {index} got acks it never asked for")
            for frame in frames:
                self.assertEqual(seq_to_id.setdefault(frame["seq"], frame["id"]), frame["id"],
                                 f"member {index} sees another message at seq {frame['seq']}")
            contents = [frame["content"] for frame in deliveries]
            for label in labels:
                own = [content for content in contents if content.startswith(label + " ")]
                self.assertEqual(own, sorted(own, key=lambda content: int(content.split()[1])),
                                 f"member {index} got the messages of {label} out of order")

        offline = self.login_many(names[-OFFLINE_CHECKED:])
        for index, (_, token) in enumerate(offline):
            session = await self.connect(token)
            messages, more = await session.sync({"conv": f"g:{group['id']}", "after": 0}, timeout=30)
            self.assertIs(more, False, f"offline member {index}: sync of {TOTAL_MESSAGES} messages says more")
            self.assertEqual([(m["seq"], m["id"]) for m in messages], sorted(seq_to_id.items()),
                             f"offline member {index} synced other messages than were delivered live")
            await session.close()
        self.assertEqual(self.unread_counts(offline[0][1]), {f"g:{group['id']}": TOTAL_MESSAGES},
                         "an offline member's unread count")
