#!/usr/bin/env python3
"""bench/nbiot_ingest.py: NB-IoT decode + ingest rate of the gateway against a bare UDP receive loop,
side by side in one run (issue 15, TESTING.md "Measuring").

Acceptance (issue text): "Decode + ingest at least 0.5x the datagrams/s of a bare UDP receive loop
in the same run."

The load, the same for both contestants: bench/nbiot_udp_sender sends N environmental-monitor
frames (etc/nbiot/layouts.yaml layout 1: 31 bytes, binary) over UDP on 127.0.0.1, round-robin over
D devices (IMEIs 861000000000000 + i, each device's N_SEND one higher than its last, across rounds
too), in sendmmsg() batches of --batch datagrams, as fast as the socket takes them (or at --rate).
Contestants, alternated per round (which one goes first rotates too), medians reported:
  bare     bench/nbiot_udp_bare: one thread, recvfrom() on one socket with the same receive buffer
           as the gateway's (SO_RCVBUFFORCE 8 MiB as root, else SO_RCVBUF), counts datagrams only.
  gateway  gatehouse with only the signed nbiot plugin (listen 127.0.0.1:<free port>, the shipped
           layouts file, receive_buffer_bytes 8388608, rate_limit_per_s and rate_burst 1000000,
           max_providers above D), started once for the run; northbound off.
  bare-mmsg  (information, --no-mmsg leaves it out) the same bare program taking up to 32 datagrams
           per recvmmsg(MSG_WAITFORONE) call, as the bridge's receive thread does: how far the
           gateway is from a receive loop batched like its own. No floor.
Rate = datagrams taken / (last one taken - first one sent). First one sent: the sender's
CLOCK_REALTIME just before its first send call (the first datagram is taken microseconds later:
the socket is empty then). Last one taken: for bare, its own CLOCK_REALTIME stamp of the last
recvfrom(); for the gateway, the newest `timestamp` (ms) of the D devices' nbiot/frameCounter
resources read over REST after the round (a binary frame has no time of its own: the bridge stores
its values with the time it stores them; checked against a second clock, below). Datagrams taken: bare, what it counted; gateway, the
growth of framesAccepted of the bridge's stats provider (`nbiot-bridge`, service `stats`), read once
the socket's receive queue is empty (/proc/net/udp) and the stats have not moved for --settle
seconds (the bridge pushes them at most once a second). Cross-check: while it drains, the script
polls gatehouse_model_updates_total (GET /metrics, every 20 ms); the last poll at which it grew by
more than the stats provider's own pushes gives a second end time, printed beside the first.

UDP has no flow control: what a contestant does not take in time is dropped by the kernel (its
socket buffer is full) and reported per round as lost (sent - taken; for the gateway also the
kernel's drop counter of its socket and the bridge's framesLost). Loss does not inflate a rate
(only datagrams taken count), so it does not fail the floor. A round is invalid (exit 2) when the
sender could not send, or the bridge rejected, rate-limited or refused any frame (the run would
measure a refusal path), or accepted none.

The sender must be faster than the bare loop, or "bare" measures the sender and the ratio looks
better than it is. The sender's own rate is printed per round; when bare took every datagram and
was busy (on a CPU or runnable, waiting for one) less than 90% of the time, the script says bare
was sender-limited (use a bigger --batch).
CPU per datagram of each contestant (bare: getrusage; gateway: /proc/PID/stat over the round, idle
settle included) is printed as information, and so is the time the receiving process and the sender
waited for a CPU while runnable ("rq ms", "snd rq": /proc/.../schedstat): on this 2-core box the
sender takes one core, so other work on the box shows there first.

Floor: median gateway rate >= 0.5 x median bare rate (exit 1 otherwise).

Usage: bench/nbiot_ingest.py [BUILD_DIR] [--rounds N] [--datagrams N] [--devices D] [--batch B]
         [--rate R] [--settle S] [--timeout S] [--no-mmsg]
  (default ./build, 5 rounds, 1000000 datagrams, 100 devices, batch 64, as fast as possible; about
  40 s on an idle 2-core box). Needs `cmake --build BUILD_DIR --target gatehouse gatehouse_bridge_nbiot bench_nbiot_udp_bare
  bench_nbiot_udp_sender` (the signed gh-nbiot.so in BUILD_DIR/plugins-signed).
  Environment: GATEHOUSE_BIN, BARE_BIN, SENDER_BIN override the binaries; KEEP_TMP=1 keeps the temp
  dir (gateway config and log).
Exit: 0 floor met, 1 floor missed, 2 could not run (or a round was invalid).
"""
import argparse
import http.client
import json
import os
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no bench/__pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Processes, SetupError, cpu_s, free_port, free_udp_port, runq_s, tail  # noqa: E402

