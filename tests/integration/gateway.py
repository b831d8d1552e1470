"""Test fixture: runs the real gatehouse binary with a generated config on a loopback port.

The gateway is started with port 0; the port it bound is read from its "listening on" log line.
It is stopped by PID (SIGTERM) and its exit code checked.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

BIN = os.environ.get("GATEHOUSE_BIN", "build/core/app/gatehouse")

DEFAULT_CONFIG = """
gateway:
  id: itest
  log_level: info
http:
  listen: 127.0.0.1
  port: 0
  threads: 2
{http_extra}
auth:
  mode: none
plugin_host:
  state_dir: {state_dir}
{host_extra}
plugins:
  sim:
    temperature_sensors: {sensors}
    lights: 1
    interval_ms: {interval}
{plugins_extra}
"""


class Gateway:
    def __init__(self, sensors=1, interval=100, http_extra="", host_extra="", plugins_extra=""):
        self.dir = tempfile.TemporaryDirectory(prefix="gatehouse-it-")
        self.config = os.path.join(self.dir.name, "gatehouse.yaml")
        self.write_config(sensors=sensors, interval=interval, http_extra=http_extra, host_extra=host_extra,
                          plugins_extra=plugins_extra)
        self.proc = None
        self.port = None
        self.log = []
        self._log_lock = threading.Lock()

    def write_config(self, sensors=1, interval=100, http_extra="", host_extra="", plugins_extra="", text=None):
        """Writes the gateway's config file (the default template, or `text` as given)."""
        if text is None:
            text = DEFAULT_CONFIG.format(sensors=sensors, interval=interval, http_extra=http_extra,
                                         host_extra=host_extra, plugins_extra=plugins_extra,
                                         state_dir=os.path.join(self.dir.name, "state"))
        with open(self.config, "w") as f:
            f.write(text)

    def start(self, timeout=10.0, env=None):
        self.proc = subprocess.Popen([BIN, "run", "--config", self.config], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, env=env)
        found = threading.Event()

        def reader():
            for line in self.proc.stderr:
                with self._log_lock:
                    self.log.append(line)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m:
                    self.port = int(m.group(1))
                    found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(timeout):
            self.stop()
            raise RuntimeError("gateway did not start: " + "".join(self.log))
        return self

    def logs(self):
        with self._log_lock:
            return "".join(self.log)

    def stop(self, timeout=5.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("gateway did not stop within %.0fs of SIGTERM" % timeout)
        code = self.proc.returncode
        if code != 0:
            # Show why (sanitizer reports, errors) in the test output.
            import sys
            time.sleep(0.2)
            sys.stderr.write("\n--- gateway log (exit code %s) ---\n%s\n" % (code, self.logs()[-20000:]))
        self.proc.stderr.close()
        self.proc = None
        self.dir.cleanup()
        return code

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # --- HTTP helpers ---
    def request(self, method, path, body=None, headers=None, timeout=5.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data
        finally:
            conn.close()

    def json(self, method, path, body=None, expect=200):
        status, headers, data = self.request(method, path, body)
        doc = json.loads(data) if data else None
        if expect is not None and status != expect:
            raise AssertionError("%s %s -> %d (expected %d): %s" % (method, path, status, expect, data[:500]))
        return doc

    def open_stream(self, path, rcvbuf=None, timeout=5.0):
        """Opens an SSE stream; returns the socket after the response head was read."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n" % path).encode())
        return s


def subscribed(sock, deadline_s=5.0):
    """Reads an SSE response head and the gateway's ": subscribed" comment, which it sends only
    once the subscription is registered. Returns the bytes read after the head."""
    buf = b""
    end = time.time() + deadline_s
    while b": subscribed\n\n" not in buf.split(b"\r\n\r\n", 1)[-1] and time.time() < end:
        sock.settimeout(max(0.05, end - time.time()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    if b"\r\n\r\n" not in buf or b": subscribed" not in buf:
        raise AssertionError("stream did not start: %r" % buf[:300])
    return buf.split(b"\r\n\r\n", 1)[1]


def read_events(sock, want, deadline_s=5.0, buf=b"", head_done=False):
    """Reads SSE events from sock until `want` events (excluding comments) arrived or the deadline.

    Returns (events, rest) where events is a list of (event_name, data_dict_or_text); the response
    head, when read here, is the event ("__head__", text) and does not count towards `want`.
    """
    events = []
    counted = 0
    end = time.time() + deadline_s
    while counted < want and time.time() < end:
        try:
            sock.settimeout(max(0.05, end - time.time()))
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        if not head_done:
            if b"\r\n\r\n" not in buf:
                continue
            head, buf = buf.split(b"\r\n\r\n", 1)
            events.append(("__head__", head.decode()))
            head_done = True
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            name, data = None, []
            for line in block.decode().split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
            if name is None:
                continue  # comment (": ping", ": subscribed")
            text = "\n".join(data)
            counted += 1
            try:
                events.append((name, json.loads(text)))
            except ValueError:
                events.append((name, text))
    return events, buf
