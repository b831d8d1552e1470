#!/usr/bin/env python3
"""bench/mqtt_latency.py: MQTT in -> gateway -> MQTT out latency against one raw broker hop (TESTING.md "Measuring").

Acceptance (issue text): "Latency MQTT in -> gateway -> MQTT out at 10k msg/s: p99 at most 3x the
raw one-hop p99 in the same run."

One mosquitto for the whole run (`max_queued_messages 0`, `max_inflight_messages 1000`,
`set_tcp_nodelay true`), one gateway with the signed mqtt plugin subscribed to it (mappings:
sensors/{provider}/{service}/{resource}, QoS 0, value /value, type double, no timestamp) and
northbound publishing on (QoS 0, prefix gatehouse/bench). The probe (bench/mqtt_latency_probe.cpp,
Paho C++) publishes {"value":SEQ,"sent_ns":T} at --rate msg/s, paced, from one connection and
receives on a second one, recording receive - send per sequence number (steady clock):
  raw      publish to and subscribe to rawdata/dev-1/env/temperature: one hop through the broker
           (the gateway subscribes to nothing that matches)
  gateway  publish to sensors/dev-1/env/temperature, subscribe to the northbound topic
           gatehouse/bench/dev-1/env/temperature: broker -> bridge -> model -> northbound -> broker
Alternated for --rounds rounds of --seconds each (after 1 s of unrecorded warm-up at the same
rate in every round); medians of the per-round percentiles are reported.

  forwarder  publish to fwd/in/dev-1/env/temperature, subscribe to fwd/out/dev-1/env/temperature:
           broker -> bench/mqtt_ideal_forwarder -> broker, the cheapest program that can take a
           message from the broker and publish it back (one thread, one socket, bulk reads, no
           model). It shows what the machine allows for two broker hops, whatever forwards.

Floor: median gateway p99 <= 3 x median raw p99, and nothing lost in any round (a lost message has
no latency, so loss would flatter the percentiles). The forwarder's ratio is reported beside it:
when even the forwarder is above 3x, the floor cannot be met on this machine by any gateway, and
the script says so (the verdict stays the gateway's). --no-forwarder skips that mode.

Usage: bench/mqtt_latency.py [BUILD_DIR] [--rounds N] [--seconds S] [--rate R] [--no-forwarder]
  (default ./build, 5 rounds, 5 s, 10000 msg/s). Needs
  `cmake --build BUILD_DIR --target gatehouse gatehouse_bridge_mqtt bench_mqtt_latency_probe
  bench_mqtt_ideal_forwarder` and mosquitto on PATH. Environment: GATEHOUSE_BIN, MOSQUITTO_BIN,
  PROBE_BIN, FORWARDER_BIN override the
  binaries; KEEP_TMP=1 keeps the temp dir (configs, logs).
Exit: 0 floor met, 1 floor missed (p99 or loss), 2 could not run.
"""
import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no bench/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mqtt_ingest import Broker, Gateway, Processes, SetupError  # noqa: E402

MAX_RATIO = 3.0
RAW_TOPIC = "rawdata/dev-1/env/temperature"
IN_TOPIC = "sensors/dev-1/env/temperature"
TOPICS = {"raw": (RAW_TOPIC, RAW_TOPIC),
          "gateway": (IN_TOPIC, "gatehouse/bench/dev-1/env/temperature"),
          "forwarder": ("fwd/in/dev-1/env/temperature", "fwd/out/dev-1/env/temperature")}


def start_forwarder(procs, tmp, binary, port):
    """Starts bench/mqtt_ideal_forwarder against the broker; returns (proc, log) once it is subscribed."""
    log = os.path.join(tmp, "forwarder.log")
    proc = procs.start([binary, "--port", str(port), "--in-prefix", "fwd/in", "--out-prefix", "fwd/out"], log)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if "READY" in open(log).read():
            return proc, log
        if proc.poll() is not None:
            raise SetupError("mqtt_ideal_forwarder exited %d: %s" % (proc.returncode, open(log).read().strip()))
        time.sleep(0.05)
    raise SetupError("mqtt_ideal_forwarder did not subscribe within 10 s")


