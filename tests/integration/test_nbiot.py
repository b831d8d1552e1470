"""The NB-IoT bridge (issue 15) as operators run it: the real gateway loads the signed gh-nbiot.so
from the build's plugin folder with etc/nbiot/layouts.yaml, listens on UDP port 0 of the loopback
(the bound port is read from its "NB-IoT: listening on udp HOST:PORT" log line), and this test is
the device: real datagrams from real UDP sockets, answers read over REST, downlinks received as UDP
replies on the device's own socket. The interface tested is docs/nbiot-bridge.md and
docs/nbiot-frames.md (config keys, frames, model resources, downlinks, REST calls); every check is
an exact value.
"""
import json
import os
import re
import socket
import struct
import tempfile
import threading
import time
import unittest

from gateway import Gateway

SOURCE = os.environ.get("GATEHOUSE_SOURCE", "../..")
LAYOUTS = os.path.abspath(os.path.join(SOURCE, "etc/nbiot/layouts.yaml"))
R = "/sensinact/providers/%s/services/%s/resources/%s"
IMEI = "867724030000123"
STATS = "nbiot-bridge"
LISTEN_RE = r"NB-IoT: listening on udp %s:(\d+)"


def env_frame(n, imei=IMEI, mv=3600, db=55, t10=215, h10=473, type_byte=1, length=28):
    """An environmental-monitor frame (31 bytes, big-endian)."""
    return struct.pack(">BHI16sHHhH", type_byte, length, n, imei.encode().ljust(16, b"\0"), mv, db, t10, h10)


def crowd_frame(sn, devices, when, temp="21.5", pkts=1234):
    """A crowd-counter text frame; devices is a list of (mac as written, rssi); when is a Unix time."""
    head = "%s@WIFI@%s@%s@%d@%d\n" % (sn, time.strftime("%Y%d%m-%H:%M:%S", time.gmtime(when)), temp, pkts,
                                      len(devices))
    return (head + "".join("%s@%d\n" % (mac, rssi) for mac, rssi in devices)).encode()


def mac_spellings(mac):
    """Every way the raw MAC could be written: aa:bb:.., AA:BB:.., aa-bb-.., aabb.., AABB.."""
    plain = mac.replace(":", "").replace("-", "").lower()
    pairs = [plain[i:i + 2] for i in range(0, 12, 2)]
    forms = set()
    for sep in (":", "-", ""):
        forms.add(sep.join(pairs))
        forms.add(sep.join(pairs).upper())
    return forms


def ipv6_loopback_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


