#!/usr/bin/env python3
"""bench/coap_observe.py: CoAP observe notifications ingested per second by the gateway against a bare
libcoap client receiving the same notifications in the same run (issue 16, TESTING.md "Measuring").

Acceptance (issue text): "Observe notifications ingested per second against a bare libcoap client
receiving the same notifications in the same run: at least 0.8x."

The load: gatehouse-coap-demo-device (bridges/coap/demo) serves K observable resources /bench/r0 ..
/bench/r<K-1> (text/plain counters) and notifies each of them --rate times a second, to every
observer (libcoap sends five of six notifications NON, the sixth CON). Two observers at once:
  gateway  gatehouse with only the signed coap plugin; its devices file observes the K resources
           (observe: "true", content_format: 0). Ingested = the growth of valuesStored of the
           bridge's stats provider (`coap-bridge`, service `stats`): values decoded and stored in
           the model. Its rate is (valuesStored at the end - at the start) / (the two readings'
           own timestamps): the bridge pushes its counters once a second, each with its time.
  bare     bench/coap_observe_bare: a libcoap client that registers the same K observations and
           only counts what arrives, for --seconds from its first notification.
The gateway observes from its start; each round starts the bare client and reads the gateway's
counter at two of its pushes inside the bare client's window (the first a second after the bare
client started, so both observers are registered), and compares the rates. Rounds are repeated,
medians reported. CPU of each process over a round is printed as information: on a 2-core box the
device, the gateway and the bare client share the cores, so the ratio also tells how the gateway's
cost per notification compares with a client that does nothing with them.

Floor: median gateway rate >= 0.8 x median bare rate (exit 1 otherwise).

Usage: bench/coap_observe.py [BUILD_DIR] [--rounds N] [--resources K] [--rate R] [--seconds D]
  (default ./build, 3 rounds, 8 resources, 10000 notifications/s each (more than the demo device can
  send on one core: the device is the limit, so both observers are offered all it sends), 10 s windows:
  about 50 s).
  Needs `cmake --build BUILD_DIR --target gatehouse gatehouse_bridge_coap gatehouse-coap-demo-device
  bench_coap_observe_bare` (the signed gh-coap.so in BUILD_DIR/plugins-signed).
Exit: 0 floor met, 1 floor missed, 2 could not run.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no bench/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Processes, SetupError, cpu_s, free_port, free_udp_port, tail  # noqa: E402

MIN_RATIO = 0.8
STATS = "coap-bridge"


def stat(http_port, name):
    """(value, timestamp ms) of the bridge's counter `name`."""
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
    c.request("GET", "/sensinact/providers/%s/services/stats/resources/%s/GET" % (STATS, name))
    body = json.loads(c.getresponse().read())
    c.close()
    r = body.get("response") or {}
    return r.get("value") or 0, r.get("timestamp") or 0


