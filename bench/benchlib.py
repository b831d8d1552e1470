"""Helpers shared by the Python benchmarks (plugin_startup.py, mqtt_ingest.py, mqtt_latency.py, rest_auth.py,
nbiot_ingest.py, coap_observe.py)."""
import collections
import os
import signal
import socket
import subprocess
import time


class SetupError(Exception):
    """The benchmark could not run or a run was invalid (exit 2)."""


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_udp_port():
    """A loopback UDP port nothing is bound to (bound, then released)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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


class Processes:
    """Every long-running process this script starts, stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log_path, **kw):
        log = open(log_path, "w")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kw)
        log.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc, what, log_path, ok_codes=(0,)):
        """SIGTERM (repeated each second: mosquitto may lose one early on), wait up to 10 s; the
        exit code must be in ok_codes."""
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10.0
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    proc.wait(1.0)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGTERM)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                self.procs.remove(proc)
                raise SetupError("%s (pid %d) did not stop within 10 s of SIGTERM" % (what, proc.pid))
        self.procs.remove(proc)
        if proc.returncode not in ok_codes:
            raise SetupError("%s exited with %d; log:\n%s" % (what, proc.returncode, tail(log_path)))

    def kill_all(self):
        for proc in list(self.procs):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
            self.procs.remove(proc)


def _stat_cpu(path):
    """(comm, utime + stime in seconds) from a /proc/.../stat file."""
    with open(path) as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return comm, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime + stime of pid so far, in seconds (/proc/PID/stat), or 0.0 when unreadable."""
    try:
        return _stat_cpu("/proc/%d/stat" % pid)[1]
    except (OSError, ValueError, IndexError):
        return 0.0


def thread_cpu(pid):
    """{tid: (thread name, cpu seconds so far)} of pid's live threads."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            out[tid] = _stat_cpu("/proc/%d/task/%s/stat" % (pid, tid))
        except (OSError, ValueError, IndexError):
            pass
    return out


def thread_cpu_delta(before, after, wall):
    """{thread name: % of one core} between two thread_cpu() samples (threads of one name summed)."""
    out = collections.defaultdict(float)
    for tid, (name, cpu) in after.items():
        out[name] += (cpu - before.get(tid, (name, 0.0))[1]) / wall * 100.0
    return out


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