class NbiotTestCase(unittest.TestCase):
    """Starts gateways with the nbiot plugin; records every REST body fetched (for the MAC checks)."""

    def setUp(self):
        self.fetched = []
        self.gw = None

    # --- gateway ---
    def start(self, keys=None, listen=("127.0.0.1:0",), layouts=LAYOUTS, http_extra=""):
        """Starts a gateway whose nbiot block has layouts_file, listen and the given extra keys."""
        block = "  nbiot:\n    listen: [%s]\n    layouts_file: %s\n" % (
            ", ".join('"%s"' % l for l in listen), layouts)
        for k, v in (keys or {}).items():
            block += "    %s: %s\n" % (k, v)
        gw = Gateway(plugins_extra=block, http_extra=http_extra)
        gw.start()
        self.addCleanup(self._stop, gw)
        self.gw = gw
        return gw

    def _stop(self, gw):
        if gw.proc is not None:   # not already stopped by the test
            self.assertEqual(gw.stop(), 0, "gateway exit code")

    def udp_port(self, gw=None, host="127.0.0.1", timeout=10.0):
        """The port the plugin bound for `host` (IPv6 as [::1]), from its log line."""
        gw = gw or self.gw
        rx = LISTEN_RE % re.escape(host)
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(rx, gw.logs())
            if m:
                return int(m.group(1))
            time.sleep(0.05)
        plugins = gw.json("GET", "/sensinact/runtime/plugins")
        self.fail("no log line %r within %.0fs; plugins: %s\nlog:\n%s" % (rx, timeout, json.dumps(plugins),
                                                                         gw.logs()[-4000:]))

    # --- REST ---
    def rest(self, method, path, body=None, timeout=5.0, gw=None):
        status, _, data = (gw or self.gw).request(method, path, body, timeout=timeout)
        self.fetched.append(data)
        try:
            return status, (json.loads(data) if data else None)
        except ValueError:   # /metrics: Prometheus text
            return status, None

    def get(self, provider, service, resource, gw=None):
        """The GET_RESPONSE 'response' of a resource, or None when it does not exist."""
        status, doc = self.rest("GET", R % (provider, service, resource) + "/GET", gw=gw)
        return doc["response"] if status == 200 else None

    def value(self, provider, service, resource, gw=None):
        r = self.get(provider, service, resource, gw=gw)
        return None if r is None else r["value"]

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            v = predicate()
            if v or time.time() >= deadline:
                return v
            time.sleep(0.05)

    def wait_value(self, provider, service, resource, expected, timeout=5.0, gw=None):
        """Waits until the resource holds `expected`; asserts it, with the last value and the log tail."""
        last = [None]

        def check():
            last[0] = self.value(provider, service, resource, gw=gw)
            return last[0] == expected

        ok = self.wait_for(check, timeout)
        self.assertTrue(ok, "%s/%s/%s: expected %r, got %r\nlog tail:\n%s" % (
            provider, service, resource, expected, last[0], (gw or self.gw).logs()[-3000:]))

    def stat(self, name, gw=None):
        return self.value(STATS, "stats", name, gw=gw)

    def wait_stat(self, name, expected, timeout=5.0, gw=None):
        self.wait_value(STATS, "stats", name, expected, timeout=timeout, gw=gw)

    def describe_attrs(self, provider, service, resource, gw=None):
        status, doc = self.rest("GET", R % (provider, service, resource), gw=gw)
        self.assertEqual(status, 200, doc)
        return {a["name"]: a["value"] for a in doc["response"].get("attributes", [])}

    # --- UDP ---
    def device(self, family=socket.AF_INET):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        s.settimeout(5.0)
        self.addCleanup(s.close)
        return s

    def send(self, data, port, sock=None, host="127.0.0.1"):
        sock = sock or self.device(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.sendto(data, (host, port))
        return sock

    def in_background(self, method, path, body, timeout=30.0):
        """Runs a blocking REST call on a thread; returns (thread, result dict)."""
        out = {}

        def run():
            t0 = time.time()
            try:
                status, _, data = self.gw.request(method, path, body, timeout=timeout)
                out["status"], out["body"] = status, data
                out["doc"] = json.loads(data) if data else None
            except Exception as e:  # reported by the test through out["exception"]
                out["exception"] = repr(e)
            out["elapsed"] = time.time() - t0

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, out

    def joined(self, thread, out, timeout=15.0):
        thread.join(timeout)
        self.assertFalse(thread.is_alive(), "REST call still blocked after %.0fs" % timeout)
        self.assertNotIn("exception", out, out)
        if out.get("body") is not None:
            self.fetched.append(out["body"])
        return out


class UplinkTest(NbiotTestCase):
    def test_binary_and_hex_frames_reach_the_rest_api_with_types_and_units(self):
        gw = self.start()
        port = self.udp_port()
        plugin = [p for p in gw.json("GET", "/sensinact/runtime/plugins")["plugins"] if p["name"] == "nbiot"]
        self.assertEqual(len(plugin), 1, gw.logs()[-2000:])
        self.assertEqual((plugin[0]["state"], plugin[0]["health"]), ("loaded", "running"))
        self.assertNotEqual(port, 0)

        dev = self.device()
        self.send(env_frame(100, mv=3600, db=55, t10=215, h10=473), port, dev)
        self.wait_value(IMEI, "environment", "temperature", 21.5)
        t0 = time.time()
        temp = self.get(IMEI, "environment", "temperature")
        self.assertEqual(temp["type"], "double")
        self.assertLess(abs(temp["timestamp"] / 1000 - t0), 30)
        hum = self.get(IMEI, "environment", "humidity")
        self.assertEqual((hum["type"], hum["value"]), ("double", 47.3))
        snd = self.get(IMEI, "environment", "soundLevel")
        self.assertEqual((snd["type"], snd["value"]), ("int", 55))
        bat = self.get(IMEI, "device", "batteryVoltage")
        self.assertEqual((bat["type"], bat["value"]), ("int", 3600))
        fc = self.get(IMEI, "nbiot", "frameCounter")
        self.assertEqual((fc["type"], fc["value"]), ("long", 100))
        self.assertEqual(self.value(IMEI, "nbiot", "layout"), "environmental-monitor")

        # Units: the resource's metadata as the describe endpoint shows it.
        self.assertEqual(self.describe_attrs(IMEI, "environment", "temperature").get("unit"), "°C")
        self.assertEqual(self.describe_attrs(IMEI, "environment", "humidity").get("unit"), "%")
        self.assertEqual(self.describe_attrs(IMEI, "environment", "soundLevel").get("unit"), "dB")
        self.assertEqual(self.describe_attrs(IMEI, "device", "batteryVoltage").get("unit"), "mV")

        # The next frame of the same device as hex text (upper case), from the same socket.
        self.send(env_frame(101, mv=3590, db=61, t10=217, h10=480).hex().upper().encode(), port, dev)
        self.wait_value(IMEI, "environment", "temperature", 21.7)
        self.assertEqual(self.value(IMEI, "environment", "humidity"), 48.0)
        self.assertEqual(self.value(IMEI, "environment", "soundLevel"), 61)
        self.assertEqual(self.value(IMEI, "device", "batteryVoltage"), 3590)
        self.assertEqual(self.value(IMEI, "nbiot", "frameCounter"), 101)
        self.assertEqual(self.value(IMEI, "nbiot", "framesLost"), 0)
        self.assertEqual(self.value(IMEI, "nbiot", "resets"), 0)
        self.wait_stat("framesAccepted", 2)
        self.wait_stat("framesReceived", 2)
        self.assertEqual(self.stat("framesRejected"), 0)

    def test_ipv6_listener(self):
        if not ipv6_loopback_available():
            self.skipTest("::1 is not configured on this host")
        self.start(keys={"downlink_expiry_ms": 20000}, listen=("127.0.0.1:0", "[::1]:0"),
                   http_extra="  command_timeout_ms: 30000")
        port4 = self.udp_port(host="127.0.0.1")
        port6 = self.udp_port(host="[::1]")
        self.assertNotEqual(port6, 0)
        dev = self.device(socket.AF_INET6)
        self.send(env_frame(7, t10=-52, h10=654), port6, dev, host="::1")
        self.wait_value(IMEI, "environment", "temperature", -5.2)
        self.assertEqual(self.value(IMEI, "environment", "humidity"), 65.4)
        # A downlink goes back over IPv6, from the [::1] socket, to the device's address and port.
        t, out = self.in_background("POST", R % (IMEI, "settings", "reportInterval") + "/SET", {"value": 600})
        self.assertTrue(self.wait_for(lambda: json.loads(self.value(IMEI, "nbiot", "downlinkQueue") or "[]"), 5),
                        "the SET was not queued")
        self.send(env_frame(8), port6, dev, host="::1")
        data, addr = dev.recvfrom(4096)
        self.assertEqual(data, bytes([0x81, 0x02, 0x02, 0x58]))
        self.assertEqual((addr[0], addr[1]), ("::1", port6))
        out = self.joined(t, out)
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["doc"]["response"]["value"], 600)
        self.assertNotEqual(port4, 0)


