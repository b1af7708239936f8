"""Friend requests accepted and declined, removing friends, and blocks."""

from harness import ServerTestCase, conv_with


class FriendTestCase(ServerTestCase):
    def send_request(self, token, user_id):
        """POST a friend request to `user_id` and return (status, body)."""
        status, body, _ = self.server.api("POST", "/api/friends/requests", {"user_id": user_id}, token=token)
        return status, body

    def answer(self, token, request_id, verb):
        """Accept or decline (`verb`) a friend request and return (status, body)."""
        status, body, _ = self.server.api("POST", f"/api/friends/requests/{request_id}/{verb}", token=token)
        return status, body

    def friend_ids(self, token):
        status, body, _ = self.server.api("GET", "/api/friends", token=token)
        self.assertEqual(status, 200, f"GET /api/friends returned {status} {body!r}")
        return [friend["id"] for friend in body["friends"]]

    def pending_ids(self, token):
        """Return (incoming ids, outgoing ids) of the caller's pending requests."""
        status, body, _ = self.server.api("GET", "/api/friends/requests", token=token)
        self.assertEqual(status, 200, f"GET /api/friends/requests returned {status} {body!r}")
        return [r["id"] for r in body["incoming"]], [r["id"] for r in body["outgoing"]]

    def history_ids(self, token, partner):
        status, body, _ = self.server.api("GET", f"/api/messages?conv={conv_with(partner)}", token=token)
        self.assertEqual(status, 200, f"GET /api/messages returned {status} {body!r}")
        return [m["id"] for m in body["messages"]]

    async def assert_send_forbidden(self, session, dstid, case):
        reply = await session.send_message(10, dstid, f"attempt: {case}")
        self.assertEqual(reply["cmd"], 21, f"{case}: a direct message got {reply!r}, expected cmd 21")
        self.assertEqual(reply.get("code"), "forbidden", f"{case}: the error code is not 'forbidden'")


