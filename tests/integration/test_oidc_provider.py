"""Self-test of the OpenID provider fixture (oidc_idp.py + tests/fixtures/oidc/idp.mjs): the
tokens, discovery and JWKS that the bearer-token tests rely on really have the shape they assume
(RFC 9068 access tokens, Keycloak-shaped roles, RS256 and ES256, key rotation on restart).
JWTs are decoded with base64 + json only; signatures are the gateway's business, not checked here.
"""
import os
import socket
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from oidc_idp import CLIENTS, OidcProvider, TokenError, jwt_parts


def kids(jwks):
    return {k["kid"] for k in jwks["keys"]}


class OidcProviderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="gatehouse-oidc-test-")
        cls.idp = OidcProvider(cls.tmp.name, audience="gatehouse", ttl=300).start()

    @classmethod
    def tearDownClass(cls):
        cls.idp.close()
        cls.tmp.cleanup()

    def test_discovery_names_the_issuer_and_a_loopback_token_endpoint(self):
        d = self.idp.discovery(refresh=True)
        self.assertEqual(d["issuer"], self.idp.issuer)
        self.assertRegex(self.idp.issuer, r"^http://127\.0\.0\.1:\d+$")
        self.assertTrue(d["token_endpoint"].startswith(self.idp.issuer + "/"))
        self.assertTrue(d["jwks_uri"].startswith(self.idp.issuer + "/"))
        self.assertIn("client_credentials", d["grant_types_supported"])

    def test_listens_on_loopback_only(self):
        # The kernel's table of listening TCP sockets names the address the provider bound:
        # 127.0.0.1 only, never 0.0.0.0 or :: (provider.listen() would bind every interface).
        port_hex = "%04X" % self.idp.port
        bound = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    local, state = line.split()[1], line.split()[3]
                    if state == "0A" and local.endswith(":" + port_hex):
                        bound.append(local.split(":")[0])
        self.assertEqual(bound, ["0100007F"], "listening sockets on port %d: %s" % (self.idp.port, bound))

    def test_jwks_has_one_rsa_and_one_ec_key_without_private_parts(self):
        jwks = self.idp.jwks()
        by_kty = {k["kty"]: k for k in jwks["keys"]}
        self.assertIn("RSA", by_kty)
        self.assertIn("EC", by_kty)
        self.assertEqual(by_kty["EC"]["crv"], "P-256")
        self.assertGreaterEqual(len(by_kty["RSA"]["n"]) * 6, 2048 - 6)  # base64url chars -> bits
        for k in jwks["keys"]:
            self.assertTrue(k.get("kid"))
            for private in ("d", "p", "q", "dp", "dq", "qi"):
                self.assertNotIn(private, k, "JWKS publishes private member %s" % private)

    def test_reader_rs_token_is_rfc9068_rs256_with_keycloak_roles(self):
        before = int(time.time())
        header, claims = jwt_parts(self.idp.token("reader-rs"))
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(header["typ"], "at+jwt")
        rsa_kids = {k["kid"] for k in self.idp.jwks()["keys"] if k["kty"] == "RSA"}
        self.assertIn(header["kid"], rsa_kids)
        self.assertEqual(claims["iss"], self.idp.issuer)
        self.assertEqual(claims["aud"], "gatehouse")
        self.assertEqual(claims["client_id"], "reader-rs")
        self.assertEqual(claims["sub"], "reader-rs")
        self.assertTrue(claims.get("jti"))
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        self.assertLessEqual(abs(claims["iat"] - before), 5)
        self.assertEqual(claims["realm_access"], {"roles": ["reader"]})
        self.assertEqual(claims["resource_access"], {"gatehouse": {"roles": ["reader"]}})

    def test_operator_rs_token_carries_both_roles(self):
        header, claims = jwt_parts(self.idp.token("operator-rs"))
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(claims["realm_access"]["roles"], ["reader", "operator"])
        self.assertEqual(claims["resource_access"]["gatehouse"]["roles"], ["reader", "operator"])

    def test_admin_es_token_is_es256_signed_by_the_ec_key(self):
        token = self.idp.token("admin-es")
        header, claims = jwt_parts(token)
        self.assertEqual(header["alg"], "ES256")
        self.assertEqual(header["typ"], "at+jwt")
        ec_kids = {k["kid"] for k in self.idp.jwks()["keys"] if k["kty"] == "EC"}
        self.assertIn(header["kid"], ec_kids)
        self.assertEqual(claims["aud"], "gatehouse")
        self.assertEqual(claims["client_id"], "admin-es")
        self.assertEqual(claims["realm_access"]["roles"], ["admin"])
        # JWS ES256 signatures are raw r||s, 64 bytes (86 base64url characters).
        self.assertEqual(len(token.split(".")[2]), 86)

    def test_norole_rs_token_has_no_role_claims(self):
        header, claims = jwt_parts(self.idp.token("norole-rs"))
        self.assertEqual(header["alg"], "RS256")
        self.assertEqual(claims["aud"], "gatehouse")
        self.assertNotIn("realm_access", claims)
        self.assertNotIn("resource_access", claims)

    def test_other_aud_token_is_for_another_audience(self):
        header, claims = jwt_parts(self.idp.token("other-aud"))
        self.assertEqual(claims["aud"], "not-gatehouse")
        self.assertEqual(claims["iss"], self.idp.issuer)
        self.assertEqual(claims["resource_access"], {"not-gatehouse": {"roles": ["reader"]}})
        # ... and it cannot get one for the gateway.
        with self.assertRaises(TokenError) as e:
            self.idp.token("other-aud", resource="urn:gatehouse:audience:gatehouse")
        self.assertEqual(e.exception.body["error"], "invalid_target")

    def test_wrong_secret_is_refused(self):
        with self.assertRaises(TokenError) as e:
            self.idp.token("reader-rs", secret="not-the-secret")
        self.assertEqual(e.exception.status, 401)
        self.assertEqual(e.exception.body["error"], "invalid_client")

    def test_both_client_auth_methods_work(self):
        for auth in ("client_secret_basic", "client_secret_post"):
            _, claims = jwt_parts(self.idp.token("reader-rs", auth=auth))
            self.assertEqual(claims["client_id"], "reader-rs", auth)