class CrowdCounterTest(NbiotTestCase):
    MAC1, MAC2 = "3c:71:bf:0a:12:e5", "3c:71:bf:0a:12:e6"

    def crowd(self, keys, sn="CC0001"):
        gw = self.start(keys=keys)
        port = self.udp_port()
        when = int(time.time()) - 120
        # MAC 1 as AA:BB:.., MAC 2 as aa-bb-..: both spellings the layout accepts.
        self.send(crowd_frame(sn, [(self.MAC1.upper(), -70), (self.MAC2.replace(":", "-"), -81)], when), port)
        self.wait_value(sn, "crowd", "detected", 2)
        return gw, port, when

    def devices(self, sn="CC0001"):
        text = self.value(sn, "crowd", "devices")
        self.assertIsInstance(text, str)
        return json.loads(text)

    def test_readings_and_hashed_macs_never_raw(self):
        gw, port, when = self.crowd({})   # mac_hash_key empty: a random key for this run
        temp = self.get("CC0001", "environment", "temperature")
        self.assertEqual((temp["type"], temp["value"]), ("double", 21.5))
        self.assertEqual(self.describe_attrs("CC0001", "environment", "temperature").get("unit"), "°C")
        pk = self.get("CC0001", "crowd", "wifiPackets")
        self.assertEqual((pk["type"], pk["value"]), ("int", 1234))
        wd = self.get("CC0001", "crowd", "wifiDevices")
        self.assertEqual((wd["type"], wd["value"]), ("int", 2))
        self.assertEqual(self.get("CC0001", "crowd", "detected")["type"], "int")
        self.assertEqual(self.get("CC0001", "crowd", "devices")["type"], "string")
        self.assertEqual(self.value("CC0001", "nbiot", "layout"), "crowd-counter")

        devs = self.devices()
        self.assertEqual([d["rssi"] for d in devs], [-70, -81])
        for d in devs:
            self.assertEqual(set(d), {"mac", "rssi"})
            self.assertRegex(d["mac"], r"^[0-9a-f]{16}$")
        self.assertNotEqual(devs[0]["mac"], devs[1]["mac"])
        first = devs[0]["mac"]

        # The same MAC written another way (aabbccddeeff) is the same device: the same hash.
        self.send(crowd_frame("CC0001", [(self.MAC1.replace(":", ""), -60)], when + 10, pkts=99), port)
        self.wait_value("CC0001", "crowd", "wifiPackets", 99)
        devs = self.devices()
        self.assertEqual(devs, [{"mac": first, "rssi": -60}])
        self.assertEqual(self.value("CC0001", "crowd", "detected"), 1)

        # The raw MAC is nowhere: not in any REST answer (values, describes, snapshots with
        # metadata, the complete list, metrics), not in the whole log.
        self.rest("GET", "/sensinact")
        self.rest("GET", "/sensinact/providers/CC0001")
        for svc in ("crowd", "environment", "nbiot", "admin"):
            status, doc = self.rest("GET", "/sensinact/providers/CC0001/services/%s" % svc)
            for r in (doc or {}).get("response", {}).get("resources", []):
                self.rest("GET", R % ("CC0001", svc, r["name"]))
                self.rest("GET", R % ("CC0001", svc, r["name"]) + "/GET")
        self.rest("POST", "/sensinact/snapshot", {"includeMetadata": True})
        self.rest("GET", "/metrics")
        self.rest("GET", "/health")
        self.assertGreater(len(self.fetched), 20)
        time.sleep(1.2)   # let the stats provider and any periodic log line come out
        self.assertEqual(gw.stop(), 0)   # the whole log, shutdown included
        log = gw.logs()
        self.assertIn("NB-IoT: listening on udp", log)
        blob = b"\n".join(self.fetched).decode("utf-8", "replace")
        for mac in (self.MAC1, self.MAC2):
            for form in mac_spellings(mac):
                self.assertNotIn(form, log, "raw MAC %s in the gateway log" % form)
                self.assertNotIn(form, blob, "raw MAC %s in a REST answer" % form)

    def test_hash_is_keyed(self):
        """Same key: the same hash across runs; another key: another hash. (The bridge's hash key
        rotates daily: a run across midnight UTC is skipped.)"""
        day = time.gmtime().tm_yday
        hashes = []
        for key in ("itest-key-1", "itest-key-1", "itest-key-2"):
            gw, _, _ = self.crowd({"mac_hash_key": '"%s"' % key})
            hashes.append(self.devices()[0]["mac"])
            self.assertEqual(gw.stop(), 0)
        if time.gmtime().tm_yday != day:
            self.skipTest("the UTC day changed during the test")
        self.assertRegex(hashes[0], r"^[0-9a-f]{16}$")
        self.assertEqual(hashes[0], hashes[1])
        self.assertNotEqual(hashes[0], hashes[2])

    def test_raw_macs_true_shows_the_macs(self):
        self.crowd({"raw_macs": "true"})
        self.assertEqual(self.devices(), [{"mac": self.MAC1, "rssi": -70}, {"mac": self.MAC2, "rssi": -81}])


