"""Test fixture: a real OpenID provider (npm oidc-provider, tests/fixtures/oidc/idp.mjs) on a free
loopback port, started and stopped by PID (TESTING.md, "An OpenID Connect provider for tests").

    idp = OidcProvider(tmpdir).start()       # tmpdir=None: a temp dir of its own, removed by close()
    idp.issuer                                # "http://127.0.0.1:PORT" (+ issuer_path)
    token = idp.token("reader-rs")            # RFC 9068 JWT access token, aud "gatehouse"
    idp.restart(new_keys=True)                # same port, fresh RSA + P-256 keys (key rotation)
    idp.close()

Clients (CLIENTS below; secrets are test strings): reader-rs (RS256, reader), operator-rs (RS256,
reader + operator), admin-es (ES256, admin), norole-rs (RS256, no roles), other-aud (RS256,
reader, audience "not-gatehouse"). Roles are in realm_access.roles and
resource_access.<audience>.roles, as Keycloak puts them.

Needs Node.js >= 20.18 (`node`, or GATEHOUSE_NODE) and `npm ci` run in tests/fixtures/oidc.
Standard library only.
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

FIXTURE_DIR = os.path.join(os.environ.get("GATEHOUSE_SOURCE") or
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."),
                           "tests", "fixtures", "oidc")
NODE = os.environ.get("GATEHOUSE_NODE") or shutil.which("node") or "/usr/bin/node"
NODE_MIN = (20, 18)  # oidc-provider 9 calls URL.parse (Node >= 20.18); Debian 12's Node 18 fails

# audience None = the provider's audience (constructor argument).
CLIENTS = {
    "reader-rs": {"secret": "reader-rs-secret", "alg": "RS256", "roles": ["reader"],
                  "auth": "client_secret_basic", "audience": None},
    "operator-rs": {"secret": "operator-rs-secret", "alg": "RS256", "roles": ["reader", "operator"],
                    "auth": "client_secret_basic", "audience": None},
    "admin-es": {"secret": "admin-es-secret", "alg": "ES256", "roles": ["admin"],
                 "auth": "client_secret_post", "audience": None},
    "norole-rs": {"secret": "norole-rs-secret", "alg": "RS256", "roles": [],
                  "auth": "client_secret_basic", "audience": None},
    "other-aud": {"secret": "other-aud-secret", "alg": "RS256", "roles": ["reader"],
                  "auth": "client_secret_basic", "audience": "not-gatehouse"},
    # Opaque access tokens (RFC 7662 introspection), and the client the gateway introspects with.
    "opaque-rs": {"secret": "opaque-rs-secret", "alg": "RS256", "roles": ["reader"],
                  "auth": "client_secret_basic", "audience": None, "format": "opaque"},
    "gatehouse-introspect": {"secret": "gatehouse-introspect-secret", "alg": "RS256", "roles": [],
                             "auth": "client_secret_basic", "audience": None},
}


def resource_for(audience):
    """The RFC 8707 resource indicator idp.mjs maps to `audience` (it must be an absolute URI)."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", audience):
        return audience
    return "urn:gatehouse:audience:" + audience