class OidcProviderRestartTest(unittest.TestCase):
    def setUp(self):
        self.idp = OidcProvider(None, ttl=3)
        self.addCleanup(self.idp.close)
        self.idp.start()

    def test_short_ttl(self):
        _, claims = jwt_parts(self.idp.token("reader-rs"))
        self.assertEqual(claims["exp"] - claims["iat"], 3)

    def test_restart_with_new_keys_rotates_on_the_same_port(self):
        issuer, port, pid = self.idp.issuer, self.idp.port, self.idp.proc.pid
        old_kids = kids(self.idp.jwks())
        old_rs = jwt_parts(self.idp.token("reader-rs"))[0]["kid"]
        old_es = jwt_parts(self.idp.token("admin-es"))[0]["kid"]
        self.assertEqual({old_rs, old_es}, old_kids)

        self.idp.restart(new_keys=True)
        self.assertNotEqual(self.idp.proc.pid, pid)
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)  # the old provider is gone (reaped by stop())
        self.assertEqual(self.idp.port, port)
        self.assertEqual(self.idp.issuer, issuer)
        self.assertEqual(self.idp.discovery(refresh=True)["issuer"], issuer)

        new_kids = kids(self.idp.jwks())
        self.assertEqual(len(new_kids), 2)
        self.assertFalse(new_kids & old_kids, "kids survived a key rotation")
        rs = jwt_parts(self.idp.token("reader-rs"))[0]
        es = jwt_parts(self.idp.token("admin-es"))[0]
        self.assertEqual((rs["alg"], es["alg"]), ("RS256", "ES256"))
        self.assertIn(rs["kid"], new_kids)
        self.assertIn(es["kid"], new_kids)
        self.assertNotIn(rs["kid"], old_kids)

        # A second rotation rotates again.
        self.idp.restart(new_keys=True)
        self.assertFalse(kids(self.idp.jwks()) & new_kids)

    def test_restart_without_new_keys_keeps_them(self):
        old_kids = kids(self.idp.jwks())
        old_jwks = self.idp.jwks()
        self.idp.restart(new_keys=False)
        self.assertEqual(self.idp.jwks(), old_jwks)
        self.assertIn(jwt_parts(self.idp.token("reader-rs"))[0]["kid"], old_kids)

    def test_stop_frees_the_port(self):
        port = self.idp.port
        self.idp.stop()
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


class OidcProviderIssuerPathTest(unittest.TestCase):
    def test_keycloak_style_issuer_path_and_custom_audience(self):
        with OidcProvider(None, audience="https://gateway.example/api",
                          issuer_path="/realms/gatehouse") as idp:
            self.assertRegex(idp.issuer, r"^http://127\.0\.0\.1:\d+/realms/gatehouse$")
            d = idp.discovery()
            self.assertEqual(d["issuer"], idp.issuer)
            self.assertTrue(d["token_endpoint"].startswith(idp.issuer + "/"))
            _, claims = jwt_parts(idp.token("reader-rs"))
            self.assertEqual(claims["iss"], idp.issuer)
            self.assertEqual(claims["aud"], "https://gateway.example/api")
            self.assertEqual(claims["resource_access"], {"https://gateway.example/api": {"roles": ["reader"]}})
            # Nothing is served outside the issuer path.
            outside = "http://127.0.0.1:%d/.well-known/openid-configuration" % idp.port
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(outside, timeout=5)
            self.assertEqual(e.exception.code, 404)


class OidcProviderFailureTest(unittest.TestCase):
    def test_start_failure_reports_the_child_stderr(self):
        idp = OidcProvider(None, ttl=0)  # idp.mjs refuses a ttl of 0
        self.addCleanup(idp.close)
        with self.assertRaises(RuntimeError) as e:
            idp.start()
        self.assertIn("--ttl must be a positive number", str(e.exception))
        self.assertIsNone(idp.proc)


if __name__ == "__main__":
    unittest.main()