class RequestTests(FriendTestCase):
    async def test_request_carries_both_users(self):
        (alice, alice_token), (bob, bob_token) = self.server.register_many(["alice", "bob"])
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)

        status, body = self.send_request(alice_token, bob["id"])
        self.assertEqual(status, 201, f"friend request returned {status} {body!r}")
        self.assertEqual(body["request"].get("from_user"), alice, "the response's from_user is not the sender's USER")
        self.assertEqual(body["request"].get("to_user"), bob, "the response's to_user is not the recipient's USER")

        status, listed, _ = self.server.api("GET", "/api/friends/requests", token=bob_token)
        self.assertEqual(status, 200, f"GET /api/friends/requests returned {status} {listed!r}")
        self.assertEqual(listed["incoming"], [body["request"]], "the incoming list differs from the created REQ")
        status, listed, _ = self.server.api("GET", "/api/friends/requests", token=alice_token)
        self.assertEqual(listed["outgoing"], [body["request"]], "the outgoing list differs from the created REQ")

        for label, session in (("sender", alice_session), ("recipient", bob_session)):
            notice = await session.recv_cmd(51)
            self.assertEqual(notice.get("request"), body["request"], f"the {label}'s cmd 51 differs from the REQ")

    async def test_decline(self):
        (alice, alice_token), (bob, bob_token) = self.server.register_many(["alice", "bob"])
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        status, body = self.send_request(alice_token, bob["id"])
        self.assertEqual(status, 201, f"friend request returned {status} {body!r}")
        request_id = body["request"]["id"]

        status, body = self.answer(bob_token, request_id, "decline")
        self.assertEqual(status, 200, f"decline returned {status} {body!r}")
        declined = body["request"]
        self.assertEqual(declined["id"], request_id, "decline returned another request")
        self.assertEqual(declined["state"], "declined", "a declined request is not 'declined'")
        self.assertEqual(declined["from"], alice["id"], "a declined request changed its 'from'")
        self.assertEqual(declined["to"], bob["id"], "a declined request changed its 'to'")

        for label, session in (("sender", alice_session), ("recipient", bob_session)):
            notice = await session.recv_until(
                lambda f: f.get("cmd") == 51 and f["request"].get("state") == "declined")
            self.assertEqual(notice["request"]["id"], request_id, f"the {label}'s cmd 51 names another request")

        self.assertEqual(self.friend_ids(alice_token), [], "the sender has a friend after a decline")
        self.assertEqual(self.friend_ids(bob_token), [], "the recipient has a friend after a decline")
        self.assertEqual(self.pending_ids(bob_token), ([], []), "a declined request is still pending for the recipient")
        self.assertEqual(self.pending_ids(alice_token), ([], []), "a declined request is still pending for the sender")
        await self.assert_send_forbidden(alice_session, bob["id"], "after a decline")

        for verb in ("decline", "accept"):
            status, body = self.answer(bob_token, request_id, verb)
            self.assertEqual(status, 409, f"{verb} of a declined request returned {status} {body!r}")
            self.assertErrorBody(body, "conflict")

        status, body = self.send_request(alice_token, bob["id"])
        self.assertEqual(status, 201, f"a new request after a decline returned {status} {body!r}")
        self.assertNotEqual(body["request"]["id"], request_id, "a new request after a decline reused the old one")
        self.assertEqual(body["request"]["state"], "pending", "a new request after a decline is not pending")

    async def test_accept_notifies_both(self):
        (alice, alice_token), (bob, bob_token) = self.server.register_many(["alice", "bob"])
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        _, body = self.send_request(alice_token, bob["id"])
        status, body = self.answer(bob_token, body["request"]["id"], "accept")
        self.assertEqual(status, 200, f"accept returned {status} {body!r}")
        accepted = body["request"]
        self.assertEqual(accepted["state"], "accepted", "an accepted request is not 'accepted'")
        self.assertEqual(accepted.get("from_user"), alice, "the accepted request's from_user")
        for label, session in (("sender", alice_session), ("recipient", bob_session)):
            notice = await session.recv_until(
                lambda f: f.get("cmd") == 51 and f["request"].get("state") == "accepted")
            self.assertEqual(notice["request"], accepted, f"the {label}'s cmd 51 differs from the accepted REQ")

    def test_list_orders(self):
        people = self.server.register_many(["zed", "amy", "max", "owner"])
        owner_token = people[-1][1]
        others = people[:-1]
        request_ids = [self.send_request(owner_token, user["id"])[1]["request"]["id"] for user, _ in others]
        status, body, _ = self.server.api("GET", "/api/friends/requests", token=owner_token)
        self.assertEqual(status, 200, f"GET /api/friends/requests returned {status} {body!r}")
        self.assertEqual([r["id"] for r in body["outgoing"]], request_ids, "pending requests are not oldest first")

        for (user, token), request_id in zip(others, request_ids):
            status, body = self.answer(token, request_id, "accept")
            self.assertEqual(status, 200, f"accept returned {status} {body!r}")
        status, body, _ = self.server.api("GET", "/api/friends", token=owner_token)
        self.assertEqual(status, 200, f"GET /api/friends returned {status} {body!r}")
        names = [friend["username"] for friend in body["friends"]]
        self.assertEqual(names, sorted(user["username"] for user, _ in others), "friends are not ordered by username")
        self.assertEqual({friend["online"] for friend in body["friends"]}, {False}, "friends without sessions are online")

    def test_accept_twice_conflicts(self):
        (alice, alice_token), (bob, bob_token) = self.server.register_many(["alice", "bob"])
        _, body = self.send_request(alice_token, bob["id"])
        request_id = body["request"]["id"]
        status, body = self.answer(bob_token, request_id, "accept")
        self.assertEqual(status, 200, f"accept returned {status} {body!r}")
        for verb in ("accept", "decline"):
            status, body = self.answer(bob_token, request_id, verb)
            self.assertEqual(status, 409, f"{verb} of an accepted request returned {status} {body!r}")
            self.assertErrorBody(body, "conflict")
        self.assertEqual(self.friend_ids(alice_token), [bob["id"]], "a late decline ended the friendship")

    def test_answer_by_others_not_found(self):
        (alice, alice_token), (bob, _), (_, carol_token) = self.server.register_many(["alice", "bob", "carol"])
        _, body = self.send_request(alice_token, bob["id"])
        request_id = body["request"]["id"]
        cases = {
            "a third user": (carol_token, request_id),
            "the sender": (alice_token, request_id),
            "an unknown request": (carol_token, request_id + 100000),
        }
        for label, (token, target) in cases.items():
            for verb in ("accept", "decline"):
                with self.subTest(label, verb=verb):
                    status, body = self.answer(token, target, verb)
                    self.assertEqual(status, 404, f"{verb} by {label} returned {status} {body!r}")
                    self.assertErrorBody(body, "not_found")
        self.assertEqual(self.pending_ids(alice_token), ([], [request_id]), "a rejected answer changed the request")

    def test_request_rejections(self):
        me, token = self.server.register_and_login("asker")
        cases = {
            "user_id missing": ({}, 400, "invalid_argument"),
            "user_id a string": ({"user_id": str(me["id"] + 1)}, 400, "invalid_argument"),
            "user_id 0": ({"user_id": 0}, 400, "invalid_argument"),
            "user_id negative": ({"user_id": -3}, 400, "invalid_argument"),
            "the caller's own id": ({"user_id": me["id"]}, 400, "invalid_argument"),
            "an unknown user": ({"user_id": me["id"] + 100000}, 404, "not_found"),
        }
        for label, (body, expected_status, code) in cases.items():
            with self.subTest(label):
                status, reply, _ = self.server.api("POST", "/api/friends/requests", body, token=token)
                self.assertEqual(status, expected_status, f"a request with {label} returned {status} {reply!r}")
                self.assertErrorBody(reply, code)

    def test_repeated_request_unchanged(self):
        (_, alice_token), (bob, _) = self.server.register_many(["alice", "bob"])
        _, first = self.send_request(alice_token, bob["id"])
        status, second = self.send_request(alice_token, bob["id"])
        self.assertEqual(status, 201, f"a repeated request returned {status} {second!r}")
        self.assertEqual(second["request"], first["request"], "a repeated request is not the same pending REQ")
        self.assertEqual(self.pending_ids(alice_token), ([], [first["request"]["id"]]),
                         "a repeated request created a second pending request")

    def test_opposite_request_accepts(self):
        (alice, alice_token), (bob, bob_token) = self.server.register_many(["alice", "bob"])
        _, first = self.send_request(alice_token, bob["id"])
        status, body = self.send_request(bob_token, alice["id"])
        self.assertEqual(status, 201, f"the opposite request returned {status} {body!r}")
        answered = body["request"]
        self.assertEqual(answered["id"], first["request"]["id"], "the opposite request is not the pending one")
        self.assertEqual(answered["state"], "accepted", "the pending request was not accepted")
        self.assertEqual((answered["from"], answered["to"]), (alice["id"], bob["id"]),
                         "the accepted request does not keep from = the first sender and to = the caller")

    def test_request_between_friends(self):
        (alice, _), (bob, bob_token) = self.friends_pair()
        status, body = self.send_request(bob_token, alice["id"])
        self.assertEqual(status, 201, f"a request between friends returned {status} {body!r}")
        self.assertEqual(body["request"]["state"], "accepted", "a request between friends is not the accepted one")
        self.assertEqual(body["request"]["from"], alice["id"], "a request between friends is not the original")
        self.assertEqual(self.pending_ids(bob_token), ([], []), "a request between friends left a pending request")


