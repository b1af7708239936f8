"""Group membership: creating, joining, adding, leaving and removing, with cmd 52 notices.

The server runs with --max-group-members 3, so a group is full at the owner and two members.
"""

from harness import Server, ServerTestCase, with_cmd

MAX_MEMBERS = 3


class MembershipTestCase(ServerTestCase):
    @classmethod
    def make_server(cls):
        return Server(["--max-group-members", str(MAX_MEMBERS)])

    def group_call(self, method, path, token, body=None):
        """Call a route under /api/groups and return (status, body)."""
        status, reply, _ = self.server.api(method, f"/api/groups{path}", body, token=token)
        return status, reply

    def member_count(self, group, token):
        status, body = self.group_call("GET", f"/{group['id']}", token)
        self.assertEqual(status, 200, f"GET /api/groups/ID returned {status} {body!r}")
        return body["group"]["member_count"]

    async def expect_notice(self, sessions, event, userid, group):
        """Assert that every session in `sessions` (label -> Client) gets cmd 52 for `event`.

        `group` is the GROUP object the notice must carry.
        """
        expected = {"cmd": 52, "group": group, "event": event, "userid": userid}
        for label, session in sessions.items():
            notice = await session.recv_until(lambda f: f.get("cmd") == 52 and f.get("event") == event)
            self.assertEqual(notice, expected, f"the {label}'s cmd 52 for {event!r}")

    async def assert_shut_out(self, group, token, session, case):
        """Assert that a former member can no longer send to, sync, mark, read or list the group."""
        conv = f"g:{group['id']}"
        reply = await session.send_message(11, group["id"], "still here?")
        self.assertEqual(reply.get("code"), "forbidden", f"{case}: a group message got {reply!r}")
        for label, command in (("sync", {"cmd": 30, "conv": conv, "after": 0}),
                               ("read mark", {"cmd": 40, "conv": conv, "seq": 1})):
            error = await session.expect_error(command)
            self.assertEqual(error.get("code"), "forbidden", f"{case}: a {label} got {error!r}")
        for label, path in (("history", f"/api/messages?conv={conv}"), ("details", f"/api/groups/{group['id']}")):
            status, body, _ = self.server.api("GET", path, token=token)
            self.assertEqual(status, 403, f"{case}: GET of the group's {label} returned {status} {body!r}")
            self.assertErrorBody(body, "forbidden")
        status, body = self.group_call("GET", "", token)
        self.assertNotIn(group["id"], [g["id"] for g in body["groups"]], f"{case}: the group is still listed")
        messages, _ = await session.sync({"after_ts": 0})
        self.assertEqual([m for m in messages if m["conv"] == conv], [], f"{case}: sync by ts returns the group")


class CreateTests(MembershipTestCase):
    async def test_create_notifies_listed_members(self):
        people = self.server.register_many(["owner", "first", "second"])
        (owner, owner_token), members = people[0], people[1:]
        for user, token in members:
            self.server.make_friends(owner_token, user["id"], token)
        sessions = {f"member {user['id']}": await self.connect(token) for user, token in members}

        ids = [user["id"] for user, _ in members]
        status, body = self.group_call("POST", "", owner_token, {"name": "notified", "members": ids + ids[:1]})
        self.assertEqual(status, 201, f"creating a group returned {status} {body!r}")
        group = body["group"]
        self.assertEqual(group["member_count"], 3, "a repeated member id was counted twice")
        await self.expect_notice(sessions, "added", 0, group)

        status, body = self.group_call("GET", f"/{group['id']}", owner_token)
        self.assertEqual([(m["user"]["id"], m["role"]) for m in body["members"]],
                         [(owner["id"], "owner")] + [(user_id, "member") for user_id in sorted(ids)],
                         "the member list is not the owner first, then the members by id")

    def test_create_size_limit(self):
        people = self.server.register_many(["owner"] + ["friend"] * MAX_MEMBERS)
        (owner, owner_token), friends = people[0], people[1:]
        for user, token in friends:
            self.server.make_friends(owner_token, user["id"], token)
        ids = [user["id"] for user, _ in friends]

        status, body = self.group_call("POST", "", owner_token, {"name": "too big", "members": ids})
        self.assertEqual(status, 413, f"a group of {MAX_MEMBERS + 1} returned {status} {body!r}")
        self.assertErrorBody(body, "too_large")

        members = ids[:MAX_MEMBERS - 1] + [owner["id"]]
        status, body = self.group_call("POST", "", owner_token, {"name": "just fits", "members": members})
        self.assertEqual(status, 201, f"a full group listing the owner returned {status} {body!r}")
        self.assertEqual(body["group"]["member_count"], MAX_MEMBERS, "the owner listed as a member was counted")

    def test_list_ordered_by_id(self):
        _, token = self.server.register_and_login("lister")
        created = [self.server.create_group(token, name)["id"] for name in ("zulu", "alpha", "mike")]
        status, body = self.group_call("GET", "", token)
        self.assertEqual(status, 200, f"GET /api/groups returned {status} {body!r}")
        self.assertEqual([g["id"] for g in body["groups"]], created, "groups are not ordered by id")

    def test_create_rejections(self):
        _, token = self.server.register_and_login("creator")
        cases = {
            "name missing": {},
            "name empty": {"name": ""},
            "name of 65 bytes": {"name": "n" * 65},
            "name a number": {"name": 5},
            "open a string": {"name": "g", "open": "yes"},
            "members not an array": {"name": "g", "members": 5},
            "a member id 0": {"name": "g", "members": [0]},
            "a member id a string": {"name": "g", "members": ["5"]},
        }
        for label, body in cases.items():
            with self.subTest(label):
                status, reply = self.group_call("POST", "", token, body)
                self.assertEqual(status, 400, f"creating a group with {label} returned {status} {reply!r}")
                self.assertErrorBody(reply, "invalid_argument")
        status, reply = self.group_call("POST", "", token, {"name": "\u00e9" * 32})
        self.assertEqual(status, 201, f"a name of exactly 64 bytes returned {status} {reply!r}")