class FrameCounterTest(NbiotTestCase):
    def test_gap_then_reset(self):
        self.start()
        port = self.udp_port()
        dev = self.device()
        self.send(env_frame(10, t10=100), port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 10)
        self.assertEqual(self.value(IMEI, "nbiot", "framesLost"), 0)
        self.send(env_frame(13, t10=130), port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 13)
        self.assertEqual(self.value(IMEI, "nbiot", "framesLost"), 2)
        self.assertEqual(self.value(IMEI, "nbiot", "resets"), 0)
        attrs = self.describe_attrs(IMEI, "nbiot", "frameCounter")
        self.assertEqual(attrs.get("lastGap"), 2, attrs)

        t0 = int(time.time() * 1000)
        self.send(env_frame(1, t10=10), port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 1)
        self.assertEqual(self.value(IMEI, "nbiot", "resets"), 1)
        self.assertEqual(self.value(IMEI, "nbiot", "framesLost"), 2)
        self.assertEqual(self.value(IMEI, "environment", "temperature"), 1.0)   # a reset frame is data too
        attrs = self.describe_attrs(IMEI, "nbiot", "frameCounter")
        self.assertIsInstance(attrs.get("lastReset"), int, attrs)
        self.assertLess(abs(attrs["lastReset"] - t0), 10000, attrs)

        self.send(env_frame(2, t10=20), port, dev)   # the next frame after the reset: no gap
        self.wait_value(IMEI, "nbiot", "frameCounter", 2)
        self.assertEqual(self.value(IMEI, "nbiot", "framesLost"), 2)
        self.assertEqual(self.value(IMEI, "nbiot", "resets"), 1)

        self.wait_stat("framesLost", 2)
        self.wait_stat("deviceResets", 1)
        self.wait_stat("framesAccepted", 4)


