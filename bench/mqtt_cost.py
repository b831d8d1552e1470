#!/usr/bin/env python3
"""bench/mqtt_cost.py: what one MQTT message costs through the gateway, side by side with the
programs that bound it from below and with Node-RED 4 (bench/README.md, issue "MQTT pipeline cost").

The job, for every contestant: N QoS 0 (then QoS 1) JSON messages {"value":V} over 100 topics
(<root>/dev-<k>/env/temperature) published by bench/mqtt_cost_peer through one mosquitto, taken
by the contestant, and (where the contestant republishes) counted at the far end by a second
mqtt_cost_peer on the output topics; mosquitto in the middle for all of them.

Contestants (one fresh process per round; rounds alternate the contestants; medians reported):
  gateway          gatehouse with the signed mqtt plugin (Paho MQTT C++) -> model -> northbound
                   MQTT (libmosquitto) at the same QoS; out: gatehouse/bench/+/env/temperature
  gateway-nonorth  the same with mqtt_northbound off; done when gatehouse_model_updates_total
                   (GET /metrics, polled every 20 ms) grew by N
  bare-republish   bench/mqtt_bare --mode republish: Paho MQTT C++ receive callback -> libmosquitto
                   publish on the same thread, nothing else (the libraries' own floor)
  bare-receive     bench/mqtt_bare --mode receive: Paho MQTT C++, counts only
  forwarder        bench/mqtt_ideal_forwarder (one thread, raw sockets, QoS 0 only: the physical
                   reference)
  nodered          Node-RED 4 from npm (bench/nodered: mqtt in -> function node that keeps the value
                   in the global context and builds the gateway's northbound payload -> mqtt out)

Before each measured run, one message per topic must come through (subscriptions up, resources
declared), then an unmeasured run of 5000 messages (JIT, caches, allocator warm for everybody).
Measured per run, between just before the load starts and the moment the contestant is done and
idle again (its CPU time unchanged for 0.3 s): messages/s (N / time from the first publish to the
last message counted at the far end, or to the model counter reaching N), messages received at the
far end (distinct, duplicates, missing), CPU per message of the whole process (/proc/PID/stat
utime+stime) and of each named thread (/proc/PID/task/*/stat; threads of one name summed),
voluntary and involuntary context switches per message (summed over /proc/PID/task/*/status), RSS
after the ingest (VmRSS). Then, per contestant and QoS, one shorter run (--strace-messages, 20k)
under `strace -f -c -p PID`: syscalls per message, and the four most frequent.

Floors (exit 1 when one is missed; issue "MQTT pipeline cost"):
  - gateway CPU/msg <= 0.6 x nodered's at QoS 0 and <= 0.7 x at QoS 1;
  - gateway CPU/msg <= 1.25 x bare-republish's, and gateway-nonorth's <= 1.2 x bare-receive's
    (both QoS);
  - gateway at QoS 0: <= 0.3 voluntary context switches and <= 7 syscalls per message;
  - zero messages lost in every run (every contestant).
Throughput is printed (and compared with an older binary by running this script with
GATEHOUSE_BIN=...); the ideal forwarder's figures are printed beside ours as the physical reference.

Usage: bench/mqtt_cost.py [BUILD_DIR] [--rounds 3] [--messages 50000] [--qos 0,1]
         [--modes gateway,gateway-nonorth,...] [--strace-messages 20000] [--no-strace]
  BUILD_DIR (default ./build) must have gatehouse, the signed mqtt plugin, and the bench targets
  bench_mqtt_cost_peer, bench_mqtt_bare, bench_mqtt_ideal_forwarder. Node-RED is installed into
  bench/nodered/node_modules by `npm ci` on first use (the npm registry must be reachable).
  Environment: GATEHOUSE_BEFORE_BUILD=<older build dir> adds the contestant gateway-before (that
  build's gateway and signed mqtt plugin, same job as gateway) for a before/after in one run;
  GATEHOUSE_BUILD takes the gateway and its signed mqtt plugin from another build
  (an older commit, for a before/after comparison); GATEHOUSE_BIN, MOSQUITTO_BIN override the
  binaries; KEEP_TMP=1 keeps the temp dir.
Exit: 0 floors met, 1 a floor missed, 2 could not run.
"""
import argparse
import collections
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no bench/__pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import Processes, SetupError, cpu_s, free_port, tail, thread_cpu  # noqa: E402
from mqtt_ingest import Broker, Gateway  # noqa: E402

