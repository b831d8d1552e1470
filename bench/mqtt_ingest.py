#!/usr/bin/env python3
"""bench/mqtt_ingest.py: MQTT ingest rate of the gateway against raw mosquitto pub->sub (TESTING.md "Measuring").

Acceptance (issue text): "model updates/s from MQTT at QoS0 at least 0.8x raw mosquitto pub->sub
msgs/s with the same payload file in the same run, zero loss."

One mosquitto for the whole run (`max_queued_messages 0`, `max_inflight_messages 1000`,
`set_tcp_nodelay true`), one gateway connected to it through the signed mqtt plugin (mappings:
sensors/{provider}/{service}/{resource}, QoS 0, value /value, type double, no timestamp so every
update is "now"; northbound publishing off; no other plugin). The payload: N lines
`{"value":X.Y}` spread over P providers, one file per provider (N/P lines each).

Alternated for --rounds rounds (medians reported):
  raw      P x `mosquitto_pub -l -q 0 -t rawdata/dev-<i>/env/temperature < file_i` in parallel ->
           one `mosquitto_sub -q 0 -t 'rawdata/#' -C N` on the same broker; timed from just
           before the publishers are started to mosquitto_sub's exit (it exits at the N-th
           message). The gateway is connected but subscribed to nothing that matches.
  gateway  the same files and publishers, topics sensors/dev-<i>/env/temperature; timed from just
           before the publishers are started until gatehouse_model_updates_total (GET /metrics,
           polled every ~2 ms) has grown by N.
"rawdata" and "sensors" have the same length, so the messages have the same size. Before the
first round every provider gets one warm-up message (the bridge declares a resource on the first
message it sees), not counted. Zero loss: the raw subscriber must get exactly N messages, and the
gateway's counter must grow by exactly N (checked again 0.5 s after it got there), with no stale
or rejected update; a round that does not finish within --timeout seconds is reported with its
count and fails the floor.

Floor: median gateway rate >= 0.8 x median raw rate, and zero loss in every round.

Usage: bench/mqtt_ingest.py [BUILD_DIR] [--rounds N] [--messages N] [--providers P]
  (default ./build, 3 rounds, 200000 messages, 100 providers). Needs
  `cmake --build BUILD_DIR --target gatehouse gatehouse_bridge_mqtt` (the signed gh-mqtt.so in
  BUILD_DIR/plugins-signed) and mosquitto, mosquitto_pub, mosquitto_sub on PATH.
  Environment: GATEHOUSE_BIN, MOSQUITTO_BIN override the binaries; KEEP_TMP=1 keeps the temp dir.
Exit: 0 floor met, 1 floor missed (rate or loss), 2 could not run.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no bench/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Processes, SetupError, free_port, tail, tcp_ok  # noqa: E402, F401 (Processes: mqtt_latency imports it from here)

MIN_RATIO = 0.8
START_TIMEOUT_S = 15.0






class Broker:
    def __init__(self, procs, tmp):
        self.procs = procs
        self.bin = os.environ.get("MOSQUITTO_BIN") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.access(self.bin, os.X_OK):
            raise SetupError("mosquitto not installed: %s" % self.bin)
        for tool in ("mosquitto_pub", "mosquitto_sub"):
            if not shutil.which(tool):
                raise SetupError("%s not on PATH (apt-get install mosquitto-clients)" % tool)
        self.port = free_port()
        d = os.path.join(tmp, "mosquitto")
        os.mkdir(d, 0o755)   # as root mosquitto drops to user mosquitto: it must read its conf
        self.conf = os.path.join(d, "mosquitto.conf")
        self.log = os.path.join(tmp, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
                    "max_queued_messages 0\nmax_inflight_messages 1000\nset_tcp_nodelay true\n" % self.port)
        os.chmod(self.conf, 0o644)
        self.proc = None

    def version(self):
        r = subprocess.run([self.bin, "-h"], capture_output=True, text=True)
        return r.stdout.split("\n")[0].strip()

    def start(self):
        self.proc = self.procs.start([self.bin, "-c", self.conf], self.log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not tcp_ok(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SetupError("mosquitto did not start on port %d; log:\n%s" % (self.port, tail(self.log)))
            time.sleep(0.01)

    def stop(self):
        if self.proc is not None:
            proc, self.proc = self.proc, None
            self.procs.stop(proc, "mosquitto", self.log, ok_codes=(0, -signal.SIGTERM))


MAPPINGS = """mappings:
  - topic: %(root)s/{provider}/{service}/{resource}
    qos: %(qos)d
    value: /value
    type: double
    unit: "\xb0C"
