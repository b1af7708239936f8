"""Interoperability of parley-echo with the python3-websockets and Node ws clients.

Each client sends text and binary messages of 0, 125, 126, 65535, 65536 and
1 MiB bytes and checks the echo, with permessage-deflate offered and not,
against parley-echo with --deflate and without, over ws:// and, when openssl
is installed, over wss:// with a certificate made at test time.

PARLEY_ECHO names the parley-echo binary (default build/parley-echo). The Node
cases need `npm ci` in this folder and are skipped without node_modules/ws.
"""

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
ECHO_BINARY = os.environ.get("PARLEY_ECHO", os.path.join(REPO_ROOT, "build", "parley-echo"))
NODE_CLIENT = os.path.join(HERE, "echo_client.mjs")
HAVE_NODE_WS = shutil.which("node") is not None and os.path.isdir(
    os.path.join(HERE, "node_modules", "ws"))

SIZES = (0, 125, 126, 65535, 65536, 1 << 20)
START_TIMEOUT = 10.0
CLIENT_TIMEOUT = 60


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_of_bytes(size):
    """Return text of exactly `size` UTF-8 bytes with multi-byte characters in it."""
    unit = "parley \u00e9\u20ac ".encode()
    text = (unit * (size // len(unit) + 1))[:size].decode("utf-8", errors="ignore")
    return text + "x" * (size - len(text.encode()))


def make_certificate(folder):
    """Create a self-signed certificate for 127.0.0.1 and return (cert, key) paths."""
    cert = os.path.join(folder, "cert.pem")
    key = os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True)
    return cert, key


class EchoProcess:
    """A parley-echo process on a free port, stopped with SIGTERM."""

    def __init__(self, deflate, tls_files=None):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        args = [ECHO_BINARY, "--listen", f"127.0.0.1:{self.port}", "--threads", "2"]
        if deflate:
            args.append("--deflate")
        if tls_files:
            args += ["--tls-cert", tls_files[0], "--tls-key", tls_files[1]]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"parley-echo did not start: {self.log_tail()}")
                time.sleep(0.05)

    def log_tail(self):
        self.log.seek(0)
        return self.log.read()[-2000:].decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


async def python_echo_round(url, compress, ssl_context):
    """Echo every size as text and binary; return the negotiated extension header."""
    async with websockets.connect(
            url, compression="deflate" if compress else None, max_size=4 << 20,
            ssl=ssl_context, open_timeout=START_TIMEOUT) as ws:
        for size in SIZES:
            text = text_of_bytes(size)
            await ws.send(text)
            echoed = await ws.recv()
            assert echoed == text, f"text message of {size} bytes came back changed"
            data = os.urandom(size)
            await ws.send(data)
            echoed = await ws.recv()
            assert echoed == data, f"binary message of {size} bytes came back changed"
        return ws.response_headers.get("Sec-WebSocket-Extensions")


class InteropCase(unittest.TestCase):
    """Both clients against one server configuration; subclasses set DEFLATE and TLS."""

    DEFLATE = False
    TLS = False

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(ECHO_BINARY):
            raise unittest.SkipTest(f"parley-echo not found at {ECHO_BINARY}; build it first")
        cls.folder = tempfile.mkdtemp(prefix="parley-interop-")
        cls.tls_files = None
        cls.ssl_context = None
        if cls.TLS:
            if shutil.which("openssl") is None:
                raise unittest.SkipTest("openssl is not installed")
            cls.tls_files = make_certificate(cls.folder)
            cls.ssl_context = ssl.create_default_context(cafile=cls.tls_files[0])
        cls.server = EchoProcess(cls.DEFLATE, cls.tls_files)
        scheme = "wss" if cls.TLS else "ws"
        cls.url = f"{scheme}://127.0.0.1:{cls.server.port}/echo"

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)
        if code != 0:
            raise AssertionError(
                f"parley-echo exited with {code} after SIGTERM: {cls.server.log_tail()}")

    def test_python_client(self):
        for compress in (True, False):
            with self.subTest(client_offers_deflate=compress):
                header = asyncio.run(python_echo_round(self.url, compress, self.ssl_context))
                if compress and self.DEFLATE:
                    self.assertIsNotNone(header)
                    self.assertTrue(header.startswith("permessage-deflate"), header)
                else:
                    self.assertIsNone(header)

    @unittest.skipUnless(HAVE_NODE_WS, "node or tests/interop/node_modules/ws missing")
    def test_node_client(self):
        for offer in ("on", "off"):
            with self.subTest(client_offers_deflate=offer):
                args = ["node", NODE_CLIENT, self.url, offer]
                if self.tls_files:
                    args.append(self.tls_files[0])
                env = dict(os.environ)
                if not self.DEFLATE:
                    env["EXPECT_NO_DEFLATE"] = "1"
                result = subprocess.run(args, capture_output=True, text=True, env=env,
                                        timeout=CLIENT_TIMEOUT)
                self.assertEqual(result.returncode, 0, result.stderr + self.server.log_tail())


class PlainNoDeflate(InteropCase):
    DEFLATE = False
    TLS = False


class PlainDeflate(InteropCase):
    DEFLATE = True
    TLS = False


class TlsNoDeflate(InteropCase):
    DEFLATE = False
    TLS = True


class TlsDeflate(InteropCase):
    DEFLATE = True
    TLS = True


del InteropCase  # only the configurations above run

if __name__ == "__main__":
    unittest.main()
