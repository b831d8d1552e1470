"""The real gateway with auth.mode oauth2 against a real OpenID provider (issue "Northbound security").

The provider is the npm oidc-provider (tests/fixtures/oidc, oidc_idp.OidcProvider) issuing RS256 and
ES256 RFC 9068 access tokens with Keycloak-shaped roles; the gateway runs with the sim plugin and
these rules:
  reader:   DESCRIBE and READ on the temperature sensors only
  operator: everything on every provider
  admin:    everything, and /sensinact/runtime/* and /metrics (admin_roles)
Cases: no token and bad tokens -> 401 with the RFC 6750 challenge; allowed -> 200; a role
without the needed right -> 403 insufficient_scope; lists show only what the caller may see;
wrong audience and expired tokens -> 401; the IdP rotates its keys -> new tokens work without
restarting the gateway; /health stays open.
"""
import json
import os
import subprocess
import time
import unittest

import socket

from gateway import DEFAULT_CONFIG, Gateway, subscribed
from oidc_idp import OidcProvider

TEMP = "/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature"
LIGHT = "/sensinact/providers/sim-light-1"

AUTH = """auth:
  mode: oauth2
  oauth2:
    issuer: "{issuer}"
    audience: gatehouse
    allow_insecure_loopback: true
    leeway_s: {leeway}
    refresh_cooldown_s: 1
    role_claims: [realm_access.roles]
    rules:
      - "reader:DESCRIBE,READ:/providers/sim-temperature-*/**"
      - "operator:*:/providers/**"
      - "admin:*:/providers/**"
    admin_roles: [admin]
    introspection_client_id: gatehouse-introspect
    introspection_client_secret: gatehouse-introspect-secret
{rules_file}"""

# Structured rules: the operator may do everything (rules above) except UPDATE on the second
# temperature sensor, denied at a higher priority.
RULES_FILE = """- role: operator
  provider: sim-temperature-2
  verbs: [UPDATE]
  effect: deny
  priority: 10
"""


def oauth2_gateway(idp, leeway=30, rules_file=RULES_FILE):
    gw = Gateway(sensors=2, interval=100)
    text = DEFAULT_CONFIG.format(sensors=2, interval=100, http_extra="", host_extra="", plugins_extra="",
                                 state_dir=gw.dir.name + "/state")
    extra = ""
    if rules_file is not None:
        with open(os.path.join(gw.dir.name, "rules.yaml"), "w") as f:
            f.write(rules_file)
        extra = "    rules_file: rules.yaml\n"   # relative to the config file's folder
    text = text.replace("auth:\n  mode: none\n", AUTH.format(issuer=idp.issuer, leeway=leeway, rules_file=extra))
    gw.write_config(text=text)
    gw.start()
    return gw


