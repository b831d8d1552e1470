#!/usr/bin/env python3
"""bench/mqtt_latency.py: MQTT in -> gateway -> MQTT out latency against the ideal forwarder (TESTING.md "Measuring").

Acceptance (issue "Bridge kit"): "MQTT latency against the right reference: the ideal forwarder
(two broker hops, nothing else) shows what this box allows. In the same run, the gateway's
in->out p99 at 5k msg/s at most 1.5x the forwarder's, and at 10k msg/s the gateway keeps up with
the offered rate (no growing backlog)."

One mosquitto for the whole run (`max_queued_messages 0`, `max_inflight_messages 1000`,
`set_tcp_nodelay true`), one gateway with the signed mqtt plugin subscribed to it (mappings:
sensors/{provider}/{service}/{resource}, QoS 0, value /value, type double, no timestamp) and
northbound publishing on (QoS 0, prefix gatehouse/bench), and bench/mqtt_ideal_forwarder. The
probe (bench/mqtt_latency_probe.cpp, Paho C++) publishes {"value":SEQ,"sent_ns":T} at the rate,
paced, from one connection and receives on a second one, recording receive - send per sequence
number (steady clock). Modes:
  raw        publish to and subscribe to rawdata/dev-1/env/temperature: one hop through the broker
  forwarder  publish to fwd/in/dev-1/env/temperature, subscribe to fwd/out/dev-1/env/temperature:
             broker -> bench/mqtt_ideal_forwarder -> broker, the cheapest program that can take a
             message from the broker and publish it back (one thread, one socket, bulk reads, no
             model): what this machine allows for two broker hops, whatever forwards. THE REFERENCE.
  gateway    publish to sensors/dev-1/env/temperature, subscribe to the northbound topic
             gatehouse/bench/dev-1/env/temperature: broker -> bridge -> model -> northbound -> broker
Every round runs every rate and, per rate, the three modes one after the other (after 1 s of
unrecorded warm-up at the same rate each); medians of the per-round figures are reported.

Floors, judged per rate:
  p99 ratio  (rates <= --ratio-max-rate, default 5000): median gateway p99 / median forwarder p99
             <= --max-ratio (default 1.5), and no gateway message lost (a lost message has no
             latency and would flatter the percentiles).
  keep-up    (every rate): the gateway keeps up with the offered rate in every round, which means
             all of: (1) every message arrives (lost = dup = foreign = 0; stragglers get 2 s);
             (2) the probe sent at the offered rate (>= 97%; otherwise the rate was not offered);
             (3) by the time the last message was sent, at least 97% of the measured ones had
             arrived: the receive rate over the window is within 3% of the send rate;
             (4) no growing backlog: the median latency of the messages sent in the last measured
             second is at most 1 ms above that of the first second (a gateway 2% short of the rate
             would add ~20 ms per second).
The same keep-up figures are printed for raw and forwarder (context: a box too busy to carry the
rate shows there too). Raw p99 and the ratios to raw are printed as well, without a floor.

Per run it prints the forwarding process's CPU use (gateway or forwarder, % of one core), the time
its threads waited for a CPU ("runq", summed over threads, % of wall time), the broker's CPU, and
per rate the gateway's CPU per thread (by thread name, from /proc/PID/task/*/stat): where the time
goes.

Usage: bench/mqtt_latency.py [BUILD_DIR] [--rounds N] [--seconds S] [--rate R[,R2...]]
         [--max-ratio X] [--ratio-max-rate R] [--nice N]
  (default ./build, 5 rounds, 5 s, --rate 5000,10000). Needs
  `cmake --build BUILD_DIR --target gatehouse gatehouse_bridge_mqtt bench_mqtt_latency_probe
  bench_mqtt_ideal_forwarder` and mosquitto on PATH. Environment: GATEHOUSE_BIN, MOSQUITTO_BIN,
  PROBE_BIN, FORWARDER_BIN override the binaries (the plugin comes from BUILD_DIR); KEEP_TMP=1
  keeps the temp dir (configs, logs). --nice N runs every process of the bench (all modes alike)
  at niceness N, in a session of its own whose autogroup gets the same nice (with autogroups, a
  process's nice only counts within its session): on a shared box, -20 (as root) keeps other
  people's compilers from deciding the tail; the output says so.
Exit: 0 every floor met, 1 a floor missed, 2 could not run.
"""
import argparse
import collections
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
from benchlib import cpu_s, runq_s, thread_cpu, thread_cpu_delta  # noqa: E402

