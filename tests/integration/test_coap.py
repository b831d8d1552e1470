"""The CoAP bridge (issue 16) against real CoAP peers that are not the bridge: the real gateway loads
the signed gh-coap.so and talks to
  - libcoap's own tools (coap-client-openssl pushing to the gateway's endpoint, coap-server-openssl
    observed and written by the gateway),
  - scripts/coap-demo-device (a libcoap server of ours, the device of etc/examples/coap.yaml),
  - Node's `coap` package from npm (tests/fixtures/coap-node: an implementation that is not libcoap),
over UDP and DTLS (pre-shared keys, and X.509 certificates made here with the openssl command), on
free loopback ports. Every peer is started and stopped by its PID. The interface tested is
bridges/coap/README.md and docs/coap-bridge.md; every check is an exact value.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from gateway import Gateway

CLIENT = shutil.which("coap-client-openssl")
SERVER = shutil.which("coap-server-openssl")
SOURCE = os.path.abspath(os.environ.get("GATEHOUSE_SOURCE", "../.."))
BUILD = os.path.abspath(os.environ.get("GATEHOUSE_BUILD", os.path.join(SOURCE, "build")))
DEMO = os.path.join(BUILD, "bridges/coap/demo/gatehouse-coap-demo-device")
NODE_FIXTURE = os.path.join(SOURCE, "tests/fixtures/coap-node")
NODE = shutil.which("node")
R = "/sensinact/providers/%s/services/%s/resources/%s"
STATS = "coap-bridge"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, message=""):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out after %.1f s: %s" % (timeout, message() if callable(message) else message))
        time.sleep(0.05)


class Peer:
    """A process of ours to talk to (a device), stopped by its PID; waits for a ready line."""

    def __init__(self, argv, ready, cwd=None):
        self.out = tempfile.NamedTemporaryFile(mode="w+", prefix="coap-peer-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT, cwd=cwd)
        wait_for(lambda: ready in self.output() or self.proc.poll() is not None, 15, self.output)
        if self.proc.poll() is not None:
            raise AssertionError("peer exited: %s" % self.output())

    def output(self):
        with open(self.out.name) as f:
            return f.read()

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        os.unlink(self.out.name)


def make_pki(folder):
    """A CA, a gateway certificate, a device certificate, and a device certificate of another CA."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    for ca in ("ca", "rogue-ca"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % ca, "-keyout", ca + ".key", "-out", ca + ".pem")
    for name, ca in (("gateway", "ca"), ("device", "ca"), ("rogue-device", "rogue-ca")):
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=%s" % name,
            "-keyout", name + ".key", "-out", name + ".csr")
        run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
            "-days", "2", "-out", name + ".pem")
    return {n: os.path.join(folder, n) for n in os.listdir(folder)}


