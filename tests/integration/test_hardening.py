"""Inputs that once slipped through: scheme case, trailing junk in ids, symlinks in web/."""

import os
import shutil
import socket
import tempfile
import threading
import time

from harness import WEB_DIR, ResponseReader, Server, ServerTestCase, raw_request


def resident_kib(pid):
    """Return the VmRSS of process `pid` in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS line for pid {pid}")


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

    def test_symlinked_media_not_served(self):
        name = "0123456789abcdef0123456789abcdef.bin"
        os.makedirs(self.server.media_dir, exist_ok=True)
        os.symlink(os.path.join(self.secret_dir, "secret.txt"),
                   os.path.join(self.server.media_dir, name))
        response = raw_request(self.server.port, f"GET /media/{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        self.assertNotIn(b"must not be served", response, "a link in the media folder was followed")
        self.assertTrue(response.startswith(b"HTTP/1.1 404"), f"expected 404, got {response[:40]!r}")


class PipelineTests(ServerTestCase):
    def test_unread_pipeline_bounded_and_complete(self):
        """A client that pipelines requests without reading gets every response, later."""
        # 10,000 responses of style.css are about 86 MB, more than the connection's 64 MiB
        # high-water mark: a server that kept responding without pausing would drop some.
        count = 10000
        size = os.path.getsize(os.path.join(WEB_DIR, "style.css"))
        before = resident_kib(self.server.proc.pid)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # A small receive buffer, set before connecting, keeps the kernel from holding
            # megabytes of responses on the client's side, so unread responses stay in the server.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", self.server.port))
            request = b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n"
            sock.setblocking(False)
            data = request * count
            sent = 0
            deadline = time.monotonic() + 3
            while sent < len(data) and time.monotonic() < deadline:
                try:
                    sent += sock.send(data[sent:])
                except BlockingIOError:
                    time.sleep(0.01)
            time.sleep(1)
            grown_mib = (resident_kib(self.server.proc.pid) - before) / 1024
            # The server stops reading at 1 MiB of unread responses, so its memory must grow far
            # less than the 86 MB requested.
            self.assertLess(grown_mib, 16, f"server memory grew {grown_mib:.0f} MiB "
                            f"for {count} unread responses of {size} bytes")
            sock.setblocking(True)
            # The server reads the rest only as this client reads responses, so send it from a
            # second thread while reading here.
            sender = threading.Thread(target=sock.sendall, args=(data[sent:],), daemon=True)
            sender.start()
            reader = ResponseReader(sock)
            for number in range(count):
                status, _, body = reader.read_response()
                self.assertEqual(status, 200, f"response {number} has status {status}")
                self.assertEqual(len(body), size, f"response {number} is truncated")
            sender.join(timeout=10)
