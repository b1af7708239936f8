"""Inputs that once slipped through: scheme case, trailing junk in ids, symlinks in web/."""

import os
import shutil
import tempfile

from harness import WEB_DIR, Server, ServerTestCase, raw_request


class AuthParsingTests(ServerTestCase):
    def test_bearer_scheme_ignores_case(self):
        _, token = self.server.register_and_login("bearer")
        for scheme in ("Bearer", "bearer", "BEARER"):
            status, body, _ = self.server.api("GET", "/api/me", headers={"Authorization": f"{scheme} {token}"})
            self.assertEqual(status, 200, f"scheme {scheme!r} was rejected: {status} {body!r}")

    def test_chat_id_with_trailing_junk_rejected(self):
        user, token = self.server.register_and_login("junkid")
        request = (f"GET /chat?token={token}&id={user['id']}abc HTTP/1.1\r\n"
                   f"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        response = raw_request(self.server.port, request.encode())
        self.assertTrue(response.startswith(b"HTTP/1.1 400"), f"id '{user['id']}abc' got {response[:80]!r}")


class SymlinkTests(ServerTestCase):
    @classmethod
    def make_server(cls):
        cls.web_copy = tempfile.mkdtemp(prefix="parley-web-")
        shutil.copytree(WEB_DIR, cls.web_copy, dirs_exist_ok=True)
        cls.secret_dir = tempfile.mkdtemp(prefix="parley-secret-")
        secret = os.path.join(cls.secret_dir, "secret.txt")
        with open(secret, "w") as handle:
            handle.write("must not be served")
        os.symlink(secret, os.path.join(cls.web_copy, "leak.txt"))
        return Server(["--web-dir", cls.web_copy])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.web_copy, ignore_errors=True)
        shutil.rmtree(cls.secret_dir, ignore_errors=True)

    def test_symlinked_file_not_served(self):
        name = os.path.basename(self.secret_dir)
        for path in ("/leak.txt", f"/../{name}/secret.txt", "/../secret.txt", "/%2e%2e/secret.txt"):
            response = raw_request(self.server.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            self.assertNotIn(b"must not be served", response, f"GET {path} served the link's target")
        status, _, _ = self.server.http("GET", "/")
        self.assertEqual(status, 200, "the copied web client is not served")
