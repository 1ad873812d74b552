"""Shared benchmark plumbing: uWSGI from myapp.ini, wrk runs, figures and tables.

Each feature's bench/<feature>/run.py imports this; nothing here is feature code.
"""

import http.client
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
UWSGI = os.path.join(ROOT, ".venv", "bin", "uwsgi")
# Production settings, as deployed: a strong secret and a real CORS origin list.
SECRET_KEY = secrets.token_urlsafe(48)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uWSGI serving myapp.ini (2 processes, its thread count) on a loopback port."""

    def __init__(self, name, database_url, app_dir=ROOT, extra_env=None, uwsgi_args=()):
        self.name = name
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "MYAPP_CONFIG": "production",
                "SECRET_KEY": SECRET_KEY,
                "CORS_ORIGINS": "https://dashboard.example.com",
                "DATABASE_URL": database_url,
                "MYAPP_HTTP": f"127.0.0.1:{self.port}",
                "MYAPP_PROCESSES": "2",
            }
        )
        env.pop("MYAPP_THREADS", None)
        env.update(extra_env or {})
        os.makedirs(RESULTS, exist_ok=True)
        self.log_path = os.path.join(RESULTS, f"uwsgi-{name}.log")
        self.log = open(self.log_path, "w")
        # The same ini for every app: only the directory holding wsgi.py differs.
        self.process = subprocess.Popen(
            [UWSGI, "--ini", os.path.join(ROOT, "myapp.ini"), *uwsgi_args],
            cwd=app_dir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _wait(self, processes=2):
        """Until every worker has loaded the app (lazy-apps loads after fork)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uWSGI {self.name} exited; see {self.log_path}")
            with open(self.log_path) as log:
                ready = log.read().count(") ready in ")
            if ready >= processes and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"uWSGI {self.name} did not start; see {self.log_path}")

    def _answers(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/api/v1/health")
            conn.getresponse().read()
            conn.close()
            return True
        except OSError:
            return False

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def request(server, method, path, body=None, headers=None):
    """One HTTP request; (status, parsed JSON or raw bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    kind = response.getheader("Content-Type") or ""
    return response.status, (json.loads(payload) if "json" in kind else payload)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url, script, args=(), duration=10, connections=8, threads=1, warmup=2):
    """Run wrk with a Lua script; requests/s, p50/p99 in ms, and error counts.

    A short unmeasured run first warms both workers (page cache, compiled SQL).
    """
    command = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "-s", script]
    # wrk's own 2 s timeout would drop slow answers from the latencies.
    command += ["--timeout", "30s"]
    tail = [url] + (["--", *args] if args else [])
    if warmup:
        subprocess.run(
            command + [f"-d{warmup}s"] + tail, capture_output=True, check=True
        )
    output = subprocess.run(
        command + [f"-d{duration}s"] + tail, capture_output=True, text=True, check=True
    ).stdout
    figures = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", output)[1]),
        "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", output)[1]),
        "requests": int(re.search(r"(\d+) requests in", output)[1]),
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", output
    )
    figures["non_2xx"] = int(bad[1]) if bad else 0
    # uWSGI's http-socket closes each connection after its response, which wrk
    # counts as a read error and reconnects; only the other kinds are failures.
    figures["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    return figures


def latencies(samples_ms):
    """p50/p99 of a list of latencies in ms."""
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"p50_ms": statistics.median(ordered), "p99_ms": p99}


def say(*parts):
    print(*parts, flush=True)
    sys.stdout.flush()
