"""Accounts over HTTP: registration, login, logout, /api/me and user search."""

import uuid

import websockets.exceptions

from harness import PASSWORD, ServerTestCase, unique_name


class AccountTests(ServerTestCase):
    def test_register_returns_user(self):
        name = unique_name("reg")
        status, body = self.server.register(name, nickname="Reg Nick")
        self.assertEqual(status, 201, f"POST /api/register returned {status} {body!r}")
        self.assertIn("user", body, f"register body {body!r} lacks 'user'")
        user = body["user"]
        self.assertUserShape(user)
        self.assertEqual(user["username"], name, "registered username differs from the requested one")
        self.assertEqual(user["nickname"], "Reg Nick", "registered nickname differs from the requested one")

    def test_register_duplicate_conflicts(self):
        name = unique_name("dup")
        status, body = self.server.register(name)
        self.assertEqual(status, 201, f"first registration returned {status} {body!r}")
        status, body = self.server.register(name, password="another-password")
        self.assertEqual(status, 409, f"second registration of {name!r} returned {status} {body!r}")
        self.assertErrorBody(body, "conflict")

    def test_register_invalid_username(self):
        suffix = uuid.uuid4().hex
        cases = {
            "empty": "",
            "two characters": "ab",
            "space": "bad name" + suffix[:4],
            "slash": "bad/" + suffix[:4],
            "non-ASCII letter": "caf\u00e9" + suffix[:4],
            "33 characters": ("u" + suffix)[:33].ljust(33, "x"),
        }
        for label, name in cases.items():
            with self.subTest(label):
                status, body = self.server.register(name)
                self.assertEqual(status, 400, f"username {name!r} ({label}) returned {status} {body!r}")
                self.assertErrorBody(body, "invalid_argument")

    def test_register_username_boundaries(self):
        suffix = uuid.uuid4().hex
        for label, name in {"3 characters": "a" + suffix[:2],
                            "32 characters": ("b.-_" + suffix)[:32]}.items():
            with self.subTest(label):
                self.assertEqual(len(name), int(label.split()[0]), "test setup built a wrong-length name")
                status, body = self.server.register(name)
                self.assertEqual(status, 201, f"valid username {name!r} ({label}) returned {status} {body!r}")

    def test_register_invalid_password(self):
        cases = {
            "7 bytes": "x" * 7,
            "129 bytes": "x" * 129,
            # 65 characters but 130 UTF-8 bytes: the limit counts bytes.
            "130 bytes in 65 characters": "\u00e9" * 65,
        }
        for label, password in cases.items():
            with self.subTest(label):
                status, body = self.server.register(unique_name("pw"), password=password)
                self.assertEqual(status, 400, f"password of {label} returned {status} {body!r}")
                self.assertErrorBody(body, "invalid_argument")

    def test_register_password_boundaries(self):
        for label, password in {"8 bytes": "x" * 8, "128 bytes": "y" * 128,
                                "128 bytes in 64 characters": "\u00e9" * 64}.items():
            with self.subTest(label):
                name = unique_name("pwok")
                status, body = self.server.register(name, password=password)
                self.assertEqual(status, 201, f"password of {label} returned {status} {body!r}")
                user, token = self.server.login(name, password)
                self.assertTrue(token, f"login with a password of {label} returned an empty token")

    def test_register_missing_fields(self):
        for label, body in {"no password": {"username": unique_name("nopw")},
                            "no username": {"password": PASSWORD},
                            "username not a string": {"username": 12345, "password": PASSWORD}}.items():
            with self.subTest(label):
                status, parsed, _ = self.server.api("POST", "/api/register", body)
                self.assertEqual(status, 400, f"register with {label} returned {status} {parsed!r}")
                self.assertErrorBody(parsed, "invalid_argument")

    def test_bad_json_body_rejected(self):
        for path in ("/api/register", "/api/login"):
            with self.subTest(path):
                status, body, _ = self.server.api(
                    "POST", path, b'{"username": "x", ', headers={"Content-Type": "application/json"})
                self.assertEqual(status, 400, f"truncated JSON to {path} returned {status} {body!r}")
                self.assertErrorBody(body, "invalid_argument")

    def test_login_returns_token(self):
        name = unique_name("login")
        status, _ = self.server.register(name)
        self.assertEqual(status, 201, "registration failed")
        status, body, _ = self.server.api("POST", "/api/login", {"username": name, "password": PASSWORD})
        self.assertEqual(status, 200, f"login returned {status} {body!r}")
        self.assertIsInstance(body.get("token"), str, f"login body {body!r} has no string token")
        self.assertTrue(body["token"], "login returned an empty token")
        self.assertUserShape(body.get("user"))
        self.assertEqual(body["user"]["username"], name, "login returned a different user")

    def test_login_failures_share_message(self):
        name = unique_name("lf")
        self.server.register(name)
        status_wrong, wrong, _ = self.server.api(
            "POST", "/api/login", {"username": name, "password": "wrong-password"})
        status_unknown, unknown, _ = self.server.api(
            "POST", "/api/login", {"username": unique_name("nobody"), "password": PASSWORD})
        self.assertEqual(status_wrong, 401, f"wrong password returned {status_wrong} {wrong!r}")
        self.assertErrorBody(wrong, "unauthenticated")
        self.assertEqual(status_unknown, 401, f"unknown user returned {status_unknown} {unknown!r}")
        self.assertErrorBody(unknown, "unauthenticated")
        self.assertEqual(wrong["error"]["message"], unknown["error"]["message"],
                         "wrong password and unknown user get different messages, which reveals "
                         "which usernames exist")

    def test_me_with_token(self):
        user, token = self.server.register_and_login("me")
        status, body, _ = self.server.api("GET", "/api/me", token=token)
        self.assertEqual(status, 200, f"GET /api/me returned {status} {body!r}")
        self.assertUserShape(body.get("user"))
        self.assertEqual(body["user"]["id"], user["id"], "GET /api/me returned another user")

    def test_me_without_token(self):
        status, body, _ = self.server.api("GET", "/api/me")
        self.assertEqual(status, 401, f"GET /api/me without a token returned {status} {body!r}")
        self.assertErrorBody(body, "unauthenticated")

    def test_me_with_unknown_token(self):
        status, body, _ = self.server.api("GET", "/api/me", token="not-a-real-token")
        self.assertEqual(status, 401, f"GET /api/me with a made-up token returned {status} {body!r}")
        self.assertErrorBody(body, "unauthenticated")

    def test_logout_revokes_token(self):
        _, token = self.server.register_and_login("lo")
        status, body, _ = self.server.api("POST", "/api/logout", token=token)
        self.assertEqual(status, 204, f"logout returned {status} {body!r}")
        status, body, _ = self.server.api("GET", "/api/me", token=token)
        self.assertEqual(status, 401, f"GET /api/me after logout returned {status} {body!r}")
        self.assertErrorBody(body, "unauthenticated")

    def test_logout_keeps_other_tokens(self):
        user, first = self.server.register_and_login("lo2")
        _, second = self.server.login(user["username"])
        self.assertNotEqual(first, second, "two logins returned the same token")
        status, _, _ = self.server.api("POST", "/api/logout", token=first)
        self.assertEqual(status, 204, "logout failed")
        status, body, _ = self.server.api("GET", "/api/me", token=second)
        self.assertEqual(status, 200, f"a second token stopped working after the first logged out: {status} {body!r}")

    async def test_logout_closes_websocket(self):
        _, token = self.server.register_and_login("lows")
        client = await self.connect(token)
        status, _, _ = self.server.api("POST", "/api/logout", token=token)
        self.assertEqual(status, 204, "logout failed")
        code = await client.wait_closed(timeout=5)
        self.assertEqual(code, 1008, f"WebSocket closed with {code} after logout, expected 1008")

    async def test_logout_token_rejected_by_websocket(self):
        _, token = self.server.register_and_login("lows2")
        status, _, _ = self.server.api("POST", "/api/logout", token=token)
        self.assertEqual(status, 204, "logout failed")
        with self.assertRaises(websockets.exceptions.InvalidStatusCode,
                               msg="a logged-out token still upgraded to WebSocket") as caught:
            await self.server.connect(token)
        self.assertEqual(caught.exception.status_code, 401, "logged-out token got a status other than 401")

    def test_user_search_prefix(self):
        prefix = "srch" + uuid.uuid4().hex[:8]
        first, token = self.server.register_and_login(prefix + "a")
        second, _ = self.server.register_and_login(prefix + "b")
        other, _ = self.server.register_and_login("zz" + prefix)
        status, body, _ = self.server.api("GET", f"/api/users?query={prefix}", token=token)
        self.assertEqual(status, 200, f"user search returned {status} {body!r}")
        ids = [user["id"] for user in body.get("users", [])]
        for user in body.get("users", []):
            self.assertUserShape(user)
        self.assertIn(first["id"], ids, "search misses a user whose name starts with the query")
        self.assertIn(second["id"], ids, "search misses a second user whose name starts with the query")
        self.assertNotIn(other["id"], ids, "search matched a user whose name only contains the query")

    def test_usernames_ignore_case(self):
        name = "Case" + uuid.uuid4().hex[:8]
        status, body = self.server.register(name)
        self.assertEqual(status, 201, f"registering {name!r} returned {status} {body!r}")
        self.assertEqual(body["user"]["username"], name.lower(), "the stored username is not lower case")
        self.assertEqual(body["user"]["nickname"], name, "the default nickname lost the typed case")

        status, body = self.server.register(name.upper())
        self.assertEqual(status, 409, f"{name.upper()!r} was accepted beside {name!r}: {body!r}")
        self.assertErrorBody(body, "conflict")

        status, body, _ = self.server.api("POST", "/api/login",
                                          {"username": name.upper(), "password": PASSWORD})
        self.assertEqual(status, 200, f"login with the name in upper case returned {status} {body!r}")
        token = body["token"]
        status, body, _ = self.server.api("GET", f"/api/users?query={name[:6].upper()}", token=token)
        self.assertEqual(status, 200, f"user search returned {status} {body!r}")
        self.assertIn(name.lower(), [u["username"] for u in body["users"]],
                      "an upper-case query does not find the user")

    def test_user_search_limit(self):
        prefix = "lim" + uuid.uuid4().hex[:8]
        token = None
        for _ in range(22):
            _, token = self.server.register_and_login(prefix)
        status, body, _ = self.server.api("GET", f"/api/users?query={prefix}", token=token)
        self.assertEqual(status, 200, f"user search returned {status} {body!r}")
        self.assertLessEqual(len(body["users"]), 20, "user search returned more than 20 users")
        self.assertEqual(len(body["users"]), 20, "user search returned fewer than 20 of 22 matching users")
