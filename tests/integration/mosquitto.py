"""Test fixture: a real mosquitto broker on a free loopback port, stopped by PID (TESTING.md)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    def __init__(self, persistence=False, log=False, unbounded_queues=None, verbose=False):
        """persistence=True: the broker saves its sessions, subscriptions and queued messages on
        SIGTERM (stop()) and restores them at the next start() on the same port, as a broker
        restart in the field does. Queues are unbounded, so nothing is dropped while a persistent
        subscriber is away. log=True: the broker's log goes to log_text() instead of nowhere.
        unbounded_queues (default: as persistence): max_queued_messages 0 and max_inflight_messages
        1000, without which a fast QoS1 stream loses a fraction of a percent at a subscriber
        (TESTING.md); True also for a broker without persistence. verbose=True: log_type all
        (every packet the broker receives and sends is logged)."""
        # As root mosquitto drops to user mosquitto: the config must be readable by it.
        self.dir = tempfile.mkdtemp(prefix="gatehouse-mosquitto-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log") if log else None
        text = "listener %d 127.0.0.1\nallow_anonymous true\n" % self.port
        if persistence:
            # ... and the persistence folder writable by it (mosquitto.db is written there).
            data = os.path.join(self.dir, "data")
            os.mkdir(data)
            os.chmod(data, 0o777)
            text += "persistence true\npersistence_location %s/\nautosave_interval 1800\n" % data
        else:
            text += "persistence false\n"
        if unbounded_queues is None:
            unbounded_queues = persistence
        if unbounded_queues:
            text += "max_queued_messages 0\nmax_inflight_messages 1000\n"
        if verbose:
            text += "log_type all\n"
        text += "log_dest stderr\n"
        with open(self.conf, "w") as f:
            f.write(text)
        os.chmod(self.conf, 0o644)
        self.proc = None

    def start(self, timeout=10.0):
        if self.log_path:
            with open(self.log_path, "a") as log:
                self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=log)
        else:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("mosquitto did not start on port %d" % self.port)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self):
        """The broker's log so far (log=True), else ""."""
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def subscribe(self, topic, count, timeout=10):
        """Runs mosquitto_sub until `count` messages arrived; returns (topic, payload) pairs."""
        r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-t", topic, "-v",
                            "-C", str(count), "-W", str(timeout)], capture_output=True, text=True, timeout=timeout + 5)
        return [tuple(line.split(" ", 1)) for line in r.stdout.splitlines() if line]
