"""REST verbs, envelopes and errors against the real gateway binary (docs/rest-api.md)."""
import json
import time
import unittest

from gateway import Gateway

T = "/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature"
L = "/sensinact/providers/sim-light-1/services/light/resources"


class RestApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = Gateway(sensors=2, interval=100).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        assert code == 0, "gateway exit code %r" % code

    def test_providers_list(self):
        doc = self.gw.json("GET", "/sensinact/providers")
        self.assertEqual(doc["type"], "PROVIDERS_LIST")
        self.assertEqual(doc["statusCode"], 200)
        self.assertEqual(doc["uri"], "/")
        self.assertEqual(doc["providers"], ["sim-light-1", "sim-temperature-1", "sim-temperature-2"])

    def test_complete_list(self):
        doc = self.gw.json("GET", "/sensinact")
        self.assertEqual(doc["type"], "COMPLETE_LIST")
        light = [p for p in doc["providers"] if p["name"] == "sim-light-1"][0]
        services = {s["name"]: s for s in light["services"]}
        self.assertEqual(sorted(services), ["admin", "light"])
        resources = {r["name"]: r for r in services["light"]["resources"]}
        self.assertEqual(resources["brightness"], {"name": "brightness", "type": "STATE_VARIABLE", "rws": "RW"})
        self.assertEqual(resources["dim"]["type"], "ACTION")
        self.assertEqual(resources["status"]["rws"], "RO")

    def test_describe_provider_service_resource(self):
        doc = self.gw.json("GET", "/sensinact/providers/sim-light-1")
        self.assertEqual(doc["type"], "DESCRIBE_PROVIDER")
        self.assertEqual(doc["uri"], "/sim-light-1")
        self.assertEqual(doc["response"]["services"], ["admin", "light"])
        doc = self.gw.json("GET", "/sensinact/providers/sim-light-1/services")
        self.assertEqual(doc["type"], "SERVICES_LIST")
        self.assertEqual(doc["services"], ["admin", "light"])
        doc = self.gw.json("GET", "/sensinact/providers/sim-light-1/services/admin")
        self.assertEqual(doc["type"], "DESCRIBE_SERVICE")
        names = [r["name"] for r in doc["response"]["resources"]]
        self.assertEqual(names, ["bridge", "description", "friendlyName", "lifecycleStatus", "location"])
        doc = self.gw.json("GET", L)
        self.assertEqual(doc["type"], "RESOURCES_LIST")
        self.assertEqual(doc["uri"], "/sim-light-1/light")
        self.assertEqual(doc["resources"], ["brightness", "dim", "status", "turn_off", "turn_on"])
        doc = self.gw.json("GET", L + "/dim")
        self.assertEqual(doc["type"], "DESCRIBE_RESOURCE")
        self.assertEqual(doc["uri"], "/sim-light-1/light/dim")
        act = doc["response"]["accessMethods"]
        self.assertEqual([m["name"] for m in act], ["ACT"])
        self.assertEqual(act[0]["parameters"][0]["name"], "brightness")
        self.assertEqual(act[0]["parameters"][0]["type"], "int")
        doc = self.gw.json("GET", L + "/brightness")
        methods = [m["name"] for m in doc["response"]["accessMethods"]]
        self.assertEqual(methods, ["GET", "SET", "SUBSCRIBE", "UNSUBSCRIBE"])
        self.assertEqual(doc["response"]["accessMethods"][1]["parameters"][0]["type"], "int")
        doc = self.gw.json("GET", T)
        self.assertNotIn("SET", [m["name"] for m in doc["response"]["accessMethods"]])
        attrs = {a["name"]: a["value"] for a in doc["response"]["attributes"]}
        self.assertEqual(attrs["unit"], "°C")

    def test_get_value(self):
        doc = self.gw.json("GET", T + "/GET")
        self.assertEqual(doc["type"], "GET_RESPONSE")
        self.assertEqual(doc["uri"], "/sim-temperature-1/sensor/temperature")
        r = doc["response"]
        self.assertEqual(r["name"], "temperature")
        self.assertEqual(r["type"], "double")
        self.assertIsInstance(r["value"], float)
        self.assertGreater(r["timestamp"], 1600000000000)
        self.assertLess(abs(r["timestamp"] / 1000 - time.time()), 60)
        self.assertEqual(set(r), {"name", "timestamp", "type", "value"})

    def test_set_both_body_forms_then_get(self):
        doc = self.gw.json("POST", L + "/brightness/SET", {"value": 80})
        self.assertEqual(doc["type"], "SET_RESPONSE")
        self.assertEqual(doc["response"]["value"], 80)
        self.assertEqual(doc["response"]["type"], "int")
        self.assertEqual(self.gw.json("GET", L + "/brightness/GET")["response"]["value"], 80)
        self.assertEqual(self.gw.json("GET", L + "/status/GET")["response"]["value"], "ON")
        doc = self.gw.json("PUT", L + "/brightness/SET", [{"name": "value", "type": "int", "value": 0}])
        self.assertEqual(doc["response"]["value"], 0)
        self.assertEqual(self.gw.json("GET", L + "/status/GET")["response"]["value"], "OFF")

    def test_set_admin_friendly_name(self):
        p = "/sensinact/providers/sim-temperature-2/services/admin/resources/friendlyName"
        self.gw.json("POST", p + "/SET", [{"name": "value", "type": "string", "value": "Lassie"}])
        self.assertEqual(self.gw.json("GET", p + "/GET")["response"]["value"], "Lassie")

    def test_set_errors(self):
        doc = self.gw.json("POST", T + "/SET", {"value": 1.0}, expect=405)
        self.assertEqual(doc["type"], "ERROR")
        self.assertEqual(doc["statusCode"], 405)
        self.assertIn("UPDATABLE", doc["error"])
        doc = self.gw.json("POST", L + "/brightness/SET", {"value": "bright"}, expect=400)
        self.assertIn("int", doc["error"])
        doc = self.gw.json("POST", L + "/brightness/SET", {"value": 101}, expect=400)
        self.assertIn("between 0 and 100", doc["error"])
        self.gw.json("POST", L + "/brightness/SET", "{not json", expect=400)
        self.gw.json("POST", L + "/brightness/SET", {"other": 1}, expect=400)
        self.gw.json("POST", L + "/brightness/SET", "[" * 5000 + "]" * 5000, expect=400)
        self.gw.json("POST", L + "/nothing/SET", {"value": 1}, expect=404)
        self.gw.json("POST", L + "/dim/SET", {"value": 1}, expect=405)

    def test_act(self):
        doc = self.gw.json("POST", L + "/dim/ACT", {"parameters": [{"name": "brightness", "type": "int", "value": 40}]})
        self.assertEqual(doc["type"], "ACT_RESPONSE")
        self.assertEqual(doc["response"]["result"], "ON")
        self.assertEqual(self.gw.json("GET", L + "/brightness/GET")["response"]["value"], 40)
        doc = self.gw.json("POST", L + "/turn_off/ACT", None)
        self.assertEqual(doc["response"]["result"], "OFF")
        self.assertEqual(self.gw.json("GET", L + "/status/GET")["response"]["value"], "OFF")
        doc = self.gw.json("POST", L + "/turn_on/ACT", {})
        self.assertEqual(doc["response"]["result"], "ON")
        self.assertEqual(self.gw.json("GET", L + "/brightness/GET")["response"]["value"], 40)
        self.gw.json("POST", L + "/dim/ACT", {"brightness": 5})   # plain-object form
        self.assertEqual(self.gw.json("GET", L + "/brightness/GET")["response"]["value"], 5)

    def test_act_errors(self):
        doc = self.gw.json("POST", L + "/dim/ACT", {"parameters": [{"name": "brightness", "value": 400}]}, expect=400)
        self.assertIn("out of range", doc["error"])
        doc = self.gw.json("POST", L + "/dim/ACT", None, expect=400)
        self.assertIn("missing parameter 'brightness'", doc["error"])
        doc = self.gw.json("POST", L + "/dim/ACT", {"parameters": [{"name": "colour", "value": 1}]}, expect=400)
        self.assertIn("unknown parameter", doc["error"])
        self.gw.json("POST", L + "/status/ACT", None, expect=405)
        self.gw.json("GET", L + "/dim/GET", expect=405)

    def test_filters(self):
        doc = self.gw.json("GET", "/sensinact/providers?filter=(PROVIDER=sim-light*)")
        self.assertEqual(doc["providers"], ["sim-light-1"])
        doc = self.gw.json("GET", "/sensinact/providers?filter=" + "(%26(sensor.temperature%3E%3D-100)(MODEL=simulated-temperature-sensor))")
        self.assertEqual(doc["providers"], ["sim-temperature-1", "sim-temperature-2"])
        doc = self.gw.json("GET", "/sensinact?filter=(light.status=*)")
        self.assertEqual([p["name"] for p in doc["providers"]], ["sim-light-1"])
        doc = self.gw.json("GET", "/sensinact/providers?filter=(PROVIDER=sim-light", expect=400)
        self.assertEqual(doc["type"], "ERROR")
        self.assertIn("filter", doc["error"])

    def test_snapshot(self):
        doc = self.gw.json("POST", "/sensinact/snapshot", {"filter": "(PROVIDER=sim-temperature-1)", "includeMetadata": True})
        self.assertEqual(doc["type"], "SNAPSHOT_RESPONSE")
        self.assertEqual([p["name"] for p in doc["response"]], ["sim-temperature-1"])
        sensor = [s for s in doc["response"][0]["services"] if s["name"] == "sensor"][0]
        temp = sensor["resources"][0]
        self.assertEqual(temp["name"], "temperature")
        self.assertIsInstance(temp["value"], float)
        self.assertEqual(temp["metadata"]["unit"], "°C")
        doc = self.gw.json("GET", "/sensinact/snapshot")
        self.assertEqual(len(doc["response"]), 3)
        self.gw.json("POST", "/sensinact/snapshot", {"filter": 3}, expect=400)
        self.gw.json("POST", "/sensinact/snapshot", {"bogus": 1}, expect=400)

    def test_routing_errors(self):
        status, headers, body = self.gw.request("GET", "/sensinact/nothing")
        self.assertEqual(status, 404)
        doc = json.loads(body)
        self.assertEqual(doc["type"], "ERROR")
        self.assertEqual(doc["statusCode"], 404)
        self.gw.json("GET", "/sensinact/providers/unknown", expect=404)
        self.gw.json("GET", "/sensinact/providers/sim-light-1/services/nope", expect=404)
        status, headers, body = self.gw.request("DELETE", "/sensinact/providers")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers["allow"])
        self.gw.json("GET", "/sensinact/providers/a%2Fb", expect=400)
        self.gw.json("GET", "/sensinact/providers/%zz", expect=400)
        self.gw.json("GET", "/sensinact/providers/sim-light-1/services/../services/light", expect=400)
        # Duplicate and trailing slashes are the same route.
        self.assertEqual(self.gw.json("GET", "//sensinact//providers/")["type"], "PROVIDERS_LIST")

    def test_body_limit(self):
        status, _, body = self.gw.request("POST", L + "/brightness/SET", b"{\"value\": \"" + b"x" * (2 << 20) + b"\"}",
                                          {"Content-Type": "application/json"})
        self.assertEqual(status, 413)

    def test_health_metrics_openapi_plugins(self):
        doc = self.gw.json("GET", "/health")
        self.assertEqual(doc["status"], "UP")
        self.assertEqual(doc["gateway"], "itest")
        self.assertEqual(doc["plugins"], [{"name": "sim", "state": "loaded"}])
        doc = self.gw.json("GET", "/sensinact/runtime/plugins")
        self.assertEqual(doc["type"], "PLUGINS_LIST")
        self.assertEqual(doc["plugins"][0]["name"], "sim")
        self.assertEqual(doc["plugins"][0]["state"], "loaded")
        self.assertEqual(doc["plugins"][0]["version"], "1.0.0")
        self.assertRegex(doc["plugins"][0]["signer"], r"^[0-9a-f]{16}$")
        self.assertFalse(doc["plugins"][0]["builtin"])
        self.gw.request("GET", "/sensinact/does-not-exist")
        status, headers, body = self.gw.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        text = body.decode()
        self.assertRegex(text, r'gatehouse_http_requests_total\{code="200"\} [1-9]')
        self.assertRegex(text, r'gatehouse_http_requests_total\{code="404"\} [1-9]')
        self.assertRegex(text, r'gatehouse_model_updates_total [1-9]')
        self.assertIn('gatehouse_http_request_duration_seconds_bucket{le="+Inf"}', text)
        self.assertIn("gatehouse_notifications_dropped_total", text)
        self.assertIn("gatehouse_sse_events_dropped_total", text)
        doc = self.gw.json("GET", "/openapi.json")
        self.assertEqual(doc["openapi"], "3.1.0")
        self.assertIn("/sensinact/providers/{provider}", doc["paths"])

    def test_keep_alive_many_requests_on_one_connection(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.gw.port, timeout=5)
        for _ in range(200):
            conn.request("GET", T + "/GET")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            json.loads(resp.read())
        conn.close()


if __name__ == "__main__":
    unittest.main()