class CoapTest(unittest.TestCase):
    """Starts a gateway with a coap block (push endpoint on free ports, optional devices file)."""

    def start_gateway(self, extra="", devices=None, dtls=False, pki=None):
        self.udp = free_udp_port()
        self.dtls = free_udp_port()
        block = "  coap:\n    listen: [\"127.0.0.1:%d\"]\n    bad_request_log_interval_s: 1\n" % self.udp
        if dtls:
            block += "    dtls_listen: [\"127.0.0.1:%d\"]\n    psk_keys: [\"dev1=text:secret-key-1\"]\n" % self.dtls
        if pki:
            block += "    ca_file: %s\n    cert_file: %s\n    key_file: %s\n" % (pki["ca.pem"], pki["gateway.pem"], pki["gateway.key"])
        if devices is not None:
            fd, path = tempfile.mkstemp(prefix="coap-devices-", suffix=".yaml")
            with os.fdopen(fd, "w") as f:
                f.write(devices)
            self.addCleanup(os.unlink, path)
            block += "    devices_file: %s\n" % path
        block += extra
        self.gw = Gateway(plugins_extra=block)
        self.gw.start()
        self.addCleanup(lambda: self.assertEqual(self.gw.stop(), 0))
        wait_for(lambda: "CoAP: listening on coap://" in self.gw.logs(), 10, self.gw.logs)

    def peer(self, argv, ready, cwd=None):
        p = Peer(argv, ready, cwd)
        self.addCleanup(p.stop)
        return p

    def client(self, *args, timeout=15):
        """Runs coap-client-openssl (with -B: never waits forever); returns (exit code, output)."""
        p = subprocess.run(["timeout", str(timeout), CLIENT, "-B", "3", *args], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    def resource(self, p, s, r):
        """The resource's GET response, or None when it does not exist."""
        status, _, data = self.gw.request("GET", R % (p, s, r) + "/GET")
        return json.loads(data)["response"] if status == 200 else None

    def value(self, p, s, r):
        res = self.resource(p, s, r)
        return None if res is None else res["value"]

    def stat(self, name):
        return self.value(STATS, "stats", name) or 0

    def lifecycle(self, p):
        return self.value(p, "admin", "lifecycleStatus")

    def call(self, verb, p, s, r, body):
        status, _, data = self.gw.request("POST", R % (p, s, r) + "/" + verb, body=json.dumps(body).encode(),
                                          headers={"Content-Type": "application/json"}, timeout=15)
        return status, json.loads(data)


@unittest.skipUnless(CLIENT, "coap-client-openssl (libcoap3-bin) is not installed")
class PushEndpointTest(CoapTest):
    def setUp(self):
        self.start_gateway(dtls=True, extra="    push_paths: [\"t=short/env/temperature\"]\n")

    def test_put_text_json_cbor_and_senml_reach_rest(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        self.assertEqual(self.client("-m", "put", "-t", "0", "-e", "21.5", uri + "/dev1/env/temperature")[0], 0)
        self.assertEqual(self.client("-m", "post", "-t", "50", "-e", '{"on":true}', uri + "/dev1/light/state")[0], 0)
        self.assertEqual(self.client("-m", "put", "-t", "110", "-e", '[{"bn":"env/","n":"humidity","u":"%25RH","v":47.3}]',   # -e is percent-decoded
                                     uri + "/dev2")[0], 0)
        with tempfile.NamedTemporaryFile(suffix=".cbor") as f:
            f.write(bytes([0xfa, 0x41, 0xac, 0x00, 0x00]))   # CBOR float32 21.5
            f.flush()
            self.assertEqual(self.client("-m", "put", "-t", "60", "-f", f.name, uri + "/dev1/env/cbor")[0], 0)
        self.assertEqual(self.client("-m", "put", "-t", "0", "-e", "19", uri + "/t")[0], 0)
        self.assertEqual(self.value("dev1", "env", "temperature"), 21.5)
        self.assertEqual(self.value("dev1", "light", "state"), {"on": True})
        self.assertEqual(self.value("dev2", "env", "humidity"), 47.3)
        self.assertEqual(self.value("dev1", "env", "cbor"), 21.5)
        self.assertEqual(self.value("short", "env", "temperature"), 19)
        wait_for(lambda: self.stat("valuesStored") == 5, 5, lambda: str(self.stat("valuesStored")))

    def test_block_wise_put_is_reassembled_and_too_large_refused(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        text = "x" * 3000   # three 1024-byte blocks
        code, out = self.client("-b", "1024", "-m", "put", "-t", "0", "-e", text, uri + "/big/s/text")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.value("big", "s", "text"), text)
        code, out = self.client("-b", "1024", "-m", "put", "-t", "0", "-e", "y" * 20000, uri + "/big/s/huge")
        self.assertIn("4.13", out)
        self.assertIsNone(self.value("big", "s", "huge"))

    def test_well_known_core_lists_the_endpoint_resources(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        self.assertEqual(self.client("-m", "put", "-t", "0", "-e", "1", uri + "/dev9/env/t")[0], 0)
        code, out = self.client("-m", "get", uri + "/.well-known/core")
        self.assertEqual(code, 0, out)
        self.assertIn("</t>", out)
        self.assertIn("</dev9/env/t>", out)
        self.assertIn('rt="gatehouse.push"', out)

    def test_missing_content_format_and_bad_paths_are_refused(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        code, out = self.client("-m", "put", "-e", "1", uri + "/dev1/env/t")
        self.assertIn("4.15", out)
        code, out = self.client("-m", "put", "-t", "0", "-e", "1", uri + "/only/two")
        self.assertIn("4.04", out)
        code, out = self.client("-m", "put", "-t", "50", "-e", "{not json", uri + "/dev1/env/t")
        self.assertIn("4.00", out)
        self.assertIsNone(self.value("dev1", "env", "t"))
        wait_for(lambda: self.stat("badRequests") == 3, 5, lambda: str(self.stat("badRequests")))
        wait_for(lambda: "refused request(s), latest from 127.0.0.1" in self.gw.logs(), 5, self.gw.logs)

    def test_end_to_end_envelope_is_stored_as_sent(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        envelope = b"GHE\x01\x01" + bytes(range(256)) * 2   # opaque bytes, never parsed
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(envelope)
            f.flush()
            code, out = self.client("-m", "put", "-t", "42", "-f", f.name, uri + "/sealed/data/reading")
        self.assertEqual(code, 0, out)
        import base64
        self.assertEqual(base64.b64decode(self.value("sealed", "data", "reading")), envelope)

    def test_dtls_psk_good_key_stores_wrong_key_refused_in_bounded_time(self):
        uri = "coaps://127.0.0.1:%d" % self.dtls
        code, out = self.client("-u", "dev1", "-k", "secret-key-1", "-m", "put", "-t", "0", "-e", "7", uri + "/dev3/s/r")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.value("dev3", "s", "r"), 7)
        t0 = time.time()
        code, out = self.client("-u", "dev1", "-k", "wrong-key-123", "-m", "put", "-t", "0", "-e", "8", uri + "/dev4/s/r")
        self.assertLess(time.time() - t0, 15)
        wait_for(lambda: "DTLS refused for 127.0.0.1:" in self.gw.logs(), 10, self.gw.logs)
        self.assertIsNone(self.value("dev4", "s", "r"))
        code, out = self.client("-u", "nobody", "-k", "secret-key-1", "-m", "put", "-t", "0", "-e", "9", uri + "/dev5/s/r")
        self.assertIsNone(self.value("dev5", "s", "r"))
        wait_for(lambda: "unknown PSK identity \"nobody\"" in self.gw.logs(), 10, self.gw.logs)
        self.assertNotIn("secret-key-1", self.gw.logs())
        self.assertNotIn("wrong-key-123", self.gw.logs())
        wait_for(lambda: self.stat("dtlsRefused") >= 2, 5, lambda: str(self.stat("dtlsRefused")))


@unittest.skipUnless(CLIENT, "coap-client-openssl (libcoap3-bin) is not installed")
class PushEndpointCertificateTest(CoapTest):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="coap-pki-")
        self.addCleanup(shutil.rmtree, self.folder)
        self.pki = make_pki(self.folder)
        self.start_gateway(pki=self.pki, extra="    dtls_listen: [\"127.0.0.1:%d\"]\n" % free_udp_port())
        self.dtls_port = int(self.gw.logs().split("CoAP: listening on coaps://127.0.0.1:")[1].split()[0]) \
            if "coaps://" in self.gw.logs() else None

    def test_certificate_of_the_ca_is_taken_other_ca_refused(self):
        wait_for(lambda: "coaps://" in self.gw.logs(), 5, self.gw.logs)
        port = int(self.gw.logs().split("CoAP: listening on coaps://127.0.0.1:")[1].split()[0])
        uri = "coaps://127.0.0.1:%d" % port
        p = self.pki
        code, out = self.client("-c", p["device.pem"], "-j", p["device.key"], "-C", p["ca.pem"],
                                "-m", "put", "-t", "0", "-e", "5", uri + "/certdev/s/r")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.value("certdev", "s", "r"), 5)
        t0 = time.time()
        self.client("-c", p["rogue-device.pem"], "-j", p["rogue-device.key"], "-C", p["rogue-ca.pem"],
                    "-m", "put", "-t", "0", "-e", "6", uri + "/roguedev/s/r")
        self.assertLess(time.time() - t0, 15)
        self.assertIsNone(self.value("roguedev", "s", "r"))
        wait_for(lambda: "DTLS refused for 127.0.0.1:" in self.gw.logs(), 10, self.gw.logs)


DEMO_DEVICES = """devices:
  - provider: demo
    uri: %(uri)s
%(extra)s    timeout_ms: 1000
    poll_interval_s: 1
    ping_interval_s: 1
    resources:
      - {path: sensors/temperature, service: environment, resource: temperature, unit: Cel}
      - {path: sensors/humidity, service: environment, resource: humidity}
      - {path: device/battery, service: device, resource: battery}
      - {path: settings/interval, service: settings, resource: reportInterval, access: write, type: long}
      - {path: actions/blink, service: actions, resource: blink, access: action, format: json, params: [{name: times, type: long}]}
"""


@unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
class DemoDeviceTest(CoapTest):
    """The client side against scripts/coap-demo-device's binary (libcoap), over UDP."""

    def setUp(self):
        self.port = free_udp_port()
        self.device = self.peer([DEMO, "--listen", "127.0.0.1:%d" % self.port, "--interval-ms", "200"], "listening on")
        self.start_gateway(devices=DEMO_DEVICES % {"uri": "coap://127.0.0.1:%d" % self.port, "extra": ""})

    def test_observed_values_change_and_polled_ones_arrive(self):
        first = wait_for(lambda: self.resource("demo", "environment", "temperature"), 10, self.gw.logs)
        wait_for(lambda: (self.resource("demo", "environment", "temperature") or {}).get("timestamp", 0) > first["timestamp"]
                 and self.resource("demo", "environment", "temperature")["value"] is not None, 10, self.gw.logs)
        self.assertEqual(self.resource("demo", "environment", "temperature")["type"], "double")
        wait_for(lambda: self.value("demo", "environment", "humidity") is not None, 10, self.gw.logs)
        wait_for(lambda: isinstance(self.value("demo", "device", "battery"), int), 10, self.gw.logs)
        wait_for(lambda: self.stat("notifications") >= 3, 10, lambda: str(self.stat("notifications")))
        wait_for(lambda: self.stat("polls") >= 2, 10, lambda: str(self.stat("polls")))
        self.assertEqual(self.lifecycle("demo"), "ACTIVE")
        # Discovery listed the device's resources; the configured ones are renamed, none twice.
        status, _, data = self.gw.request("GET", "/sensinact/providers/demo/services")
        services = json.loads(data)["services"]
        self.assertIn("environment", services)
        self.assertNotIn("sensors", services)

    def test_set_is_a_put_and_act_a_post_with_the_device_answer(self):
        wait_for(lambda: self.lifecycle("demo") == "ACTIVE" and self.value("demo", "environment", "temperature") is not None,
                 10, self.gw.logs)
        status, body = self.call("SET", "demo", "settings", "reportInterval", {"value": 500})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["response"]["value"], 500)
        wait_for(lambda: "PUT /settings/interval = 500 ms" in self.device.output(), 5, self.device.output)
        status, body = self.call("SET", "demo", "settings", "reportInterval", {"value": 5})   # device: 100..3600000
        self.assertEqual(status, 400, body)
        self.assertIn("4.00 Bad Request", json.dumps(body))
        status, body = self.call("ACT", "demo", "actions", "blink", {"times": 3})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["response"]["result"] if isinstance(body["response"], dict) and "result" in body["response"]
                         else body["response"], "blinked 3 times")
        wait_for(lambda: self.stat("commandsSent") >= 3, 5, lambda: str(self.stat("commandsSent")))

    def test_a_silent_device_turns_inactive_then_active_and_commands_time_out(self):
        wait_for(lambda: self.lifecycle("demo") == "ACTIVE" and self.value("demo", "environment", "temperature") is not None,
                 10, self.gw.logs)
        self.device.pause()
        t0 = time.time()
        wait_for(lambda: self.lifecycle("demo") == "INACTIVE", 10, self.gw.logs)
        self.assertLess(time.time() - t0, 6)   # ping_interval_s 1 + timeout_ms 1000, with margin
        status, body = self.call("SET", "demo", "settings", "reportInterval", {"value": 700})
        self.assertEqual(status, 504, body)
        self.assertIn("within 1000 ms", json.dumps(body))
        self.device.resume()
        wait_for(lambda: self.lifecycle("demo") == "ACTIVE", 10, self.gw.logs)
        before = self.resource("demo", "environment", "temperature")["timestamp"]
        wait_for(lambda: self.resource("demo", "environment", "temperature")["timestamp"] > before + 300, 10, self.gw.logs)
        self.assertIn("is INACTIVE", self.gw.logs())
        self.assertIn("answers again: ACTIVE", self.gw.logs())


@unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
class DemoDeviceDtlsTest(CoapTest):
    """The client side over DTLS: pre-shared key (right and wrong) and certificates (right and wrong CA)."""

    def demo(self, *args):
        port = free_udp_port()
        self.peer([DEMO, "--listen", "127.0.0.1:%d" % free_udp_port(), "--dtls-listen", "127.0.0.1:%d" % port,
                   "--interval-ms", "200", *args], "listening on")
        return port

    def test_psk_right_key_observes_wrong_key_refused_and_logged(self):
        good = self.demo("--psk-identity", "gw", "--psk-key-hex", "00112233445566778899aabbccddeeff")
        bad = self.demo("--psk-identity", "gw", "--psk-key-hex", "ffeeddccbbaa99887766554433221100")
        devices = (DEMO_DEVICES % {"uri": "coaps://127.0.0.1:%d" % good,
                                   "extra": "    psk_identity: gw\n    psk_key: hex:00112233445566778899aabbccddeeff\n"}) + \
            "  - provider: wrongkey\n    uri: coaps://127.0.0.1:%d\n    psk_identity: gw\n" \
            "    psk_key: hex:00112233445566778899aabbccddeeff\n    timeout_ms: 1000\n    ping_interval_s: 1\n" % bad
        self.start_gateway(devices=devices)
        wait_for(lambda: self.value("demo", "environment", "temperature") is not None, 15, self.gw.logs)
        wait_for(lambda: "DTLS refused for coaps://127.0.0.1:%d (device wrongkey)" % bad in self.gw.logs(), 15, self.gw.logs)
        wait_for(lambda: self.lifecycle("wrongkey") == "INACTIVE", 10, self.gw.logs)
        time.sleep(6)   # past the 5 s handshake limit: the completed handshake is never reported
        self.assertNotIn("(device demo)", self.gw.logs())
        self.assertEqual(self.lifecycle("demo"), "ACTIVE")
        self.assertNotIn("00112233445566778899aabbccddeeff", self.gw.logs())

    def test_certificates_of_the_ca_observe_other_ca_refused(self):
        folder = tempfile.mkdtemp(prefix="coap-pki-")
        self.addCleanup(shutil.rmtree, folder)
        p = make_pki(folder)
        good = self.demo("--cert", p["device.pem"], "--key", p["device.key"], "--ca", p["ca.pem"])
        bad = self.demo("--cert", p["rogue-device.pem"], "--key", p["rogue-device.key"], "--ca", p["rogue-ca.pem"])
        devices = (DEMO_DEVICES % {"uri": "coaps://127.0.0.1:%d" % good, "extra": ""}) + \
            "  - provider: roguedev\n    uri: coaps://127.0.0.1:%d\n    timeout_ms: 1000\n    ping_interval_s: 1\n" % bad
        self.start_gateway(devices=devices, pki=p)
        wait_for(lambda: self.value("demo", "environment", "temperature") is not None, 15, self.gw.logs)
        wait_for(lambda: "DTLS refused for coaps://127.0.0.1:%d (device roguedev)" % bad in self.gw.logs(), 15, self.gw.logs)
        self.assertIsNone(self.value("roguedev", "environment", "temperature"))
        self.assertNotIn("(device demo)", self.gw.logs())


