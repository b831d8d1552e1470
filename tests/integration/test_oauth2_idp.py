"""The gateway's token verification (security/oauth2) against a real OpenID provider.

The provider is the npm oidc-provider (tests/fixtures/oidc, started by PID on a free loopback
port by oidc_idp.OidcProvider). It issues RFC 9068 access tokens signed RS256 or ES256 with
Keycloak-shaped roles. The verifier is tests/tools/oauth2_check (GATEHOUSE_OAUTH2_CHECK): the
ResourceServer and KeySource the gateway uses, fed one token per line, keeping its keys and
cache between lines as the gateway does.

Cases (issue "Northbound security", SECURITY-CHECKLIST part A): allowed (RS256 and ES256, roles
read from realm_access.roles), wrong audience (A11), expired (A7), a flipped bit (A13), an issuer
that differs from the discovery document (A10/A17), and key rotation: the IdP restarts with new
keys and the running verifier accepts the new tokens after one JWKS fetch, without a restart.
"""
import os
import subprocess
import time
import unittest

from oidc_idp import OidcProvider

CHECK = os.environ.get("GATEHOUSE_OAUTH2_CHECK", "")


class Checker:
    """oauth2_check as a child process (stopped by PID in close())."""

    def __init__(self, issuer, audience="gatehouse", leeway=0, cooldown_ms=0, extra=()):
        if not CHECK or not os.access(CHECK, os.X_OK):
            raise RuntimeError("GATEHOUSE_OAUTH2_CHECK is not set to the built oauth2_check tool (got %r)" % CHECK)
        self.proc = subprocess.Popen(
            [CHECK, "--issuer", issuer, "--audience", audience, "--leeway", str(leeway),
             "--cooldown-ms", str(cooldown_ms), "--allow-insecure-loopback", "--role-claim", "realm_access.roles"]
            + list(extra),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.start_line = self.proc.stdout.readline().strip()

    def check(self, token):
        self.proc.stdin.write(token + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stats(self):
        line = self.check("STATS")
        return dict(kv.split("=") for kv in line.split()[1:])

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class OAuth2AgainstRealIdp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.idp = OidcProvider(audience="gatehouse").start()

    @classmethod
    def tearDownClass(cls):
        cls.idp.close()

    def checker(self, **kw):
        c = Checker(self.idp.issuer, **kw)
        self.addCleanup(c.close)
        return c

    def test_rs256_and_es256_tokens_are_accepted_with_their_roles(self):
        c = self.checker()
        self.assertEqual(c.start_line, "START ok")
        reader = c.check(self.idp.token("reader-rs"))
        self.assertTrue(reader.startswith("OK "), reader)
        self.assertIn("roles=reader", reader)
        admin = c.check(self.idp.token("admin-es"))
        self.assertTrue(admin.startswith("OK "), admin)
        self.assertIn("roles=admin", admin)
        operator = c.check(self.idp.token("operator-rs"))
        self.assertRegex(operator, r"^OK .*roles=(reader,operator|operator,reader)$")
        norole = c.check(self.idp.token("norole-rs"))
        self.assertRegex(norole, r"^OK .*roles=$")   # authenticated, no role: the REST layer answers 403

    def test_a_repeated_token_is_served_from_the_cache(self):
        c = self.checker()
        token = self.idp.token("reader-rs")
        for _ in range(5):
            self.assertTrue(c.check(token).startswith("OK "))
        s = c.stats()
        self.assertEqual(s["verified"], "1")
        self.assertEqual(s["cache_hits"], "4")

    def test_a_token_for_another_audience_is_refused(self):
        c = self.checker()
        line = c.check(self.idp.token("other-aud"))
        self.assertTrue(line.startswith("ERR "), line)
        self.assertIn("aud", line)

    def test_a_flipped_bit_is_refused(self):
        c = self.checker()
        token = self.idp.token("reader-rs")
        head, payload, sig = token.split(".")
        for bad in (head[:-1] + ("A" if head[-1] != "A" else "B") + "." + payload + "." + sig,
                    head + "." + payload[:-2] + ("x" if payload[-2] != "x" else "y") + payload[-1] + "." + sig,
                    head + "." + payload + "." + sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:],
                    head + "." + payload + "." + sig[:-4]):
            line = c.check(bad)
            self.assertTrue(line.startswith("ERR "), line)

    def test_an_issuer_other_than_the_discovery_documents_is_refused(self):
        c = Checker(self.idp.issuer + "/")
        self.addCleanup(c.close)
        self.assertTrue(c.start_line.startswith("START error"), c.start_line)
        self.assertIn("another issuer", c.start_line)
        line = c.check(self.idp.token("reader-rs"))
        self.assertTrue(line.startswith("ERR "), line)   # no keys: refused, never accepted

    def test_an_expired_token_is_refused(self):
        with OidcProvider(audience="gatehouse", ttl=2) as short:
            c = Checker(short.issuer, leeway=0)
            self.addCleanup(c.close)
            token = short.token("reader-rs")
            self.assertTrue(c.check(token).startswith("OK "))
            time.sleep(3.2)
            line = c.check(token)
            self.assertTrue(line.startswith("ERR "), line)
            self.assertIn("expired", line)

    def test_rotated_keys_are_picked_up_without_a_restart(self):
        with OidcProvider(audience="gatehouse") as idp:
            c = Checker(idp.issuer)
            self.addCleanup(c.close)
            old = idp.token("reader-rs")
            self.assertTrue(c.check(old).startswith("OK "))
            kids_before = {k["kid"] for k in idp.jwks()["keys"]}
            idp.restart(new_keys=True)
            self.assertFalse(kids_before & {k["kid"] for k in idp.jwks()["keys"]})
            line = c.check(idp.token("admin-es"))
            self.assertTrue(line.startswith("OK "), line)
            self.assertEqual(c.stats()["fetches"], "2")   # the start, and one refresh for the new kid


if __name__ == "__main__":
    unittest.main()
