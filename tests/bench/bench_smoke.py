"""Runs every parley-bench scenario for about 2 s with tiny numbers and checks its JSON.

The servers are started here on free ports: parley-echo for echo, connect and idle,
parley-tcp-echo for tcp, and parleyd with a throwaway SQLite database for chat and group.
A second parley-echo and parleyd run with --deflate for the permessage-deflate cases.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BENCH = os.environ.get("PARLEY_BENCH", "build/parley-bench")
ECHO = os.environ.get("PARLEY_ECHO", "build/parley-echo")
TCP_ECHO = os.environ.get("PARLEY_TCP_ECHO", "build/parley-tcp-echo")
PARLEYD = os.environ.get("PARLEYD", "build/parleyd")
WEB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "web")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.servers = []
        cls.echo_port = free_port()
        cls.echo = cls.start([ECHO, "--listen", f"127.0.0.1:{cls.echo_port}", "--threads", "1"],
                             cls.echo_port)
        cls.tcp_port = free_port()
        cls.start([TCP_ECHO, "--port", str(cls.tcp_port)], cls.tcp_port)
        cls.chat_port = free_port()
        cls.parleyd = cls.start([
            PARLEYD, "--listen", f"127.0.0.1:{cls.chat_port}", "--threads", "1",
            "--db", f"sqlite:{cls.tmp.name}/parley.db", "--media-dir", f"{cls.tmp.name}/media",
            "--web-dir", WEB_DIR, "--message-rate", "0", "--login-failures", "0",
            "--log-level", "warn"], cls.chat_port)
        cls.deflate_echo_port = free_port()
        cls.start([ECHO, "--listen", f"127.0.0.1:{cls.deflate_echo_port}", "--threads", "1",
                   "--deflate"], cls.deflate_echo_port)
        cls.deflate_chat_port = free_port()
        cls.start([
            PARLEYD, "--listen", f"127.0.0.1:{cls.deflate_chat_port}", "--threads", "1",
            "--db", f"sqlite:{cls.tmp.name}/parley-deflate.db",
            "--media-dir", f"{cls.tmp.name}/media-deflate", "--web-dir", WEB_DIR,
            "--message-rate", "0", "--login-failures", "0", "--log-level", "warn", "--deflate"],
            cls.deflate_chat_port)

    @classmethod
    def start(cls, command, port):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.servers.append(process)
        wait_for_port(port, process)
        return process

    @classmethod
    def tearDownClass(cls):
        for process in cls.servers:
            process.terminate()
            process.wait(timeout=10)
        cls.tmp.cleanup()

    def bench(self, *args):
        command = [BENCH, *args, "--duration", "2", "--json", "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, f"{command} failed: {done.stderr}")
        result = json.loads(done.stdout)
        self.assertEqual(result["refused"] + result["rejected"] + result["dropped"], 0)
        return result

    def test_echo(self):
        result = self.bench("echo", "--url", f"ws://127.0.0.1:{self.echo_port}/",
                            "--connections", "4", "--pipeline", "2", "--source-ips", "2")
        self.assertGreater(result["replies_per_s"], 0)
        self.assertGreater(result["reply_latency"]["p99_us"], 0)

    def test_echo_at_rate(self):
        result = self.bench("echo", "--url", f"ws://127.0.0.1:{self.echo_port}/",
                            "--connections", "2", "--rate", "50", "--threads", "2")
        self.assertGreater(result["replies_per_s"], 0)

    def test_tcp(self):
        result = self.bench("tcp", "--url", f"tcp://127.0.0.1:{self.tcp_port}/",
                            "--connections", "4", "--pipeline", "2")
        self.assertGreater(result["replies_per_s"], 0)

    def test_connect(self):
        result = self.bench("connect", "--url", f"ws://127.0.0.1:{self.echo_port}/",
                            "--connections", "2")
        self.assertGreater(result["handshakes_per_s"], 0)
        self.assertGreater(result["handshake_latency"]["count"], 0)

    def test_idle(self):
        result = self.bench("idle", "--url", f"ws://127.0.0.1:{self.echo_port}/",
                            "--connections", "50", "--server-pid", str(self.echo.pid))
        self.assertEqual(result["open_connections"], 50)
        self.assertGreater(result["server_rss_after"], 0)

    def test_chat(self):
        result = self.bench("chat", "--url", f"ws://127.0.0.1:{self.chat_port}/chat",
                            "--connections", "2", "--pipeline", "2", "--size", "64",
                            "--server-pid", str(self.parleyd.pid))
        self.assertGreater(result["replies_per_s"], 0)
        self.assertGreater(result["deliveries_per_s"], 0)
        self.assertGreater(result["delivery_latency"]["count"], 0)
        self.assertGreater(result["server_cpu_us"], 0)

    def test_group(self):
        result = self.bench("group", "--url", f"ws://127.0.0.1:{self.chat_port}/chat",
                            "--members", "4", "--senders", "2", "--rate", "20")
        self.assertGreater(result["deliveries_per_s"], 0)
        self.assertGreater(result["delivery_latency"]["count"], 0)

    def test_group_table_header(self):
        command = [BENCH, "group", "--url", f"ws://127.0.0.1:{self.chat_port}/chat",
                   "--members", "3", "--senders", "2", "--rate", "20", "--duration", "1",
                   "--quiet"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, f"{command} failed: {done.stderr}")
        header = done.stdout.splitlines()[0]
        self.assertIn("members 3  senders 2", header)
        self.assertNotIn("connections", header)

    def test_echo_deflate(self):
        # parley-echo compresses echoes of 64 bytes and more, so a latency figure shows that
        # the timestamp was read back from an inflated message.
        result = self.bench("echo", "--url", f"ws://127.0.0.1:{self.deflate_echo_port}/",
                            "--connections", "4", "--pipeline", "2", "--size", "512",
                            "--fill", "text", "--deflate")
        self.assertGreater(result["replies_per_s"], 0)
        self.assertGreater(result["reply_latency"]["count"], 0)

    def test_chat_deflate(self):
        result = self.bench("chat", "--url", f"ws://127.0.0.1:{self.deflate_chat_port}/chat",
                            "--connections", "2", "--pipeline", "2", "--size", "256",
                            "--fill", "text", "--deflate")
        self.assertGreater(result["replies_per_s"], 0)
        self.assertGreater(result["delivery_latency"]["count"], 0)

    # A run whose connections have all failed stops at once, so these give --duration 10 and
    # expect the run to end within 5 s.
    def test_deflate_without_server_support_fails(self):
        started = time.monotonic()
        done = subprocess.run([BENCH, "echo", "--url", f"ws://127.0.0.1:{self.echo_port}/",
                               "--connections", "2", "--duration", "10", "--quiet", "--deflate"],
                              capture_output=True, text=True, timeout=30)
        took = time.monotonic() - started
        self.assertEqual(done.returncode, 1)
        self.assertIn("2 rejected in the handshake", done.stderr)
        self.assertIn("did not accept permessage-deflate", done.stderr)
        self.assertLess(took, 5, "parley-bench waited out --duration after every failure")

    def test_refused_connections_fail(self):
        port = free_port()  # nothing listens here
        started = time.monotonic()
        done = subprocess.run([BENCH, "echo", "--url", f"ws://127.0.0.1:{port}/",
                               "--connections", "2", "--duration", "10", "--quiet",
                               "--ramp-timeout", "2"],
                              capture_output=True, text=True, timeout=30)
        took = time.monotonic() - started
        self.assertEqual(done.returncode, 1)
        self.assertIn("2 connections refused", done.stderr)
        self.assertLess(took, 5, "parley-bench waited out --duration after every failure")

    def test_dropped_connections_stop_run(self):
        port = free_port()
        server = subprocess.Popen([ECHO, "--listen", f"127.0.0.1:{port}", "--threads", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(server.wait, 10)
        self.addCleanup(server.kill)
        wait_for_port(port, server)
        bench = subprocess.Popen([BENCH, "echo", "--url", f"ws://127.0.0.1:{port}/",
                                  "--connections", "2", "--duration", "10", "--quiet"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(bench.kill)
        time.sleep(1)  # the connections open and the measured window begins
        server.terminate()  # parley-echo closes every session with 1001 as it stops
        stopped = time.monotonic()
        _, stderr = bench.communicate(timeout=30)
        took = time.monotonic() - stopped
        self.assertEqual(bench.returncode, 1)
        self.assertIn("2 dropped by the server", stderr)
        self.assertLess(took, 5, "parley-bench waited out --duration after every failure")

    def test_unknown_option_in_any_position(self):
        for args in (["--bogus"], ["--connections", "1", "--bogus"], ["--bogus", "--quiet"]):
            with self.subTest(args=args):
                done = subprocess.run([BENCH, "echo", *args], capture_output=True, text=True,
                                      timeout=30)
                self.assertEqual(done.returncode, 2)
                self.assertIn("unknown option --bogus (see --help)", done.stderr)
                self.assertNotIn("needs a value", done.stderr)

    def test_tcp_echo_help_and_errors(self):
        done = subprocess.run([TCP_ECHO, "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(done.returncode, 0)
        self.assertIn("Usage: parley-tcp-echo", done.stdout)
        self.assertEqual(done.stderr, "")
        for args, message in ((["--bogus"], "unknown option --bogus"),
                              (["--port"], "--port needs a value"),
                              (["--port", "70000"], "--port must be 1 to 65535")):
            with self.subTest(args=args):
                done = subprocess.run([TCP_ECHO, *args], capture_output=True, text=True,
                                      timeout=10)
                self.assertEqual(done.returncode, 2)
                self.assertIn(message, done.stderr)
                self.assertEqual(done.stdout, "")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
