#!/usr/bin/env python3
"""bench/rest_auth.py: REST GET with a valid cached bearer token vs the same GET with auth off (TESTING.md "Measuring").

Acceptance (issue 5, "Northbound security"): "REST GET with a valid cached token: at least 0.95x
the requests/s of the same GET with auth off, in the same run."

One OpenID provider (tests/integration/oidc_idp.py: the npm oidc-provider on a free loopback
port, tokens valid 600 s) and two gateways from the same build, same config apart from `auth`
(127.0.0.1, free ports, the same http.threads, the sim plugin with one temperature sensor, as
bench/rest_get.sh configures it):
  none     auth.mode none
  oauth2   auth.mode oauth2: issuer = the provider, audience gatehouse, allow_insecure_loopback,
           role_claims [realm_access.roles], rules ["reader:DESCRIBE,READ:/providers/**"],
           admin_roles [admin] (only so the script can read /metrics with a second token)
One reader token (client reader-rs, RS256) is fetched and sent by wrk to BOTH gateways
(`-H "Authorization: Bearer <token>"`), so the request bytes are identical; the none gateway
ignores it. Before measuring, the oauth2 gateway must answer 401 with a Bearer challenge without
a token and with a token whose signature was altered, and 200 with a GET_RESPONSE body with the
token; the none gateway 200 with a GET_RESPONSE body. Then 2 s of warm-up each and --rounds
alternated rounds (the side that goes first alternates) of `wrk -t2 -c16 -d5s --latency` on
/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature/GET. Any non-2xx
answer aborts (exit 2). After the rounds the oauth2 gateway's /metrics
(gatehouse_oauth2_tokens_verified_total, _cached_total, _refused_total) are read with an admin
token and compared with the values read just before the rounds: during the rounds no token may
have been verified or refused, and the cache hits must be at least the requests wrk counted, so
what was measured is the cached-token path (else exit 2).

Floor: median oauth2 req/s / median none req/s >= 0.95. The p99 ratio is reported, without a floor.

Usage: bench/rest_auth.py [BUILD_DIR] [--rounds N] [--duration S] [--warmup S] [--connections C]
                          [--threads T] [--http-threads N]
  (default ./build, 5 rounds of 5 s, 2 s warm-up, wrk -t2 -c16, http.threads 4: rest_get.sh's
  settings; about 1 min). Needs `cmake --build BUILD_DIR --target gatehouse gatehouse_bridge_sim`,
  wrk on PATH, Node.js >= 20.18 and `npm ci` done in tests/fixtures/oidc.
  Environment: GATEHOUSE_BIN overrides the gateway binary; KEEP_TMP=1 keeps the temp dir (configs,
  logs, wrk outputs; never the token).
Exit: 0 floor met, 1 floor missed, 2 could not run (setup, bad answers, not the cached path).
The token is never printed; it is on wrk's command line (as the brief asks, like rest_get.sh's
wrk call), i.e. readable in /proc while wrk runs, and expires 600 s after it was issued.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no bench/__pycache__ or tests/integration/__pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from benchlib import Processes, SetupError, free_port, tail  # noqa: E402
import oidc_idp  # noqa: E402

MIN_RATIO = 0.95
TOKEN_TTL_S = 600
START_TIMEOUT_S = 20.0
RESOURCE_PATH = "/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature/GET"
READER_CLIENT = "reader-rs"   # oidc_idp.CLIENTS: RS256, realm role "reader"
ADMIN_CLIENT = "admin-es"     # ES256, realm role "admin": only reads /metrics
METRICS = ("gatehouse_oauth2_tokens_verified_total", "gatehouse_oauth2_tokens_cached_total",
           "gatehouse_oauth2_tokens_refused_total")

AUTH_OAUTH2 = """auth:
  mode: oauth2
  oauth2:
    issuer: "{issuer}"
    audience: gatehouse
    allow_insecure_loopback: true
    role_claims: [realm_access.roles]
    rules:
      - "reader:DESCRIBE,READ:/providers/**"
    admin_roles: [admin]