class GatewayWithOidc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = OidcProvider(audience="gatehouse").start()
        try:
            cls.gw = oauth2_gateway(cls.idp)
        except Exception:
            cls.idp.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.idp.close()

    def get(self, path, token=None, method="GET", body=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.gw.request(method, path, body=body, headers=headers)

    def test_no_token_gets_the_bare_challenge(self):
        status, headers, _ = self.get(TEMP)
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("www-authenticate"), 'Bearer realm="gatehouse"')

    def test_a_bad_token_is_invalid_token(self):
        for token in ("garbage", "a.b.c", self.idp.token("reader-rs")[:-3]):
            status, headers, _ = self.get(TEMP, token)
            self.assertEqual(status, 401, token[:20])
            self.assertIn('error="invalid_token"', headers.get("www-authenticate", ""))

    def test_health_and_openapi_stay_open(self):
        self.assertEqual(self.get("/health")[0], 200)
        self.assertEqual(self.get("/openapi.json")[0], 200)

    def test_reader_reads_what_its_rules_allow(self):
        token = self.idp.token("reader-rs")
        status, _, body = self.get(TEMP + "/GET", token)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body)["type"], "GET_RESPONSE")

    def test_reader_is_refused_elsewhere_with_insufficient_scope(self):
        token = self.idp.token("reader-rs")
        for method, path in (("GET", LIGHT), ("GET", LIGHT + "/services"),
                             ("POST", TEMP + "/SET"), ("GET", "/sensinact/runtime/plugins"),
                             ("GET", "/metrics"), ("GET", "/sensinact/providers/no-such-provider")):
            status, headers, _ = self.get(path, token, method=method, body={"value": 1} if method == "POST" else None)
            self.assertEqual(status, 403, path)
            self.assertIn('error="insufficient_scope"', headers.get("www-authenticate", ""))

    def test_a_caller_without_roles_is_authenticated_but_refused(self):
        status, headers, _ = self.get(TEMP + "/GET", self.idp.token("norole-rs"))
        self.assertEqual(status, 403)

    def test_lists_show_only_what_the_caller_may_describe(self):
        status, _, body = self.get("/sensinact/providers", self.idp.token("reader-rs"))
        self.assertEqual(status, 200)
        names = json.loads(body)["providers"]
        self.assertIn("sim-temperature-1", names)
        self.assertNotIn("sim-light-1", names)
        status, _, body = self.get("/sensinact/providers", self.idp.token("operator-rs"))
        self.assertIn("sim-light-1", json.loads(body)["providers"])

    def test_admin_uses_the_runtime_routes(self):
        token = self.idp.token("admin-es")   # ES256
        self.assertEqual(self.get("/sensinact/runtime/plugins", token)[0], 200)
        self.assertEqual(self.get("/metrics", token)[0], 200)

    def test_an_opaque_token_is_introspected(self):   # A18
        token = self.idp.token("opaque-rs")
        self.assertNotIn(".", token)   # really not a JWT
        status, _, body = self.get(TEMP + "/GET", token)
        self.assertEqual(status, 200, body[:300])
        status, headers, _ = self.get(TEMP + "/GET", "notATokenTheIdpIssued")
        self.assertEqual(status, 401)   # inactive
        self.assertIn('error="invalid_token"', headers.get("www-authenticate", ""))
        self.assertEqual(self.get(LIGHT, token)[0], 403)   # its roles (reader) apply as for a JWT

    def test_a_token_for_another_audience_is_refused(self):
        status, headers, _ = self.get(TEMP + "/GET", self.idp.token("other-aud"))
        self.assertEqual(status, 401)
        self.assertIn('error="invalid_token"', headers.get("www-authenticate", ""))

    def test_a_structured_deny_rule_with_priority_wins(self):
        token = self.idp.token("operator-rs")
        t2 = "/sensinact/providers/sim-temperature-2/services/sensor/resources/temperature"
        self.assertEqual(self.get(t2 + "/GET", token)[0], 200)   # the operator may read it
        status, headers, _ = self.get(t2 + "/SET", token, method="POST", body={"value": 1})
        self.assertEqual(status, 403)   # but not update it: deny at priority 10 beats allow at 0
        self.assertIn('error="insufficient_scope"', headers.get("www-authenticate", ""))
        status = self.get(TEMP + "/SET", token, method="POST", body={"value": 1})[0]
        self.assertNotEqual(status, 403)   # the first sensor is not denied (the sim may refuse the value itself)

    def test_tokens_and_claims_never_reach_the_log(self):
        good = self.idp.token("reader-rs")
        bad = self.idp.token("other-aud")
        self.assertEqual(self.get(TEMP + "/GET", good)[0], 200)
        self.assertEqual(self.get(TEMP + "/GET", bad)[0], 401)
        self.assertEqual(self.get(TEMP + "/GET", good[:-5])[0], 401)
        log = self.gw.logs()
        self.assertIn("oauth2", log)   # the log is really read (the key source logs its start)
        for token in (good, bad):
            for part in token.split("."):
                self.assertNotIn(part, log)
        self.assertNotIn("not-gatehouse", log)   # a claim value of the refused token

    def test_path_spellings_get_the_canonical_decision(self):   # A15, as far as the router takes them
        token = self.idp.token("reader-rs")
        for path in ("/sensinact/providers/sim-light-1/", "/sensinact//providers/sim-light-1",
                     "/sensinact/providers/sim-%6Cight-1", "/sensinact/providers/sim-temperature-1/../sim-light-1"):
            status = self.get(path, token)[0]
            self.assertIn(status, (400, 403, 404), path)   # never 200: the reader may not see lights


