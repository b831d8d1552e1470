"""The gatehouse command line: version, help, config check, start refusals, clean shutdown."""
import os
import re
import subprocess
import tempfile
import unittest

from gateway import BIN, Gateway

SOURCE = os.environ.get("GATEHOUSE_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))


def run(*args, timeout=10):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


class CliTest(unittest.TestCase):
    def write(self, text):
        d = tempfile.mkdtemp(prefix="gatehouse-cli-")
        path = os.path.join(d, "g.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_version_and_help(self):
        r = run("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^gatehouse \d+\.\d+\.\d+")
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("run --config FILE", "config check FILE", "version"):
            self.assertIn(cmd, r.stdout)
        r = run("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)
        r = run("run")
        self.assertEqual(r.returncode, 2)

    def test_shipped_config_is_valid(self):
        r = run("config", "check", os.path.join(SOURCE, "etc", "gatehouse.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK", r.stdout)

    def test_config_errors_name_file_line_and_key(self):
        path = self.write("gateway:\n  id: ok\nhttp:\n  port: 99999\n  bogus_key: 1\n")
        r = run("config", "check", path)
        self.assertEqual(r.returncode, 3)
        self.assertRegex(r.stderr, re.escape(path) + r":4:\d+: http\.port")
        self.assertRegex(r.stderr, re.escape(path) + r":5:\d+: http\.bogus_key")
        self.assertNotIn("terminate", r.stderr)
        r = run("run", "--config", path)
        self.assertEqual(r.returncode, 3)
        self.assertIn("http.port", r.stderr)
        r = run("config", "check", "/nonexistent/gatehouse.yaml")
        self.assertEqual(r.returncode, 3)
        self.assertIn("/nonexistent/gatehouse.yaml", r.stderr)

    def test_auth_none_refuses_non_loopback_listener(self):
        path = self.write("http:\n  listen: 0.0.0.0\n  port: 0\nauth:\n  mode: none\n")
        r = run("run", "--config", path)
        self.assertEqual(r.returncode, 3)
        self.assertRegex(r.stderr, re.escape(path) + r":2:\d+: http\.listen")
        self.assertIn("loopback", r.stderr)

    def test_port_in_use_is_a_clear_error(self):
        gw = Gateway().start()
        try:
            path = self.write("http:\n  port: %d\n" % gw.port)
            r = run("run", "--config", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("127.0.0.1:%d" % gw.port, r.stderr)
        finally:
            self.assertEqual(gw.stop(), 0)

    def test_sigterm_shuts_down_cleanly(self):
        gw = Gateway().start()
        s = gw.open_stream("/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature/SUBSCRIBE")
        self.assertEqual(gw.json("GET", "/health")["status"], "UP")
        log = gw.logs
        code = gw.stop(timeout=3)
        self.assertEqual(code, 0)
        self.assertIn("shutting down", log())
        self.assertIn("stopped", log())
        s.close()


if __name__ == "__main__":
    unittest.main()
