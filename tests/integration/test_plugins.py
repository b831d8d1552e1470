"""Plugins through the real gateway binary: signing and verifying with the CLI (exit codes),
the environment cleaning of B10, hot reload by SIGHUP and by the admin route, and a plugin built
out of tree against the installed SDK package."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from gateway import BIN, Gateway

FIXTURES = os.environ.get("GATEHOUSE_FIXTURES", "build/tests/contract")
BUILD = os.environ.get("GATEHOUSE_BUILD", "build")
SOURCE = os.environ.get("GATEHOUSE_SOURCE", "../..")


def gh(*args, **kw):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=60, **kw)


class Signer:
    """A plugin folder, a trust store and a key of its own, in a private temp dir."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="gatehouse-plugins-")
        self.root = self.tmp.name
        self.dir = os.path.join(self.root, "plugins")
        self.trust = os.path.join(self.root, "trust")
        self.state = os.path.join(self.root, "state")
        os.mkdir(self.dir, 0o755)
        os.mkdir(self.trust, 0o755)
        self.key = os.path.join(self.root, "signing.key")
        r = gh("plugin", "keygen", "--private", self.key, "--public", os.path.join(self.trust, "test.pub"))
        assert r.returncode == 0, r.stderr
        self.key_id = re.search(r"key id ([0-9a-f]{16})", r.stdout).group(1)

    def path(self, name):
        return os.path.join(self.dir, "gh-%s.so" % name)

    def install(self, fixture, name, version, sign=True, extra=()):
        tmp = self.path(name) + ".new"
        shutil.copyfile(os.path.join(FIXTURES, "fixture_%s.so" % fixture), tmp)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.path(name))
        if sign:
            r = gh("plugin", "sign", "--key", self.key, "--name", name, "--version", version, *extra, self.path(name))
            assert r.returncode == 0, r.stderr

    def verify(self, name, *extra):
        return gh("plugin", "verify", "--trust-store", self.trust, "--state-dir", self.state, *extra, self.path(name))

    def host_config(self):
        return "  directory: %s\n  trust_store: %s\n" % (self.dir, self.trust)

    def close(self):
        self.tmp.cleanup()