"""


class Gateway:
    """The real gatehouse binary with the signed mqtt plugin on a free loopback port."""

    def __init__(self, procs, tmp, build, broker_port, northbound, topic_root="sensors", qos=0, name="gatehouse",
                 mappings_text=None):
        self.procs = procs
        self.bin = os.environ.get("GATEHOUSE_BIN", os.path.join(build, "core/app/gatehouse"))
        if not os.access(self.bin, os.X_OK):
            raise SetupError("gateway not built: %s" % self.bin)
        plugin = os.path.join(build, "plugins-signed/gh-mqtt.so")
        if not os.path.isfile(plugin) or not os.path.isfile(plugin + ".sig"):
            raise SetupError("signed mqtt plugin not built: %s(.sig) (cmake --build %s --target gatehouse_bridge_mqtt)"
                             % (plugin, build))
        self.port = free_port()
        self.gateway_id = "bench"
        mappings = os.path.join(tmp, name + "-mappings.yaml")
        with open(mappings, "w", encoding="utf-8") as f:
            f.write(mappings_text if mappings_text is not None else MAPPINGS % {"root": topic_root, "qos": qos})
        lines = [
            "gateway:",
            "  id: %s" % self.gateway_id,
            "  log_level: warn",
            "http:",
            "  listen: 127.0.0.1",
            "  port: %d" % self.port,
            "  threads: 2",
            "auth:",
            "  mode: none",
            "plugin_host:",
            "  state_dir: %s" % os.path.join(tmp, name + "-state"),
            "mqtt_northbound:",
            "  enabled: %s" % ("true" if northbound else "false"),
            "  brokers: [tcp://127.0.0.1:%d]" % broker_port,
            "  qos: %d" % qos,
            "plugins:",
            "  mqtt:",
            "    brokers: [tcp://127.0.0.1:%d]" % broker_port,
            "    client_id: bench-mqtt-%d%s" % (os.getpid(), "" if name == "gatehouse" else "-" + name),
            "    mappings_file: %s" % mappings,
        ]
        self.config = os.path.join(tmp, name + ".yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = os.path.join(tmp, name + ".log")
        self.proc = None
        self.conn = None

    def start(self):
        self.proc = self.procs.start([self.bin, "run", "--config", self.config], self.log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise SetupError("gatehouse exited with %d; log:\n%s" % (self.proc.returncode, tail(self.log)))
            if time.monotonic() > deadline:
                raise SetupError("gatehouse: mqtt plugin not running within %.0f s; log:\n%s"
                                 % (START_TIMEOUT_S, tail(self.log)))
            try:
                plugins = json.loads(self.get("/sensinact/runtime/plugins"))["plugins"]
                mqtt = [p for p in plugins if p["name"] == "mqtt"]
                if mqtt and mqtt[0]["state"] != "loaded":
                    raise SetupError("gatehouse: mqtt plugin not loaded: %s" % mqtt[0])
                if mqtt and mqtt[0].get("health") == "running":
                    return
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                self.conn = None
            time.sleep(0.05)

    def get(self, path):
        """GET on one kept-alive connection (a fresh one after an error)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if resp.status != 200:
            raise SetupError("gatehouse: GET %s -> %d: %s" % (path, resp.status, body[:300]))
        return body

    def metrics(self):
        out = {}
        for line in self.get("/metrics").decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = value
        return out

    def counters(self):
        """(updates, stale, rejected) of the model, from GET /metrics."""
        m = self.metrics()
        try:
            return tuple(int(m[k]) for k in ("gatehouse_model_updates_total", "gatehouse_model_updates_stale_total",
                                             "gatehouse_model_updates_rejected_total"))
        except KeyError as e:
            raise SetupError("gatehouse: /metrics has no %s" % e)

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            proc, self.proc = self.proc, None
            self.procs.stop(proc, "gatehouse", self.log)


