"""Issue "MQTT pipeline cost", acceptance: 100k QoS 1 messages go through the whole pipeline while
the northbound broker is restarted twice, and a far-end subscriber counts every one.

    mqtt_seq pub --QoS1--> SOUTH mosquitto --> gh-mqtt.so (Paho) --> model
        --> northbound publisher (kit, libmosquitto) --QoS1--> NORTH mosquitto --> mqtt_seq count

- SOUTH is plain (no persistence) with unbounded queues and stays up: the producer
  (tests/tools/mqtt_seq = GATEHOUSE_MQTT_SEQ) publishes "1".."100000" to bulk/meter-1/seq at a
  fixed rate; the bridge maps it to meter-1/load/seq (int, QoS 1).
- NORTH runs with persistence, so a SIGTERM + start on the same port keeps the far-end counter's
  session (clean session off) and the messages queued for it. The gateway publishes northbound at
  QoS 1 with a clean session and re-sends, after each reconnection, what was unacknowledged
  (docs/mqtt-topics.md, "Delivery across reconnects").
- NORTH is stopped (SIGTERM) once the producer has handed over 25% of the messages, and again at
  60% (and not before the gateway has reconnected after the first restart); each time it is down
  for DOWN_S, then started again on the same port.
- The far end (mqtt_seq count on NORTH) counts distinct values of gatehouse/itest/meter-1/load/seq:
  every value 1..100000 must arrive; duplicates are allowed (at least once) and reported.
- The gateway must have reconnected (3 connections in its log, 2 losses), dropped and failed
  nothing (/metrics), its model must have taken all 100000 updates, and it must still run and
  stop cleanly.

Duplicates at the far end range from a few dozen to over 10k per run: a restart of NORTH while
it holds a backlog for the far end redelivers (the same happens with mqtt_seq publishing straight
to NORTH, without the gateway); the gateway's own re-sends are gatehouse_mqtt_northbound_resent_total.

Nothing here restarts SOUTH: that is test_mqtt_restart.py (issue 4), whose helpers are reused.
"""
import os
import re
import subprocess
import time
import unittest

from gateway import Gateway
from mosquitto import Mosquitto
from test_mqtt_restart import MAPPINGS, SeqGatewayTest, last_sent  # the same QoS 1 mapping

SEQ = os.environ.get("GATEHOUSE_MQTT_SEQ", "")
N = 100000
RATE = 6000             # messages/s from the producer: about 17 s of traffic
STOP_AT = (25000, 60000)  # producer progress at which NORTH is stopped (25% and 60%)
DOWN_S = 0.7            # how long NORTH stays down each time
NORTH_TOPIC = "gatehouse/itest/meter-1/load/seq"
GATEWAY_QUEUE = 300000  # northbound queue / offline buffer: more than the whole run, so nothing may drop
# Bounds (a good run takes about 25 s in all). ctest's TIMEOUT (CMakeLists.txt) is above their sum.
PRODUCER_TIMEOUT_S = 120   # the producer gives up after this (it prints what was acknowledged)
COUNTER_TIMEOUT_S = 200    # whole-run bound of the far-end counter (it prints the first missing values)
RECONNECT_TIMEOUT_S = 30   # the gateway is back on NORTH within this after a restart


def parse_metrics(text):
    """Prometheus text -> {name: value} for the samples without labels."""
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


