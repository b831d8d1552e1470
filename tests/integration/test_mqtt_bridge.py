"""The MQTT bridge as operators run it: the real gateway loads the signed gh-mqtt.so from the
build's plugin folder, with etc/examples/mqtt-mappings.yaml, against a real mosquitto; a device
publishes with mosquitto_pub and the value shows up on the REST API with its type, unit and
timestamp. Bad payloads are counted, not fatal."""
import json
import os
import subprocess
import time
import unittest

from gateway import Gateway
from mosquitto import Mosquitto

SOURCE = os.environ.get("GATEHOUSE_SOURCE", "../..")
MAPPINGS = os.path.join(SOURCE, "etc/examples/mqtt-mappings.yaml")


class MqttBridgeTest(unittest.TestCase):
    def setUp(self):
        self.broker = Mosquitto().start()
        plugins = ("  mqtt:\n    brokers: [tcp://127.0.0.1:%d]\n    client_id: itest-mqtt\n"
                   "    mappings_file: %s\n" % (self.broker.port, os.path.abspath(MAPPINGS)))
        self.gw = Gateway(plugins_extra=plugins).start()

    def tearDown(self):
        self.assertEqual(self.gw.stop(), 0)
        self.broker.close()

    def plugin(self):
        for p in self.gw.json("GET", "/sensinact/runtime/plugins")["plugins"]:
            if p["name"] == "mqtt":
                return p
        return None

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        return None

    def publish(self, topic, payload):
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1", "-t", topic,
                        "-m", payload], check=True, timeout=10)

    def test_published_reading_reaches_the_rest_api(self):
        self.assertTrue(self.wait_for(lambda: self.plugin()["health"] == "running"), self.plugin())
        self.assertEqual(self.plugin()["state"], "loaded")
        path = "/sensinact/providers/kitchen-1/services/env/resources/temperature/GET"

        def reading():
            status, _, body = self.gw.request("GET", path)
            return json.loads(body) if status == 200 else None

        # The subscription is made asynchronously once connected: publish until it lands.
        def published():
            self.publish("sensors/kitchen-1/env/temperature", '{"value": 21.5, "ts": 1700000000123}')
            return reading()

        doc = self.wait_for(published)
        self.assertIsNotNone(doc, self.gw.logs()[-3000:])
        self.assertEqual(doc["response"]["value"], 21.5)
        self.assertEqual(doc["response"]["timestamp"], 1700000000123)
        described = self.gw.json("GET", "/sensinact/providers/kitchen-1/services/env/resources/temperature")
        self.assertIn("double", json.dumps(described))
        self.assertIn("°C", json.dumps(described, ensure_ascii=False))

        # A bad payload and an unsafe device name are refused; the bridge keeps going.
        self.publish("sensors/kitchen-1/env/temperature", "not json")
        self.publish("sensors/../env/temperature", '{"value": 1}')
        self.publish("sensors/kitchen-1/env/temperature", '{"value": 22.0, "ts": 1700000001000}')
        self.assertTrue(self.wait_for(lambda: (reading() or {}).get("response", {}).get("value") == 22.0))
        status, _, _ = self.gw.request("GET", "/sensinact/providers/..")
        self.assertIn(status, (400, 404))


class ShippedExampleTest(unittest.TestCase):
    """etc/examples/mqtt.yaml as shipped (only the ports changed to free ones) with
    scripts/mqtt-demo-device: readings reach REST and northbound MQTT; the blink action is answered."""

    def test_example_config_and_demo_device(self):
        broker = Mosquitto().start()
        gw = Gateway()
        device = None
        try:
            with open(os.path.join(SOURCE, "etc/examples/mqtt.yaml")) as f:
                text = f.read()
            text = (text.replace("tcp://127.0.0.1:1883", "tcp://127.0.0.1:%d" % broker.port)
                        .replace("port: 8899", "port: 0")
                        .replace("mappings_file: etc/examples/", "mappings_file: %s/etc/examples/" % os.path.abspath(SOURCE))
                        .replace("gateway:\n", "gateway:\n  log_level: info\n"))
            text += "plugin_host:\n  state_dir: %s\n" % os.path.join(gw.dir.name, "state")
            gw.write_config(text=text)
            check = subprocess.run([os.environ.get("GATEHOUSE_BIN", "build/core/app/gatehouse"), "config", "check",
                                    gw.config], capture_output=True, text=True, timeout=30)
            self.assertEqual(check.returncode, 0, check.stderr)
            gw.start()
            env = dict(os.environ, MQTT_PORT=str(broker.port), DEMO_INTERVAL="0.2", DEMO_COUNT="100")
            device = subprocess.Popen([os.path.join(SOURCE, "scripts/mqtt-demo-device")], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            path = "/sensinact/providers/kitchen-1/services/env/resources/temperature/GET"
            deadline = time.time() + 20
            status = None
            while time.time() < deadline:
                status, _, body = gw.request("GET", path)
                if status == 200:
                    break
                time.sleep(0.1)
            self.assertEqual(status, 200, gw.logs()[-2000:])
            self.assertIsInstance(json.loads(body)["response"]["value"], float)
            northbound = broker.subscribe("gatehouse/gatehouse-mqtt-demo/kitchen-1/env/temperature", 1)
            self.assertEqual(len(northbound), 1)
            act = gw.json("POST", "/sensinact/providers/lamp-1/services/light/resources/blink/ACT",
                          {"parameters": [{"name": "times", "type": "int", "value": 3}]})
            self.assertIn("blinked", act["response"]["result"])
        finally:
            if device is not None:
                device.terminate()
                device.wait(10)
            self.assertEqual(gw.stop(), 0)
            broker.close()


if __name__ == "__main__":
    unittest.main()