class IngestBench:
    def __init__(self, build, tmp, messages, providers, timeout):
        self.tmp = tmp
        self.n = messages
        self.providers = providers
        self.timeout = timeout
        self.procs = Processes()
        self.broker = Broker(self.procs, tmp)
        self.gateway = Gateway(self.procs, tmp, build, self.broker.port, northbound=False)
        # The payload files: line k of provider i is {"value":X} with X = k/100 + i (varied values,
        # always a double; no timestamp, so every update is "now").
        self.files = []
        per = messages // providers
        for i in range(1, providers + 1):
            path = os.path.join(tmp, "payload-%03d.txt" % i)
            with open(path, "w") as f:
                f.write("".join('{"value":%.2f}\n' % (k / 100.0 + i) for k in range(per)))
            self.files.append(path)
        self.payload_bytes = sum(os.path.getsize(p) for p in self.files)

    def start(self):
        self.broker.start()
        self.gateway.start()

    def publishers(self, prefix):
        """Starts one mosquitto_pub -l per provider file; returns the list of Popen."""
        pubs = []
        for i, path in enumerate(self.files, start=1):
            with open(path, "rb") as f:
                pubs.append(subprocess.Popen(
                    ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "0", "-l",
                     "-i", "bench-pub-%d-%d" % (os.getpid(), i), "-t", "%s/dev-%d/env/temperature" % (prefix, i)],
                    stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        return pubs

    def reap(self, pubs):
        errors = []
        for p in pubs:
            try:
                _, err = p.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGTERM)
                _, err = p.communicate()
            if p.returncode != 0:
                errors.append("mosquitto_pub exited %d: %s" % (p.returncode, err.decode(errors="replace").strip()))
        if errors:
            raise SetupError("; ".join(errors[:3]))

    def warm_up(self):
        """One message per provider through the gateway, so each resource exists before timing."""
        before = self.gateway.counters()[0]
        for i in range(1, self.providers + 1):
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "0",
                            "-t", "sensors/dev-%d/env/temperature" % i, "-m", '{"value":0.5}'], check=True, timeout=10)
        deadline = time.monotonic() + 10
        while self.gateway.counters()[0] < before + self.providers:
            if time.monotonic() > deadline:
                raise SetupError("warm-up: the gateway counted %d of %d updates in 10 s (subscription not made?); log:\n%s"
                                 % (self.gateway.counters()[0] - before, self.providers, tail(self.gateway.log)))
            time.sleep(0.01)
        time.sleep(0.2)

    def raw_round(self):
        """Returns (msgs/s, received)."""
        out = os.path.join(self.tmp, "sub.out")
        with open(out, "wb") as f:
            sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "0",
                                    "-i", "bench-sub-%d" % os.getpid(), "-t", "rawdata/#", "-C", str(self.n)],
                                   stdout=f, stderr=subprocess.DEVNULL)
        try:
            # mosquitto_sub does not say when its SUBACK came; 0.3 s is far above a loopback
            # connect + subscribe, and a subscription made late would show as loss, not as speed.
            time.sleep(0.3)
            if sub.poll() is not None:
                raise SetupError("mosquitto_sub exited early with %d" % sub.returncode)
            t0 = time.perf_counter()
            pubs = self.publishers("rawdata")
            try:
                sub.wait(self.timeout)
                elapsed = time.perf_counter() - t0
            except subprocess.TimeoutExpired:
                elapsed = None
            self.reap(pubs)
        finally:
            if sub.poll() is None:
                os.kill(sub.pid, signal.SIGTERM)
                sub.wait()
        with open(out, "rb") as f:
            received = sum(1 for _ in f)
        if elapsed is None:
            return 0.0, received
        return self.n / elapsed, received

    def gateway_round(self):
        """Returns (updates/s, updates counted, stale, rejected)."""
        u0, s0, r0 = self.gateway.counters()
        target = u0 + self.n
        t0 = time.perf_counter()
        pubs = self.publishers("sensors")
        deadline = t0 + self.timeout
        elapsed = None
        while time.perf_counter() < deadline:
            u = self.gateway.counters()[0]
            if u >= target:
                elapsed = time.perf_counter() - t0
                break
            time.sleep(0.002)
        self.reap(pubs)
        time.sleep(0.5)   # anything beyond N (a duplicate) would show now
        u, s, r = self.gateway.counters()
        rate = self.n / elapsed if elapsed else 0.0
        return rate, u - u0, s - s0, r - r0

    def close(self):
        try:
            self.gateway.stop()
        finally:
            try:
                self.broker.stop()
            finally:
                self.procs.kill_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", nargs="?", default="./build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=200000)
    ap.add_argument("--providers", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds a round may take before it counts as loss")
    args = ap.parse_args()
    if args.rounds < 1 or args.providers < 1 or args.messages < args.providers or args.messages % args.providers:
        ap.error("--rounds >= 1, --providers >= 1, --messages a multiple of --providers")

    tmp = tempfile.mkdtemp(prefix="gatehouse-mqtt-ingest-")
    os.chmod(tmp, 0o755)
    bench = None
    rows = []
    try:
        bench = IngestBench(os.path.abspath(args.build_dir), tmp, args.messages, args.providers, args.timeout)
        load = open("/proc/loadavg").read().split()[0]
        print("mqtt_ingest: %d messages (%d providers x %d, %d bytes of payload lines), QoS 0, %d alternated rounds"
              % (args.messages, args.providers, args.messages // args.providers, bench.payload_bytes, args.rounds))
        print("  gateway:   %s (mqtt plugin, northbound off)" % bench.gateway.bin)
        print("  mosquitto: %s (%s), max_queued_messages 0, max_inflight_messages 1000, set_tcp_nodelay true"
              % (bench.broker.bin, bench.broker.version()))
        print("load average before: %s (nproc %d)" % (load, os.cpu_count()))
        if float(load) > os.cpu_count():
            print("WARNING: the machine is busy (load > nproc); rates are deflated, rerun when it is quiet")
        bench.start()
        bench.warm_up()
        print()
        print("%-6s %14s %10s %16s %10s %6s %9s" % ("round", "raw msg/s", "received", "gateway upd/s", "updates",
                                                   "stale", "rejected"))
        for r in range(1, args.rounds + 1):
            raw_rate, raw_rx = bench.raw_round()
            gw_rate, gw_n, gw_stale, gw_rej = bench.gateway_round()
            rows.append((raw_rate, raw_rx, gw_rate, gw_n, gw_stale, gw_rej))
            print("%-6d %14.0f %10d %16.0f %10d %6d %9d" % (r, raw_rate, raw_rx, gw_rate, gw_n, gw_stale, gw_rej),
                  flush=True)
    except (SetupError, OSError, ValueError, subprocess.SubprocessError, http.client.HTTPException) as e:
        sys.stdout.flush()
        print("mqtt_ingest: %s" % e, file=sys.stderr)
        return 2
    finally:
        if bench is not None:
            try:
                bench.close()
            except SetupError as e:
                print("mqtt_ingest: %s" % e, file=sys.stderr)
        if os.environ.get("KEEP_TMP") == "1":
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    raw_med = statistics.median(r[0] for r in rows)
    gw_med = statistics.median(r[2] for r in rows)
    ratio = gw_med / raw_med if raw_med else 0.0
    loss = [(i + 1, r) for i, r in enumerate(rows) if r[1] != args.messages or r[3] != args.messages or r[4] or r[5]]
    print()
    print("medians (min-max):")
    print("  raw      %10.0f msg/s  (%.0f-%.0f)" % (raw_med, min(r[0] for r in rows), max(r[0] for r in rows)))
    print("  gateway  %10.0f upd/s  (%.0f-%.0f)" % (gw_med, min(r[2] for r in rows), max(r[2] for r in rows)))
    print("  ratio gateway/raw: %.2f (floor >= %.1f)" % (ratio, MIN_RATIO))
    if loss:
        for i, r in loss:
            print("  LOSS in round %d: raw received %d of %d, gateway counted %d of %d (stale %d, rejected %d)"
                  % (i, r[1], args.messages, r[3], args.messages, r[4], r[5]))
    else:
        print("  loss: none (every round: raw %d of %d, gateway exactly %d updates, 0 stale, 0 rejected)"
              % (args.messages, args.messages, args.messages))
    ok = ratio >= MIN_RATIO and not loss
    print("%s: mqtt_ingest" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
