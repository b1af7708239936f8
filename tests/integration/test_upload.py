"""Uploads (POST /api/upload) and how /media/ serves the stored files."""

import hashlib
import json
import os
import re
import socket
import struct
import threading
import time
import uuid
import zlib

from harness import PARLEYD, ResponseReader, Server, ServerTestCase, raw_request

MEDIA_NAME = re.compile(r"[0-9a-f]{32}\.(png|jpg|gif|webp|bin)")


def png_bytes(width=2, height=2):
    """Build a valid RGB PNG image of the given size."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def multipart(field, filename, content_type, data):
    """Return (body, Content-Type header) of a multipart/form-data request with one file part."""
    boundary = "----parley" + uuid.uuid4().hex
    head = (f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


def upload_head(token, body_length, content_type, extra_headers=""):
    """Return the request line and headers of a POST /api/upload with this Content-Length."""
    return (f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {body_length}\r\n{extra_headers}\r\n").encode()


def media_files(media_dir):
    """Return the names in the media folder, or an empty list while it does not exist."""
    try:
        return sorted(os.listdir(media_dir))
    except FileNotFoundError:
        return []


def wait_until(predicate, timeout=5.0):
    """Poll `predicate` every 20 ms until it returns true or `timeout` s pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


def read_json_response(sock):
    """Read one response from `sock` and return (status, headers, parsed JSON body)."""
    status, headers, body = ResponseReader(sock).read_response()
    return status, headers, json.loads(body) if body else None


def sanitizer_build(path):
    """Return whether the binary at `path` was built with AddressSanitizer or ThreadSanitizer.

    Their runtimes keep freed memory in a quarantine or shadow it, so resident memory grows with
    every byte allocated, however briefly.
    """
    with open(path, "rb") as binary:
        content = binary.read()
    return b"__asan_init" in content or b"__tsan_init" in content


