"""Command line: parleyd rejects an unknown option by name in any position."""

import subprocess
import unittest

from harness import PARLEYD

RUN_TIMEOUT = 20


class CommandLineTests(unittest.TestCase):
    def run_parleyd(self, *args):
        return subprocess.run([PARLEYD, *args], capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)

    def test_unknown_option_in_any_position(self):
        cases = {
            "alone": ["--bogus"],
            "last": ["--threads", "1", "--bogus"],
            "first": ["--bogus", "--threads", "1"],
        }
        for position, args in cases.items():
            with self.subTest(position=position):
                result = self.run_parleyd(*args)
                self.assertEqual(result.returncode, 2, f"exit code for {args}")
                self.assertIn("unknown option --bogus (see --help)", result.stderr)
                self.assertNotIn("needs a value", result.stderr)

    def test_known_option_without_value(self):
        result = self.run_parleyd("--threads")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--threads needs a value", result.stderr)

    def test_help_goes_to_stdout(self):
        result = self.run_parleyd("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("Usage: parleyd", result.stdout)
        self.assertEqual(result.stderr, "")


if __name__ == "__main__":
    unittest.main()
