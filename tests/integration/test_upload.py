"""Uploads (POST /api/upload) and how /media/ serves the stored files."""

import os
import struct
import uuid
import zlib

from harness import ServerTestCase, raw_request


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
