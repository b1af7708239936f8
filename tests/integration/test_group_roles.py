"""Group roles: the owner promotes and demotes admins, admins manage members, cmd 52 tells all."""

from harness import ServerTestCase, unique_name


class GroupRoleTests(ServerTestCase):
    def make_group(self):
        """Create a group of an owner and two friends; return (group, owner, first, second)."""
        owner = self.server.register_and_login("rowner")
        first = self.server.register_and_login("rfirst")
        second = self.server.register_and_login("rsecond")
        for user, token in (first, second):
            self.server.make_friends(owner[1], user["id"], token)
        group = self.server.create_group(owner[1], unique_name("roles"),
                                         [first[0]["id"], second[0]["id"]])
        return group, owner, first, second

    def role_of(self, group, token, user_id):
        status, body, _ = self.server.api("GET", f"/api/groups/{group['id']}", token=token)
        self.assertEqual(status, 200, f"GET group returned {status} {body!r}")
        roles = {m["user"]["id"]: m["role"] for m in body["members"]}
        return roles.get(user_id)

    def set_role(self, group, token, user_id, role):
        return self.server.api("PUT", f"/api/groups/{group['id']}/members/{user_id}",
                               {"role": role}, token=token)

    async def test_promotion_notifies_members(self):
        group, owner, first, second = self.make_group()
        watcher = await self.connect(second[1])
        status, body, _ = self.set_role(group, owner[1], first[0]["id"], "admin")
        self.assertEqual(status, 200, f"promotion returned {status} {body!r}")
        self.assertEqual(self.role_of(group, owner[1], first[0]["id"]), "admin")
        notice = await watcher.recv_until(lambda f: f.get("cmd") == 52 and f.get("event") == "promoted")
        self.assertEqual(notice["userid"], first[0]["id"], f"cmd 52 names the wrong user: {notice!r}")
        self.assertEqual(notice["group"]["id"], group["id"], f"cmd 52 names the wrong group: {notice!r}")

    def test_admin_adds_and_removes_members(self):
        group, owner, first, second = self.make_group()
        outsider, _ = self.server.register_and_login("routsider")
        status, _, _ = self.server.api("POST", f"/api/groups/{group['id']}/members",
                                       {"user_id": outsider["id"]}, token=first[1])
        self.assertEqual(status, 403, "a plain member added someone")

        self.assertEqual(self.set_role(group, owner[1], first[0]["id"], "admin")[0], 200)
        status, body, _ = self.server.api("POST", f"/api/groups/{group['id']}/members",
                                          {"user_id": outsider["id"]}, token=first[1])
        self.assertEqual(status, 200, f"an admin could not add a member: {status} {body!r}")
        status, body, _ = self.server.api(
            "DELETE", f"/api/groups/{group['id']}/members/{second[0]['id']}", token=first[1])
        self.assertEqual(status, 204, f"an admin could not remove a member: {status} {body!r}")

    def test_admin_cannot_remove_admin(self):
        group, owner, first, second = self.make_group()
        self.assertEqual(self.set_role(group, owner[1], first[0]["id"], "admin")[0], 200)
        self.assertEqual(self.set_role(group, owner[1], second[0]["id"], "admin")[0], 200)
        status, _, _ = self.server.api(
            "DELETE", f"/api/groups/{group['id']}/members/{second[0]['id']}", token=first[1])
        self.assertEqual(status, 403, "an admin removed another admin")

    def test_demotion_takes_rights_away(self):
        group, owner, first, second = self.make_group()
        self.assertEqual(self.set_role(group, owner[1], first[0]["id"], "admin")[0], 200)
        self.assertEqual(self.set_role(group, owner[1], first[0]["id"], "member")[0], 200)
        self.assertEqual(self.role_of(group, owner[1], first[0]["id"]), "member")
        status, _, _ = self.server.api(
            "DELETE", f"/api/groups/{group['id']}/members/{second[0]['id']}", token=first[1])
        self.assertEqual(status, 403, "a demoted admin still removed a member")

    def test_only_owner_changes_roles(self):
        group, owner, first, second = self.make_group()
        self.assertEqual(self.set_role(group, owner[1], first[0]["id"], "admin")[0], 200)
        status, body, _ = self.set_role(group, first[1], second[0]["id"], "admin")
        self.assertEqual(status, 403, f"an admin changed a role: {status} {body!r}")
        self.assertErrorBody(body, "forbidden")

    def test_role_change_rejections(self):
        group, owner, first, _ = self.make_group()
        status, body, _ = self.set_role(group, owner[1], first[0]["id"], "owner")
        self.assertEqual(status, 400, f"role 'owner' was accepted: {status} {body!r}")
        status, body, _ = self.set_role(group, owner[1], owner[0]["id"], "member")
        self.assertEqual(status, 409, f"the owner demoted itself: {status} {body!r}")
        stranger, _ = self.server.register_and_login("rstranger")
        status, body, _ = self.set_role(group, owner[1], stranger["id"], "admin")
        self.assertEqual(status, 404, f"a non-member was promoted: {status} {body!r}")
