"""Start-up: a taken port or an unknown option stops parley-echo with an error.

Every parley-echo loop binds with SO_REUSEPORT, so without its own check a second server
could share the port and take part of the connections.
"""

import socket
import subprocess
import unittest

from servers import ECHO_BINARY, EchoServer

START_TIMEOUT = 20


class TakenPortTests(unittest.TestCase):
    def run_echo_on(self, port):
        command = [ECHO_BINARY, "--listen", f"127.0.0.1:{port}", "--threads", "2"]
        return subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT,
                              stdin=subprocess.DEVNULL)

    def assert_rejected(self, result, holder):
        self.assertNotEqual(result.returncode, 0,
                            f"parley-echo started on a port that {holder} listens on")
        self.assertEqual(result.returncode, 1, f"exit code {result.returncode}, expected 1")
        self.assertIn("address already in use", result.stderr,
                      f"stderr does not name the cause: {result.stderr!r}")

    def test_plain_listener_holds_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]
            self.assert_rejected(self.run_echo_on(port), "a plain socket")

    def test_reuseport_listener_holds_port(self):
        # A listener with SO_REUSEPORT, as another parley-echo or parleyd opens, would let a
        # second SO_REUSEPORT bind succeed, so this case fails without the check.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]
            self.assert_rejected(self.run_echo_on(port), "an SO_REUSEPORT socket")

    def test_running_echo_holds_port(self):
        first = EchoServer()
        self.addCleanup(first.cleanup)
        first.start()
        self.assert_rejected(self.run_echo_on(first.port), "another parley-echo")
        socket.create_connection(("127.0.0.1", first.port), timeout=1.0).close()


class CommandLineTests(unittest.TestCase):
    def test_unknown_option_in_any_position(self):
        for args in (["--bogus"], ["--threads", "1", "--bogus"], ["--bogus", "--deflate"]):
            with self.subTest(args=args):
                result = subprocess.run([ECHO_BINARY, *args], capture_output=True, text=True,
                                        timeout=START_TIMEOUT, stdin=subprocess.DEVNULL)
                self.assertEqual(result.returncode, 2)
                self.assertIn("unknown option --bogus (see --help)", result.stderr)
                self.assertNotIn("needs a value", result.stderr)


if __name__ == "__main__":
    unittest.main()
