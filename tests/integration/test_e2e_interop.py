"""Interoperability of the end-to-end protocol with an implementation that is not ours: the
Python one in tests/e2e_py/gh_e2e.py, written from docs/e2e-protocol.md alone with Debian's
python3-cryptography. Over a real mosquitto:
- a Python publisher -> the C++ subscriber (`gatehouse e2e subscribe`) decrypts;
- the C++ publisher (`gatehouse e2e publish`) -> a Python subscriber decrypts;
and the certificates of one side's authority are accepted by the other's code."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from mosquitto import Mosquitto

BIN = os.environ.get("GATEHOUSE_BIN", "build/core/app/gatehouse")
SOURCE = os.environ.get("GATEHOUSE_SOURCE", "../..")
PY = "/usr/bin/python3"   # Debian's python3-cryptography is importable from this interpreter only
GH_E2E_PY = os.path.join(SOURCE, "tests/e2e_py/gh_e2e.py")
TOPIC = "plant/line1/pressure"


def run(cmd, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (" ".join(cmd[:3]), r.returncode, r.stdout, r.stderr))
    return r


class E2eInteropTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gatehouse-e2e-interop-")
        self.broker = Mosquitto().start()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
            p.stdout.close()
            p.stderr.close()
        self.broker.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def enrol(self, tool):
        """Authority, publisher and subscriber identities made by `tool` ("cpp" or "py")."""
        a = self.path("authority")
        if tool == "cpp":
            run([BIN, "e2e", "authority", "init", "--dir", a])
            run([BIN, "e2e", "keygen", "--type", "ed25519", "--out", self.path("pub")])
            run([BIN, "e2e", "keygen", "--type", "x25519", "--out", self.path("sub")])
            enroll = [BIN, "e2e", "authority", "enroll", "--dir", a]
        else:
            run([PY, GH_E2E_PY, "authority-init", "--dir", a])
            run([PY, GH_E2E_PY, "keygen", "--type", "ed25519", "--out", self.path("pub")])
            run([PY, GH_E2E_PY, "keygen", "--type", "x25519", "--out", self.path("sub")])
            enroll = [PY, GH_E2E_PY, "enroll", "--dir", a]
        run(enroll + ["--role", "publisher", "--id", "press-7", "--key", self.path("pub.pub"), "--topic", TOPIC,
                      "--out", self.path("pub.cert")])
        run(enroll + ["--role", "subscriber", "--id", "scada", "--key", self.path("sub.pub"), "--topic", "plant/#",
                      "--out", self.path("sub.cert")])

    def cpp_publisher(self, count):
        return subprocess.Popen(
            [BIN, "e2e", "publish", "--broker", "tcp://127.0.0.1:%d" % self.broker.port, "--topic", TOPIC,
             "--key", self.path("pub.key"), "--cert", self.path("pub.cert"),
             "--authority", self.path("authority/authority.pub"), "--state", self.path("pub.state"),
             "--count", str(count), "--interval-ms", "100", "--value-prefix", "cpp", "--wait-subscribers", "1",
             "--linger-s", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def py_publisher(self, count):
        return subprocess.Popen(
            [PY, GH_E2E_PY, "publish", "--host", "127.0.0.1", "--port", str(self.broker.port), "--topic", TOPIC,
             "--key", self.path("pub.key"), "--cert", self.path("pub.cert"),
             "--authority", self.path("authority/authority.pub"), "--state", self.path("pub.state"),
             "--count", str(count), "--interval-ms", "300", "--value-prefix", "py", "--linger-s", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def cpp_subscriber(self, count):
        return subprocess.run(
            [BIN, "e2e", "subscribe", "--broker", "tcp://127.0.0.1:%d" % self.broker.port, "--topic", TOPIC,
             "--key", self.path("sub.key"), "--cert", self.path("sub.cert"),
             "--authority", self.path("authority/authority.pub"), "--count", str(count), "--timeout-s", "40"],
            capture_output=True, text=True, timeout=60)

    def py_subscriber(self, count):
        return subprocess.run(
            [PY, GH_E2E_PY, "subscribe", "--host", "127.0.0.1", "--port", str(self.broker.port), "--topic", TOPIC,
             "--key", self.path("sub.key"), "--cert", self.path("sub.cert"),
             "--authority", self.path("authority/authority.pub"), "--count", str(count), "--timeout-s", "40"],
            capture_output=True, text=True, timeout=60)

    def values(self, out):
        return [json.loads(line)["value"] for line in out.splitlines() if line.strip()]

    def test_python_publisher_cpp_subscriber(self):
        self.enrol("py")
        pub = self.py_publisher(40)
        self.procs.append(pub)
        sub = self.cpp_subscriber(5)
        self.assertEqual(sub.returncode, 0, sub.stderr + (pub.stderr.read() if pub.poll() is not None else ""))
        values = self.values(sub.stdout)
        self.assertEqual(len(values), 5, sub.stdout)
        for v in values:
            self.assertRegex(v, r"^py-\d+$")
        self.assertEqual(len(set(values)), 5)

    def test_cpp_publisher_python_subscriber(self):
        self.enrol("cpp")
        pub = self.cpp_publisher(10)
        self.procs.append(pub)
        sub = self.py_subscriber(5)
        self.assertEqual(sub.returncode, 0, sub.stderr + (pub.stderr.read() if pub.poll() is not None else ""))
        values = self.values(sub.stdout)
        self.assertEqual(len(values), 5, sub.stdout)
        for v in values:
            self.assertRegex(v, r"^cpp-\d+$")
        pub.wait(30)
        self.assertEqual(pub.returncode, 0, pub.stderr.read())


if __name__ == "__main__":
    unittest.main()