class JoinTests(MembershipTestCase):
    async def test_join_open_group(self):
        group, (_, owner_token), [(_, member_token)] = self.friend_group(1, open_group=True)
        joiner, joiner_token = self.server.register_and_login("joiner")
        sessions = {"owner": await self.connect(owner_token), "member": await self.connect(member_token),
                    "joiner": await self.connect(joiner_token)}

        status, body = self.group_call("POST", f"/{group['id']}/join", joiner_token)
        self.assertEqual(status, 200, f"joining an open group returned {status} {body!r}")
        joined = body["group"]
        self.assertEqual(joined["member_count"], 3, "member_count did not count the new member")
        self.assertIs(joined["open"], True, "the joined group is not open")
        await self.expect_notice(sessions, "joined", joiner["id"], joined)

        status, body = self.group_call("POST", f"/{group['id']}/join", joiner_token)
        self.assertEqual(status, 200, f"joining a second time returned {status} {body!r}")
        self.assertEqual(body["group"], joined, "joining a second time changed the group")
        await self.assert_quiet(sessions, with_cmd(52), "joining a second time")

        ack = await sessions["joiner"].send_message(11, group["id"], "hello, I joined")
        self.assertEqual(ack["cmd"], 20, f"the new member's group message got {ack!r}")

    def test_join_rejections(self):
        closed, _, _ = self.friend_group(1)
        _, token = self.server.register_and_login("joiner")
        status, body = self.group_call("POST", f"/{closed['id']}/join", token)
        self.assertEqual(status, 403, f"joining a closed group returned {status} {body!r}")
        self.assertErrorBody(body, "forbidden")
        status, body = self.group_call("POST", f"/{closed['id'] + 100000}/join", token)
        self.assertEqual(status, 404, f"joining an unknown group returned {status} {body!r}")
        self.assertErrorBody(body, "not_found")

    def test_details_rejections(self):
        group, _, _ = self.friend_group(1)
        _, token = self.server.register_and_login("outsider")
        for label, group_id, expected, code in (("an unknown group", group["id"] + 100000, 404, "not_found"),
                                                ("a group of others", group["id"], 403, "forbidden")):
            with self.subTest(label):
                status, body = self.group_call("GET", f"/{group_id}", token)
                self.assertEqual(status, expected, f"GET of {label} returned {status} {body!r}")
                self.assertErrorBody(body, code)

    def test_join_full_group(self):
        group, (_, owner_token), _ = self.friend_group(1, open_group=True)
        (_, first_token), (_, second_token) = self.server.register_many(["joiner", "joiner"])
        status, body = self.group_call("POST", f"/{group['id']}/join", first_token)
        self.assertEqual(status, 200, f"taking the last place returned {status} {body!r}")
        status, body = self.group_call("POST", f"/{group['id']}/join", second_token)
        self.assertEqual(status, 409, f"joining a full group returned {status} {body!r}")
        self.assertErrorBody(body, "conflict")
        self.assertEqual(self.member_count(group, owner_token), MAX_MEMBERS, "a rejected join changed member_count")