MODES = ("raw", "forwarder", "gateway")
RAW_TOPIC = "rawdata/dev-1/env/temperature"
TOPICS = {"raw": (RAW_TOPIC, RAW_TOPIC),
          "gateway": ("sensors/dev-1/env/temperature", "gatehouse/bench/dev-1/env/temperature"),
          "forwarder": ("fwd/in/dev-1/env/temperature", "fwd/out/dev-1/env/temperature")}
KEEPUP_MIN_SHARE = 0.97      # (2) and (3)
KEEPUP_MAX_TREND_US = 1000.0  # (4)


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


def run_probe(probe, port, mode, rate, seconds):
    """Runs the probe once; returns its RESULT fields (numbers as float) plus the SECONDS lists."""
    pub, sub = TOPICS[mode]
    argv = [probe, "--broker", "tcp://127.0.0.1:%d" % port, "--mode", mode, "--pub-topic", pub, "--sub-topic", sub,
            "--rate", str(rate), "--seconds", str(seconds), "--warmup-s", "1", "--drain-ms", "2000"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if r.returncode != 0:
        raise SetupError("probe (%s) exited %d: %s" % (mode, r.returncode, (r.stderr or r.stdout).strip()))
    res = None
    secs = None
    for line in r.stdout.splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        if line.startswith("RESULT "):
            res = {k: (v if k == "mode" else float(v)) for k, v in fields.items()}
        elif line.startswith("SECONDS "):
            secs = {"recv_by_last_send": int(fields["recv_by_last_send"]),
                    "sec_sent": [int(x) for x in fields["sent"].split(",")],
                    "sec_recv": [int(x) for x in fields["recv"].split(",")],
                    "p50": [float(x) for x in fields["p50_us"].split(",")]}
    if res is None or secs is None:
        raise SetupError("probe (%s) printed no RESULT/SECONDS line (an old probe?): %s" % (mode, r.stdout.strip()))
    res.update(secs)
    return res


def keep_up(res, rate):
    """(True, "") when the run kept up with the offered rate, else (False, the first reason)."""
    sent = res["sent"]
    if res["lost"] or res["dup"] or res["foreign"]:
        return False, "lost %d dup %d" % (res["lost"], res["dup"] + res["foreign"])
    if res["rate"] < KEEPUP_MIN_SHARE * rate:
        return False, "probe sent %.0f/s" % res["rate"]
    share = res["recv_by_last_send"] / sent if sent else 0.0
    if share < KEEPUP_MIN_SHARE:
        return False, "recv %.1f%%" % (share * 100.0)
    trend = res["p50"][-1] - res["p50"][0]
    if trend > KEEPUP_MAX_TREND_US:
        return False, "p50 +%.1fms" % (trend / 1000.0)
    return True, ""


def parse_rates(text):
    try:
        rates = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        rates = []
    if not rates or any(r < 1 for r in rates):
        raise argparse.ArgumentTypeError("--rate: one or more positive integers separated by commas")
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", nargs="?", default="./build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=parse_rates, default=[5000, 10000], help="msg/s, comma-separated (5000,10000)")
    ap.add_argument("--max-ratio", type=float, default=1.5, help="floor: gateway p99 / forwarder p99")
    ap.add_argument("--ratio-max-rate", type=int, default=5000, help="the p99 floor applies at rates up to this")
    ap.add_argument("--nice", type=int, default=0,
                    help="run every process of the bench at this niceness (e.g. -10 as root on a shared box)")
    args = ap.parse_args()
    if args.rounds < 1 or args.seconds < 2 or args.max_ratio <= 0:
        ap.error("--rounds >= 1, --seconds >= 2 (the trend compares the first and last second), --max-ratio > 0")
    rates = args.rate
    autogroup = ""
    if args.nice:
        try:
            os.nice(args.nice)   # inherited by the broker, the gateway, the forwarder and every probe
        except OSError as e:
            print("mqtt_latency: --nice %d: %s" % (args.nice, e), file=sys.stderr)
            return 2
        # With autogroups (kernel.sched_autogroup_enabled), CPU time is first shared between
        # sessions and a process's nice only counts inside its own: a new session for this run,
        # and that session's autogroup at the same nice.
        try:
            with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
                enabled = f.read().strip() == "1"
        except OSError:
            enabled = False
        if enabled:
            try:
                if os.getsid(0) != os.getpid():
                    os.setsid()
                with open("/proc/self/autogroup", "w") as f:
                    f.write(str(args.nice))
                with open("/proc/self/autogroup") as f:
                    autogroup = f.read().strip()
            except OSError as e:
                print("mqtt_latency: --nice %d: cannot renice this run's autogroup: %s" % (args.nice, e), file=sys.stderr)
                return 2
    build = os.path.abspath(args.build_dir)
    probe = os.environ.get("PROBE_BIN", os.path.join(build, "bench/mqtt_latency_probe"))
    forwarder_bin = os.environ.get("FORWARDER_BIN", os.path.join(build, "bench/mqtt_ideal_forwarder"))

    tmp = tempfile.mkdtemp(prefix="gatehouse-mqtt-latency-")
    os.chmod(tmp, 0o755)
    procs = Processes()
    broker = gateway = forwarder = None
    rows = []
    threads = collections.defaultdict(list)   # rate -> [{thread name: cpu %} per gateway run]
    try:
        if not os.access(probe, os.X_OK):
            raise SetupError("probe not built: %s (cmake --build %s --target bench_mqtt_latency_probe)" % (probe, build))
        if not os.access(forwarder_bin, os.X_OK):
            raise SetupError("forwarder not built: %s (cmake --build %s --target bench_mqtt_ideal_forwarder)"
                             % (forwarder_bin, build))
        broker = Broker(procs, tmp)
        gateway = Gateway(procs, tmp, build, broker.port, northbound=True)
        load = open("/proc/loadavg").read().split()[0]
        print("mqtt_latency: %s msg/s paced, QoS 0, %d rounds of %.0f s (+1 s warm-up each); per round and rate: %s"
              % (",".join(str(r) for r in rates), args.rounds, args.seconds, ", ".join(MODES)))
        print("  gateway:   %s (mqtt plugin + northbound, prefix gatehouse/bench)" % gateway.bin)
        print("  mosquitto: %s (%s), max_queued_messages 0, max_inflight_messages 1000, set_tcp_nodelay true"
              % (broker.bin, broker.version()))
        print("  probe:     %s" % probe)
        print("  forwarder: %s (the reference: one thread, bulk reads, no model)" % forwarder_bin)
        print("  floors:    gateway p99 <= %.2fx forwarder p99 at rates <= %d, no loss; gateway keeps up at every rate"
              % (args.max_ratio, args.ratio_max_rate))
        print("load average before: %s (nproc %d)" % (load, os.cpu_count()))
        if args.nice:
            print("niceness: %d for every process of this run (broker, gateway, forwarder, probes)%s; other work "
                  "on the box keeps its own" % (os.nice(0), ", in their own autogroup: " + autogroup if autogroup else ""))
        if float(load) > os.cpu_count():
            print("WARNING: the machine is busy (load > nproc); tail latencies are inflated, rerun when it is quiet")
        broker.start()
        gateway.start()
        forwarder = start_forwarder(procs, tmp, forwarder_bin, broker.port)
        fwd_pid = {"raw": None, "forwarder": forwarder[0].pid, "gateway": gateway.proc.pid}
        print()
        print("%-5s %-9s %6s %6s %9s %9s %9s %10s %8s %5s %6s %6s %6s  %s"
              % ("round", "mode", "rate", "sent/s", "p50 us", "p99 us", "p99.9 us", "max us", "received", "lost",
                 "fw cpu", "fw rq", "mq cpu", "keeps up (p50 first->last s; min recv/s)"))
        for r in range(1, args.rounds + 1):
            for rate in rates:
                for mode in MODES:
                    # CPU seconds the forwarding process (gateway or forwarder) and the broker used
                    # during the whole probe run (warm-up, measurement, drain), as a share of one
                    # core; how long the forwarding process's threads waited for a CPU (a busy
                    # box, not a slow program); the gateway's CPU per thread.
                    pid = fwd_pid[mode]
                    f0 = cpu_s(pid) if pid else 0.0
                    w0 = runq_s(pid) if pid else 0.0
                    m0, t0 = cpu_s(broker.proc.pid), time.monotonic()
                    th0 = thread_cpu(pid) if mode == "gateway" else None
                    res = run_probe(probe, broker.port, mode, rate, args.seconds)
                    wall = time.monotonic() - t0
                    res["offered"] = rate
                    res["fw_cpu"] = (cpu_s(pid) - f0) / wall * 100.0 if pid else 0.0
                    res["fw_wait"] = (runq_s(pid) - w0) / wall * 100.0 if pid else 0.0
                    res["mq_cpu"] = (cpu_s(broker.proc.pid) - m0) / wall * 100.0
                    if mode == "gateway":
                        threads[rate].append(thread_cpu_delta(th0, thread_cpu(pid), wall))
                    res["keeps_up"], res["why"] = keep_up(res, rate)
                    rows.append(res)
                    print("%-5d %-9s %6d %6.0f %9.1f %9.1f %9.1f %10.1f %8d %5d %5.0f%% %5.0f%% %5.0f%%  %s (%.0f->%.0f us; %d)"
                          % (r, mode, rate, res["rate"], res["p50_us"], res["p99_us"], res["p999_us"], res["max_us"],
                             res["received"], res["lost"], res["fw_cpu"], res["fw_wait"], res["mq_cpu"],
                             "yes" if res["keeps_up"] else "NO: " + res["why"], res["p50"][0], res["p50"][-1],
                             min(res["sec_recv"])), flush=True)
    except (SetupError, OSError, ValueError, KeyError, subprocess.SubprocessError, http.client.HTTPException) as e:
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

    ok = True
    print()
    for rate in rates:
        med = {}
        for mode in MODES:
            rs = [x for x in rows if x["mode"] == mode and x["offered"] == rate]
            med[mode] = {k: statistics.median(x[k] for x in rs)
                         for k in ("p50_us", "p99_us", "p999_us", "max_us", "fw_cpu", "mq_cpu")}
            med[mode]["lost"] = sum(x["lost"] + x["dup"] + x["foreign"] for x in rs)
            med[mode]["kept_up"] = sum(1 for x in rs if x["keeps_up"])
            med[mode]["runs"] = len(rs)
        print("rate %d msg/s, medians over %d rounds:" % (rate, args.rounds))
        for mode in MODES:
            m = med[mode]
            print("  %-9s p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  max %9.1f us  lost+dup+foreign %d  kept up %d/%d%s"
                  % (mode, m["p50_us"], m["p99_us"], m["p999_us"], m["max_us"], m["lost"], m["kept_up"], m["runs"],
                     "" if mode == "raw" else "  cpu %.0f%%" % m["fw_cpu"]))
        names = sorted({n for t in threads[rate] for n in t})
        per_thread = sorted(((statistics.median(t.get(n, 0.0) for t in threads[rate]), n) for n in names), reverse=True)
        print("  gateway CPU per thread (median %% of one core): %s"
              % ", ".join("%s %.1f%%" % (n, c) for c, n in per_thread if c >= 0.5))
        raw_p99, fwd_p99, gw_p99 = med["raw"]["p99_us"], med["forwarder"]["p99_us"], med["gateway"]["p99_us"]
        ratio = gw_p99 / fwd_p99 if fwd_p99 else float("inf")
        if raw_p99:
            print("  ratio to raw p99 (no floor): forwarder %.2f, gateway %.2f" % (fwd_p99 / raw_p99, gw_p99 / raw_p99))
        judged = rate <= args.ratio_max_rate
        ratio_ok = ratio <= args.max_ratio and med["gateway"]["lost"] == 0
        print("  VERDICT p99 gateway/forwarder: %.2f%s" % (
            ratio, (" (floor <= %.2f): %s" % (args.max_ratio, "met" if ratio_ok else "MISSED"
                                              + ("" if med["gateway"]["lost"] == 0 else " (messages lost)")))
            if judged else " (no floor at this rate)"))
        keep_ok = med["gateway"]["kept_up"] == med["gateway"]["runs"]
        print("  VERDICT keep-up: gateway kept up in %d of %d rounds (forwarder %d, raw %d): %s"
              % (med["gateway"]["kept_up"], med["gateway"]["runs"], med["forwarder"]["kept_up"], med["raw"]["kept_up"],
                 "met" if keep_ok else "MISSED"))
        ok = ok and keep_ok and (ratio_ok or not judged)
        print()
    load_after = float(open("/proc/loadavg").read().split()[0])
    if max(float(load), load_after) > os.cpu_count():
        print("NOTE: load average %s before, %.2f after (nproc %d): other work inflates the runs unevenly; "
              "the ratios are not reliable, rerun on a quiet machine" % (load, load_after, os.cpu_count()))
    print("%s: mqtt_latency" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