class CliTest(unittest.TestCase):
    def setUp(self):
        self.s = Signer()

    def tearDown(self):
        self.s.close()

    def test_keygen_protects_the_private_key_and_never_overwrites(self):
        self.assertEqual(os.stat(self.s.key).st_mode & 0o777, 0o600)
        r = gh("plugin", "keygen", "--private", self.s.key, "--public", os.path.join(self.s.root, "x.pub"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(self.s.key, r.stderr)

    def test_verify_exit_codes(self):
        self.s.install("good", "good", "1.0.0")
        r = self.s.verify("good")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid: good 1.0.0, ABI 1.0, signed by key " + self.s.key_id, r.stdout)

        with open(self.s.path("good"), "ab") as f:       # tampered
            f.write(b"\0")
        self.assertEqual(self.s.verify("good").returncode, 16)

        self.s.install("good", "good", "1.0.0")          # unknown key
        other = Signer()
        try:
            self.assertEqual(other.verify("good").returncode, 10)  # no such file in its folder
            r = gh("plugin", "verify", "--trust-store", other.trust, self.s.path("good"))
            self.assertEqual(r.returncode, 12, r.stderr)
        finally:
            other.close()

        revoked = os.path.join(self.s.root, "revoked.txt")  # revoked key
        with open(revoked, "w") as f:
            f.write(self.s.key_id + "\n")
        self.assertEqual(self.s.verify("good", "--revocation-list", revoked).returncode, 13)

        self.s.install("good", "good", "1.0.0", extra=("--not-after", "2020-01-01T00:00:00Z"))   # expired
        self.assertEqual(self.s.verify("good").returncode, 15)

        self.s.install("good", "good", "1.0.0", extra=("--abi", "2.0"))   # another ABI
        self.assertEqual(self.s.verify("good").returncode, 17)

        self.s.install("runpath", "runpath", "1.0.0")     # RUNPATH
        r = self.s.verify("runpath")
        self.assertEqual(r.returncode, 19, r.stderr)
        self.assertIn("RUNPATH", r.stderr)

        os.remove(self.s.path("runpath") + ".sig")        # no signature
        self.assertEqual(self.s.verify("runpath").returncode, 10)

        self.s.install("good", "good", "1.0.0")
        with open(self.s.path("good") + ".sig", "r+b") as f:   # signature bytes damaged
            text = f.read()
            f.seek(text.index(b"\n") + 5)
            f.write(b"A" if text[text.index(b"\n") + 5:text.index(b"\n") + 6] != b"A" else b"B")
        self.assertIn(self.s.verify("good").returncode, (11, 14))

    def test_list_shows_every_plugin_with_its_verdict(self):
        self.s.install("good", "good", "1.0.0")
        self.s.install("other", "other", "1.0.0", sign=False)
        cfg = os.path.join(self.s.root, "gw.yaml")
        with open(cfg, "w") as f:
            f.write("plugin_host:\n" + self.s.host_config() + "  state_dir: %s\n" % self.s.state)
        r = gh("plugin", "list", "--config", cfg)
        self.assertEqual(r.returncode, 10, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"gh-good\.so\s+valid: good 1\.0\.0")
        self.assertRegex(r.stdout, r"gh-other\.so\s+.*\.sig")


class GatewayPluginsTest(unittest.TestCase):
    def setUp(self):
        self.s = Signer()
        self.gw = None

    def tearDown(self):
        if self.gw is not None:
            self.assertEqual(self.gw.stop(), 0)
        self.s.close()

    def start(self, plugins, env=None):
        self.gw = Gateway(host_extra=self.s.host_config(), plugins_extra=plugins)
        return self.gw.start(env=env)

    def plugin(self, name):
        for p in self.gw.json("GET", "/sensinact/runtime/plugins")["plugins"]:
            if p["name"] == name:
                return p
        return None

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def test_runtime_lists_loaded_and_refused_plugins_with_signer_and_reason(self):
        self.s.install("good", "good", "1.0.0")
        self.s.install("other", "other", "1.0.0")
        with open(self.s.path("other"), "ab") as f:
            f.write(b"tampered")
        self.start("  good: {level: 4}\n  other:\n")
        good = self.plugin("good")
        self.assertEqual((good["state"], good["version"], good["signer"], good["health"]),
                         ("loaded", "1.0.0", self.s.key_id, "running"))
        other = self.plugin("other")
        self.assertEqual(other["state"], "refused")
        self.assertIn("does not match its signed manifest", other["reason"])
        doc = self.gw.json("GET", "/sensinact/providers/good-device/services/fixture/resources/level/GET")
        self.assertEqual(doc["response"]["value"], 4)
        self.assertEqual(self.gw.json("GET", "/health")["status"], "UP")

    def test_sighup_hot_replaces_a_new_signed_version_and_keeps_the_provider(self):
        self.s.install("good", "good", "1.0.0")
        self.start("  good:\n")
        version = "/sensinact/providers/good-device/services/fixture/resources/version/GET"
        self.assertEqual(self.gw.json("GET", version)["response"]["value"], "1.0.0")
        self.s.install("good_v2", "good", "1.1.0")
        self.gw.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.wait_for(lambda: self.plugin("good")["version"] == "1.1.0"), self.gw.logs())
        self.assertEqual(self.plugin("good")["state"], "loaded")
        self.assertEqual(self.gw.json("GET", version)["response"]["value"], "1.1.0")
        self.assertIn("replaced 1.0.0 by 1.1.0", self.gw.logs())

    def test_admin_route_reloads_and_stops_a_removed_plugin(self):
        self.s.install("good", "good", "1.0.0")
        self.start("  good:\n")
        self.assertEqual(self.plugin("good")["state"], "loaded")
        with open(self.gw.config) as f:
            text = f.read().replace("  good:\n", "")
        self.gw.write_config(text=text)
        doc = self.gw.json("POST", "/sensinact/runtime/plugins/reload")
        self.assertEqual(doc["type"], "PLUGINS_RELOAD")
        self.assertTrue(any("good: stopped" in line for line in doc["report"]), doc)
        self.assertEqual(self.plugin("good")["state"], "stopped")
        status, _, _ = self.gw.request("GET", "/sensinact/providers/good-device")
        self.assertEqual(status, 404)
        # An invalid file changes nothing and says why.
        self.gw.write_config(text=text + "bogus: 1\n")
        status, _, body = self.gw.request("POST", "/sensinact/runtime/plugins/reload")
        self.assertEqual(status, 400)
        self.assertIn("bogus", body.decode())

    def test_crashing_plugin_does_not_take_the_gateway_down(self):
        self.s.install("start_crashes", "start_crashes", "1.0.0")
        self.s.install("good", "good", "1.0.0")
        self.start("  start_crashes:\n  good:\n")
        crashed = self.plugin("start_crashes")
        self.assertEqual(crashed["state"], "failed")
        self.assertIn("SIGSEGV", crashed["reason"])
        self.assertEqual(self.plugin("good")["state"], "loaded")

    def test_bad_plugin_settings_stop_the_start_with_file_line_and_key(self):
        self.s.install("good", "good", "1.0.0")
        gw = Gateway(host_extra=self.s.host_config(), plugins_extra="  good:\n    levle: 3\n")
        try:
            r = subprocess.run([BIN, "run", "--config", gw.config], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertRegex(r.stderr, re.escape(gw.config) + r":\d+:5: plugins\.good\.levle: unknown key; did you mean \"level\"\?")
            # `config check` finds the same problem without starting anything.
            r = gh("config", "check", gw.config)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("plugins.good.levle: unknown key", r.stderr)
            gw.write_config(host_extra=self.s.host_config(), plugins_extra="  good:\n    level: 3\n")
            r = gh("config", "check", gw.config)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("plugin sim refused", r.stderr)   # not in this folder: its settings are unchecked
        finally:
            gw.dir.cleanup()

    def test_b10_loader_environment_is_cleaned_before_plugins_load(self):
        self.s.install("good", "good", "1.0.0")
        marker = os.path.join(self.s.root, "marker")
        preload = os.path.join(FIXTURES, "fixture_preload.so")
        env = dict(os.environ, LD_PRELOAD=preload, LD_LIBRARY_PATH=self.s.dir, GH_TEST_MARKER_FILE=marker)
        self.start("  good:\n", env=env)
        self.assertEqual(self.plugin("good")["state"], "loaded")
        with open(marker) as f:
            lines = f.read()
        self.assertIn("preload", lines)   # it did get injected into the first image...
        pid = self.gw.proc.pid
        with open("/proc/%d/maps" % pid) as f:
            self.assertNotIn("fixture_preload", f.read())   # ...which re-executed without it
        with open("/proc/%d/environ" % pid, "rb") as f:
            environ = f.read().split(b"\0")
        self.assertFalse(any(v.startswith(b"LD_PRELOAD=") or v.startswith(b"LD_LIBRARY_PATH=") for v in environ))
        self.assertIn("removed LD_PRELOAD,LD_LIBRARY_PATH from the environment", self.gw.logs())


class OutOfTreePluginTest(unittest.TestCase):
    """The SDK installed as a CMake package; the template plugin built, signed and loaded."""

    def test_template_builds_against_the_installed_sdk_signs_and_runs(self):
        with tempfile.TemporaryDirectory(prefix="gatehouse-sdk-") as tmp:
            prefix = os.path.join(tmp, "prefix")
            build = os.path.join(tmp, "template-build")
            r = subprocess.run(["cmake", "--install", BUILD, "--prefix", prefix], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(os.path.exists(os.path.join(prefix, "include/gatehouse/sdk/abi.h")))
            r = subprocess.run(["cmake", "-S", os.path.join(SOURCE, "core/sdk/template"), "-B", build,
                                "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = subprocess.run(["cmake", "--build", build, "-j2"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            out = os.path.join(build, "plugins-signed")
            so = [f for f in os.listdir(out) if f.startswith("gh-") and f.endswith(".so")]
            self.assertEqual(len(so), 1, os.listdir(out))
            name = so[0][3:-3]
            self.assertTrue(os.path.exists(os.path.join(out, so[0] + ".sig")))
            trust = os.path.join(out, "trust")
            r = gh("plugin", "verify", "--trust-store", trust, "--state-dir", os.path.join(tmp, "state"),
                   os.path.join(out, so[0]))
            self.assertEqual(r.returncode, 0, r.stderr)
            gw = Gateway(host_extra="  directory: %s\n  trust_store: %s\n" % (out, trust),
                         plugins_extra="  %s:\n" % name).start()
            try:
                plugins = {p["name"]: p for p in gw.json("GET", "/sensinact/runtime/plugins")["plugins"]}
                self.assertEqual(plugins[name]["state"], "loaded", plugins[name]["reason"])
                providers = gw.json("GET", "/sensinact/providers")["providers"]
                self.assertTrue(any(p not in ("sim-temperature-1", "sim-light-1") for p in providers), providers)
            finally:
                self.assertEqual(gw.stop(), 0)


if __name__ == "__main__":
    unittest.main()