MIN_RATIO = 0.5
START_TIMEOUT_S = 15.0
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATS = ("framesReceived", "framesAccepted", "framesRejected", "rateLimited", "sourceRefused",
         "providerCapHits", "framesLost", "deviceResets")
MMSG = 32   # datagrams per recvmmsg() of bare-mmsg: the bridge's batch (kBatch in bridges/nbiot/nbiot_bridge.cpp)
REFUSALS = ("framesRejected", "rateLimited", "sourceRefused", "providerCapHits")
IMEI_BASE = 861000000000000


def udp_socket_state(port):
    """(rx_queue bytes, drops) of the UDP socket bound to 127.0.0.1:port (/proc/net/udp), or None."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want:
                return int(fields[4].split(":")[1], 16), int(fields[-1])
    return None


def udp_rcvbuf(port):
    """The kernel's receive buffer limit (bytes, `ss` skmem rb) of the socket on 127.0.0.1:port, or None."""
    if not shutil.which("ss"):
        return None
    r = subprocess.run(["ss", "-uamnH", "sport = :%d" % port], capture_output=True, text=True)
    m = re.search(r"\brb(\d+)", r.stdout)
    return int(m.group(1)) if m else None


def parse_kv(line, tag):
    """{key: value} of a 'TAG k=v k=v' line printed by the bench programs."""
    if not line.startswith(tag + " "):
        raise SetupError("expected a %s line, got %r" % (tag, line))
    out = {}
    for item in line.split()[1:]:
        k, _, v = item.partition("=")
        out[k] = float(v) if "." in v else int(v)
    return out


class Sender:
    def __init__(self, binary, devices, batch, rate):
        self.bin = binary
        self.devices = devices
        self.batch = batch
        self.rate = rate
        self.next_counter = 1   # every device's next N_SEND (they all advance together)

    def send(self, port, count, timeout, rate=None, advance=True):
        """Sends count frames (a multiple of devices) to 127.0.0.1:port; returns the SENT fields.
        advance=False (bare rounds) leaves the counters where they were, so the gateway never sees a gap."""
        argv = [self.bin, "--port", str(port), "--count", str(count), "--devices", str(self.devices),
                "--batch", str(self.batch), "--rate", str(self.rate if rate is None else rate),
                "--first-counter", str(self.next_counter), "--imei-base", str(IMEI_BASE)]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise SetupError("nbiot_udp_sender exited %d: %s" % (r.returncode, r.stderr.strip()))
        sent = parse_kv(r.stdout.strip().splitlines()[-1], "SENT")
        if sent["errors"]:
            raise SetupError("nbiot_udp_sender: %d datagrams refused by the kernel (nobody listening?)" % sent["errors"])
        if advance:
            self.next_counter += count // self.devices
        return sent