def wait_stat_change(http_port, name, after_ts, timeout=5.0):
    """The counter's first reading pushed after after_ts (the bridge pushes once a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v, ts = stat(http_port, name)
        if ts > after_ts:
            return v, ts
        time.sleep(0.05)
    raise SetupError("the bridge's %s did not move for %.0f s" % (name, timeout))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--resources", type=int, default=8)
    ap.add_argument("--rate", type=int, default=10000, help="notifications/s per resource")
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    gatehouse = os.environ.get("GATEHOUSE_BIN", os.path.join(build, "core/app/gatehouse"))
    demo = os.path.join(build, "bridges/coap/demo/gatehouse-coap-demo-device")
    bare = os.environ.get("BARE_BIN", os.path.join(build, "bench/coap_observe_bare"))
    plugins = os.path.join(build, "plugins-signed")
    for path in (gatehouse, demo, bare, os.path.join(plugins, "gh-coap.so")):
        if not os.path.exists(path):
            print("coap_observe: %s is missing (build the targets named in --help)" % path, file=sys.stderr)
            return 2

    tmp = tempfile.mkdtemp(prefix="gatehouse-coap-bench-")
    procs = Processes()
    try:
        device_port = free_udp_port()
        device_log = os.path.join(tmp, "device.log")
        device = procs.start([demo, "--listen", "127.0.0.1:%d" % device_port, "--quiet", "--interval-ms", "3600000",
                              "--bench-resources", str(args.resources), "--bench-rate", str(args.rate)], device_log)
        deadline = time.monotonic() + 10
        while "listening on" not in tail(device_log) and time.monotonic() < deadline:
            time.sleep(0.05)
        if "listening on" not in tail(device_log):
            raise SetupError("the demo device did not start:\n" + tail(device_log))

        devices = os.path.join(tmp, "devices.yaml")
        with open(devices, "w") as f:
            f.write("devices:\n  - provider: bench\n    uri: coap://127.0.0.1:%d\n    discover: false\n"
                    "    timeout_ms: 5000\n    ping_interval_s: 60\n    resources:\n" % device_port)
            for i in range(args.resources):
                f.write("      - {path: bench/r%d, service: bench, resource: r%d, observe: \"true\", content_format: 0}\n" % (i, i))
        http_port = free_port()
        config = os.path.join(tmp, "gatehouse.yaml")
        with open(config, "w") as f:
            f.write("gateway:\n  id: coap-bench\n  log_level: warn\nhttp:\n  listen: 127.0.0.1\n  port: %d\n"
                    "  threads: 2\nauth:\n  mode: none\n"
                    "plugin_host:\n  directory: %s\n  state_dir: %s\nmqtt_northbound:\n  enabled: false\n"
                    "plugins:\n  coap:\n    listen: [\"127.0.0.1:%d\"]\n    devices_file: %s\n"
                    % (http_port, plugins, os.path.join(tmp, "state"), free_udp_port(), devices))
        gw_log = os.path.join(tmp, "gateway.log")
        gw = procs.start([gatehouse, "run", "--config", config], gw_log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if stat(http_port, "valuesStored")[0] > 0:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        else:
            raise SetupError("the gateway ingested nothing within 15 s; log:\n" + tail(gw_log))

        print("coap_observe: %d resources x %d notifications/s offered to each observer, %d s windows, %d rounds"
              % (args.resources, args.rate, args.seconds, args.rounds))
        gw_rates, bare_rates = [], []
        for n in range(1, args.rounds + 1):
            # The gateway's window lies inside the bare client's: it opens at the first counter push
            # a second after the bare client started (both observers registered) and closes at the
            # last push before the bare client's window ends.
            cpu = {p.pid: cpu_s(p.pid) for p in (gw, device)}
            t0 = time.monotonic()
            bare_proc = subprocess.Popen([bare, "--uri", "coap://127.0.0.1:%d" % device_port, "--resources", str(args.resources),
                                          "--seconds", str(args.seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            _, ts_now = stat(http_port, "valuesStored")
            v0, ts0 = wait_stat_change(http_port, "valuesStored", ts_now)
            time.sleep(max(0.0, t0 + args.seconds - 0.2 - time.monotonic()))
            v1, ts1 = stat(http_port, "valuesStored")
            out, err = bare_proc.communicate(timeout=args.seconds + 30)
            wall = time.monotonic() - t0
            if bare_proc.returncode != 0:
                raise SetupError("coap_observe_bare exited %d: %s" % (bare_proc.returncode, err.strip()))
            if ts1 - ts0 < 1000 * (args.seconds - 4):
                raise SetupError("the gateway's window was only %d ms (use a longer --seconds)" % (ts1 - ts0))
            b = json.loads(out.strip().splitlines()[-1])
            gw_rate = (v1 - v0) / ((ts1 - ts0) / 1000.0)
            gw_rates.append(gw_rate)
            bare_rates.append(b["rate"])
            gw_cpu = (cpu_s(gw.pid) - cpu[gw.pid]) / wall * 100
            dev_cpu = (cpu_s(device.pid) - cpu[device.pid]) / wall * 100
            print("round %d: gateway %.0f values/s (%d in %.2f s, %.0f%% CPU), bare %.0f notifications/s (%d in %.2f s), "
                  "ratio %.2f; device %.0f%% CPU" % (n, gw_rate, v1 - v0, (ts1 - ts0) / 1000.0, gw_cpu, b["rate"],
                                                     b["notifications"], b["seconds"], gw_rate / b["rate"], dev_cpu))
        bad = stat(http_port, "badPayloads")[0]
        if bad:
            raise SetupError("the bridge could not read %d notifications (the run measured a refusal path)" % bad)
        gw_med, bare_med = statistics.median(gw_rates), statistics.median(bare_rates)
        ratio = gw_med / bare_med
        print("median: gateway %.0f values/s, bare libcoap client %.0f notifications/s, ratio %.2f (floor %.2f): %s"
              % (gw_med, bare_med, ratio, MIN_RATIO, "PASS" if ratio >= MIN_RATIO else "FAIL"))
        procs.stop(gw, "gatehouse", gw_log)
        procs.stop(device, "demo device", device_log)
        return 0 if ratio >= MIN_RATIO else 1
    except (SetupError, subprocess.TimeoutExpired, OSError, ValueError) as e:
        print("coap_observe: could not run: %s" % e, file=sys.stderr)
        return 2
    finally:
        procs.kill_all()
        if not os.environ.get("KEEP_TMP"):
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