@unittest.skipUnless(SERVER and CLIENT, "coap-server-openssl (libcoap3-bin) is not installed")
class LibcoapServerTest(CoapTest):
    """libcoap's example server as the device: discovery, and a SET read back by libcoap's client."""

    def test_discovery_and_set_round_trip(self):
        port = free_udp_port()
        self.peer([SERVER, "-A", "127.0.0.1", "-p", str(port), "-v", "6"], "")
        devices = ("devices:\n  - provider: libcoap\n    uri: coap://127.0.0.1:%d\n    timeout_ms: 2000\n"
                   "    resources:\n      - {path: example_data, access: write, type: string}\n" % port)
        self.start_gateway(devices=devices)
        wait_for(lambda: "link(s) in /.well-known/core" in self.gw.logs(), 10, self.gw.logs)
        status, body = self.call("SET", "libcoap", "data", "example_data", {"value": "written by gatehouse"})
        self.assertEqual(status, 200, body)
        code, out = self.client("-m", "get", "coap://127.0.0.1:%d/example_data" % port)
        self.assertEqual(out.strip(), "written by gatehouse")

    def test_end_to_end_envelope_polled_is_stored_as_the_device_serves_it(self):
        """A resource marked e2e holds an envelope (docs/e2e-protocol.md); its bytes are stored
        exactly as the device serves them, never parsed (here: more than one block, 1024 bytes)."""
        port = free_udp_port()
        self.peer([SERVER, "-A", "127.0.0.1", "-p", str(port), "-v", "6"], "")
        envelope = b"GHE\x01\x01" + os.urandom(1500)
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(envelope)
            f.flush()
            wait_for(lambda: self.client("-m", "put", "-t", "42", "-f", f.name, "coap://127.0.0.1:%d/example_data" % port)[0] == 0,
                     10, "coap-server did not take the envelope")
        devices = ("devices:\n  - provider: sealed\n    uri: coap://127.0.0.1:%d\n    discover: false\n"
                   "    poll_interval_s: 1\n    resources:\n"
                   "      - {path: example_data, service: e2e, resource: data, observe: \"false\", e2e: true}\n" % port)
        self.start_gateway(devices=devices)
        import base64
        stored = wait_for(lambda: self.value("sealed", "e2e", "data"), 10, self.gw.logs)
        self.assertEqual(base64.b64decode(stored), envelope)
        self.assertEqual(self.resource("sealed", "e2e", "data")["type"], "bytes")


