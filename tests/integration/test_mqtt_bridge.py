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


if __name__ == "__main__":
    unittest.main()
