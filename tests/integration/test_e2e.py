"""End-to-end encryption through the real parts (SECURITY-CHECKLIST C1, docs/e2e-protocol.md):

`gatehouse e2e publish` (a device) -> real mosquitto -> the real gateway (MQTT bridge mapping with
`e2e: true`) -> its northbound MQTT and REST -> `gatehouse e2e subscribe`, which gets its key
through the gateway's e2e/keyRequest ACT and decrypts a canary string. The canary then appears in
none of: mosquitto's log at full verbosity, the gateway's log at debug level, the gateway's data
directory, REST and SSE bodies, and the gateway process's memory (what a core dump would hold)."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from gateway import Gateway, read_events
from mosquitto import Mosquitto

BIN = os.environ.get("GATEHOUSE_BIN", "build/core/app/gatehouse")
CANARY = "CANARY-e2e-7f3a9c41"
TOPIC = "sensors/dev1/secret"

MAPPINGS = """
mappings:
  - topic: sensors/{provider}/secret
    e2e: true
    service: data
    resource: secret
"""


def e2e(*args, check=True, timeout=30):
    r = subprocess.run([BIN, "e2e", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("gatehouse e2e %s failed (%d): %s %s" % (args[0], r.returncode, r.stdout, r.stderr))
    return r


def process_memory_contains(pid, needle):
    """True when `needle` is anywhere in the readable memory of process `pid` (root or same user)."""
    found = False
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if "r" not in perms:
                continue
            start, end = (int(x, 16) for x in addr.split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, ValueError, OverflowError):
                continue
            if needle in chunk:
                found = True
                break
    return found


class E2eThroughGatewayTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gatehouse-e2e-it-")
        d = self.dir
        e2e("authority", "init", "--dir", os.path.join(d, "authority"))
        e2e("keygen", "--type", "ed25519", "--out", os.path.join(d, "dev1"))
        e2e("keygen", "--type", "x25519", "--out", os.path.join(d, "app1"))
        e2e("authority", "enroll", "--dir", os.path.join(d, "authority"), "--role", "publisher", "--id", "dev1",
            "--key", os.path.join(d, "dev1.pub"), "--topic", TOPIC, "--out", os.path.join(d, "dev1.cert"))
        e2e("authority", "enroll", "--dir", os.path.join(d, "authority"), "--role", "subscriber", "--id", "app1",
            "--key", os.path.join(d, "app1.pub"), "--topic", "sensors/+/secret", "--out", os.path.join(d, "app1.cert"))
        self.broker = Mosquitto(log=True, verbose=True).start()
        mappings = os.path.join(d, "mappings.yaml")
        with open(mappings, "w") as f:
            f.write(MAPPINGS)
        plugins = ("  mqtt:\n    brokers: [tcp://127.0.0.1:%d]\n    client_id: itest-e2e\n"
                   "    mappings_file: %s\n" % (self.broker.port, mappings))
        self.gw = Gateway(plugins_extra=plugins)
        with open(self.gw.config) as f:
            text = f.read().replace("log_level: info", "log_level: debug")
        text += "mqtt_northbound:\n  enabled: true\n  brokers: [tcp://127.0.0.1:%d]\n  qos: 1\n" % self.broker.port
        self.gw.write_config(text=text)
        self.gw.start()
        self.publisher = None

    def tearDown(self):
        if self.publisher is not None:
            if self.publisher.poll() is None:
                self.publisher.terminate()
                self.publisher.wait(10)
            self.publisher.stderr.close()
        if self.gw.proc is not None:
            self.gw.stop()
        self.broker.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_publisher(self):
        d = self.dir
        self.publisher = subprocess.Popen(
            [BIN, "e2e", "publish", "--broker", "tcp://127.0.0.1:%d" % self.broker.port, "--topic", TOPIC,
             "--key", os.path.join(d, "dev1.key"), "--cert", os.path.join(d, "dev1.cert"),
             "--authority", os.path.join(d, "authority", "authority.pub"), "--state", os.path.join(d, "dev1.state"),
             "--interval-ms", "200", "--value-prefix", CANARY],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def subscriber_args(self):
        d = self.dir
        return ["--topic", TOPIC, "--key", os.path.join(d, "app1.key"), "--cert", os.path.join(d, "app1.cert"),
                "--authority", os.path.join(d, "authority", "authority.pub"),
                "--gateway", "http://127.0.0.1:%d" % self.gw.port, "--provider", "dev1"]

    def wait_for(self, predicate, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        return None

    def test_c1_canary_only_at_the_subscriber(self):
        self.start_publisher()
        path = "/sensinact/providers/dev1/services/data/resources/secret/GET"

        def envelope():
            status, _, body = self.gw.request("GET", path)
            return json.loads(body) if status == 200 and b'"value":"' in body else None

        doc = self.wait_for(envelope)
        self.assertIsNotNone(doc, self.gw.logs()[-3000:])
        raw = base64.b64decode(doc["response"]["value"])
        self.assertEqual(raw[:5], b"GHE\x01\x01", "REST delivers the data message as it came")

        # Metadata says e2e; a filter on the value matches nothing.
        described = json.dumps(self.gw.json("GET", "/sensinact/providers/dev1/services/data/resources/secret"))
        self.assertIn("e2e", described)

        # The subscriber: key through the gateway's ACT, data from the gateway's northbound MQTT.
        sub = subprocess.run([BIN, "e2e", "subscribe", "--broker", "tcp://127.0.0.1:%d" % self.broker.port,
                              "--data-topic", "gatehouse/itest/dev1/data/secret", "--north", "--count", "3",
                              "--timeout-s", "30", *self.subscriber_args()],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(sub.returncode, 0, sub.stderr + self.gw.logs()[-2000:])
        lines = sub.stdout.splitlines()
        self.assertEqual(len(lines), 3, sub.stdout)
        for line in lines:
            self.assertRegex(json.loads(line)["value"], "^" + CANARY + r"-\d+$")

        # ... and from REST.
        rest = subprocess.run([BIN, "e2e", "subscribe", "--rest", "data/secret", "--count", "1", "--timeout-s", "20",
                               *self.subscriber_args()], capture_output=True, text=True, timeout=40)
        self.assertEqual(rest.returncode, 0, rest.stderr)
        self.assertIn(CANARY, rest.stdout)

        # SSE: the events carry the envelope (base64), never the canary.
        sock = self.gw.open_stream("/sensinact/providers/dev1/services/data/resources/secret/SUBSCRIBE")
        events, _ = read_events(sock, 2, deadline_s=10.0)
        sock.close()
        data = [e for n, e in events if n == "data"]
        self.assertGreaterEqual(len(data), 2, events)
        for d in data:
            self.assertEqual(base64.b64decode(d["newValue"])[:5], b"GHE\x01\x01", d)
        sse_text = json.dumps(events)

        # Every REST body we can ask for.
        bodies = [self.gw.request("GET", p)[2] for p in (
            path, "/sensinact", "/sensinact/providers/dev1", "/sensinact/providers/dev1/services/data",
            "/sensinact/snapshot", "/metrics", "/health")]

        gw_pid = self.gw.proc.pid
        in_memory = process_memory_contains(gw_pid, CANARY.encode())
        # The scan does see the gateway's data: the data topic it received is in its memory.
        self.assertTrue(process_memory_contains(gw_pid, TOPIC.encode()), "the memory scan reads nothing")
        self.publisher.terminate()
        self.publisher.wait(10)
        self.assertEqual(self.gw.stop(), 0)
        self.broker.stop()

        self.assertFalse(in_memory, "the canary is in the gateway's memory")
        needle = CANARY.encode()
        for body in bodies:
            self.assertNotIn(needle, body)
        self.assertNotIn(CANARY, sse_text)
        self.assertNotIn(CANARY, self.gw.logs())
        self.assertRegex(self.gw.logs(), r"DEBUG +plugin\.mqtt: MQTT: relaying the key request of subscriber app1",
                         "the gateway logged at debug level, the relay included")
        broker_log = self.broker.log_text()
        self.assertRegex(broker_log, r"Received PUBLISH from", "mosquitto logged at full verbosity")
        self.assertNotIn(CANARY, broker_log)
        for root, _, files in os.walk(self.gw.dir.name):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(needle, f.read(), os.path.join(root, name))


if __name__ == "__main__":
    unittest.main()