def jwt_parts(token):
    """(header, payload) of a compact JWS, decoded with base64 + json only; no verification."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS: %d segments" % len(parts))

    def dec(seg):
        return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
    return dec(parts[0]), dec(parts[1])


class TokenError(RuntimeError):
    """The token endpoint refused: status is the HTTP status, body the parsed error response."""

    def __init__(self, status, body):
        super().__init__("token endpoint answered %d: %s" % (status, body))
        self.status = status
        self.body = body


class OidcProvider:
    def __init__(self, tmpdir=None, audience="gatehouse", ttl=300, issuer_path="/", clients=None):
        """tmpdir: where the client table, the provider's log and (for restart(new_keys=False)) its
        private keys go; None = a new temp dir removed by close(). ttl: access token lifetime in
        seconds (e.g. 3 to test expiry). clients: a table like CLIENTS (default CLIENTS)."""
        self.own_dir = tmpdir is None
        self.dir = tempfile.mkdtemp(prefix="gatehouse-oidc-") if tmpdir is None else tmpdir
        os.makedirs(self.dir, exist_ok=True)
        self.audience = audience
        self.ttl = int(ttl)
        self.issuer_path = issuer_path
        self.clients = dict(CLIENTS if clients is None else clients)
        self.clients_file = os.path.join(self.dir, "idp-clients.json")
        self.keys_file = os.path.join(self.dir, "idp-keys.json")  # private keys: temp dir only
        self.log_path = os.path.join(self.dir, "idp.log")
        self.out_path = os.path.join(self.dir, "idp.out")
        with open(self.clients_file, "w") as f:
            json.dump([{"client_id": cid, "client_secret": c["secret"], "alg": c["alg"],
                        "roles": list(c["roles"]), "auth": c["auth"],
                        **({"audience": c["audience"]} if c.get("audience") else {}),
                        **({"format": c["format"]} if c.get("format") else {})}
                       for cid, c in self.clients.items()], f)
        self.port = 0
        self.issuer = None
        self.proc = None
        self._discovery = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self, timeout=60.0, _keys=None):
        """Spawns `node idp.mjs`, waits for its READY line; raises with its stderr if it dies."""
        self._check_setup()
        args = [NODE, "idp.mjs", "--port", str(self.port), "--issuer-path", self.issuer_path,
                "--audience", self.audience, "--ttl", str(self.ttl), "--clients", self.clients_file]
        if _keys:
            args += ["--keys", _keys]
        else:
            args += ["--save-keys", self.keys_file]
        log_from = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        with open(self.out_path, "w") as out, open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(args, cwd=FIXTURE_DIR, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.out_path) as f:
                m = re.match(r"READY (\S+)\n", f.read())
            if m:
                self.issuer = m.group(1)
                self.port = urllib.parse.urlsplit(self.issuer).port
                self._discovery = None
                return self
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError("idp.mjs exited with %s before READY:\n%s" % (code, self.log_text()[log_from:]))
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("idp.mjs did not print READY within %.0f s:\n%s" % (timeout, self.log_text()[log_from:]))

    def restart(self, new_keys=True, down_seconds=0.0):
        """Stops by PID and starts again on the SAME port (so the issuer URL stays). new_keys=True:
        fresh keys (a key rotation); False: the same keys as before."""
        if not self.port:
            raise RuntimeError("restart() before start()")
        self.stop()
        if down_seconds:
            time.sleep(down_seconds)
        keys = None if new_keys else self.keys_file
        if keys and not os.path.exists(keys):
            raise RuntimeError("restart(new_keys=False): no saved keys (was the last start given --keys?)")
        # The port was ours a moment ago; retry briefly in case the kernel has not released it.
        for attempt in range(50):
            try:
                return self.start(_keys=keys)
            except RuntimeError as e:
                if "EADDRINUSE" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)

    def stop(self):
        """SIGTERM by PID, wait, SIGKILL if it does not go."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            # Private keys never outlive the fixture, even in a caller's dir.
            try:
                os.unlink(self.keys_file)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def log_text(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    # ---- HTTP --------------------------------------------------------------------------------
    def _get_json(self, url):
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def discovery(self, refresh=False):
        """The provider's /.well-known/openid-configuration (cached until restart)."""
        if self._discovery is None or refresh:
            self._discovery = self._get_json(self.issuer + "/.well-known/openid-configuration")
        return self._discovery

    @property
    def discovery_url(self):
        return self.issuer + "/.well-known/openid-configuration"

    @property
    def jwks_uri(self):
        return self.discovery()["jwks_uri"]

    def jwks(self):
        return self._get_json(self.jwks_uri)

    def audience_of(self, client_id):
        return self.clients[client_id].get("audience") or self.audience

    def token_response(self, client_id, resource=None, secret=None, auth=None):
        """POSTs a client_credentials request; returns the parsed JSON or raises TokenError.
        resource: default the client's own (resource_for(its audience)); secret/auth: override
        to test refusals."""
        c = self.clients[client_id]
        secret = c["secret"] if secret is None else secret
        auth = auth or c["auth"]
        form = {"grant_type": "client_credentials",
                "resource": resource if resource is not None else resource_for(self.audience_of(client_id))}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if auth == "client_secret_post":
            form.update(client_id=client_id, client_secret=secret)
        else:  # RFC 6749 2.3.1: form-urlencode id and secret before base64
            cred = "%s:%s" % (urllib.parse.quote(client_id, safe=""), urllib.parse.quote(secret, safe=""))
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        req = urllib.request.Request(self.discovery()["token_endpoint"],
                                     data=urllib.parse.urlencode(form).encode(), headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            raise TokenError(e.code, body) from None

    def token(self, client_id, **kw):
        """An access token string (compact JWS) for client_id."""
        return self.token_response(client_id, **kw)["access_token"]

    # ---- setup checks ------------------------------------------------------------------------
    @staticmethod
    def _check_setup():
        if not os.path.isdir(os.path.join(FIXTURE_DIR, "node_modules", "oidc-provider")):
            raise RuntimeError("oidc-provider is not installed: run `npm ci` in %s (scripts/install-deps "
                               "does it)" % os.path.normpath(FIXTURE_DIR))
        try:
            v = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError as e:
            raise RuntimeError("Node.js not found (%s): install Node.js >= %d.%d or set GATEHOUSE_NODE"
                               % ((e,) + NODE_MIN)) from None
        m = re.match(r"v(\d+)\.(\d+)\.", v)
        if not m or (int(m.group(1)), int(m.group(2))) < NODE_MIN:
            raise RuntimeError("%s is Node.js %s; oidc-provider 9 needs >= %d.%d (set GATEHOUSE_NODE)"
                               % ((NODE, v or "?") + NODE_MIN))