class Gateway:
    """The real gatehouse binary with only the signed nbiot plugin, on free loopback ports."""

    def __init__(self, procs, tmp, build, devices):
        self.procs = procs
        self.bin = os.environ.get("GATEHOUSE_BIN", os.path.join(build, "core/app/gatehouse"))
        if not os.access(self.bin, os.X_OK):
            raise SetupError("gateway not built: %s" % self.bin)
        plugin = os.path.join(build, "plugins-signed/gh-nbiot.so")
        if not os.path.isfile(plugin) or not os.path.isfile(plugin + ".sig"):
            raise SetupError("signed nbiot plugin not built: %s(.sig) (cmake --build %s --target gatehouse_bridge_nbiot)"
                             % (plugin, build))
        self.layouts = os.path.join(SRC, "etc/nbiot/layouts.yaml")
        self.port = free_port()
        self.udp_port = free_udp_port()
        lines = [
            "gateway:",
            "  id: bench",
            "  log_level: warn",
            "http:",
            "  listen: 127.0.0.1",
            "  port: %d" % self.port,
            "  threads: 2",
            "auth:",
            "  mode: none",
            "plugin_host:",
            "  state_dir: %s" % os.path.join(tmp, "gatehouse-state"),
            "mqtt_northbound:",
            "  enabled: false",
            "plugins:",
            "  nbiot:",
            "    listen: [\"127.0.0.1:%d\"]" % self.udp_port,
            "    layouts_file: %s" % self.layouts,
            "    receive_buffer_bytes: 8388608",
            "    rate_limit_per_s: 1000000",
            "    rate_burst: 1000000",
            "    max_providers: %d" % max(1000, 2 * devices),
        ]
        self.config = os.path.join(tmp, "gatehouse.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = os.path.join(tmp, "gatehouse.log")
        self.proc = None
        self.conn = None

    def start(self):
        self.proc = self.procs.start([self.bin, "run", "--config", self.config], self.log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise SetupError("gatehouse exited with %d; log:\n%s" % (self.proc.returncode, tail(self.log)))
            if time.monotonic() > deadline:
                raise SetupError("gatehouse: nbiot plugin not running within %.0f s; log:\n%s"
                                 % (START_TIMEOUT_S, tail(self.log)))
            try:
                status, body = self.request("/sensinact/runtime/plugins")
                if status == 200:
                    plugins = json.loads(body)["plugins"]
                    mine = [p for p in plugins if p["name"] == "nbiot"]
                    if mine and mine[0]["state"] != "loaded":
                        raise SetupError("gatehouse: nbiot plugin not loaded: %s" % mine[0])
                    if mine and mine[0].get("health") == "running" and udp_socket_state(self.udp_port) is not None:
                        return
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                self.conn = None
            time.sleep(0.05)

    def request(self, path):
        """(status, body) of a GET on one kept-alive connection (one retry on a fresh connection:
        now and then the kept-alive one is closed under us, as e2e_pipeline.py notes)."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def resource(self, provider, service, name):
        """(value, timestamp ms) of a resource, or (None, None) when it does not exist yet."""
        status, body = self.request("/sensinact/providers/%s/services/%s/resources/%s/GET" % (provider, service, name))
        if status == 404:
            return None, None
        if status != 200:
            raise SetupError("gatehouse: GET %s/%s/%s -> %d: %s" % (provider, service, name, status, body[:300]))
        r = json.loads(body)["response"]
        return r.get("value"), r.get("timestamp")

    def stats(self):
        return {k: self.resource("nbiot-bridge", "stats", k)[0] or 0 for k in STATS}

    def model_updates(self):
        status, body = self.request("/metrics")
        if status != 200:
            raise SetupError("gatehouse: GET /metrics -> %d" % status)
        m = re.search(rb"^gatehouse_model_updates_total (\d+)", body, re.M)
        if not m:
            raise SetupError("gatehouse: /metrics has no gatehouse_model_updates_total")
        return int(m.group(1))

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            proc, self.proc = self.proc, None
            self.procs.stop(proc, "gatehouse", self.log)


def bare_round(bare_bin, sender, count, timeout, mmsg=0):
    port = free_udp_port()
    proc = subprocess.Popen([bare_bin, "--port", str(port), "--count", str(count), "--idle-ms", "500",
                             "--start-timeout-ms", str(int(timeout * 1000)), "--mmsg", str(mmsg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith("READY"):
            raise SetupError("nbiot_udp_bare did not start: %r %s" % (line, proc.stderr.read() if proc.poll() is not None else ""))
        rcvbuf = parse_kv(line, "READY")["rcvbuf"]
        sent = sender.send(port, count, timeout, advance=False)
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise SetupError("nbiot_udp_bare exited %d: %s" % (proc.returncode, err.strip()))
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
    res = parse_kv(out.strip().splitlines()[-1], "RESULT")
    took = res["datagrams"]
    elapsed = (res["last_ns"] - sent["first_ns"]) / 1e9 if took else 0.0
    wall = (res["last_ns"] - res["first_ns"]) / 1e9
    return {
        "rate": took / elapsed if elapsed > 0 else 0.0, "taken": took, "sent": sent["datagrams"],
        "sender_rate": sent["rate"], "cpu_us": res["cpu_s"] / took * 1e6 if took else 0.0,
        # Busy = on a CPU or waiting for one (runnable); the rest of the wall time it waited for datagrams.
        "busy": (res["cpu_s"] + res["runq_s"]) / wall if wall > 0 else 0.0,
        "on_cpu": res["cpu_s"] / wall if wall > 0 else 0.0, "rcvbuf": rcvbuf, "note": "",
        "rq_ms": res["runq_s"] * 1000, "sender_rq_ms": sent["runq_s"] * 1000,
    }


def wait_settled(gw, settle_s, timeout):
    """Polls until the gateway's socket is empty and its stats have not moved for settle_s; meanwhile
    samples gatehouse_model_updates_total every 20 ms. Returns (stats, [(time.time(), updates)])."""
    samples = []
    deadline = time.monotonic() + timeout
    last_stats, last_change = None, time.monotonic()
    next_stats = 0.0
    while True:
        now = time.monotonic()
        if now > deadline:
            raise SetupError("gateway: not settled within %.0f s (receive queue %s, stats %s)"
                             % (timeout, udp_socket_state(gw.udp_port), last_stats))
        samples.append((time.time(), gw.model_updates()))
        if now >= next_stats:
            next_stats = now + 0.1
            queue = udp_socket_state(gw.udp_port)
            if queue is None:
                raise SetupError("gateway: no UDP socket on port %d any more; log:\n%s" % (gw.udp_port, tail(gw.log)))
            stats = gw.stats()
            if stats != last_stats or queue[0] != 0:
                last_stats, last_change = stats, now
            elif now - last_change >= settle_s:
                return stats, samples
        time.sleep(0.02)


def update_end(samples, t_first):
    """The wall time of the last 20 ms sample at which gatehouse_model_updates_total grew by more
    than 20 (the stats provider pushes at most 10 resources at a time), or None."""
    end = None
    for (t0, u0), (t1, u1) in zip(samples, samples[1:]):
        if u1 - u0 > 20 and t1 >= t_first:
            end = t1
    return end


def gateway_round(gw, sender, count, devices, settle_s, timeout):
    before = gw.stats()
    queue0 = udp_socket_state(gw.udp_port)
    cpu0, rq0 = cpu_s(gw.proc.pid), runq_s(gw.proc.pid)
    sent = sender.send(gw.udp_port, count, timeout)
    after, samples = wait_settled(gw, settle_s, timeout)
    cpu1, rq1 = cpu_s(gw.proc.pid), runq_s(gw.proc.pid)
    queue1 = udp_socket_state(gw.udp_port)
    delta = {k: after[k] - before[k] for k in STATS}
    bad = {k: delta[k] for k in REFUSALS if delta[k]}
    if bad:
        raise SetupError("gateway round invalid: the bridge refused frames %s; log:\n%s" % (bad, tail(gw.log)))
    took = delta["framesAccepted"]
    if took <= 0:
        raise SetupError("gateway round invalid: no frame accepted (framesAccepted %s -> %s); log:\n%s"
                         % (before["framesAccepted"], after["framesAccepted"], tail(gw.log)))
    # The newest frameCounter over the devices: the time of the last accepted frame.
    last_counter = sender.next_counter - 1
    newest, at_last = None, 0
    for i in range(devices):
        value, ts = gw.resource(str(IMEI_BASE + i), "nbiot", "frameCounter")
        if ts is not None and (newest is None or ts > newest):
            newest = ts
        at_last += value == last_counter
    first_ms = sent["first_ns"] / 1e6
    if newest is None or newest < first_ms - 1 or newest > time.time() * 1000 + 1:
        raise SetupError("gateway round invalid: newest frameCounter timestamp %s is outside the round (sender "
                         "started at %.0f ms)" % (newest, first_ms))
    elapsed = (newest - first_ms) / 1000.0
    end2 = update_end(samples, sent["first_ns"] / 1e9)
    kernel_drops = queue1[1] - queue0[1] if queue0 and queue1 else None
    note = []
    if end2 is not None and abs(end2 - newest / 1000.0) > 0.1:
        note.append("model-updates end %+.0f ms from the frameCounter end" % ((end2 - newest / 1000.0) * 1000))
    received = delta["framesReceived"]
    if kernel_drops is not None and received + kernel_drops != sent["datagrams"]:
        note.append("framesReceived %d + kernel drops %d != sent %d" % (received, kernel_drops, sent["datagrams"]))
    return {
        "rate": took / elapsed if elapsed > 0 else 0.0, "taken": took, "sent": sent["datagrams"],
        "sender_rate": sent["rate"], "cpu_us": (cpu1 - cpu0) / received * 1e6 if received else 0.0,
        "received": received, "kernel_drops": kernel_drops, "frames_lost": delta["framesLost"],
        "resets": delta["deviceResets"], "at_last": at_last, "end2_ms": (end2 * 1000 - first_ms) if end2 else None,
        "elapsed_ms": elapsed * 1000, "note": "; ".join(note),
        "rq_ms": (rq1 - rq0) * 1000, "sender_rq_ms": sent["runq_s"] * 1000,
    }


def warm_up(gw, sender, devices, timeout):
    """One frame per device (providers and resources are declared on the first frame), then 20 more
    per device at a moderate rate; waits until the bridge has accepted them all."""
    for count, rate in ((devices, 20000), (20 * devices, 50000)):
        before = gw.resource("nbiot-bridge", "stats", "framesAccepted")[0] or 0
        sender.send(gw.udp_port, count, timeout, rate=rate)
        deadline = time.monotonic() + 15
        while True:
            got = (gw.resource("nbiot-bridge", "stats", "framesAccepted")[0] or 0) - before
            if got >= count:
                break
            if time.monotonic() > deadline:
                raise SetupError("warm-up: the bridge accepted %d of %d frames in 15 s; log:\n%s"
                                 % (got, count, tail(gw.log)))
            time.sleep(0.05)
    time.sleep(1.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir", nargs="?", default="./build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--datagrams", type=int, default=1000000)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64, help="datagrams per sendmmsg() call of the sender")
    ap.add_argument("--rate", type=float, default=0, help="datagrams/s offered (0 = as fast as possible)")
    ap.add_argument("--settle", type=float, default=1.5, help="seconds the stats must stay unchanged after a round")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a round may take")
    ap.add_argument("--no-mmsg", action="store_true", help="leave out the bare-mmsg contestant (information only)")
    args = ap.parse_args()
    if (args.rounds < 1 or args.devices < 1 or args.datagrams < args.devices or args.datagrams % args.devices
            or not 1 <= args.batch <= 1024 or args.rate < 0):
        ap.error("--rounds >= 1, --devices >= 1, --datagrams a multiple of --devices, --batch 1..1024, --rate >= 0")
    build = os.path.abspath(args.build_dir)
    bare_bin = os.environ.get("BARE_BIN", os.path.join(build, "bench/nbiot_udp_bare"))
    sender_bin = os.environ.get("SENDER_BIN", os.path.join(build, "bench/nbiot_udp_sender"))

    tmp = tempfile.mkdtemp(prefix="gatehouse-nbiot-ingest-")
    procs = Processes()
    gw = None
    contestants = ["bare", "gateway"] if args.no_mmsg else ["bare", "gateway", "bare-mmsg"]
    rows = {who: [] for who in contestants}
    try:
        for b, target in ((bare_bin, "bench_nbiot_udp_bare"), (sender_bin, "bench_nbiot_udp_sender")):
            if not os.access(b, os.X_OK):
                raise SetupError("not built: %s (cmake --build %s --target %s)" % (b, build, target))
        sender = Sender(sender_bin, args.devices, args.batch, args.rate)
        gw = Gateway(procs, tmp, build, args.devices)
        load = open("/proc/loadavg").read().split()[0]
        print("nbiot_ingest: %d datagrams per round (31-byte environmental-monitor frames, %d devices), %s, "
              "sendmmsg batches of %d, %d alternated rounds"
              % (args.datagrams, args.devices, "at %.0f/s" % args.rate if args.rate else "as fast as possible",
                 args.batch, args.rounds))
        print("  gateway: %s (nbiot plugin only, udp 127.0.0.1:%d)" % (gw.bin, gw.udp_port))
        print("  bare:    %s" % bare_bin)
        print("  sender:  %s" % sender_bin)
        print("load average before: %s (nproc %d)" % (load, os.cpu_count()))
        if float(load) > os.cpu_count():
            print("WARNING: the machine is busy (load > nproc); rates are deflated, rerun when it is quiet")
        gw.start()
        warm_up(gw, sender, args.devices, args.timeout)
        print("receive buffers (ss rb): gateway %s" % udp_rcvbuf(gw.udp_port))
        print()
        print("%-6s %-9s %11s %9s %9s %11s %7s %6s %6s  %s" % ("round", "who", "taken/s", "taken", "lost", "sender/s",
                                                              "cpu us", "rq ms", "snd rq", "notes"))
        for r in range(1, args.rounds + 1):
            # Every contestant goes first, second (and third) in turn.
            order = contestants[(r - 1) % len(contestants):] + contestants[:(r - 1) % len(contestants)]
            for who in order:
                if who.startswith("bare"):
                    row = bare_round(bare_bin, sender, args.datagrams, args.timeout, MMSG if who == "bare-mmsg" else 0)
                    busy = "busy %.0f%% (on a CPU %.0f%%)" % (row["busy"] * 100, row["on_cpu"] * 100)
                    if row["taken"] == row["sent"] and row["busy"] < 0.9:
                        row["note"] = "SENDER-LIMITED (took all, %s)" % busy
                    else:
                        row["note"] = "%s, rcvbuf %d" % (busy, row["rcvbuf"])
                else:
                    row = gateway_round(gw, sender, args.datagrams, args.devices, args.settle, args.timeout)
                    extra = "kernel drops %s, framesLost %d, %d/%d devices at their last counter, time %.0f ms" % (
                        row["kernel_drops"], row["frames_lost"], row["at_last"], args.devices, row["elapsed_ms"])
                    if row["end2_ms"] is not None:
                        extra += " (updates: %.0f ms)" % row["end2_ms"]
                    row["note"] = extra + ("; " + row["note"] if row["note"] else "")
                rows[who].append(row)
                print("%-6d %-9s %11.0f %9d %9d %11.0f %7.2f %6.0f %6.0f  %s"
                      % (r, who, row["rate"], row["taken"], row["sent"] - row["taken"], row["sender_rate"],
                         row["cpu_us"], row["rq_ms"], row["sender_rq_ms"], row["note"]), flush=True)
    except (SetupError, OSError, ValueError, subprocess.SubprocessError, http.client.HTTPException) as e:
        sys.stdout.flush()
        print("nbiot_ingest: %s" % e, file=sys.stderr)
        return 2
    finally:
        if gw is not None:
            try:
                gw.stop()
            except SetupError as e:
                print("nbiot_ingest: %s" % e, file=sys.stderr)
        procs.kill_all()
        if os.environ.get("KEEP_TMP") == "1":
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    def med(who, key):
        return statistics.median(r[key] for r in rows[who])

    bare, gwr = med("bare", "rate"), med("gateway", "rate")
    ratio = gwr / bare if bare else 0.0
    print()
    print("medians (min-max):")
    for who in contestants:
        print("  %-9s %9.0f datagrams/s  (%.0f-%.0f); taken %.1f%% of sent; sender %.0f/s; cpu %.2f us/datagram"
              % (who, med(who, "rate"), min(r["rate"] for r in rows[who]), max(r["rate"] for r in rows[who]),
                 100.0 * sum(r["taken"] for r in rows[who]) / sum(r["sent"] for r in rows[who]),
                 med(who, "sender_rate"), med(who, "cpu_us")))
    limited = sum(1 for r in rows["bare"] if r["note"].startswith("SENDER-LIMITED"))
    if limited and args.rate:
        print("  note: bare took every datagram at the paced rate in %d of %d rounds (its rate is the offered "
              "rate: expected with --rate)" % (limited, args.rounds))
    elif limited:
        print("  WARNING: bare was sender-limited in %d of %d rounds: its rate is the sender's, the ratio is "
              "flattered; rerun with a bigger --batch" % (limited, args.rounds))
    if "bare-mmsg" in rows:
        mm = med("bare-mmsg", "rate")
        print("  ratio gateway/bare-mmsg: %.2f (information: a receive loop batched like the bridge's)"
              % (gwr / mm if mm else 0.0))
    print("  ratio gateway/bare: %.2f (floor >= %.1f)" % (ratio, MIN_RATIO))
    ok = ratio >= MIN_RATIO
    print("%s: nbiot_ingest" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
