"""The gateway's IdP client over real TLS (SECURITY-CHECKLIST A17): tests/tools/oauth2_check, the
KeySource the gateway uses, against an HTTPS server on loopback that serves a discovery document
and a JWKS (the keys of the real test IdP).

A CA and a server certificate (SAN IP:127.0.0.1) are made with openssl in a temp dir at each run;
the server is this file run as a script, started and stopped by PID. Cases: the right CA loads the
keys; another CA, the system CAs or a host name the certificate does not name are refused (and a
token is then refused: never fail open); a redirect is not followed; a JWKS over 1 MiB is refused.
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import unittest

from oidc_idp import OidcProvider
from test_oauth2_idp import Checker

HERE = os.path.abspath(__file__)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """ca.pem (the IdP's CA), srv.pem/srv.key (for 127.0.0.1), other.pem (an unrelated CA)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "1", "-subj", "/CN=gatehouse-test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "srv.key",
            "-out", "srv.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "srv.pem", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "other.key",
            "-out", "other.pem", "-days", "1", "-subj", "/CN=some-other-ca", cwd=d)


class TlsIdp:
    """This file as an HTTPS server (mode: ok | redirect | bigjwks), stopped by PID."""

    def __init__(self, d, jwks, mode="ok"):
        jwks_file = os.path.join(d, "jwks-%s.json" % mode)
        with open(jwks_file, "w") as f:
            json.dump(jwks, f)
        self.proc = subprocess.Popen([sys.executable, HERE, "serve", d, jwks_file, mode],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.stop()
            raise RuntimeError("the TLS IdP did not start: %r" % line)
        self.port = int(line[1])
        self.issuer = "https://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class IdpKeysOverTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="gatehouse-tls-idp-")
        make_pki(cls.tmp.name)
        with OidcProvider(audience="gatehouse") as idp:
            cls.jwks = idp.jwks()
            cls.token = idp.token("reader-rs")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def serve(self, mode="ok"):
        server = TlsIdp(self.tmp.name, self.jwks, mode)
        self.addCleanup(server.stop)
        return server

    def check(self, issuer, *extra):
        c = Checker(issuer, extra=list(extra))
        self.addCleanup(c.close)
        return c

    def ca(self, name):
        return os.path.join(self.tmp.name, name)

    def test_the_right_ca_loads_the_keys(self):
        server = self.serve()
        c = self.check(server.issuer, "--ca-file", self.ca("ca.pem"))
        self.assertEqual(c.start_line, "START ok")
        self.assertEqual(c.stats()["fetches"], "1")

    def test_another_ca_or_the_system_cas_are_refused_and_tokens_with_them(self):
        server = self.serve()
        for extra in (["--ca-file", self.ca("other.pem")], []):
            c = self.check(server.issuer, *extra)
            self.assertTrue(c.start_line.startswith("START error"), c.start_line)
            self.assertIn("certificate verify failed", c.start_line)
            line = c.check(self.token)
            self.assertTrue(line.startswith("ERR "), line)

    def test_a_name_the_certificate_does_not_carry_is_refused(self):
        server = self.serve()
        c = self.check("https://localhost:%d" % server.port, "--ca-file", self.ca("ca.pem"))
        self.assertTrue(c.start_line.startswith("START error"), c.start_line)
        self.assertIn("localhost", c.start_line)

    def test_a_redirect_is_not_followed(self):
        server = self.serve("redirect")
        c = self.check(server.issuer, "--ca-file", self.ca("ca.pem"))
        self.assertTrue(c.start_line.startswith("START error"), c.start_line)
        self.assertIn("redirect", c.start_line)

    def test_a_jwks_over_one_mib_is_refused(self):
        server = self.serve("bigjwks")
        c = self.check(server.issuer, "--ca-file", self.ca("ca.pem"))
        self.assertTrue(c.start_line.startswith("START error"), c.start_line)
        self.assertIn("larger than", c.start_line)


def serve(d, jwks_file, mode):
    """The HTTPS IdP stand-in: discovery + JWKS; `redirect` answers discovery with a 302 to
    itself, `bigjwks` pads the JWKS beyond 1 MiB."""
    jwks = json.load(open(jwks_file))
    if mode == "bigjwks":
        jwks["padding"] = "x" * (1 << 20)
    issuer = None   # set once the server has its port (the handler reads it per request)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/.well-known/openid-configuration" and mode == "redirect":
                self.send_response(302)
                self.send_header("Location", issuer + "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/.well-known/openid-configuration":
                body = json.dumps({"issuer": issuer, "jwks_uri": issuer + "/jwks"}).encode()
            elif self.path == "/jwks":
                body = json.dumps(jwks).encode()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    issuer = "https://127.0.0.1:%d" % port
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("READY %d" % port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        unittest.main()