class DownlinkTest(NbiotTestCase):
    EXPIRY = 20000

    def setUp(self):
        super().setUp()
        self.start(keys={"downlink_expiry_ms": self.EXPIRY}, http_extra="  command_timeout_ms: 30000")
        self.port = self.udp_port()

    def queue(self, provider=IMEI):
        text = self.value(provider, "nbiot", "downlinkQueue")
        self.assertIsInstance(text, str)
        return text

    def test_set_and_act_go_out_on_the_next_uplink(self):
        dev = self.device()
        self.send(env_frame(1), self.port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 1)
        self.assertEqual(self.queue(), "[]")
        self.assertEqual(self.value(IMEI, "nbiot", "downlinksSent"), 0)

        # Out of range (60..86400): refused at once, nothing queued.
        status, doc = self.rest("POST", R % (IMEI, "settings", "reportInterval") + "/SET", {"value": 30}, timeout=5)
        self.assertEqual(status, 400, doc)
        self.assertEqual(self.queue(), "[]")

        before = int(time.time() * 1000)
        t, out = self.in_background("POST", R % (IMEI, "settings", "reportInterval") + "/SET", {"value": 300})
        queued = self.wait_for(lambda: json.loads(self.queue()), 5)
        self.assertTrue(queued, "the SET never showed in nbiot/downlinkQueue")
        self.assertEqual(len(queued), 1, queued)
        entry = queued[0]
        self.assertEqual(set(entry), {"id", "resource", "queuedAt", "expiresAt"}, entry)
        self.assertEqual(entry["resource"], "settings/reportInterval")
        self.assertIsInstance(entry["id"], int)
        self.assertLess(abs(entry["queuedAt"] - before), 5000, entry)
        self.assertEqual(entry["expiresAt"] - entry["queuedAt"], self.EXPIRY, entry)
        time.sleep(0.3)
        self.assertTrue(t.is_alive(), "the SET answered before any uplink: %r" % out)

        # Nothing goes out without an uplink; the uplink gets the reply on its own socket.
        dev.settimeout(0.3)
        self.assertRaises(socket.timeout, dev.recvfrom, 4096)
        dev.settimeout(5.0)
        self.send(env_frame(2), self.port, dev)
        data, addr = dev.recvfrom(4096)
        self.assertEqual(data.hex(" "), "81 02 01 2c")
        self.assertEqual(addr, ("127.0.0.1", self.port))
        out = self.joined(t, out)
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["doc"]["type"], "SET_RESPONSE")
        self.assertEqual(out["doc"]["response"]["value"], 300)
        self.wait_value(IMEI, "nbiot", "downlinkQueue", "[]")
        self.wait_value(IMEI, "nbiot", "downlinksSent", 1)
        self.assertEqual(self.value(IMEI, "nbiot", "frameCounter"), 2)   # the uplink was data too
        self.assertEqual(self.value(IMEI, "settings", "reportInterval"), 300)
        dev.settimeout(0.5)
        self.assertRaises(socket.timeout, dev.recvfrom, 4096)   # sent once
        dev.settimeout(5.0)

        # ACT control/reboot(delay_s 5) -> 82 02 00 05, result "sent".
        t, out = self.in_background("POST", R % (IMEI, "control", "reboot") + "/ACT",
                                    {"parameters": [{"name": "delay_s", "type": "int", "value": 5}]})
        self.assertTrue(self.wait_for(lambda: json.loads(self.queue()), 5), "the ACT was not queued")
        self.assertEqual(json.loads(self.queue())[0]["resource"], "control/reboot")
        self.send(env_frame(3), self.port, dev)
        data, addr = dev.recvfrom(4096)
        self.assertEqual(data.hex(" "), "82 02 00 05")
        out = self.joined(t, out)
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["doc"]["type"], "ACT_RESPONSE")
        self.assertEqual(out["doc"]["response"]["result"], "sent")
        self.wait_value(IMEI, "nbiot", "downlinksSent", 2)
        self.wait_value(IMEI, "nbiot", "downlinkQueue", "[]")

        # Crowd counter: SET settings/scanInterval 30 -> the text CFG@SCAN@30.
        crowd = self.device()
        when = int(time.time()) - 60
        self.send(crowd_frame("CC0007", [("3c:71:bf:0a:12:e5", -70)], when), self.port, crowd)
        self.wait_value("CC0007", "crowd", "detected", 1)
        t, out = self.in_background("POST", R % ("CC0007", "settings", "scanInterval") + "/SET", {"value": 30})
        self.assertTrue(self.wait_for(lambda: json.loads(self.queue("CC0007")), 5), "the crowd SET was not queued")
        self.send(crowd_frame("CC0007", [], when + 5, pkts=7), self.port, crowd)
        data, addr = crowd.recvfrom(4096)
        self.assertEqual(data, b"CFG@SCAN@30")
        self.assertEqual(addr, ("127.0.0.1", self.port))
        out = self.joined(t, out)
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["doc"]["response"]["value"], 30)
        self.wait_value("CC0007", "nbiot", "downlinksSent", 1)
        self.wait_stat("downlinksSent", 3)
        self.assertEqual(self.stat("downlinksExpired"), 0)


