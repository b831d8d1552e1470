"""Helpers shared by the Python benchmarks (plugin_startup.py, mqtt_ingest.py, mqtt_latency.py)."""
import socket


class SetupError(Exception):
    """The benchmark could not run or a run was invalid (exit 2)."""


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(path, lines=20):
    """The last lines of a log file, for error messages."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(no log: %s)" % e


def tcp_ok(port, timeout=1.0):
    """True when something accepts a TCP connection on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False