TOPICS = 100
FIRST = 1000001          # values of the measured run (warm-up: 1..100)
WARMUP_FIRST = 1
STRACE_FIRST = 3000001
WARM_FIRST = 2000001     # the unmeasured warm-up run (JIT, caches, allocator) before each measured one
WARM_MESSAGES = 5000
ALL_MODES = ["gateway", "gateway-nonorth", "bare-republish", "bare-receive", "forwarder", "nodered"]
# With GATEHOUSE_BEFORE_BUILD=<an older build dir>: that build's gateway (with its own signed mqtt
# plugin) as one more contestant, same job and topics as `gateway`, for a before/after in one run.
BEFORE_MODE = "gateway-before"
RECEIVE_ONLY = {"gateway-nonorth", "bare-receive"}
QOS0_ONLY = {"forwarder"}

FLOOR_NODERED = {0: 0.6, 1: 0.7}
FLOOR_BARE_REPUBLISH = 1.25
FLOOR_BARE_RECEIVE = 1.2
FLOOR_VCSW = 0.3
FLOOR_SYSCALLS = 7.0


def task_counts(pid):
    """(voluntary, involuntary, {tid: (thread name, voluntary)}) context switches of pid's live
    threads, the first two summed."""
    vol = invol = 0
    per = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0, 0, per
    for tid in tids:
        try:
            name, v = "?", 0
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1].strip()
                    elif line.startswith("voluntary_ctxt_switches:"):
                        v = int(line.split()[1])
                        vol += v
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
            per[tid] = (name, v)
        except (OSError, ValueError):
            pass
    return vol, invol, per


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return 0.0