class DownlinkExpiryTest(NbiotTestCase):
    def test_unsent_downlink_expires_and_is_never_sent(self):
        self.start(keys={"downlink_expiry_ms": 1500}, http_extra="  command_timeout_ms: 10000")
        port = self.udp_port()
        dev = self.device()
        self.send(env_frame(1), port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 1)

        t0 = time.time()
        status, doc = self.rest("POST", R % (IMEI, "settings", "reportInterval") + "/SET", {"value": 300}, timeout=20)
        elapsed = time.time() - t0
        self.assertEqual(status, 504, doc)
        self.assertEqual(doc["type"], "ERROR")
        self.assertEqual(doc["statusCode"], 504)
        self.assertIn("expired", doc["error"].lower(), doc)
        # The bridge's own expiry (1.5 s), not the gateway's command timeout (10 s).
        self.assertGreaterEqual(elapsed, 1.4, doc)
        self.assertLess(elapsed, 6.0, doc)

        self.wait_value(IMEI, "nbiot", "downlinksExpired", 1)
        self.assertEqual(self.value(IMEI, "nbiot", "downlinksSent"), 0)
        self.assertEqual(self.value(IMEI, "nbiot", "downlinkQueue"), "[]")
        self.assertNotEqual(self.value(IMEI, "settings", "reportInterval"), 300)
        self.wait_stat("downlinksExpired", 1)

        # A later uplink is data, and gets no downlink.
        self.send(env_frame(2, t10=250), port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 2)
        self.assertEqual(self.value(IMEI, "environment", "temperature"), 25.0)
        dev.settimeout(1.5)
        try:
            data = dev.recv(4096)
            self.fail("a downlink was sent after it expired: %s" % data.hex(" "))
        except socket.timeout:
            pass
        self.assertEqual(self.value(IMEI, "nbiot", "downlinksSent"), 0)
        self.assertEqual(self.stat("downlinksSent"), 0)