class MqttPipelineNorthRestartTest(SeqGatewayTest):
    def setUp(self):
        # Not a skip: Paho MQTT C++ is a required dependency, so a missing tool is a build problem.
        self.assertTrue(SEQ and os.path.exists(SEQ), "tests/tools/mqtt_seq not found: GATEHOUSE_MQTT_SEQ=%r" % SEQ)
        self.south = Mosquitto(persistence=False, log=True, unbounded_queues=True).start()
        self.addCleanup(self.south.close)
        self.north = Mosquitto(persistence=True, log=True).start()
        self.addCleanup(self.north.close)
        self.south_uri = "tcp://127.0.0.1:%d" % self.south.port
        self.north_uri = "tcp://127.0.0.1:%d" % self.north.port
        plugins = ("  mqtt:\n    brokers: [%s]\n    client_id: itest-mqtt\n    mappings_file: {mappings}\n"
                   % self.south_uri)
        self.gw = Gateway(plugins_extra=plugins)
        mappings = os.path.join(self.gw.dir.name, "pipeline-mappings.yaml")
        with open(mappings, "w") as f:
            f.write(MAPPINGS)
        with open(self.gw.config) as f:
            text = f.read().replace("{mappings}", mappings)
        # Without the fixture's simulator: every model update and northbound value is the producer's.
        text, n = re.subn(r"(?m)^  sim:\n(    .*\n)+", "", text)
        self.assertEqual(n, 1, "the fixture's config changed: no sim plugin section to remove\n" + text)
        text += ("mqtt_northbound:\n  enabled: true\n  brokers: [%s]\n  qos: 1\n  queue: %d\n"
                 % (self.north_uri, GATEWAY_QUEUE))
        self.gw.write_config(text=text)
        self.gw.start()
        self.addCleanup(self.stop_gateway)
        self.procs = []
        self.outs = {}
        self.addCleanup(self.kill_procs)   # runs first (cleanups are LIFO)

    def spawn(self, name, *args):
        p, lines = super().spawn(*args)
        self.outs[name] = lines
        return p, lines

    def metrics(self):
        status, _, body = self.gw.request("GET", "/metrics", timeout=10.0)
        self.assertEqual(status, 200, body[:300])
        return parse_metrics(body.decode())

    def north_log(self, what):
        """Lines of the gateway's northbound publisher log that contain `what`."""
        return [l for l in self.gw.logs().splitlines() if "mqtt-northbound" in l and what in l]

    def diagnostics(self, *parts):
        try:
            metrics = {k: v for k, v in self.metrics().items() if "northbound" in k or "model" in k
                       or "dropped" in k}
        except Exception as e:  # noqa: BLE001 - the gateway may be gone; say so
            metrics = "unavailable: %r" % e
        alive = self.gw.proc is not None and self.gw.proc.poll() is None
        return "\n".join([str(p) for p in parts] + [
            "--- gateway alive: %s; metrics: %s" % (alive, metrics)] +
            ["--- %s ---\n%s" % (name, out.text()) for name, out in self.outs.items()] + [
            "--- gateway log (tail) ---", self.gw.logs()[-5000:],
            "--- north mosquitto log (tail) ---", self.north.log_text()[-3000:],
            "--- south mosquitto log (tail) ---", self.south.log_text()[-1500:]])

    def restart_north(self, producer_out):
        """SIGTERM NORTH (it saves sessions and queues), keep it down DOWN_S, start it on the same port.
        Returns what was under way when it went down."""
        at_stop = {"sent": last_sent(producer_out.lines),
                   "north_published": self.metrics().get("gatehouse_mqtt_northbound_published_total", -1)}
        t0 = time.time()
        self.north.stop()
        stopped = time.time()
        time.sleep(DOWN_S)
        self.north.start()
        at_stop["down_s"] = round(time.time() - stopped, 2)
        at_stop["stop_s"] = round(stopped - t0, 2)   # SIGTERM until the broker exited (saving its DB)
        return at_stop

    def test_100k_qos1_through_the_pipeline_while_north_restarts_twice(self):
        started = time.time()
        self.assertTrue(self.wait_for(lambda: (self.plugin() or {}).get("health") == "running", 15),
                        self.diagnostics("the MQTT bridge did not run:", self.plugin()))
        self.assertTrue(self.wait_for(lambda: self.metrics().get("gatehouse_mqtt_northbound_connected") == 1, 15),
                        self.diagnostics("the gateway did not connect to NORTH"))

        counter, counter_out = self.spawn("far-end counter", "count", "--uri", self.north_uri, "--topic", NORTH_TOPIC,
                                          "--expect", N, "--client-id", "itest-far-end", "--qos", 1,
                                          "--timeout", COUNTER_TIMEOUT_S)
        self.assertTrue(counter_out.wait(lambda ls: "ready" in ls, 15), self.diagnostics("the counter did not subscribe"))
        before = self.metrics()

        producer, producer_out = self.spawn("producer", "pub", "--uri", self.south_uri, "--topic", "bulk/meter-1/seq",
                                            "--count", N, "--qos", 1, "--inflight", 100, "--rate", RATE,
                                            "--client-id", "itest-pipeline-producer", "--timeout", PRODUCER_TIMEOUT_S)
        producer_started = time.time()

        restarts = []
        for i, at in enumerate(STOP_AT):
            if i > 0:
                # The gateway must be back on NORTH before the next restart, or it would be one outage.
                self.assertTrue(
                    self.wait_for(lambda: self.metrics().get("gatehouse_mqtt_northbound_connected") == 1,
                                  RECONNECT_TIMEOUT_S),
                    self.diagnostics("the gateway did not reconnect to NORTH after restart %d" % i, restarts))
            self.assertTrue(producer_out.wait(lambda ls: last_sent(ls) >= at, 60),
                            self.diagnostics("the producer did not reach %d" % at))
            restarts.append(self.restart_north(producer_out))
            # The broker must go down while values still flow through the gateway to it.
            self.assertLess(restarts[-1]["north_published"], N,
                            self.diagnostics("NORTH restart %d came after the gateway had published everything" % (i + 1),
                                             restarts))

        # The producer gets all N acknowledged by SOUTH (which never restarts).
        try:
            producer.wait(PRODUCER_TIMEOUT_S + 15)
        except subprocess.TimeoutExpired:
            self.fail(self.diagnostics("the producer did not end"))
        producer_done = time.time()
        done = [l for l in producer_out.lines if l.startswith("done ")]
        self.assertEqual(producer.returncode, 0, self.diagnostics("the producer failed"))
        self.assertEqual(len(done), 1, self.diagnostics("no summary from the producer"))
        self.assertRegex(done[0], r"^done acked=%d republished=\d+$" % N)

        # The far end: every value 1..N (distinct; duplicates allowed). The counter ends by itself
        # when it has them all, or at its --timeout, printing the first missing values.
        try:
            counter.wait(COUNTER_TIMEOUT_S + 15)
        except subprocess.TimeoutExpired:
            self.fail(self.diagnostics("the far-end counter did not end"))
        counted = time.time()
        summary = [l for l in counter_out.lines if l.startswith("distinct=")]
        self.assertEqual(len(summary), 1, self.diagnostics("no summary from the far-end counter"))
        m = re.fullmatch(r"distinct=(\d+) total=(\d+) min=(-?\d+) max=(-?\d+) dup=(\d+) foreign=(\d+)", summary[0])
        self.assertIsNotNone(m, summary)
        distinct, total, lo, hi, dup, foreign = (int(g) for g in m.groups())
        self.assertEqual(counter.returncode, 0,
                         self.diagnostics("far end: %d distinct of %d (%d missing; the counter's stderr names the "
                                          "first ones)" % (distinct, N, N - distinct), restarts))
        self.assertEqual((distinct, lo, hi), (N, 1, N), summary[0])
        self.assertEqual(foreign, 0, "northbound payloads without an integer value")

        # The gateway: reconnected after each restart, nothing dropped or failed, still running.
        self.assertIsNone(self.gw.proc.poll(), self.diagnostics("the gateway died"))
        self.assertTrue(self.wait_for(lambda: self.metrics().get("gatehouse_mqtt_northbound_connected") == 1,
                                      RECONNECT_TIMEOUT_S), self.diagnostics("the gateway is not connected at the end"))
        after = self.wait_for(lambda: (lambda m: m if m.get("gatehouse_mqtt_northbound_queued") == 0 else None)(
            self.metrics()), 15)
        self.assertIsNotNone(after, self.diagnostics("the gateway still has values queued northbound"))
        connects = self.north_log("connected to %s" % self.north_uri)
        losses = self.north_log("connection to the broker lost")
        self.assertGreaterEqual(len(connects), 3, self.diagnostics("expected 3 connections to NORTH", connects))
        self.assertGreaterEqual(len(losses), 2, self.diagnostics("expected 2 lost connections", losses))
        for name in ("gatehouse_mqtt_northbound_dropped_total", "gatehouse_mqtt_northbound_failures_total",
                     "gatehouse_notifications_dropped_total", "gatehouse_model_updates_rejected_total"):
            self.assertEqual(after.get(name), 0, self.diagnostics("%s is not 0" % name))
        published = after["gatehouse_mqtt_northbound_published_total"] - before["gatehouse_mqtt_northbound_published_total"]
        self.assertGreaterEqual(published, N, self.diagnostics("the gateway reports fewer values published"))

        # The model took every value once (SOUTH never restarts: no duplicates on that side).
        updates = after["gatehouse_model_updates_total"] - before["gatehouse_model_updates_total"]
        stale = after["gatehouse_model_updates_stale_total"] - before["gatehouse_model_updates_stale_total"]
        self.assertEqual((updates, stale), (N, 0), self.diagnostics("model updates (accepted, stale) during the run"))
        self.assertEqual((self.plugin() or {}).get("health"), "running", self.plugin())

        counter_losses = [l for l in counter_out.err if "connection lost" in l]
        print("\nproducer: %s in %.1f s; NORTH restarts: %s; far end: %s (%.1f s after the producer ended), "
              "%d lost connections; gateway: %d connections to NORTH, published %d, resent %d; whole test %.1f s"
              % (done[0], producer_done - producer_started, restarts, summary[0], counted - producer_done,
                 len(counter_losses), len(connects), published,
                 after.get("gatehouse_mqtt_northbound_resent_total", -1), time.time() - started))
        if dup > 2000:
            print("far end's connection losses: %s" % counter_losses)


if __name__ == "__main__":
    unittest.main()