"""


class Gateway:
    """The real gatehouse binary with the sim plugin (one temperature sensor) on a free loopback port."""

    def __init__(self, procs, tmp, build, name, http_threads, auth_section):
        self.procs = procs
        self.name = name
        self.bin = os.environ.get("GATEHOUSE_BIN", os.path.join(build, "core/app/gatehouse"))
        if not os.access(self.bin, os.X_OK):
            raise SetupError("gateway not built: %s (cmake --build %s --target gatehouse)" % (self.bin, build))
        plugin = os.path.join(build, "plugins-signed/gh-sim.so")
        if not os.environ.get("GATEHOUSE_BIN") and not (os.path.isfile(plugin) and os.path.isfile(plugin + ".sig")):
            raise SetupError("signed sim plugin not built: %s(.sig) (cmake --build %s --target gatehouse_bridge_sim)"
                             % (plugin, build))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d%s" % (self.port, RESOURCE_PATH)
        self.config = os.path.join(tmp, "gatehouse-%s.yaml" % name)
        self.log = os.path.join(tmp, "gatehouse-%s.log" % name)
        with open(self.config, "w") as f:
            f.write("gateway:\n  id: bench-%s\n  log_level: warn\n"
                    "http:\n  listen: 127.0.0.1\n  port: %d\n  threads: %d\n"
                    "%s"
                    "plugin_host:\n  state_dir: %s\n"
                    "plugins:\n  sim:\n    temperature_sensors: 1\n"
                    % (name, self.port, http_threads, auth_section, os.path.join(tmp, "state-" + name)))
        self.proc = None

    def start(self):
        self.proc = self.procs.start([self.bin, "run", "--config", self.config], self.log)

    def request(self, path, token=None):
        """(status, headers (lower-case names), body) of one GET on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def wait_ok(self, path, token=None):
        """Polls path until it answers 200 (the sim plugin declares its sensor at start; the oauth2
        gateway fetches the IdP's keys at start)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while True:
            if self.proc.poll() is not None:
                raise SetupError("gateway %s exited with %d; log:\n%s" % (self.name, self.proc.returncode, tail(self.log)))
            try:
                status, _, body = self.request(path, token)
                if status == 200:
                    return body
                last = "%d %s" % (status, body[:200])
            except (OSError, http.client.HTTPException) as e:
                last = str(e)
            if time.monotonic() > deadline:
                raise SetupError("gateway %s: GET %s not 200 within %.0f s (last: %s); log:\n%s"
                                 % (self.name, path, START_TIMEOUT_S, last, tail(self.log)))
            time.sleep(0.05)

    def metrics(self, token):
        status, _, body = self.request("/metrics", token)
        if status != 200:
            raise SetupError("gateway %s: GET /metrics -> %d: %s" % (self.name, status, body[:200]))
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = value
        try:
            return {k: int(out[k]) for k in METRICS}
        except KeyError as e:
            raise SetupError("gateway %s: /metrics has no %s" % (self.name, e)) from None

    def stop(self):
        if self.proc is not None:
            proc, self.proc = self.proc, None
            self.procs.stop(proc, "gateway " + self.name, self.log)


def check_get_response(name, body):
    """The body must be the resource's GET_RESPONSE envelope with a value, so errors are not measured."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise SetupError("gateway %s: GET answer is not JSON: %r" % (name, body[:200])) from None
    if not (isinstance(doc, dict) and doc.get("type") == "GET_RESPONSE" and doc.get("statusCode") == 200
            and isinstance(doc.get("response"), dict) and "value" in doc["response"]):
        raise SetupError("gateway %s: GET answer is not a GET_RESPONSE with a value: %r" % (name, body[:300]))
    return doc


def altered(token):
    """The token with one character of its signature changed (same length, still base64url)."""
    head, _, sig = token.rpartition(".")
    mid = len(sig) // 2
    return head + "." + sig[:mid] + ("A" if sig[mid] != "A" else "B") + sig[mid + 1:]