class BadInputTest(NbiotTestCase):
    def test_bad_frames_are_counted_and_logged_and_the_bridge_goes_on(self):
        gw = self.start(keys={"bad_frame_log_interval_s": 1})
        port = self.udp_port()
        good = env_frame(5)
        bad = [
            # (what, datagram, reason the WARN line must give)
            ("truncated", good[:20], r"LENGTH mismatch: LENGTH says 28 bytes, the datagram has 17|too short"),
            ("LENGTH mismatch", env_frame(5, length=40), r"LENGTH mismatch: LENGTH says 40"),
            ("odd-length hex", good.hex().encode()[:-1], r"odd number of hex digits \(61\)"),
            ("unknown type byte", env_frame(5, type_byte=0x7F), r"unknown frame type"),
            ("oversized", b"Z" * 3000, r"3000 bytes.*larger than|larger than.*2048|too large|exceeds"),
        ]
        for i, (what, data, reason) in enumerate(bad):
            if i:
                time.sleep(1.2)   # one WARN per bad_frame_log_interval_s (1 s) per source at most
            sock = self.send(data, port)
            src = sock.getsockname()
            rx = re.compile(reason)

            def logged():   # one WARN line with the source address and the reason, in any order
                return any(" WARN " in l and src[0] in l and rx.search(l) for l in gw.logs().splitlines())

            ok = self.wait_for(logged, 3)
            self.assertTrue(ok, "%s: no WARN line naming %s and matching %r; nbiot log lines:\n%s" % (
                what, src[0], reason, "\n".join(l for l in gw.logs().splitlines() if "nbiot" in l.lower())[-3000:]))
            self.wait_stat("framesRejected", i + 1)

        self.send(good, port)
        self.wait_value(IMEI, "environment", "temperature", 21.5)
        self.wait_stat("framesAccepted", 1)
        self.wait_stat("framesReceived", len(bad) + 1)
        self.assertEqual(self.stat("framesRejected"), len(bad))
        status, doc = self.rest("GET", "/sensinact/providers")
        self.assertEqual(sorted(p for p in doc["providers"] if p not in ("sim-light-1", "sim-temperature-1")),
                         sorted([IMEI, STATS]))


