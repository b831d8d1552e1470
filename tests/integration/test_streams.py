"""Live streams (SSE) and connection load against the real gateway binary."""
import re
import resource
import socket
import time
import unittest

from gateway import Gateway, read_events, subscribed

T = "/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature"
L = "/sensinact/providers/sim-light-1/services/light/resources"


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def timed_get(gw, path, timeout=5.0):
    start = time.perf_counter()
    status, _, _ = gw.request("GET", path, timeout=timeout)
    return status, time.perf_counter() - start


class StreamsTest(unittest.TestCase):
    def setUp(self):
        self.gw = None

    def tearDown(self):
        if self.gw:
            self.assertEqual(self.gw.stop(), 0)

    def test_resource_subscribe_streams_data_events(self):
        self.gw = Gateway(interval=50).start()
        s = self.gw.open_stream(T + "/SUBSCRIBE")
        events, _ = read_events(s, 3, deadline_s=5)
        s.close()
        head = events[0][1]
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertIn("text/event-stream", head.lower())
        data = [e for n, e in events if n == "data"]
        self.assertGreaterEqual(len(data), 3, events)
        for d in data:
            self.assertEqual(d["provider"], "sim-temperature-1")
            self.assertEqual(d["service"], "sensor")
            self.assertEqual(d["resource"], "temperature")
            self.assertIsInstance(d["newValue"], float)
            self.assertIn("oldValue", d)
            self.assertGreater(d["timestamp"], 1600000000000)
        self.assertEqual(data[1]["oldValue"], data[0]["newValue"])

    def test_subscribe_sees_set_and_closing_unsubscribes(self):
        self.gw = Gateway(interval=1000).start()
        s = self.gw.open_stream(L + "/brightness/SUBSCRIBE")
        rest = subscribed(s)
        self.gw.json("POST", L + "/brightness/SET", {"value": 33})
        events, _ = read_events(s, 1, deadline_s=3, buf=rest, head_done=True)
        data = [e for n, e in events if n == "data"]
        self.assertEqual(data[0]["newValue"], 33)
        s.close()
        deadline = time.time() + 3
        while time.time() < deadline:
            text = self.gw.request("GET", "/metrics")[2].decode()
            if "gatehouse_sse_clients 0" in text:
                break
            time.sleep(0.05)
        self.assertIn("gatehouse_sse_clients 0", text)

    def test_subscribe_unknown_resource_is_404(self):
        self.gw = Gateway().start()
        self.gw.json("GET", L + "/nothing/SUBSCRIBE", expect=404)

    def test_snapshot_subscribe_with_filter(self):
        self.gw = Gateway(sensors=3, interval=50).start()
        s = self.gw.open_stream("/sensinact/snapshot/subscribe?filter=(PROVIDER=sim-temperature-2)")
        events, _ = read_events(s, 5, deadline_s=5)
        s.close()
        updates = [e for n, e in events if n == "update"]
        self.assertGreaterEqual(len(updates), 5)
        self.assertEqual({u["provider"] for u in updates}, {"sim-temperature-2"})
        self.gw.json("GET", "/sensinact/snapshot/subscribe?filter=(((", expect=400)

    def test_slow_client_gets_lagged_signal_and_drops_are_counted(self):
        # 200 sensors every 10 ms = 20k events/s; the client reads nothing for a while.
        self.gw = Gateway(sensors=200, interval=10, http_extra="  sse_queue: 64").start()
        s = self.gw.open_stream("/sensinact/snapshot/subscribe", rcvbuf=4096)
        deadline = time.time() + 20
        dropped = 0
        while time.time() < deadline:
            text = self.gw.request("GET", "/metrics")[2].decode()
            line = [l for l in text.splitlines() if l.startswith("gatehouse_sse_events_dropped_total ")][0]
            dropped = int(line.split()[1])
            if dropped > 0:
                break
            time.sleep(0.2)
        self.assertGreater(dropped, 0, "no drop was counted for a client that does not read")
        # Ingest was not slowed: updates keep flowing while the client is stuck.
        before = self.gw.json("GET", T + "/GET")["response"]["timestamp"]
        time.sleep(0.3)
        after = self.gw.json("GET", T + "/GET")["response"]["timestamp"]
        self.assertGreater(after, before)
        events, _ = read_events(s, 100000, deadline_s=4)
        s.close()
        lagged = [e for n, e in events if n == "lagged"]
        self.assertTrue(lagged, "the slow client was never told it lagged")
        self.assertGreater(lagged[0]["dropped"], 0)

    def test_client_that_stops_reading_is_disconnected(self):
        extra = "  sse_queue: 64\n  sse_heartbeat_ms: 100\n  sse_stall_timeout_ms: 1000"
        self.gw = Gateway(sensors=200, interval=10, http_extra=extra).start()
        s = self.gw.open_stream("/sensinact/snapshot/subscribe", rcvbuf=4096)
        deadline = time.time() + 30
        stalled = 0
        while time.time() < deadline:
            text = self.gw.request("GET", "/metrics")[2].decode()
            stalled = int(re.search(r"^gatehouse_sse_streams_stalled_total (\d+)$", text, re.M).group(1))
            if stalled and "gatehouse_sse_clients 0" in text:
                break
            time.sleep(0.2)
        self.assertEqual(stalled, 1, "the stuck client was not disconnected")
        self.assertIn("gatehouse_sse_clients 0", text)
        # The gateway closed the connection: reading it now reaches the end of the stream.
        s.settimeout(10)
        while s.recv(1 << 20):
            pass
        s.close()

    def test_1000_sse_clients_do_not_block_plain_gets(self):
        raise_fd_limit(4096)
        self.gw = Gateway(interval=100).start()
        streams = []
        for _ in range(1000):
            streams.append(self.gw.open_stream(T + "/SUBSCRIBE"))
        # Every stream got its response head (none is waiting for a free request thread).
        for s in streams[:: 50]:
            events, _ = read_events(s, 1, deadline_s=5)
            self.assertTrue(events and events[0][0] == "__head__", events)
        deadline = time.time() + 5
        while time.time() < deadline:
            text = self.gw.request("GET", "/metrics")[2].decode()
            if "gatehouse_sse_clients 1000" in text:
                break
            time.sleep(0.05)
        self.assertIn("gatehouse_sse_clients 1000", text)
        worst = 0.0
        for _ in range(50):
            status, took = timed_get(self.gw, T + "/GET")
            self.assertEqual(status, 200)
            worst = max(worst, took)
        self.assertLess(worst, 0.5, "a GET took %.3fs with 1000 SSE clients open" % worst)
        # The streams are live: a late stream still receives data.
        events, _ = read_events(streams[-1], 1, deadline_s=3)
        self.assertTrue([e for n, e in events if n == "data"])
        for s in streams:
            s.close()

    def test_10k_idle_connections_bounded_memory_and_others_served(self):
        limit = raise_fd_limit(12000)
        if limit < 10500:
            self.skipTest("RLIMIT_NOFILE hard limit %d is below 10500" % limit)
        self.gw = Gateway(interval=1000).start()
        rss_before = self.gw.rss_kb()
        idle = []
        for _ in range(10000):
            c = socket.create_connection(("127.0.0.1", self.gw.port), timeout=5)
            idle.append(c)
        # Half of them send half a request head and stall (slowloris-style), the rest say nothing.
        for c in idle[::2]:
            c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.5)
        status, took = timed_get(self.gw, T + "/GET")
        self.assertEqual(status, 200)
        self.assertLess(took, 0.5)
        rss_after = self.gw.rss_kb()
        per_conn = (rss_after - rss_before) * 1024 / 10000
        print("\nRSS %d kB -> %d kB: %.0f bytes per idle connection" % (rss_before, rss_after, per_conn))
        self.assertLess(per_conn, 16 * 1024, "idle connections cost %.0f bytes each" % per_conn)
        text = self.gw.request("GET", "/metrics")[2].decode()
        self.assertRegex(text, r"gatehouse_http_connections_open (1000[0-9]|10[1-9][0-9]{2})")
        for c in idle:
            c.close()


if __name__ == "__main__":
    unittest.main()