def wall_seconds(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", text)
    if not m:
        raise ValueError("duration %r: use seconds, e.g. 5 or 5s" % text)
    return float(m.group(1)) * (60 if m.group(2) == "m" else 1)


def latency_us(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError("cannot read the latency %r" % text)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[m.group(2)]


class Wrk:
    def __init__(self, tmp, threads, connections, token):
        self.bin = shutil.which("wrk")
        if not self.bin:
            raise SetupError("wrk not found (apt-get install wrk)")
        self.tmp = tmp
        self.threads = threads
        self.connections = connections
        self.header = "Authorization: Bearer " + token
        self.runs = 0

    def describe(self, duration):
        return 'wrk -t%d -c%d -d%s --latency -H "Authorization: Bearer <reader token>"' % (
            self.threads, self.connections, duration)

    def run(self, url, duration, label):
        """One wrk run: dict with rps, p99_us, requests, non2xx, socket_errors. Its output (which
        does not contain the token) is kept in the temp dir; errors never show the command line."""
        self.runs += 1
        r = subprocess.run([self.bin, "-t%d" % self.threads, "-c%d" % self.connections, "-d%s" % duration,
                            "--latency", "-H", self.header, url],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=wall_seconds(duration) + 60)
        with open(os.path.join(self.tmp, "wrk-%02d-%s.out" % (self.runs, label)), "w") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise SetupError("wrk (%s) exited with %d: %s" % (label, r.returncode, (r.stderr or r.stdout).strip()[:300]))
        out = r.stdout
        rps = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
        p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
        total = re.search(r"^\s+(\d+) requests in", out, re.M)
        if not (rps and p99 and total):
            raise SetupError("could not read wrk's output (%s):\n%s" % (label, out[-800:]))
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        errs = re.search(r"Socket errors:\s*(.*)", out)
        return {"rps": float(rps.group(1)), "p99_us": latency_us(p99.group(1)), "requests": int(total.group(1)),
                "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errs.group(1).strip() if errs else "none"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", nargs="?", default="./build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", default="5s", help="wrk -d per measured run (default 5s)")
    ap.add_argument("--warmup", default="2s", help="wrk -d of the unrecorded warm-up per side (default 2s)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--http-threads", type=int, default=4, help="http.threads of both gateways (default 4, the shipped default)")
    args = ap.parse_args()
    if args.rounds < 1 or args.connections < 1 or args.threads < 1 or args.http_threads < 1:
        ap.error("--rounds, --connections, --threads and --http-threads must be >= 1")
    try:
        run_s = 2 * wall_seconds(args.warmup) + 2 * args.rounds * wall_seconds(args.duration)
    except ValueError as e:
        ap.error(str(e))
    build = os.path.abspath(args.build_dir)

    tmp = tempfile.mkdtemp(prefix="gatehouse-rest-auth-")
    procs = Processes()
    idp = None
    gateways = []
    rows = []
    try:
        idp = oidc_idp.OidcProvider(tmpdir=os.path.join(tmp, "idp"), audience="gatehouse", ttl=TOKEN_TTL_S)
        none_gw = Gateway(procs, tmp, build, "none", args.http_threads, "auth:\n  mode: none\n")
        wrk_bin = shutil.which("wrk")
        if not wrk_bin:
            raise SetupError("wrk not found (apt-get install wrk)")
        try:
            idp.start()
        except RuntimeError as e:
            raise SetupError("the OpenID provider did not start: %s" % e) from None
        oauth2_gw = Gateway(procs, tmp, build, "oauth2", args.http_threads, AUTH_OAUTH2.format(issuer=idp.issuer))
        gateways = [none_gw, oauth2_gw]
        for gw in gateways:
            gw.start()

        try:
            token = idp.token(READER_CLIENT)
            admin_token = idp.token(ADMIN_CLIENT)
        except (oidc_idp.TokenError, OSError) as e:
            raise SetupError("could not get tokens from the OpenID provider: %s" % e) from None
        header, payload = oidc_idp.jwt_parts(token)
        left_s = payload.get("exp", 0) - time.time()
        if left_s < run_s + 30:
            raise SetupError("the reader token expires in %.0f s, the run needs about %.0f s" % (left_s, run_s + 30))

        # --- checks: the measured requests are the real thing on both sides ------------------
        none_gw.wait_ok("/health")
        oauth2_gw.wait_ok("/health")
        check_get_response("none", none_gw.wait_ok(RESOURCE_PATH, token))
        check_get_response("oauth2", oauth2_gw.wait_ok(RESOURCE_PATH, token))
        status, headers, body = oauth2_gw.request(RESOURCE_PATH)
        if status != 401 or not headers.get("www-authenticate", "").startswith("Bearer"):
            raise SetupError("gateway oauth2 without a token: expected 401 with a Bearer challenge, got %d %s %r"
                             % (status, headers.get("www-authenticate"), body[:200]))
        status, headers, body = oauth2_gw.request(RESOURCE_PATH, altered(token))
        if status != 401 or 'error="invalid_token"' not in headers.get("www-authenticate", ""):
            raise SetupError("gateway oauth2 with an altered signature: expected 401 invalid_token, got %d %s"
                             % (status, headers.get("www-authenticate")))

        wrk = Wrk(tmp, args.threads, args.connections, token)
        load = open("/proc/loadavg").read().split()[0]
        print("rest_auth: REST GET with a valid cached bearer token (auth.mode oauth2) vs auth.mode none")
        print("  gateway:  %s, http.threads %d, sim plugin (1 temperature sensor), 127.0.0.1"
              % (none_gw.bin, args.http_threads))
        print("  idp:      oidc-provider at %s; reader token: client %s, %s, %d bytes, expires in %.0f s (not shown)"
              % (idp.issuer, READER_CLIENT, header.get("alg"), len(token), left_s))
        print("  path:     %s" % RESOURCE_PATH)
        print("  checks:   oauth2: 401 without a token, 401 invalid_token with an altered signature, "
              "200 GET_RESPONSE with it; none: 200 GET_RESPONSE")
        print("load average before: %s (nproc %d)" % (load, os.cpu_count()))
        if float(load) > os.cpu_count():
            print("WARNING: the machine is busy (load > nproc); results are unreliable, rerun when it is quiet")

        print("warm-up %s each" % args.warmup)
        for gw in gateways:
            w = wrk.run(gw.url, args.warmup, "warmup-" + gw.name)
            if w["non2xx"]:
                raise SetupError("gateway %s answered %d non-2xx responses in the warm-up; refusing to measure"
                                 % (gw.name, w["non2xx"]))
        before = oauth2_gw.metrics(admin_token)

        print("%s, %d alternated rounds" % (wrk.describe(args.duration), args.rounds))
        print("%-6s %-7s %12s %10s %10s %7s %s" % ("round", "auth", "req/s", "p99_us", "requests", "non2xx",
                                                  "socket_errors"))
        measured_requests = 0
        for r in range(1, args.rounds + 1):
            row = {}
            for gw in (gateways if r % 2 else list(reversed(gateways))):
                res = wrk.run(gw.url, args.duration, "round%d-%s" % (r, gw.name))
                print("%-6d %-7s %12.0f %10.0f %10d %7d %s" % (r, gw.name, res["rps"], res["p99_us"],
                                                             res["requests"], res["non2xx"], res["socket_errors"]),
                      flush=True)
                if res["non2xx"]:
                    raise SetupError("gateway %s answered %d non-2xx responses; refusing to compare" % (gw.name, res["non2xx"]))
                if gw is oauth2_gw:
                    measured_requests += res["requests"]
                row[gw.name] = res
            rows.append(row)

        after = oauth2_gw.metrics(admin_token)
        delta = {k: after[k] - before[k] for k in METRICS}
        print()
        print("oauth2 gateway /metrics after the run (during the rounds; wrk counted %d requests to it):"
              % measured_requests)
        for k in METRICS:
            print("  %-40s %10d  (%+d)" % (k, after[k], delta[k]))
        # The admin token's second /metrics read is one cache hit too; wrk does not count requests
        # still in flight when it stops, so hits may exceed its count by up to one per connection.
        if delta[METRICS[0]] or delta[METRICS[2]] or delta[METRICS[1]] < measured_requests:
            raise SetupError("the measured path was not the cached-token one: during the rounds %d tokens were "
                             "verified and %d refused, and %d requests hit the cache of the %d wrk counted"
                             % (delta[METRICS[0]], delta[METRICS[2]], delta[METRICS[1]], measured_requests))
        print("  cached path: no token verified or refused during the rounds; cache hits >= the requests wrk counted")

        for gw in gateways:
            gw.stop()
    except (SetupError, OSError, ValueError, subprocess.SubprocessError, http.client.HTTPException) as e:
        sys.stdout.flush()
        print("rest_auth: %s" % e, file=sys.stderr)
        return 2
    finally:
        for gw in gateways:
            try:
                gw.stop()
            except SetupError as e:
                print("rest_auth: %s" % e, file=sys.stderr)
        procs.kill_all()
        if idp is not None:
            idp.close()   # stops node by PID; removes the provider's private keys
        if os.environ.get("KEEP_TMP") == "1":
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    med = {name: (statistics.median(r[name]["rps"] for r in rows), statistics.median(r[name]["p99_us"] for r in rows))
           for name in ("none", "oauth2")}
    ratio = med["oauth2"][0] / med["none"][0] if med["none"][0] else 0.0
    p99_ratio = med["oauth2"][1] / med["none"][1] if med["none"][1] else 0.0
    print()
    print("medians:")
    print("  %-7s %12s %10s" % ("auth", "req/s", "p99_us"))
    for name in ("none", "oauth2"):
        print("  %-7s %12.0f %10.0f" % (name, med[name][0], med[name][1]))
    print("  ratio req/s oauth2/none: %.4f (floor >= %.2f)" % (ratio, MIN_RATIO))
    print("  ratio p99   oauth2/none: %.4f (no floor)" % p99_ratio)
    ok = ratio >= MIN_RATIO
    print("%s: rest_auth" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