@unittest.skipUnless(NODE and os.path.isdir(os.path.join(NODE_FIXTURE, "node_modules", "coap")),
                     "Node's coap package is not installed (npm ci in tests/fixtures/coap-node)")
class NodeCoapTest(CoapTest):
    """Node's `coap` package (not libcoap) on both sides: a device the gateway observes and writes,
    and a client that pushes to the gateway's endpoint."""

    def test_node_device_observed_and_written(self):
        port = free_udp_port()
        device = self.peer([NODE, "device.mjs", "--port", str(port), "--interval-ms", "200"], "listening on", cwd=NODE_FIXTURE)
        devices = ("devices:\n  - provider: nodedev\n    uri: coap://127.0.0.1:%d\n    timeout_ms: 2000\n"
                   "    poll_interval_s: 1\n    resources:\n"
                   "      - {path: settings/interval, access: write, type: long}\n" % port)
        self.start_gateway(devices=devices)
        first = wait_for(lambda: self.resource("nodedev", "sensors", "temperature"), 15, self.gw.logs)
        wait_for(lambda: (self.resource("nodedev", "sensors", "temperature") or {}).get("timestamp", 0) > first["timestamp"],
                 10, self.gw.logs)
        wait_for(lambda: self.stat("notifications") >= 2, 10, lambda: str(self.stat("notifications")))
        wait_for(lambda: self.value("nodedev", "device", "battery") is not None, 10, self.gw.logs)
        status, body = self.call("SET", "nodedev", "settings", "interval", {"value": 1500})
        self.assertEqual(status, 200, body)
        wait_for(lambda: "1500" in device.output(), 5, device.output)

    def test_node_client_pushes(self):
        self.start_gateway()
        url = "coap://127.0.0.1:%d" % self.udp

        def push(path, method, fmt, payload):
            p = subprocess.run([NODE, "push.mjs", "--url", url + path, "--method", method, "--format", fmt, "--payload", payload],
                               cwd=NODE_FIXTURE, capture_output=True, text=True, timeout=20)
            return json.loads(p.stdout.strip().splitlines()[-1])

        self.assertEqual(push("/nodepush/env/temperature", "PUT", "text/plain", "22.25")["code"], "2.04")
        self.assertEqual(push("/nodepush", "POST", "application/senml+json", '[{"n":"env/humidity","v":40}]')["code"], "2.04")
        self.assertEqual(push("/nodepush/env/x", "PUT", "application/json", "{bad")["code"], "4.00")
        self.assertEqual(self.value("nodepush", "env", "temperature"), 22.25)
        self.assertEqual(self.value("nodepush", "env", "humidity"), 40)


@unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
class QuietDeviceTest(CoapTest):
    def test_a_quiet_device_stays_active_through_pings(self):
        port = free_udp_port()
        self.peer([DEMO, "--listen", "127.0.0.1:%d" % port, "--interval-ms", "60000"], "listening on")
        devices = ("devices:\n  - provider: quiet\n    uri: coap://127.0.0.1:%d\n    discover: false\n    timeout_ms: 1000\n"
                   "    ping_interval_s: 1\n    resources:\n      - {path: sensors/temperature, content_format: 0}\n" % port)
        self.start_gateway(devices=devices)
        wait_for(lambda: self.value("quiet", "sensors", "temperature") is not None, 10, self.gw.logs)
        time.sleep(4)   # four ping intervals without any other traffic
        self.assertEqual(self.lifecycle("quiet"), "ACTIVE")
        self.assertNotIn("INACTIVE", self.gw.logs())


@unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
class ExampleConfigTest(CoapTest):
    def test_shipped_example_runs_as_is_against_the_demo_script(self):
        """etc/examples/coap.yaml and etc/coap/devices.yaml as shipped, only the ports made free,
        against scripts/coap-demo-device."""
        device_port, push_port = free_udp_port(), free_udp_port()
        with open(os.path.join(SOURCE, "etc/coap/devices.yaml")) as f:
            devices = f.read()
        self.assertIn("coap://127.0.0.1:5685", devices)
        fd, devices_path = tempfile.mkstemp(prefix="coap-devices-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write(devices.replace("coap://127.0.0.1:5685", "coap://127.0.0.1:%d" % device_port))
        self.addCleanup(os.unlink, devices_path)
        with open(os.path.join(SOURCE, "etc/examples/coap.yaml")) as f:
            text = f.read()
        for old, new in (("port: 8899", "port: 0"), ('listen: ["127.0.0.1:5683"]', 'listen: ["127.0.0.1:%d"]' % push_port),
                         ("devices_file: etc/coap/devices.yaml", "devices_file: %s" % devices_path)):
            self.assertIn(old, text)
            text = text.replace(old, new)
        self.peer([os.path.join(SOURCE, "scripts/coap-demo-device"), "--listen", "127.0.0.1:%d" % device_port], "listening on")
        gw = Gateway()
        gw.write_config(text=text + "plugin_host:\n  state_dir: %s\n" % os.path.join(gw.dir.name, "state"))
        gw.start()
        self.gw = gw
        self.addCleanup(lambda: self.assertEqual(gw.stop(), 0))
        p = "coap-demo-device"
        wait_for(lambda: self.value(p, "environment", "temperature") is not None, 15, gw.logs)
        wait_for(lambda: self.value(p, "environment", "humidity") is not None, 15, gw.logs)
        wait_for(lambda: self.value(p, "device", "battery") is not None, 15, gw.logs)
        status, body = self.call("SET", p, "settings", "reportInterval", {"value": 2000})
        self.assertEqual(status, 200, body)
        status, body = self.call("ACT", p, "actions", "blink", {"parameters": [{"name": "times", "value": 2}]})
        self.assertEqual(status, 200, body)
        self.assertIn("blinked 2 times", json.dumps(body))
        code, out = self.client("-m", "put", "-t", "0", "-e", "18.5", "coap://127.0.0.1:%d/t" % push_port)
        self.assertEqual(code, 0, out)
        self.assertEqual(self.value("pushed-device", "environment", "temperature"), 18.5)


@unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
class ReregistrationTest(CoapTest):
    def test_observation_registered_again_when_max_age_lapses(self):
        """RFC 7641 3.3.1: a notification is due within the Max-Age of the last one; when none comes
        the bridge registers again, and the registration's answer is a fresh value."""
        port = free_udp_port()
        self.peer([DEMO, "--listen", "127.0.0.1:%d" % port, "--interval-ms", "3600000", "--max-age", "1"], "listening on")
        devices = ("devices:\n  - provider: maxage\n    uri: coap://127.0.0.1:%d\n    discover: false\n    ping_interval_s: 60\n"
                   "    resources:\n      - {path: sensors/temperature, observe: \"true\", content_format: 0}\n" % port)
        self.start_gateway(devices=devices)
        first = wait_for(lambda: self.resource("maxage", "sensors", "temperature"), 10, self.gw.logs)
        wait_for(lambda: self.gw.logs().count("no notification within its Max-Age (1 s): registering again") >= 2, 15, self.gw.logs)
        wait_for(lambda: self.resource("maxage", "sensors", "temperature")["timestamp"] > first["timestamp"], 5, self.gw.logs)
        self.assertEqual(self.stat("notifications"), 0)   # the device never notified: every value came from a registration


@unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
class PollFallbackTest(CoapTest):
    def test_a_resource_that_ignores_observe_is_polled(self):
        """observe: "true" on a resource the device does not let observe: the answer carries no
        Observe option, so the bridge polls it every poll_interval_s instead."""
        port = free_udp_port()
        self.peer([DEMO, "--listen", "127.0.0.1:%d" % port], "listening on")
        devices = ("devices:\n  - provider: fallback\n    uri: coap://127.0.0.1:%d\n    discover: false\n    poll_interval_s: 1\n"
                   "    resources:\n      - {path: device/battery, observe: \"true\", content_format: 0}\n" % port)
        self.start_gateway(devices=devices)
        first = wait_for(lambda: self.resource("fallback", "device", "battery"), 10, self.gw.logs)
        wait_for(lambda: self.resource("fallback", "device", "battery")["timestamp"] >= first["timestamp"] + 1500, 10, self.gw.logs)
        wait_for(lambda: self.stat("polls") >= 2, 5, lambda: str(self.stat("polls")))
        self.assertEqual(self.stat("notifications"), 0)


class LimitsTest(CoapTest):
    @unittest.skipUnless(os.path.exists(DEMO), "the demo device is not built")
    def test_max_observations_is_counted_and_the_rest_polled(self):
        port = free_udp_port()
        self.peer([DEMO, "--listen", "127.0.0.1:%d" % port, "--interval-ms", "200"], "listening on")
        self.start_gateway(devices=DEMO_DEVICES % {"uri": "coap://127.0.0.1:%d" % port, "extra": ""},
                           extra="    max_observations: 1\n")
        wait_for(lambda: self.value("demo", "environment", "humidity") is not None, 10, self.gw.logs)
        wait_for(lambda: self.value("demo", "environment", "temperature") is not None, 10, self.gw.logs)
        wait_for(lambda: self.stat("observationsRefused") == 1, 5, lambda: str(self.stat("observationsRefused")))
        self.assertIn("max_observations (1) reached", self.gw.logs())

    @unittest.skipUnless(CLIENT, "coap-client-openssl (libcoap3-bin) is not installed")
    def test_max_sessions_is_counted_when_hit(self):
        self.start_gateway(extra="    max_sessions: 2\n")
        uri = "coap://127.0.0.1:%d" % self.udp
        for i in range(4):   # every coap-client run is a new peer (a new source port)
            self.assertEqual(self.client("-m", "put", "-t", "0", "-e", str(i), uri + "/many/s/r%d" % i)[0], 0)
        self.assertEqual(self.value("many", "s", "r3"), 3)
        wait_for(lambda: self.stat("sessionLimitHits") == 2, 5, lambda: str(self.stat("sessionLimitHits")))
        wait_for(lambda: "max_sessions (2) reached" in self.gw.logs(), 5, self.gw.logs)

    @unittest.skipUnless(CLIENT, "coap-client-openssl (libcoap3-bin) is not installed")
    def test_a_retransmitted_request_is_stored_once(self):
        """Message deduplication (RFC 7252 4.5): the same confirmable PUT (same message id) sent
        twice is answered twice and stored once."""
        self.start_gateway()
        path = [b"dedup", b"s", b"r"]
        msg = bytes([0x41, 0x03, 0x12, 0x34, 0x7a])   # CON PUT, MID 0x1234, token 0x7a
        last = 0
        for segment in path:   # Uri-Path (11), delta from the previous option
            msg += bytes([((11 - last) << 4) | len(segment)]) + segment
            last = 11
        msg += bytes([(12 - last) << 4])   # Content-Format (12): 0, empty value
        msg += b"\xff" + b"42"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            answers = []
            for _ in range(2):
                s.sendto(msg, ("127.0.0.1", self.udp))
                answers.append(s.recv(1500))
        self.assertEqual([a[1] for a in answers], [0x44, 0x44])   # 2.04 Changed, both times
        self.assertEqual([a[2:4] for a in answers], [b"\x12\x34", b"\x12\x34"])
        self.assertEqual(self.value("dedup", "s", "r"), 42)
        wait_for(lambda: self.stat("duplicates") == 1, 5, lambda: str(self.stat("duplicates")))
        self.assertEqual(self.stat("requests"), 1)
        self.assertEqual(self.stat("valuesStored"), 1)

    def test_bad_devices_file_names_file_line_and_key(self):
        fd, path = tempfile.mkstemp(prefix="coap-devices-", suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            f.write("devices:\n  - provider: x\n    uri: http://127.0.0.1\n")
        self.addCleanup(os.unlink, path)
        gw = Gateway(plugins_extra="  coap:\n    devices_file: %s\n" % path)
        try:
            gw.start()
        except Exception:
            pass
        logs = wait_for(lambda: ("%s:3:" % path) in gw.logs() and gw.logs(), 10, gw.logs)
        gw.stop()
        self.assertIn("devices[0].uri", logs)


if __name__ == "__main__":
    unittest.main()