class AddTests(MembershipTestCase):
    async def test_add_notifies_everyone(self):
        group, (_, owner_token), [(_, member_token)] = self.friend_group(1)
        newcomer, newcomer_token = self.server.register_and_login("newcomer")
        sessions = {"owner": await self.connect(owner_token), "member": await self.connect(member_token),
                    "new member": await self.connect(newcomer_token)}

        status, body = self.group_call("POST", f"/{group['id']}/members", owner_token, {"user_id": newcomer["id"]})
        self.assertEqual(status, 200, f"adding a stranger returned {status} {body!r}")
        await self.expect_notice(sessions, "added", newcomer["id"], body["group"])

        status, again = self.group_call("POST", f"/{group['id']}/members", owner_token, {"user_id": newcomer["id"]})
        self.assertEqual(status, 200, f"adding a member of a full group again returned {status} {again!r}")
        self.assertEqual(again["group"], body["group"], "adding a member again changed the group")
        await self.assert_quiet(sessions, with_cmd(52), "adding a member again")

    def test_add_rejections(self):
        group, (owner, owner_token), _ = self.friend_group(2)
        (outsider, outsider_token), (stranger, _) = self.server.register_many(["outsider", "stranger"])
        cases = {
            "user_id missing": (group["id"], owner_token, {}, 400, "invalid_argument"),
            "user_id a string": (group["id"], owner_token, {"user_id": str(stranger["id"])}, 400, "invalid_argument"),
            "an unknown user": (group["id"], owner_token, {"user_id": stranger["id"] + 100000}, 404, "not_found"),
            "an unknown group": (group["id"] + 100000, owner_token, {"user_id": stranger["id"]}, 404, "not_found"),
            "a caller outside the group": (group["id"], outsider_token, {"user_id": stranger["id"]}, 403, "forbidden"),
            "a full group": (group["id"], owner_token, {"user_id": stranger["id"]}, 409, "conflict"),
        }
        for label, (group_id, token, body, expected, code) in cases.items():
            with self.subTest(label):
                status, reply = self.group_call("POST", f"/{group_id}/members", token, body)
                self.assertEqual(status, expected, f"adding with {label} returned {status} {reply!r}")
                self.assertErrorBody(reply, code)
        self.assertEqual(self.member_count(group, owner_token), MAX_MEMBERS, "a rejected add changed member_count")


class LeaveAndRemoveTests(MembershipTestCase):
    async def test_member_leaves(self):
        group, (_, owner_token), [(leaver, leaver_token), (_, stayer_token)] = self.friend_group(2)
        owner_session = await self.connect(owner_token)
        stayer_session = await self.connect(stayer_token)
        leaver_session = await self.connect(leaver_token)

        status, body = self.group_call("DELETE", f"/{group['id']}/members/{leaver['id']}", leaver_token)
        self.assertEqual(status, 204, f"leaving returned {status} {body!r}")
        expected_group = {**group, "member_count": 2}
        sessions = {"owner": owner_session, "remaining member": stayer_session, "leaver": leaver_session}
        await self.expect_notice(sessions, "left", leaver["id"], expected_group)

        ack = await owner_session.send_message(11, group["id"], "after the leave")
        delivery = await stayer_session.recv_cmd(11)
        self.assertEqual(delivery["id"], ack["id"], "the remaining member missed a message")
        await self.assert_quiet({"leaver": leaver_session}, with_cmd(11), "a message after leaving")
        await self.assert_shut_out(group, leaver_token, leaver_session, "after leaving")

        status, body = self.group_call("DELETE", f"/{group['id']}/members/{leaver['id']}", leaver_token)
        self.assertEqual(status, 403, f"leaving a second time returned {status} {body!r}")
        self.assertErrorBody(body, "forbidden")

    async def test_owner_removes_member(self):
        group, (_, owner_token), [(removed, removed_token), (_, stayer_token)] = self.friend_group(2)
        sessions = {"owner": await self.connect(owner_token), "remaining member": await self.connect(stayer_token),
                    "removed member": await self.connect(removed_token)}

        status, body = self.group_call("DELETE", f"/{group['id']}/members/{removed['id']}", owner_token)
        self.assertEqual(status, 204, f"removing a member returned {status} {body!r}")
        await self.expect_notice(sessions, "removed", removed["id"], {**group, "member_count": 2})
        await self.assert_shut_out(group, removed_token, sessions["removed member"], "after removal")

    def test_owner_cannot_leave(self):
        group, (owner, owner_token), [(_, member_token), _] = self.friend_group(2)
        for label, token in (("the owner", owner_token), ("a member", member_token)):
            with self.subTest(label):
                status, body = self.group_call("DELETE", f"/{group['id']}/members/{owner['id']}", token)
                self.assertEqual(status, 409, f"{label} removing the owner returned {status} {body!r}")
                self.assertErrorBody(body, "conflict")
        self.assertEqual(self.member_count(group, owner_token), 3, "a rejected removal changed member_count")

    def test_remove_rejections(self):
        group, (_, owner_token), [(first, first_token), (second, _)] = self.friend_group(2)
        outsider, outsider_token = self.server.register_and_login("outsider")
        cases = {
            "an unknown group": (group["id"] + 100000, second["id"], owner_token, 404, "not_found"),
            "a target who is not a member": (group["id"], outsider["id"], owner_token, 404, "not_found"),
            "a caller outside the group": (group["id"], second["id"], outsider_token, 403, "forbidden"),
            "a plain member as caller": (group["id"], second["id"], first_token, 403, "forbidden"),
        }
        for label, (group_id, target, token, expected, code) in cases.items():
            with self.subTest(label):
                status, body = self.group_call("DELETE", f"/{group_id}/members/{target}", token)
                self.assertEqual(status, expected, f"removing with {label} returned {status} {body!r}")
                self.assertErrorBody(body, code)
        self.assertEqual(self.member_count(group, owner_token), 3, "a rejected removal changed member_count")