class RulesFileErrors(unittest.TestCase):
    def test_the_shipped_example_passes_config_check(self):
        example = os.path.join(os.environ.get("GATEHOUSE_SOURCE", "."), "etc/examples/oidc.yaml")
        r = subprocess.run([os.environ.get("GATEHOUSE_BIN", "build/core/app/gatehouse"), "config", "check", example],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("OK", r.stdout)

    def test_a_bad_rules_file_is_reported_with_file_line_and_key(self):
        gw = Gateway()
        self.addCleanup(gw.dir.cleanup)
        rules = os.path.join(gw.dir.name, "rules.yaml")
        with open(rules, "w") as f:
            f.write("- role: reader\n  verbs: [READ]\n- role: operator\n  verbs: [READ]\n  effect: maybe\n")
        text = DEFAULT_CONFIG.format(sensors=1, interval=100, http_extra="", host_extra="", plugins_extra="",
                                     state_dir=gw.dir.name + "/state")
        text = text.replace("auth:\n  mode: none\n", AUTH.format(issuer="http://127.0.0.1:9", leeway=30,
                                                                    rules_file="    rules_file: rules.yaml\n"))
        gw.write_config(text=text)
        r = subprocess.run([os.environ.get("GATEHOUSE_BIN", "build/core/app/gatehouse"), "config", "check", gw.config],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("rules.yaml:5:11: rules_file[1].effect: must be allow or deny", r.stderr)


class GatewayWithOidcKeysAndExpiry(unittest.TestCase):
    def test_rotated_keys_work_without_restarting_the_gateway(self):
        with OidcProvider(audience="gatehouse") as idp:
            gw = oauth2_gateway(idp)
            try:
                self.assertEqual(gw.request("GET", TEMP + "/GET", headers={
                    "Authorization": "Bearer " + idp.token("reader-rs")})[0], 200)
                time.sleep(1.1)   # past refresh_cooldown_s
                idp.restart(new_keys=True)
                status, _, body = gw.request("GET", TEMP + "/GET", headers={
                    "Authorization": "Bearer " + idp.token("reader-rs")})
                self.assertEqual(status, 200, body[:300])
            finally:
                gw.stop()

    def test_a_stream_ends_when_its_token_expires(self):
        with OidcProvider(audience="gatehouse", ttl=3) as idp:
            gw = oauth2_gateway(idp, leeway=0)
            try:
                token = idp.token("reader-rs")
                s = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
                self.addCleanup(s.close)
                s.sendall(("GET %s/SUBSCRIBE HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                           "Authorization: Bearer %s\r\n\r\n" % (TEMP, token)).encode())
                buf = subscribed(s)
                started = time.time()
                while True:   # the sim pushes a value every 100 ms; the stream must end by itself
                    s.settimeout(10)
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                    self.assertLess(time.time() - started, 10, "the stream outlived its token")
                self.assertIn(b"event: data", buf)          # values flowed while the token was valid
                self.assertIn(b"token expired", buf)        # and the end says why
                self.assertLess(time.time() - started, 6)   # ttl 3 s, closed within about a second after
            finally:
                gw.stop()

    def test_an_expired_token_is_refused(self):
        with OidcProvider(audience="gatehouse", ttl=2) as idp:
            gw = oauth2_gateway(idp, leeway=0)
            try:
                token = idp.token("reader-rs")
                auth = {"Authorization": "Bearer " + token}
                self.assertEqual(gw.request("GET", TEMP + "/GET", headers=auth)[0], 200)
                time.sleep(3.2)
                status, headers, _ = gw.request("GET", TEMP + "/GET", headers=auth)
                self.assertEqual(status, 401)
                self.assertIn('error="invalid_token"', headers.get("www-authenticate", ""))
            finally:
                gw.stop()


if __name__ == "__main__":
    unittest.main()