class RemoveFriendTests(FriendTestCase):
    async def test_remove_ends_both_sides(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        ack = await alice_session.send_message(10, bob["id"], "before we part")
        self.assertEqual(ack["cmd"], 20, f"setup message got {ack!r}")

        status, body, _ = self.server.api("DELETE", f"/api/friends/{bob['id']}", token=alice_token)
        self.assertEqual(status, 204, f"removing a friend returned {status} {body!r}")
        for label, session, other in (("remover", alice_session, bob), ("removed", bob_session, alice)):
            notice = await session.recv_until(lambda f: f.get("cmd") == 51 and f.get("event") == "removed")
            self.assertEqual(notice.get("userid"), other["id"], f"the {label}'s cmd 51 names another user")

        self.assertEqual(self.friend_ids(alice_token), [], "the remover still lists the friend")
        self.assertEqual(self.friend_ids(bob_token), [], "the removed friend still lists the remover")
        await self.assert_send_forbidden(alice_session, bob["id"], "remover after unfriending")
        repeat = await alice_session.send_message(10, bob["id"], "before we part", cid=ack["cid"])
        self.assertEqual(repeat.get("code"), "forbidden", "a repeated cid after unfriending got the old ack")
        await self.assert_send_forbidden(bob_session, alice["id"], "removed friend after unfriending")
        self.assertEqual(self.history_ids(alice_token, bob), [ack["id"]], "unfriending changed the remover's history")
        self.assertEqual(self.history_ids(bob_token, alice), [ack["id"]], "unfriending changed the other history")

        status, body, _ = self.server.api("DELETE", f"/api/friends/{alice['id']}", token=bob_token)
        self.assertEqual(status, 404, f"removing a friend a second time returned {status} {body!r}")
        self.assertErrorBody(body, "not_found")

    def test_remove_stranger_not_found(self):
        (_, token), (stranger, _) = self.server.register_many(["alice", "stranger"])
        for label, user_id in (("a stranger", stranger["id"]), ("an unknown user", stranger["id"] + 100000)):
            with self.subTest(label):
                status, body, _ = self.server.api("DELETE", f"/api/friends/{user_id}", token=token)
                self.assertEqual(status, 404, f"removing {label} returned {status} {body!r}")
                self.assertErrorBody(body, "not_found")


class BlockTests(FriendTestCase):
    def block(self, token, user_id, method="POST"):
        status, body, _ = self.server.api(method, f"/api/blocks/{user_id}", token=token)
        return status, body

    async def test_block_stops_direct_chat(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        alice_session = await self.connect(alice_token)
        bob_session = await self.connect(bob_token)
        ack = await bob_session.send_message(10, alice["id"], "before the block")
        self.assertEqual(ack["seq"], 1, f"setup message got {ack!r}")

        for attempt in ("first", "second"):
            status, body = self.block(alice_token, bob["id"])
            self.assertEqual(status, 204, f"the {attempt} block returned {status} {body!r}")

        await self.assert_send_forbidden(alice_session, bob["id"], "blocker to blocked")
        await self.assert_send_forbidden(bob_session, alice["id"], "blocked to blocker")
        for label, session, target in (("blocker", alice_session, bob), ("blocked", bob_session, alice)):
            error = await session.expect_error({"cmd": 41, "dstid": target["id"]})
            self.assertEqual(error.get("code"), "forbidden", f"typing by the {label} is not 'forbidden'")
        self.assertEqual(self.friend_ids(alice_token), [bob["id"]], "a block ended the blocker's friendship")
        self.assertEqual(self.friend_ids(bob_token), [alice["id"]], "a block ended the blocked user's friendship")
        self.assertEqual(self.history_ids(alice_token, bob), [ack["id"]], "a block hid the existing history")

        status, body = self.block(alice_token, bob["id"], "DELETE")
        self.assertEqual(status, 204, f"unblocking returned {status} {body!r}")
        for label, session, target, seq in (("blocker", alice_session, bob, 2), ("blocked", bob_session, alice, 3)):
            ack = await session.send_message(10, target["id"], f"after the unblock from the {label}")
            self.assertEqual(ack["cmd"], 20, f"the {label}'s message after unblocking got {ack!r}")
            self.assertEqual(ack["seq"], seq, f"the {label}'s message after unblocking has another seq")

    def test_blocked_user_cannot_reach_blocker(self):
        (alice, alice_token), (bob, bob_token) = self.friends_pair()
        status, body = self.block(alice_token, bob["id"])
        self.assertEqual(status, 204, f"block returned {status} {body!r}")
        bob_group = self.server.create_group(bob_token, "bob's group")

        cases = {
            "a group listing the blocker": ("POST", "/api/groups", {"name": "with alice", "members": [alice["id"]]}),
            "adding the blocker to a group": ("POST", f"/api/groups/{bob_group['id']}/members",
                                              {"user_id": alice["id"]}),
        }
        for label, (method, path, request) in cases.items():
            with self.subTest(label):
                status, body, _ = self.server.api(method, path, request, token=bob_token)
                self.assertEqual(status, 403, f"{label} by the blocked user returned {status} {body!r}")
                self.assertErrorBody(body, "forbidden")

        status, body, _ = self.server.api("DELETE", f"/api/friends/{alice['id']}", token=bob_token)
        self.assertEqual(status, 204, f"unfriending returned {status} {body!r}")
        status, body = self.send_request(bob_token, alice["id"])
        self.assertEqual(status, 403, f"a friend request by the blocked user returned {status} {body!r}")
        self.assertErrorBody(body, "forbidden")
        self.assertEqual(self.pending_ids(alice_token), ([], []), "the rejected request reached the blocker")

        status, body = self.send_request(alice_token, bob["id"])
        self.assertEqual(status, 201, f"a friend request by the blocker returned {status} {body!r}")

    async def test_block_keeps_group_chat(self):
        group, (owner, owner_token), [(member, member_token)] = self.friend_group(1)
        status, body = self.block(owner_token, member["id"])
        self.assertEqual(status, 204, f"block returned {status} {body!r}")
        owner_session = await self.connect(owner_token)
        member_session = await self.connect(member_token)

        for label, sender, receiver in (("blocked", member_session, owner_session),
                                        ("blocker", owner_session, member_session)):
            ack = await sender.send_message(11, group["id"], f"group message from the {label}")
            self.assertEqual(ack["cmd"], 20, f"a group message from the {label} got {ack!r}")
            delivery = await receiver.recv_cmd(11)
            self.assertEqual(delivery["id"], ack["id"], f"a group message from the {label} was not delivered")

    def test_block_rejections(self):
        (me, token), (other, _) = self.server.register_many(["blocker", "other"])
        cases = {
            "the caller": ("POST", me["id"], 400, "invalid_argument"),
            "an unknown user": ("POST", other["id"] + 100000, 404, "not_found"),
        }
        for label, (method, user_id, expected, code) in cases.items():
            with self.subTest(label):
                status, body = self.block(token, user_id, method)
                self.assertEqual(status, expected, f"blocking {label} returned {status} {body!r}")
                self.assertErrorBody(body, code)
        for label, user_id in (("a user never blocked", other["id"]), ("an unknown user", other["id"] + 100000)):
            with self.subTest(label):
                status, body = self.block(token, user_id, "DELETE")
                self.assertEqual(status, 204, f"unblocking {label} returned {status} {body!r}")