class RssSampler(threading.Thread):
    """Samples VmRSS of a process from /proc every 5 ms and keeps the peak, in bytes."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.path = f"/proc/{pid}/status"
        self.peak = 0
        self._stop_event = threading.Event()

    def read_rss(self):
        with open(self.path) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f"{self.path} has no VmRSS line")

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.read_rss())
            time.sleep(0.005)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)
        self.peak = max(self.peak, self.read_rss())
        return self.peak


class UploadTests(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user, cls.token = cls.server.register_and_login("uploader")

    def upload(self, data, filename="file.bin", content_type="application/octet-stream", token=None, field="file"):
        body, header = multipart(field, filename, content_type, data)
        return self.server.api("POST", "/api/upload", body, token=token or self.token,
                               headers={"Content-Type": header})

    def upload_ok(self, data, filename, content_type):
        status, body, _ = self.upload(data, filename, content_type)
        self.assertEqual(status, 201, f"uploading {filename} returned {status} {body!r}")
        self.assertTrue(body["url"].startswith("/media/"), f"upload url {body['url']!r} is not under /media/")
        self.assertEqual(body["size"], len(data), "upload size differs from the bytes sent")
        return body

    def test_png_served_inline(self):
        data = png_bytes()
        body = self.upload_ok(data, "pixel.png", "image/png")
        self.assertEqual(body["mime"], "image/png", "a PNG upload is not reported as image/png")

        status, served, headers = self.server.http("GET", body["url"])
        self.assertEqual(status, 200, f"GET {body['url']} returned {status}")
        self.assertEqual(served, data, "the served PNG differs from the uploaded bytes")
        self.assertEqual(headers.get("content-type", "").split(";")[0], "image/png", "PNG not served as image/png")
        self.assertEqual(headers.get("x-content-type-options"), "nosniff", "PNG served without nosniff")
        self.assertFalse(headers.get("content-disposition", "").startswith("attachment"),
                         "a recognised image is served as an attachment")

    def test_png_type_from_magic_bytes(self):
        data = png_bytes(3, 1)
        body = self.upload_ok(data, "picture.txt", "text/plain")
        status, served, headers = self.server.http("GET", body["url"])
        self.assertEqual(status, 200, f"GET {body['url']} returned {status}")
        self.assertEqual(served, data, "the served PNG differs from the uploaded bytes")
        self.assertEqual(headers.get("content-type", "").split(";")[0], "image/png",
                         "the PNG type did not come from the magic bytes")

    def test_binary_roundtrip(self):
        data = os.urandom(200 * 1024)
        body = self.upload_ok(data, "noise.bin", "application/octet-stream")
        status, served, headers = self.server.http("GET", body["url"])
        self.assertEqual(status, 200, f"GET {body['url']} returned {status}")
        self.assertEqual(len(served), len(data), "the served file has another length")
        self.assertEqual(served, data, "the served file differs from the uploaded bytes")
        self.assertEqual(headers.get("content-type"), "application/octet-stream",
                         "random bytes not served as application/octet-stream")
        self.assertTrue(headers.get("content-disposition", "").startswith("attachment"),
                        "random bytes not served with Content-Disposition: attachment")
        self.assertEqual(headers.get("x-content-type-options"), "nosniff", "file served without nosniff")

    def test_active_content_served_as_attachment(self):
        cases = {
            "page.html": ("text/html", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
            "image.svg": ("image/svg+xml",
                          b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        }
        for filename, (content_type, data) in cases.items():
            with self.subTest(filename):
                body = self.upload_ok(data, filename, content_type)
                status, served, headers = self.server.http("GET", body["url"])
                self.assertEqual(status, 200, f"GET {body['url']} returned {status}")
                self.assertEqual(served, data, f"served {filename} differs from the upload")
                self.assertEqual(headers.get("content-type"), "application/octet-stream",
                                 f"{filename} served as {headers.get('content-type')!r}")
                self.assertTrue(headers.get("content-disposition", "").startswith("attachment"),
                                f"{filename} served without Content-Disposition: attachment")
                self.assertEqual(headers.get("x-content-type-options"), "nosniff",
                                 f"{filename} served without nosniff")

    def test_upload_requires_token(self):
        body, header = multipart("file", "a.png", "image/png", png_bytes())
        status, parsed, _ = self.server.api("POST", "/api/upload", body, headers={"Content-Type": header})
        self.assertEqual(status, 401, f"upload without a token returned {status} {parsed!r}")
        self.assertErrorBody(parsed, "unauthenticated")

    def test_upload_without_file_field(self):
        status, parsed, _ = self.upload(b"hello", field="notfile")
        self.assertEqual(status, 400, f"upload without a 'file' field returned {status} {parsed!r}")
        self.assertErrorBody(parsed, "invalid_argument")

    def test_upload_not_multipart(self):
        status, parsed, _ = self.server.api("POST", "/api/upload", b"plain bytes", token=self.token,
                                            headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 400, f"a non-multipart upload returned {status} {parsed!r}")
        self.assertErrorBody(parsed, "invalid_argument")

    def test_missing_media_not_found(self):
        status, _, _ = self.server.http("GET", "/media/does-not-exist")
        self.assertEqual(status, 404, f"GET /media/does-not-exist returned {status}")

    def test_media_path_traversal(self):
        # The database lies next to the media folder, so a traversal that
        # works would serve it.
        paths = [
            "/media/../parley.db",
            "/media/../../../../../../etc/passwd",
            "/media/..%2fparley.db",
            "/media/%2e%2e/parley.db",
            "/media/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/media/..",
            "/media/.",
            "/media/",
            "/media/%00",
            "/media/..\\parley.db",
        ]
        for path in paths:
            with self.subTest(path):
                response = raw_request(
                    self.server.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                status_line = response.split(b"\r\n", 1)[0]
                self.assertTrue(status_line.startswith(b"HTTP/1.1 "), f"GET {path} got no HTTP response: {response[:80]!r}")
                status = int(status_line.split(b" ")[1])
                self.assertIn(status, (400, 403, 404), f"GET {path} returned {status}")
                self.assertNotIn(b"SQLite format", response, f"GET {path} served the database")
                self.assertNotIn(b"root:", response, f"GET {path} served /etc/passwd")

    def test_upload_name_unguessable(self):
        first = self.upload_ok(b"same bytes", "a.bin", "application/octet-stream")
        second = self.upload_ok(b"other bytes", "b.bin", "application/octet-stream")
        for body in (first, second):
            name = body["url"][len("/media/"):]
            self.assertGreaterEqual(len(name), 16, f"media name {name!r} is short enough to guess")
            self.assertNotIn("/", name, f"media name {name!r} contains a slash")
        self.assertNotEqual(first["url"], second["url"], "two different uploads share a url")

    def test_repeated_upload_stored_once(self):
        data = os.urandom(4096)
        before = media_files(self.server.media_dir)
        first = self.upload_ok(data, "one.bin", "application/octet-stream")
        second = self.upload_ok(data, "two.bin", "application/octet-stream")
        self.assertEqual(first["url"], second["url"], "identical uploads got different urls")
        added = sorted(set(media_files(self.server.media_dir)) - set(before))
        self.assertEqual(added, [first["url"][len("/media/"):]],
                         f"two identical uploads added {added} to the media folder")

    def test_head_media(self):
        data = os.urandom(100 * 1024)
        body = self.upload_ok(data, "head.bin", "application/octet-stream")
        status, _, get_headers = self.server.http("GET", body["url"])
        self.assertEqual(status, 200, f"GET {body['url']} returned {status}")

        request = f"HEAD {body['url']} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        response = raw_request(self.server.port, request.encode())
        head, _, rest = response.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        self.assertEqual(lines[0], "HTTP/1.1 200 OK", f"HEAD {body['url']} returned {lines[0]!r}")
        headers = {name.strip().lower(): value.strip()
                   for name, _, value in (line.partition(":") for line in lines[1:])}
        self.assertEqual(headers.get("content-length"), str(len(data)),
                         "HEAD does not give the file's length")
        self.assertEqual(rest, b"", f"HEAD sent {len(rest)} body bytes")
        for name in ("content-type", "content-disposition", "x-content-type-options", "cache-control"):
            self.assertEqual(headers.get(name), get_headers.get(name), f"HEAD and GET differ in {name}")

        status, served, _ = self.server.http("HEAD", "/media/" + "0" * 32 + ".bin")
        self.assertEqual(status, 404, f"HEAD of a missing file returned {status}")
        self.assertEqual(served, b"", "HEAD of a missing file has a body")

    def test_head_static(self):
        status, page, _ = self.server.http("GET", "/")
        self.assertEqual(status, 200, f"GET / returned {status}")
        response = raw_request(
            self.server.port, b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head, _, rest = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), f"HEAD / returned {head[:40]!r}")
        self.assertIn(f"\r\nContent-Length: {len(page)}\r\n".encode(), head + b"\r\n",
                      "HEAD / does not give the length of GET /")
        self.assertEqual(rest, b"", f"HEAD / sent {len(rest)} body bytes")

    def test_method_not_allowed_lists_allow(self):
        cases = [
            ("POST", "/healthz", {"GET", "HEAD"}),
            ("PUT", "/", {"GET", "HEAD"}),
            ("DELETE", "/media/" + "0" * 32 + ".png", {"GET", "HEAD"}),
            ("GET", "/api/upload", {"POST"}),
            ("DELETE", "/api/friends/requests", {"GET", "POST"}),
            ("POST", "/api/groups/1/members/2", {"DELETE", "PUT"}),
        ]
        for method, path, allowed in cases:
            with self.subTest(f"{method} {path}"):
                status, body, headers = self.server.api(method, path, token=self.token)
                self.assertEqual(status, 405, f"{method} {path} returned {status} {body!r}")
                self.assertErrorBody(body, "invalid_argument")
                self.assertIn("allow", headers, f"405 for {method} {path} has no Allow header")
                listed = {name.strip() for name in headers["allow"].split(",")}
                self.assertEqual(listed, allowed, f"Allow for {path} is {headers['allow']!r}")

    def test_expect_continue(self):
        data = os.urandom(10000)
        body, content_type = multipart("file", "c.bin", "application/octet-stream", data)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(upload_head(self.token, len(body), content_type, "Expect: 100-continue\r\n"))
            interim = b""
            while b"\r\n\r\n" not in interim:
                chunk = sock.recv(1)
                self.assertTrue(chunk, f"connection closed after {interim!r}, expected 100 Continue")
                interim += chunk
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 "), f"expected 100 Continue, got {interim!r}")
            sock.sendall(body)
            status, _, parsed = read_json_response(sock)
        self.assertEqual(status, 201, f"upload after 100 Continue returned {status} {parsed!r}")
        self.assertEqual(parsed["size"], len(data), "upload after 100 Continue has another size")

    def test_pipelined_request_after_upload(self):
        data = os.urandom(300 * 1024)
        body, content_type = multipart("file", "p.bin", "application/octet-stream", data)
        health = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            sock.sendall(upload_head(self.token, len(body), content_type) + body + health)
            reader = ResponseReader(sock)
            status, _, uploaded = reader.read_response()
            self.assertEqual(status, 201, f"pipelined upload returned {status} {uploaded[:200]!r}")
            self.assertEqual(json.loads(uploaded)["size"], len(data), "pipelined upload has another size")
            status, _, healthy = reader.read_response()
            self.assertEqual(status, 200, f"GET /healthz after an upload returned {status} {healthy!r}")

    def test_malformed_body_rejected(self):
        boundary = "b" + uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=file\r\nBroken header\r\n\r\n"
                + "x" * 100000 + f"\r\n--{boundary}--\r\n").encode()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(upload_head(self.token, len(body), f"multipart/form-data; boundary={boundary}"))
            sock.sendall(body)
            status, _, parsed = read_json_response(sock)
        self.assertEqual(status, 400, f"a malformed multipart body returned {status} {parsed!r}")
        self.assertErrorBody(parsed, "invalid_argument")


class UploadLimitTests(ServerTestCase):
    LIMIT = 100000

    @classmethod
    def make_server(cls):
        return Server(extra_args=["--max-upload", str(cls.LIMIT)])

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user, cls.token = cls.server.register_and_login("limits")

    def assertNoTemporaryFiles(self):
        """Assert that the media folder soon contains only media files, once a store worker removed temporary ones."""
        def leftovers():
            return [name for name in media_files(self.server.media_dir) if not MEDIA_NAME.fullmatch(name)]

        wait_until(lambda: not leftovers())
        self.assertEqual(leftovers(), [], "the media folder keeps files that are not media")

    def upload(self, data):
        body, header = multipart("file", "limit.bin", "application/octet-stream", data)
        return self.server.api("POST", "/api/upload", body, token=self.token,
                               headers={"Content-Type": header})

    def test_upload_at_limit_passes(self):
        data = os.urandom(self.LIMIT)
        status, body, _ = self.upload(data)
        self.assertEqual(status, 201, f"an upload of exactly {self.LIMIT} bytes returned {status} {body!r}")
        self.assertEqual(body["size"], self.LIMIT, "the upload at the limit has another size")
        status, served, _ = self.server.http("GET", body["url"])
        self.assertEqual(status, 200, f"GET {body['url']} returned {status}")
        self.assertEqual(served, data, "the file at the limit was not stored intact")

    def test_upload_one_byte_over_limit(self):
        status, body, _ = self.upload(os.urandom(self.LIMIT + 1))
        self.assertEqual(status, 413, f"an upload of {self.LIMIT + 1} bytes returned {status} {body!r}")
        self.assertErrorBody(body, "too_large")
        self.assertIn(str(self.LIMIT), body["error"]["message"], "the 413 message does not name the limit")
        self.assertNoTemporaryFiles()

    def test_content_length_over_limit_answered_from_head(self):
        body_limit = self.LIMIT + 65536
        for length in (body_limit + 1, 10 ** 12, 10 ** 30):
            with self.subTest(length=length):
                with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
                    # Only the head is sent: the response must come without any body bytes.
                    sock.sendall(upload_head(self.token, length, "multipart/form-data; boundary=x"))
                    status, headers, parsed = read_json_response(sock)
                    self.assertEqual(status, 413, f"Content-Length {length} returned {status} {parsed!r}")
                    self.assertErrorBody(parsed, "too_large")
                    self.assertIn(str(self.LIMIT), parsed["error"]["message"],
                                  "the 413 message does not name the limit")
                    self.assertEqual(headers.get("connection"), "close",
                                     "the connection stays open over an unread body")
                    self.assertEqual(sock.recv(1), b"", "the server did not close after the 413")

    def test_body_at_content_length_limit_accepted(self):
        # A small file with a long form field: the body may exceed the file limit by 64 KiB.
        boundary = "b" + uuid.uuid4().hex
        framing = (f"--{boundary}\r\nContent-Disposition: form-data; name=file\r\n\r\nsmall\r\n"
                   f"--{boundary}\r\nContent-Disposition: form-data; name=note\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        note = b"n" * (self.LIMIT + 65536 - len(framing) - len(tail))
        body = framing + note + tail
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(upload_head(self.token, len(body), f"multipart/form-data; boundary={boundary}") + body)
            status, _, parsed = read_json_response(sock)
        self.assertEqual(status, 201, f"a body of exactly the limit returned {status} {parsed!r}")
        self.assertEqual(parsed["size"], 5, "only the part named file is stored")

    def test_interrupted_upload_leaves_no_temporary_file(self):
        data = os.urandom(self.LIMIT)
        body, content_type = multipart("file", "cut.bin", "application/octet-stream", data)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(upload_head(self.token, len(body), content_type) + body[:len(body) // 2])
            # The body is written while it arrives, so a temporary file appears before the end.
            temporary = wait_until(
                lambda: [name for name in media_files(self.server.media_dir) if name.startswith(".upload-")])
            self.assertTrue(temporary, "no temporary file appeared while half of the body was sent")
        self.assertNoTemporaryFiles()
        status, _, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, "the server is unhealthy after an interrupted upload")


class LargeUploadTests(ServerTestCase):
    """A 50 MiB upload and download must not grow the server's memory by anything near 50 MiB."""

    FILE_BYTES = 50 * 1024 * 1024
    # Allowed growth of the server's resident memory during one transfer. The upload queue is
    # bounded at 256 KiB and a download at 320 KiB; the rest is slack for allocator and thread
    # stacks, and stays far below the file size.
    MAX_GROWTH = 16 * 1024 * 1024

    @classmethod
    def make_server(cls):
        return Server(extra_args=["--max-upload", "60000000"])

    def test_large_upload_and_download_bounded(self):
        _, token = self.server.register_and_login("large")
        data = os.urandom(self.FILE_BYTES)
        body, content_type = multipart("file", "large.bin", "application/octet-stream", data)
        digest = hashlib.sha256(data).hexdigest()
        del data

        sampler = RssSampler(self.server.proc.pid)
        baseline = sampler.read_rss()
        sampler.start()
        try:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
                sock.sendall(upload_head(token, len(body), content_type))
                view = memoryview(body)
                for start in range(0, len(body), 1 << 20):
                    sock.sendall(view[start:start + (1 << 20)])
                status, _, parsed = read_json_response(sock)
        finally:
            upload_peak = sampler.stop()
        del body, view
        self.assertEqual(status, 201, f"the 50 MiB upload returned {status} {parsed!r}")
        self.assertEqual(parsed["size"], self.FILE_BYTES, "the 50 MiB upload has another size")
        upload_growth = upload_peak - baseline

        sampler = RssSampler(self.server.proc.pid)
        baseline = sampler.read_rss()
        sampler.start()
        received = 0
        hasher = hashlib.sha256()
        try:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
                sock.sendall(f"GET {parsed['url']} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                reader = ResponseReader(sock)
                head = reader._take_until(b"\r\n\r\n", "response headers")
                self.assertTrue(head.startswith(b"HTTP/1.1 200 "), f"GET {parsed['url']} returned {head[:40]!r}")
                self.assertIn(f"Content-Length: {self.FILE_BYTES}".encode(), head, "wrong Content-Length")
                hasher.update(reader.buffer)
                received = len(reader.buffer)
                while received < self.FILE_BYTES:
                    # Reading slowly at first lets the server's output queue fill up to its bound.
                    if received < 4 * 1024 * 1024:
                        time.sleep(0.001)
                    chunk = sock.recv(1 << 16)
                    self.assertTrue(chunk, f"the download ended after {received} bytes")
                    hasher.update(chunk)
                    received += len(chunk)
        finally:
            download_peak = sampler.stop()
        self.assertEqual(received, self.FILE_BYTES, "the download has another length")
        self.assertEqual(hasher.hexdigest(), digest, "the downloaded file differs from the upload")
        download_growth = download_peak - baseline

        if sanitizer_build(PARLEYD):
            self.skipTest(f"{PARLEYD} is a sanitizer build, whose memory use says nothing about "
                          f"the server's (VmRSS grew by {upload_growth} bytes during the upload "
                          f"and {download_growth} during the download)")
        self.assertLess(upload_growth, self.MAX_GROWTH,
                        f"VmRSS grew by {upload_growth} bytes during the upload")
        self.assertLess(download_growth, self.MAX_GROWTH,
                        f"VmRSS grew by {download_growth} bytes during the download")
