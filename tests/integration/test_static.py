"""Static files, health and metrics endpoints, and HTTP/1.1 connection handling."""

import http.client
import os
import re
import socket

from harness import WEB_DIR, ResponseReader, ServerTestCase, raw_request

# A Prometheus text-format sample line: name, optional labels, value.
METRIC_LINE = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*(\{[^}]*\})? [-+0-9.eEinfNa]+( -?[0-9]+)?$")

TRAVERSAL_PATHS = [
    "/../etc/passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/..%5c..%5c..%5cetc%5cpasswd",
    "/./../CMakeLists.txt",
    "/../CMakeLists.txt",
    "/%2e%2e/CMakeLists.txt",
    "//etc/passwd",
    "/web/../../etc/passwd",
]


class StaticTests(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, cls.index_body, _ = cls.server.http("GET", "/")
        # Text from the web folder's parent, which a traversal would expose.
        parent_file = os.path.join(os.path.dirname(os.path.abspath(WEB_DIR)), "CMakeLists.txt")
        cls.parent_marker = None
        if os.path.isfile(parent_file):
            with open(parent_file, "rb") as handle:
                cls.parent_marker = handle.read(40)

    def test_root_serves_html(self):
        status, body, headers = self.server.http("GET", "/")
        self.assertEqual(status, 200, f"GET / returned {status}")
        self.assertEqual(headers.get("content-type", "").split(";")[0], "text/html", "GET / is not text/html")
        self.assertTrue(body, "GET / returned an empty body")

    def test_healthz(self):
        status, _, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, f"GET /healthz returned {status}")

    def test_metrics_text_format(self):
        status, body, headers = self.server.http("GET", "/metrics")
        self.assertEqual(status, 200, f"GET /metrics returned {status}")
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"),
                        f"GET /metrics has Content-Type {headers.get('content-type')!r}, expected text/plain")
        lines = body.decode("utf-8").splitlines()
        samples = [line for line in lines if line and not line.startswith("#")]
        self.assertTrue(samples, "GET /metrics has no sample lines")
        for line in samples:
            self.assertRegex(line, METRIC_LINE, "a /metrics line is not in Prometheus text format")

    def test_unknown_api_not_found(self):
        _, token = self.server.register_and_login("nope")
        status, body, _ = self.server.api("GET", "/api/nope", token=token)
        self.assertEqual(status, 404, f"GET /api/nope returned {status} {body!r}")
        self.assertErrorBody(body, "not_found")

    def test_unknown_file_not_found(self):
        status, _, _ = self.server.http("GET", "/no-such-file-here.js")
        self.assertEqual(status, 404, f"GET of a missing static file returned {status}")

    def assertNothingOutside(self, label, status, body):
        self.assertNotIn(b"root:x:0:0", body, f"{label} served /etc/passwd")
        if self.parent_marker:
            self.assertNotIn(self.parent_marker, body, f"{label} served a file from the web folder's parent")
        if status == 200:
            self.assertEqual(body, self.index_body, f"{label} returned 200 with something other than the web client")
        else:
            self.assertIn(status, (400, 403, 404), f"{label} returned {status}")

    def test_traversal_with_http_client(self):
        for path in TRAVERSAL_PATHS:
            with self.subTest(path):
                status, body, _ = self.server.http("GET", path)
                self.assertNothingOutside(f"GET {path} (http.client)", status, body)

    def test_traversal_with_raw_socket(self):
        for path in TRAVERSAL_PATHS:
            with self.subTest(path):
                response = raw_request(
                    self.server.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                head, _, body = response.partition(b"\r\n\r\n")
                status_line = head.split(b"\r\n", 1)[0]
                self.assertTrue(status_line.startswith(b"HTTP/1.1 "), f"GET {path} got no HTTP response: {response[:80]!r}")
                self.assertNothingOutside(f"GET {path} (raw socket)", int(status_line.split(b" ")[1]), body)

    def test_keep_alive_two_requests(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            reader = ResponseReader(sock)
            for number in (1, 2):
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                status, headers, _ = reader.read_response()
                self.assertEqual(status, 200, f"request {number} on a kept-alive connection returned {status}")
                self.assertNotEqual(headers.get("connection", "").lower(), "close",
                                    f"the server closes the connection after request {number}")

    def test_pipelined_requests(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                         b"GET /no-such-file-here.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            reader = ResponseReader(sock)
            first, _, _ = reader.read_response()
            second, _, _ = reader.read_response()
            self.assertEqual(first, 200, "the first of two pipelined requests did not return 200")
            self.assertEqual(second, 404, "the second of two pipelined requests did not return 404")

    def test_http_client_reuses_connection(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 200, "first request failed")
            first_socket = connection.sock
            self.assertIsNotNone(first_socket, "the server asked to close the connection after one request")
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            self.assertEqual(response.status, 200, "second request on the same connection failed")
            self.assertIs(connection.sock, first_socket, "the second request needed a new connection")
        finally:
            connection.close()

    def test_malformed_request_line(self):
        cases = {
            "one word": b"GARBAGE\r\n\r\n",
            "method only": b"GET\r\n\r\n",
            "bad version": b"GET / HTTX/1.1\r\nHost: x\r\n\r\n",
            "too many parts": b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        }
        for label, request in cases.items():
            with self.subTest(label):
                response = raw_request(self.server.port, request)
                self.assertTrue(response.startswith(b"HTTP/1.1 400"),
                                f"a request line with {label} got {response[:60]!r}, expected HTTP/1.1 400")
                status, _, _ = self.server.http("GET", "/healthz")
                self.assertEqual(status, 200, f"the server stopped serving after a request line with {label}")

    def test_binary_junk_then_serving(self):
        raw_request(self.server.port, bytes(range(256)) * 4, timeout=2)
        status, _, _ = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200, "the server stopped serving after a connection sent binary junk")