class LimitsTest(NbiotTestCase):
    def test_provider_cap(self):
        self.start(keys={"max_providers": 20, "rate_limit_per_s": 1000, "rate_burst": 1000})
        port = self.udp_port()
        dev = self.device()
        imeis = ["8677240300%05d" % i for i in range(200)]
        for i, imei in enumerate(imeis):
            dev.sendto(env_frame(1, imei=imei), ("127.0.0.1", port))
            if i % 20 == 19:
                time.sleep(0.02)
        self.wait_stat("framesReceived", 200, timeout=10)
        self.wait_stat("providerCapHits", 180)
        self.assertEqual(self.stat("framesAccepted"), 20)
        status, doc = self.rest("GET", "/sensinact/providers")
        devices = [p for p in doc["providers"] if re.fullmatch(r"\d{15}", p)]
        self.assertEqual(len(devices), 20, devices)
        self.assertTrue(set(devices) <= set(imeis))
        # A known device still gets through; a new one is still refused.
        self.send(env_frame(2, imei=devices[0], t10=300), port, dev)
        self.wait_value(devices[0], "environment", "temperature", 30.0)
        self.send(env_frame(1, imei="867724039999999"), port, dev)
        self.wait_stat("providerCapHits", 181)
        status, _ = self.rest("GET", "/sensinact/providers/867724039999999")
        self.assertEqual(status, 404)

    def test_flood_of_made_up_imeis_keeps_memory_bounded(self):
        """20000 datagrams with distinct made-up IMEIs: 50 providers, the rest refused and counted, and
        the gateway's resident memory grows by a few MB at most (no per-IMEI state for refused ones)."""
        self.start(keys={"max_providers": 50, "rate_limit_per_s": 10000000, "rate_burst": 10000000,
                         "bad_frame_log_interval_s": 3600})
        port = self.udp_port()
        dev = self.device()

        def rss_kb():
            with open("/proc/%d/status" % self.gw.proc.pid) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

        def flood(first, count):
            for i in range(first, first + count):
                dev.sendto(env_frame(1, imei="86%013d" % i), ("127.0.0.1", port))
                if i % 200 == 199:
                    time.sleep(0.005)   # let the receiver keep up (a drop would only weaken the test)

        flood(0, 2000)   # warm-up: the 50 providers exist, the allocator has its arenas
        self.wait_stat("framesReceived", 2000, timeout=20)
        before = rss_kb()
        flood(2000, 18000)
        received = self.wait_for(lambda: self.stat("framesReceived") >= 19000, timeout=30)
        self.assertTrue(received, "framesReceived %s" % self.stat("framesReceived"))
        time.sleep(1.1)
        after = rss_kb()
        total = self.stat("framesReceived")
        self.assertEqual(self.stat("framesAccepted"), 50)
        self.assertEqual(self.stat("providerCapHits"), total - 50)
        status, doc = self.rest("GET", "/sensinact/providers")
        self.assertEqual(len([p for p in doc["providers"] if re.fullmatch(r"86\d{13}", p)]), 50)
        self.assertLess(after - before, 8 * 1024, "RSS grew from %d kB to %d kB over %d refused frames" % (before, after, total - 2000))

    def test_rate_limit_per_source(self):
        self.start(keys={"rate_limit_per_s": 5, "rate_burst": 5})
        port = self.udp_port()
        dev = self.device()
        t0 = time.time()
        for n in range(1, 51):
            dev.sendto(env_frame(n), ("127.0.0.1", port))
        elapsed = time.time() - t0
        self.wait_stat("framesReceived", 50)
        time.sleep(1.1)   # the stats provider is pushed at most once a second
        accepted, limited = self.stat("framesAccepted"), self.stat("rateLimited")
        self.assertGreaterEqual(accepted, 5)
        self.assertLessEqual(accepted, min(10, 5 + int(5 * elapsed) + 1), (accepted, elapsed))
        self.assertEqual(accepted + limited, 50, (accepted, limited))
        self.assertGreater(limited, 0)
        # The bucket refills: a frame a while later is accepted.
        time.sleep(1.0)
        self.send(env_frame(51, t10=333), port, dev)
        self.wait_value(IMEI, "nbiot", "frameCounter", 51)
        self.assertEqual(self.value(IMEI, "environment", "temperature"), 33.3)
        self.wait_stat("framesAccepted", accepted + 1)

    def test_layout_sources_allow_list(self):
        with open(LAYOUTS) as f:
            text = f.read()
        marker = "  - name: environmental-monitor\n"
        self.assertEqual(text.count(marker), 1)
        text = text.replace(marker, marker + '    sources: ["10.0.0.0/8"]\n')
        tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="nbiot-layouts-", delete=False)
        self.addCleanup(os.unlink, tmp.name)
        tmp.write(text)
        tmp.close()
        self.start(layouts=tmp.name)
        port = self.udp_port()
        dev = self.device()
        for n in (1, 2, 3):
            self.send(env_frame(n), port, dev)
        self.send(crowd_frame("CC0009", [("3c:71:bf:0a:12:e5", -70)], int(time.time()) - 60), port, dev)
        self.wait_value("CC0009", "crowd", "detected", 1)
        self.wait_stat("sourceRefused", 3)
        self.wait_stat("framesAccepted", 1)
        status, _ = self.rest("GET", "/sensinact/providers/" + IMEI)
        self.assertEqual(status, 404)
        self.wait_stat("framesReceived", 4)


if __name__ == "__main__":
    unittest.main()


class ExampleConfigTest(NbiotTestCase):
    def test_shipped_example_runs_as_is(self):
        """etc/examples/nbiot.yaml as shipped, only the ports made free and the layouts path absolute."""
        with open(os.path.join(SOURCE, "etc/examples/nbiot.yaml")) as f:
            text = f.read()
        for old, new in (("port: 8899", "port: 0"), ('listen: ["127.0.0.1:5600"]', 'listen: ["127.0.0.1:0"]'),
                         ("layouts_file: etc/nbiot/layouts.yaml", "layouts_file: %s" % LAYOUTS)):
            self.assertIn(old, text)
            text = text.replace(old, new)
        gw = Gateway()
        state = os.path.join(gw.dir.name, "state")
        gw.write_config(text=text + "plugin_host:\n  state_dir: %s\n" % state)
        gw.start()
        self.addCleanup(self._stop, gw)
        self.gw = gw
        port = self.udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dev:
            dev.sendto(env_frame(7, t10=-52), ("127.0.0.1", port))
            self.wait_value(IMEI, "environment", "temperature", -5.2)
            self.assertEqual(self.value(IMEI, "nbiot", "frameCounter"), 7)

