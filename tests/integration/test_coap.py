"""The CoAP bridge's push endpoint (issue 16, in progress) against libcoap's own client: the real
gateway loads the signed gh-coap.so, listens for CoAP on UDP and DTLS-PSK on free loopback ports,
and coap-client-openssl (not our code) PUTs and POSTs readings; REST shows them. A device with a
wrong key is refused, within a bounded time, and nothing it sends is stored.
"""
import os
import shutil
import socket
import subprocess
import time
import unittest

from gateway import Gateway

CLIENT = shutil.which("coap-client-openssl")
R = "/sensinact/providers/%s/services/%s/resources/%s/GET"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(CLIENT, "coap-client-openssl (libcoap3-bin) is not installed")
class PushEndpointTest(unittest.TestCase):
    def setUp(self):
        self.udp = free_udp_port()
        self.dtls = free_udp_port()
        block = ("  coap:\n    listen: [\"127.0.0.1:%d\"]\n    dtls_listen: [\"127.0.0.1:%d\"]\n"
                 "    psk_keys: [\"dev1=text:secret-key-1\"]\n    bad_request_log_interval_s: 1\n" % (self.udp, self.dtls))
        self.gw = Gateway(plugins_extra=block)
        self.gw.start()
        self.addCleanup(lambda: self.assertEqual(self.gw.stop(), 0))
        deadline = time.time() + 10
        while "CoAP: listening on coaps://" not in self.gw.logs():
            self.assertLess(time.time(), deadline, self.gw.logs())
            time.sleep(0.05)

    def client(self, *args, timeout=15):
        """Runs coap-client-openssl (with -B: never waits forever); returns (exit code, output)."""
        p = subprocess.run(["timeout", str(timeout), CLIENT, "-B", "3", *args], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    def value(self, p, s, r):
        """The resource's value, or None when it does not exist."""
        import json
        status, _, data = self.gw.request("GET", R % (p, s, r))
        return json.loads(data)["response"]["value"] if status == 200 else None

    def test_put_text_json_and_senml_reach_rest(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        self.assertEqual(self.client("-m", "put", "-t", "0", "-e", "21.5", uri + "/dev1/env/temperature")[0], 0)
        self.assertEqual(self.client("-m", "post", "-t", "50", "-e", '{"on":true}', uri + "/dev1/light/state")[0], 0)
        self.assertEqual(self.client("-m", "put", "-t", "110", "-e", '[{"bn":"env/","n":"humidity","u":"%RH","v":47.3}]',
                                     uri + "/dev2")[0], 0)
        self.assertEqual(self.value("dev1", "env", "temperature"), 21.5)
        self.assertEqual(self.value("dev1", "light", "state"), {"on": True})
        self.assertEqual(self.value("dev2", "env", "humidity"), 47.3)

    def test_missing_content_format_and_bad_paths_are_refused(self):
        uri = "coap://127.0.0.1:%d" % self.udp
        code, out = self.client("-m", "put", "-e", "1", uri + "/dev1/env/t")
        self.assertIn("4.15", out)
        code, out = self.client("-m", "put", "-t", "0", "-e", "1", uri + "/only/two")
        self.assertIn("4.04", out)
        self.assertIsNone(self.value("dev1", "env", "t"))

    def test_dtls_psk_good_key_stores_wrong_key_refused_in_bounded_time(self):
        uri = "coaps://127.0.0.1:%d" % self.dtls
        code, out = self.client("-u", "dev1", "-k", "secret-key-1", "-m", "put", "-t", "0", "-e", "7", uri + "/dev3/s/r")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.value("dev3", "s", "r"), 7)
        t0 = time.time()
        code, out = self.client("-u", "dev1", "-k", "wrong-key-123", "-m", "put", "-t", "0", "-e", "8", uri + "/dev4/s/r")
        self.assertLess(time.time() - t0, 15)
        self.assertIsNone(self.value("dev4", "s", "r"))
        code, out = self.client("-u", "nobody", "-k", "secret-key-1", "-m", "put", "-t", "0", "-e", "9", uri + "/dev5/s/r")
        self.assertIsNone(self.value("dev5", "s", "r"))
        self.assertIn("unknown PSK identity \"nobody\"", self.gw.logs())
        self.assertNotIn("secret-key-1", self.gw.logs())