def wait_idle(pid, settle_s=0.3, limit_s=5.0):
    """Waits until pid's CPU time stops growing for settle_s (at most limit_s)."""
    end = time.monotonic() + limit_s
    last = cpu_s(pid)
    since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        now = cpu_s(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle_s:
            return


class Peer:
    """bench/mqtt_cost_peer: the load (pub) and the far end (sub)."""

    def __init__(self, binary, port):
        self.bin = binary
        self.port = port

    def sub(self, tmp, name, filt, qos, first, count, timeout_s=300):
        log = os.path.join(tmp, name + "-sub.log")
        out = open(log, "w")
        proc = subprocess.Popen([self.bin, "sub", "--port", str(self.port), "--qos", str(qos), "--filter", filt,
                                 "--first", str(first), "--count", str(count), "--idle-ms", "5000",
                                 "--timeout-s", str(timeout_s)],
                                stdout=subprocess.PIPE, stderr=out, text=True)
        out.close()
        line = proc.stdout.readline()
        if line.strip() != "READY":
            proc.kill()
            proc.wait()
            raise SetupError("far-end subscriber did not subscribe: %r %s" % (line, tail(log)))
        return proc

    def sub_result(self, proc, timeout):
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        for line in out.splitlines():
            if line.startswith("SUB "):
                return {k: int(v) for k, v in (kv.split("=", 1) for kv in line.split()[1:])}
        raise SetupError("far-end subscriber printed no result (exit %s): %r" % (proc.returncode, out))

    def pub(self, root, qos, first, count):
        r = subprocess.run([self.bin, "pub", "--port", str(self.port), "--qos", str(qos), "--prefix", root,
                            "--topics", str(TOPICS), "--first", str(first), "--count", str(count)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise SetupError("publisher exited %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()))


class Contestant:
    """One fresh process of one mode, ready to take messages on `root`."""

    def __init__(self, mode, qos, ctx):
        self.mode, self.qos, self.ctx = mode, qos, ctx
        self.root = "cost/" + {"gateway": "gw", "gateway-before": "gb", "gateway-nonorth": "gn", "bare-republish": "bp",
                               "bare-receive": "br", "forwarder": "fw", "nodered": "in"}[mode]
        self.out_filter = None
        self.proc = self.log = self.gateway = None
        tmp, port = ctx["tmp"], ctx["port"]
        if mode in ("gateway", "gateway-nonorth", BEFORE_MODE):
            north = mode != "gateway-nonorth"
            gw_build = ctx["before_build"] if mode == BEFORE_MODE else ctx["gateway_build"]
            self.gateway = Gateway(ctx["procs"], tmp, gw_build, port, northbound=north,
                                   topic_root=self.root, qos=qos, name=mode)
            self.gateway.start()
            self.proc = self.gateway.proc
            self.out_filter = "gatehouse/bench/+/env/temperature" if north else None
            return
        if mode == "forwarder":
            argv = [ctx["forwarder"], "--port", str(port), "--in-prefix", self.root, "--out-prefix", "out/fw"]
            self.out_filter = "out/fw/#"
            ready = "READY"
        elif mode in ("bare-republish", "bare-receive"):
            argv = [ctx["bare"], "--mode", "republish" if mode == "bare-republish" else "receive",
                    "--broker", "tcp://127.0.0.1:%d" % port, "--qos", str(qos), "--in-filter", self.root + "/#",
                    "--in-prefix", self.root, "--out-prefix", "out/bp"]
            self.out_filter = "out/bp/#" if mode == "bare-republish" else None
            ready = "READY"
        else:   # nodered
            argv = ctx["nodered"].argv(tmp)
            self.out_filter = "cost/out/#"   # bench/nodered/flows.json: cost/in/# -> cost/out/...
            ready = None
        self.log = os.path.join(tmp, "%s-q%d.log" % (mode, qos))
        env = dict(os.environ)
        if mode == "nodered":
            env.update(ctx["nodered"].env(port, qos))
        self.proc = ctx["procs"].start(argv, self.log, env=env)
        if ready:
            deadline = time.monotonic() + 15
            while ready not in open(self.log).read():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SetupError("%s did not get ready (exit %s): %s" % (mode, self.proc.poll(), tail(self.log)))
                time.sleep(0.02)

    def stop(self):
        if self.gateway is not None:
            self.gateway.stop()
            return None
        ok = (0, -signal.SIGTERM, 143)
        self.ctx["procs"].stop(self.proc, self.mode, self.log, ok_codes=ok)
        return open(self.log).read()

    def model_updates(self):
        return self.gateway.counters()[0]

    def run(self, first, count, wait_echo=False):
        """Sends `count` messages starting at value `first`; returns the run's measurements."""
        peer, pid = self.ctx["peer"], self.proc.pid
        sub = None
        if self.out_filter:
            sub = peer.sub(self.ctx["tmp"], self.mode, self.out_filter, self.qos, first, count)
        base = self.model_updates() if self.mode == "gateway-nonorth" else 0
        cpu0, th0, cs0 = cpu_s(pid), thread_cpu(pid), task_counts(pid)
        t0 = time.monotonic_ns()
        peer.pub(self.root, self.qos, first, count)
        res = {"sent": count}
        if sub is not None:
            r = peer.sub_result(sub, timeout=120)
            res.update(received=r["distinct"], dup=r["dup"], lost=count - r["distinct"], missing_first=r["missing_first"])
            end_ns = r["last_ns"] if r["distinct"] else time.monotonic_ns()
        elif self.mode == "gateway-nonorth":
            deadline = time.monotonic() + 60
            got = 0
            while time.monotonic() < deadline:
                got = self.model_updates() - base
                if got >= count:
                    break
                time.sleep(0.02)
            end_ns = time.monotonic_ns()
            res.update(received=got, dup=max(0, got - count), lost=max(0, count - got), missing_first=-1)
        else:   # bare-receive: done when idle; the count is checked when it stops
            wait_idle(pid)
            end_ns = time.monotonic_ns()
            res.update(received=None, dup=0, lost=0, missing_first=-1)
        wait_idle(pid)
        cpu1, th1, cs1 = cpu_s(pid), thread_cpu(pid), task_counts(pid)
        res["rate"] = count / max(1e-9, (end_ns - t0) / 1e9)
        res["cpu_us"] = (cpu1 - cpu0) / count * 1e6
        threads = collections.defaultdict(float)
        for tid, (name, cpu) in th1.items():
            threads[name] += (cpu - th0.get(tid, (name, 0.0))[1]) / count * 1e6
        res["threads"] = dict(threads)
        res["vcsw"] = (cs1[0] - cs0[0]) / count
        vthreads = collections.defaultdict(float)
        for tid, (name, v) in cs1[2].items():
            vthreads[name] += (v - cs0[2].get(tid, (name, 0))[1]) / count
        res["vthreads"] = dict(vthreads)
        res["icsw"] = (cs1[1] - cs0[1]) / count
        res["rss_mb"] = rss_mb(pid)
        return res


class NodeRed:
    """Node-RED 4 from npm, installed into bench/nodered/node_modules on first use."""

    def __init__(self):
        self.dir = os.path.join(HERE, "nodered")
        self.red = os.path.join(self.dir, "node_modules", "node-red", "red.js")
        self.node = shutil.which("node")

    def ensure(self):
        if not self.node:
            raise SetupError("node not on PATH (Node-RED needs Node.js)")
        if not os.path.isfile(self.red):
            print("installing Node-RED into %s (npm ci)" % self.dir, flush=True)
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=self.dir, capture_output=True, text=True)
            if r.returncode != 0 or not os.path.isfile(self.red):
                raise SetupError("npm ci in %s failed: %s" % (self.dir, (r.stderr or r.stdout)[-2000:]))

    def version(self):
        try:
            import json
            with open(os.path.join(self.dir, "node_modules", "node-red", "package.json")) as f:
                return json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            return "?"

    def argv(self, tmp):
        user = tempfile.mkdtemp(prefix="nodered-", dir=tmp)
        return [self.node, self.red, "--settings", os.path.join(self.dir, "settings.js"), "--userDir", user,
                os.path.join(self.dir, "flows.json")]

    def env(self, port, qos):
        return {"MQTT_PORT": str(port), "MQTT_QOS": str(qos), "NODE_RED_PORT": str(free_port())}


def warm_up(c, peer):
    """One message per topic until they come through: subscriptions are up, resources declared."""
    deadline = time.monotonic() + 30
    first = WARMUP_FIRST
    while time.monotonic() < deadline:
        if c.out_filter:
            sub = peer.sub(c.ctx["tmp"], c.mode + "-warm", c.out_filter, c.qos, first, TOPICS, timeout_s=3)
            # The sub gives up 5 s after its first message; a contestant still subscribing
            # gets another round of values.
            peer.pub(c.root, c.qos, first, TOPICS)
            r = peer.sub_result(sub, timeout=30)
            if r["distinct"] == TOPICS:
                return
        elif c.mode == "gateway-nonorth":
            base = c.model_updates()
            peer.pub(c.root, c.qos, first, TOPICS)
            end = time.monotonic() + 3
            while time.monotonic() < end and c.model_updates() - base < TOPICS:
                time.sleep(0.02)
            if c.model_updates() - base >= TOPICS:
                return
        else:
            peer.pub(c.root, c.qos, first, TOPICS)
            wait_idle(c.proc.pid)
            return
        first += TOPICS
    raise SetupError("%s: the warm-up messages did not come through within 30 s" % c.mode)


def with_contestant(mode, qos, ctx, measure):
    """A fresh contestant, warmed up (warm_up, then WARM_MESSAGES unrecorded), measured by
    measure(contestant), stopped: (what measure returned, the contestant's log when it has one)."""
    c = Contestant(mode, qos, ctx)
    text = None
    try:
        warm_up(c, ctx["peer"])
        c.run(WARM_FIRST, WARM_MESSAGES)
        out = measure(c)
    finally:
        text = c.stop()
    return out, text


def parse_strace(path):
    """(total calls, [(calls, name)] most frequent first) from a `strace -c` summary file."""
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5 or parts[-1] == "total" or not re.match(r"^\d", parts[0]):
                continue
            try:
                rows.append((int(parts[3]), parts[-1]))
            except ValueError:
                continue
    rows.sort(reverse=True)
    return sum(n for n, _ in rows), rows


def strace_run(c, count):
    out = os.path.join(c.ctx["tmp"], "%s-q%d.strace" % (c.mode, c.qos))
    st = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(c.proc.pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)   # attached to every thread
    try:
        res = c.run(STRACE_FIRST, count)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(30)
    total, rows = parse_strace(out)
    return {"syscalls": total / count, "top": [(n / count, name) for n, name in rows[:4]], "lost": res["lost"]}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", nargs="?", default="./build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--modes", default=",".join(ALL_MODES))
    ap.add_argument("--strace-messages", type=int, default=20000)
    ap.add_argument("--no-strace", action="store_true")
    args = ap.parse_args()
    qoss = [int(q) for q in args.qos.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    before_build = os.environ.get("GATEHOUSE_BEFORE_BUILD")
    if before_build and BEFORE_MODE not in modes:
        modes.insert(1, BEFORE_MODE)
    if any(m not in ALL_MODES + ([BEFORE_MODE] if before_build else []) for m in modes) or any(q not in (0, 1) for q in qoss) or args.rounds < 1:
        ap.error("--modes from %s, --qos from 0,1, --rounds >= 1" % ",".join(ALL_MODES))
    build = os.path.abspath(args.build_dir)
    tmp = tempfile.mkdtemp(prefix="gatehouse-mqtt-cost-")
    os.chmod(tmp, 0o755)
    procs = Processes()
    broker = None
    results = collections.defaultdict(list)   # (mode, qos) -> [run]
    straced = {}
    leftover = []
    try:
        ctx = {"tmp": tmp, "build": build, "procs": procs,
               "gateway_build": os.path.abspath(os.environ.get("GATEHOUSE_BUILD", build)),
               "before_build": os.path.abspath(before_build) if before_build else None,
               "forwarder": os.path.join(build, "bench/mqtt_ideal_forwarder"),
               "bare": os.path.join(build, "bench/mqtt_bare")}
        needed = [os.path.join(build, "bench/mqtt_cost_peer")]
        needed += [ctx["forwarder"]] if "forwarder" in modes else []
        needed += [ctx["bare"]] if any(m.startswith("bare-") for m in modes) else []
        for tool in needed:
            if not os.access(tool, os.X_OK):
                raise SetupError("not built: %s (cmake --build %s --target bench_mqtt_cost_peer bench_mqtt_bare "
                                 "bench_mqtt_ideal_forwarder)" % (tool, build))
        if not args.no_strace and not shutil.which("strace"):
            raise SetupError("strace not on PATH (apt-get install strace), or pass --no-strace")
        if "nodered" in modes:
            ctx["nodered"] = NodeRed()
            ctx["nodered"].ensure()
        broker = Broker(procs, tmp)
        ctx["port"] = broker.port
        ctx["peer"] = Peer(os.path.join(build, "bench/mqtt_cost_peer"), broker.port)
        load = open("/proc/loadavg").read().split()[0]
        print("mqtt_cost: %d messages over %d topics per run, QoS %s, %d alternated rounds; one fresh process per run"
              % (args.messages, TOPICS, "/".join(map(str, qoss)), args.rounds))
        print("  mosquitto: %s (%s)" % (broker.bin, broker.version()))
        print("  gateway:   %s" % os.environ.get("GATEHOUSE_BIN", os.path.join(ctx["gateway_build"], "core/app/gatehouse")))
        if before_build:
            print("  before:    %s (gateway-before)" % os.path.join(ctx["before_build"], "core/app/gatehouse"))
        if "nodered" in modes:
            print("  node-red:  %s (%s, node %s)" % (ctx["nodered"].red, ctx["nodered"].version(),
                                                     subprocess.run(["node", "--version"], capture_output=True,
                                                                    text=True).stdout.strip()))
        print("load average before: %s (nproc %d)" % (load, os.cpu_count()))
        if float(load) > os.cpu_count():
            print("WARNING: the machine is busy (load > nproc); rerun when it is quiet")
        broker.start()
        print()
        hdr = "%-5s %-16s %3s %8s %9s %5s %4s %8s %6s %6s %7s  %s" % (
            "round", "mode", "qos", "msg/s", "received", "lost", "dup", "cpu us", "vcsw", "icsw", "rss MB",
            "per thread: cpu us/voluntary switches per message")
        print(hdr)
        for r in range(1, args.rounds + 1):
            for qos in qoss:
                for mode in modes:
                    if qos != 0 and mode in QOS0_ONLY:
                        continue
                    res, text = with_contestant(mode, qos, ctx, lambda c: c.run(FIRST, args.messages))
                    if mode == "bare-receive":
                        m = re.search(r"COUNT received=(\d+)", text or "")
                        got = int(m.group(1)) - TOPICS - WARM_MESSAGES if m else -1
                        res.update(received=got, lost=max(0, args.messages - got))
                    results[(mode, qos)].append(res)
                    th = ", ".join("%s %.1f/%.2f" % (n, v, res["vthreads"].get(n, 0.0))
                                   for n, v in sorted(res["threads"].items(), key=lambda x: -x[1])
                                   if v >= 0.05 or res["vthreads"].get(n, 0.0) >= 0.01)
                    print("%-5d %-16s %3d %8.0f %9s %5d %4d %8.2f %6.2f %6.2f %7.1f  %s"
                          % (r, mode, qos, res["rate"], res["received"], res["lost"], res["dup"], res["cpu_us"],
                             res["vcsw"], res["icsw"], res["rss_mb"], th), flush=True)
        if not args.no_strace:
            print()
            print("syscalls: one run of %d messages per contestant under strace -f -c -p PID" % args.strace_messages)
            for qos in qoss:
                for mode in modes:
                    if qos != 0 and mode in QOS0_ONLY:
                        continue
                    s, _ = with_contestant(mode, qos, ctx, lambda c: strace_run(c, args.strace_messages))
                    straced[(mode, qos)] = s
                    print("  %-16s qos %d: %5.2f syscalls/msg (%s)%s" % (
                        mode, qos, s["syscalls"], ", ".join("%s %.2f" % (n, v) for v, n in s["top"]),
                        "" if not s["lost"] else "  LOST %d" % s["lost"]), flush=True)
    except (SetupError, OSError, ValueError, KeyError, subprocess.SubprocessError, http.client.HTTPException) as e:
        sys.stdout.flush()
        print("mqtt_cost: %s" % e, file=sys.stderr)
        return 2
    finally:
        try:
            if broker is not None:
                broker.stop()
        except SetupError as e:
            leftover.append(str(e))
        procs.kill_all()
        if os.environ.get("KEEP_TMP") == "1":
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # Medians and floors.
    print()
    print("medians over %d rounds:" % args.rounds)
    print("%-16s %3s %8s %8s %6s %6s %7s %9s %8s %8s" % ("mode", "qos", "msg/s", "cpu us", "vcsw", "icsw", "rss MB",
                                                         "syscalls", "x fwd", "x nodered"))
    summary = {}
    for qos in qoss:
        for mode in modes:
            runs = results.get((mode, qos))
            if not runs:
                continue
            summary[(mode, qos)] = {k: med([x[k] for x in runs]) for k in ("rate", "cpu_us", "vcsw", "icsw", "rss_mb")}
    for (mode, qos), s in summary.items():
        fwd = summary.get(("forwarder", 0))
        nr = summary.get(("nodered", qos))
        sc = straced.get((mode, qos))
        print("%-16s %3d %8.0f %8.2f %6.2f %6.2f %7.1f %9s %8s %8s" % (
            mode, qos, s["rate"], s["cpu_us"], s["vcsw"], s["icsw"], s["rss_mb"],
            "%.2f" % sc["syscalls"] if sc else "-",
            "%.2f" % (s["cpu_us"] / fwd["cpu_us"]) if fwd else "-",
            "%.2f" % (s["cpu_us"] / nr["cpu_us"]) if nr else "-"))
    fails = []
    lost = [(m, q, x["lost"]) for (m, q), runs in results.items() for x in runs if x["lost"]]
    lost += [(m, q, s["lost"]) for (m, q), s in straced.items() if s["lost"]]
    for m, q, n in lost:
        fails.append("%s QoS %d lost %d messages in a run" % (m, q, n))

    def ratio(a, b, qos):
        sa, sb = summary.get((a, qos)), summary.get((b, qos))
        return sa["cpu_us"] / sb["cpu_us"] if sa and sb and sb["cpu_us"] > 0 else None

    print()
    print("floors:")
    for qos in qoss:
        checks = [("gateway", "nodered", FLOOR_NODERED[qos]), ("gateway", "bare-republish", FLOOR_BARE_REPUBLISH),
                  ("gateway-nonorth", "bare-receive", FLOOR_BARE_RECEIVE)]
        for a, b, floor in checks:
            x = ratio(a, b, qos)
            if x is None:
                print("  QoS %d %s / %s CPU per message: not measured" % (qos, a, b))
                continue
            ok = x <= floor
            print("  QoS %d %s / %s CPU per message: %.2f (floor <= %.2f) %s" % (qos, a, b, x, floor, "ok" if ok else "MISSED"))
            if not ok:
                fails.append("QoS %d %s/%s CPU %.2f > %.2f" % (qos, a, b, x, floor))
    g = summary.get(("gateway", 0))
    if g:
        ok = g["vcsw"] <= FLOOR_VCSW
        print("  QoS 0 gateway voluntary context switches per message: %.2f (floor <= %.2f) %s"
              % (g["vcsw"], FLOOR_VCSW, "ok" if ok else "MISSED"))
        if not ok:
            fails.append("voluntary context switches %.2f" % g["vcsw"])
    sc = straced.get(("gateway", 0))
    if sc:
        ok = sc["syscalls"] <= FLOOR_SYSCALLS
        print("  QoS 0 gateway syscalls per message: %.2f (floor <= %.1f) %s"
              % (sc["syscalls"], FLOOR_SYSCALLS, "ok" if ok else "MISSED"))
        if not ok:
            fails.append("syscalls %.2f" % sc["syscalls"])
    print("  zero loss in every run: %s" % ("ok" if not lost else "MISSED"))
    for e in leftover:
        print("mqtt_cost: %s" % e, file=sys.stderr)
    if fails:
        print("FLOORS MISSED: " + "; ".join(fails))
        return 1
    print("all floors met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