def cpu_s(pid):
    """utime + stime of pid so far, in seconds (/proc/PID/stat), or 0.0 when unreadable."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def runq_s(pid):
    """Seconds pid's live threads have spent runnable but waiting for a CPU so far
    (/proc/PID/task/*/schedstat, second field), or 0.0 when unreadable."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return total / 1e9


def run_probe(probe, port, mode, rate, seconds):
    """Runs the probe once; returns its RESULT fields as a dict (numbers as float)."""
    pub, sub = TOPICS[mode]
    argv = [probe, "--broker", "tcp://127.0.0.1:%d" % port, "--mode", mode, "--pub-topic", pub, "--sub-topic", sub,
            "--rate", str(rate), "--seconds", str(seconds), "--warmup-s", "1", "--drain-ms", "2000"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if r.returncode != 0:
        raise SetupError("probe (%s) exited %d: %s" % (mode, r.returncode, (r.stderr or r.stdout).strip()))
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            return {k: (v if k == "mode" else float(v)) for k, v in fields.items()}
    raise SetupError("probe (%s) printed no RESULT line: %s" % (mode, r.stdout.strip()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", nargs="?", default="./build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--no-forwarder", action="store_true", help="skip the ideal-forwarder reference mode")
    args = ap.parse_args()
    if args.rounds < 1 or args.seconds <= 0 or args.rate < 1:
        ap.error("--rounds >= 1, --seconds > 0, --rate >= 1")
    build = os.path.abspath(args.build_dir)
    probe = os.environ.get("PROBE_BIN", os.path.join(build, "bench/mqtt_latency_probe"))
    forwarder_bin = os.environ.get("FORWARDER_BIN", os.path.join(build, "bench/mqtt_ideal_forwarder"))
    modes = ("raw", "gateway") if args.no_forwarder else ("raw", "forwarder", "gateway")

    tmp = tempfile.mkdtemp(prefix="gatehouse-mqtt-latency-")
    os.chmod(tmp, 0o755)
    procs = Processes()
    broker = gateway = forwarder = None
    rows = []
    try:
        if not os.access(probe, os.X_OK):
            raise SetupError("probe not built: %s (cmake --build %s --target bench_mqtt_latency_probe)" % (probe, build))
        if "forwarder" in modes and not os.access(forwarder_bin, os.X_OK):
            raise SetupError("forwarder not built: %s (cmake --build %s --target bench_mqtt_ideal_forwarder)"
                             % (forwarder_bin, build))
        broker = Broker(procs, tmp)
        gateway = Gateway(procs, tmp, build, broker.port, northbound=True)
        load = open("/proc/loadavg").read().split()[0]
        print("mqtt_latency: %d msg/s paced, QoS 0, %d alternated rounds of %.0f s (+1 s warm-up each)"
              % (args.rate, args.rounds, args.seconds))
        print("  gateway:   %s (mqtt plugin + northbound, prefix gatehouse/bench)" % gateway.bin)
        print("  mosquitto: %s (%s), max_queued_messages 0, max_inflight_messages 1000, set_tcp_nodelay true"
              % (broker.bin, broker.version()))
        print("  probe:     %s" % probe)
        if "forwarder" in modes:
            print("  forwarder: %s (reference: one thread, bulk reads, no model)" % forwarder_bin)
        print("load average before: %s (nproc %d)" % (load, os.cpu_count()))
        if float(load) > os.cpu_count():
            print("WARNING: the machine is busy (load > nproc); tail latencies are inflated, rerun when it is quiet")
        broker.start()
        gateway.start()
        if "forwarder" in modes:
            forwarder = start_forwarder(procs, tmp, forwarder_bin, broker.port)
        print()
        print("%-6s %-9s %9s %9s %9s %9s %10s %8s %6s %8s %8s %8s" % ("round", "mode", "rate", "p50 us", "p99 us",
                                                                     "p99.9 us", "max us", "received", "lost",
                                                                     "gw cpu", "gw runq", "mq cpu"))
        for r in range(1, args.rounds + 1):
            for mode in modes:
                # CPU seconds the gateway and the broker used during the whole probe run (warm-up,
                # measurement, drain), as a share of one core: where the time goes.
                # And how long the gateway's threads waited for a CPU: a busy box, not a slow gateway.
                g0, m0, w0, t0 = cpu_s(gateway.proc.pid), cpu_s(broker.proc.pid), runq_s(gateway.proc.pid), time.monotonic()
                res = run_probe(probe, broker.port, mode, args.rate, args.seconds)
                wall = time.monotonic() - t0
                res["gw_cpu"] = (cpu_s(gateway.proc.pid) - g0) / wall * 100.0
                res["mq_cpu"] = (cpu_s(broker.proc.pid) - m0) / wall * 100.0
                res["gw_wait"] = (runq_s(gateway.proc.pid) - w0) / wall * 100.0
                rows.append(res)
                print("%-6d %-9s %9.0f %9.1f %9.1f %9.1f %10.1f %8d %6d %7.0f%% %7.0f%% %7.0f%%"
                      % (r, mode, res["rate"], res["p50_us"], res["p99_us"], res["p999_us"], res["max_us"],
                         res["received"], res["lost"], res["gw_cpu"], res["gw_wait"], res["mq_cpu"]), flush=True)
    except (SetupError, OSError, ValueError, subprocess.SubprocessError, http.client.HTTPException) as e:
        sys.stdout.flush()
        print("mqtt_latency: %s" % e, file=sys.stderr)
        return 2
    finally:
        try:
            if forwarder is not None:
                procs.stop(forwarder[0], "mqtt_ideal_forwarder", forwarder[1], ok_codes=(0, -signal.SIGTERM))
            if gateway is not None:
                gateway.stop()
            if broker is not None:
                broker.stop()
        except SetupError as e:
            print("mqtt_latency: %s" % e, file=sys.stderr)
        procs.kill_all()
        if os.environ.get("KEEP_TMP") == "1":
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    med = {}
    for mode in modes:
        rs = [x for x in rows if x["mode"] == mode]
        med[mode] = {k: statistics.median(x[k] for x in rs) for k in ("p50_us", "p99_us", "p999_us", "max_us")}
        med[mode]["lost"] = sum(x["lost"] + x["dup"] + x["foreign"] for x in rs)
    ratio = med["gateway"]["p99_us"] / med["raw"]["p99_us"] if med["raw"]["p99_us"] else float("inf")
    print()
    print("medians over rounds:")
    for mode in modes:
        m = med[mode]
        print("  %-9s p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  max %9.1f us  lost+dup+foreign %d"
              % (mode, m["p50_us"], m["p99_us"], m["p999_us"], m["max_us"], m["lost"]))
    print("  ratio gateway/raw p99: %.2f (floor <= %.0f)" % (ratio, MAX_RATIO))
    if "forwarder" in modes and med["raw"]["p99_us"] and med["forwarder"]["p99_us"]:
        fwd_ratio = med["forwarder"]["p99_us"] / med["raw"]["p99_us"]
        print("  ratio forwarder/raw p99: %.2f (the machine's floor for two broker hops, whatever forwards)" % fwd_ratio)
        print("  ratio gateway/forwarder p99: %.2f (what the gateway costs over the cheapest forwarder)"
              % (med["gateway"]["p99_us"] / med["forwarder"]["p99_us"]))
        if fwd_ratio > MAX_RATIO:
            print("  NOTE: even the ideal forwarder is above %.0fx here: on this machine no gateway can meet the floor"
                  % MAX_RATIO)
    print("  gateway minus raw p50: %.1f us (what the gateway adds in the typical case)"
          % (med["gateway"]["p50_us"] - med["raw"]["p50_us"]))
    if med["gateway"]["p50_us"] > med["raw"]["p99_us"]:
        print("  NOTE: gateway p50 above raw p99: messages wait in the gateway: a backlog (it falls behind the rate;"
              " see gw runq) or Nagle on its Paho sockets (~40 ms)")
    load_after = float(open("/proc/loadavg").read().split()[0])
    if max(float(load), load_after) > os.cpu_count():
        print("  NOTE: load average %s before, %.2f after (nproc %d): other work inflates both sides unevenly; "
              "the ratio is not reliable, rerun on a quiet machine" % (load, load_after, os.cpu_count()))
    lossy = any(med[mode]["lost"] for mode in modes)
    if lossy:
        print("  LOSS: messages lost, duplicated or unreadable (see the table); the percentiles cover only those received")
    ok = ratio <= MAX_RATIO and not lossy
    print("%s: mqtt_latency" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
