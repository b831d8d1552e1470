"""Northbound MQTT through the real gateway binary and a real mosquitto: the sim plugin's values
appear on gatehouse/<id>/<provider>/<service>/<resource>, the status topic says online, and
/metrics counts what was published."""
import json
import re
import unittest

from gateway import Gateway
from mosquitto import Mosquitto


class NorthboundTest(unittest.TestCase):
    def setUp(self):
        self.broker = Mosquitto().start()
        extra = ("mqtt_northbound:\n  enabled: true\n  brokers: [tcp://127.0.0.1:%d]\n  qos: 1\n" % self.broker.port)
        self.gw = Gateway(interval=50)
        with open(self.gw.config) as f:
            text = f.read() + extra
        self.gw.write_config(text=text)
        self.gw.start()

    def tearDown(self):
        self.assertEqual(self.gw.stop(), 0)
        self.broker.close()

    def test_values_status_and_metrics(self):
        msgs = self.broker.subscribe("gatehouse/itest/sim-temperature-1/sensor/temperature", 3)
        self.assertEqual(len(msgs), 3, msgs)
        doc = json.loads(msgs[0][1])
        self.assertEqual(doc["type"], "double")
        self.assertIsInstance(doc["value"], float)
        self.assertGreater(doc["timestamp"], 1700000000000)
        status = self.broker.subscribe("gatehouse/itest/$status", 1)
        self.assertEqual(status, [("gatehouse/itest/$status", "online")])
        _, _, body = self.gw.request("GET", "/metrics")
        m = re.search(r"^gatehouse_mqtt_northbound_published_total (\d+)$", body.decode(), re.M)
        self.assertTrue(m and int(m.group(1)) >= 3, body.decode()[-800:])
        self.assertRegex(body.decode(), r"(?m)^gatehouse_mqtt_northbound_connected 1$")
        # A second gateway on the same broker: an app on gatehouse/+/# sees both.
        other = Gateway(interval=50)
        with open(other.config) as f:
            text = f.read().replace("id: itest", "id: itest2")
        other.write_config(text=text + "mqtt_northbound:\n  enabled: true\n  brokers: [tcp://127.0.0.1:%d]\n"
                           % self.broker.port)
        other.start()
        try:
            msgs = self.broker.subscribe("gatehouse/+/sim-temperature-1/sensor/temperature", 12)
            self.assertEqual({t.split("/")[1] for t, _ in msgs}, {"itest", "itest2"}, msgs)
        finally:
            self.assertEqual(other.stop(), 0)


if __name__ == "__main__":
    unittest.main()
