"""Real servers on loopback: free ports and uWSGI from myapp.ini.

One launcher for every use: the test suites (testing config, health wait), the
end-to-end suites (own env, worker count, no wait for refused configs), the
benchmarks (production config, their own log directory and app directory) and
the deploy tests (stats socket).
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import NamedTuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "test-output")
UWSGI = os.path.join(os.path.dirname(sys.executable), "uwsgi")
# What uWSGI logs once a worker has loaded the app (lazy-apps: after the fork).
APP_READY = " (default app)"
# The line uWSGI logs for each request the app answered.
REQUEST_LINE = re.compile(
    r"^\[pid: (\d+)\|.*\] ([A-Z]+) (\S+) => generated .*\(HTTP/1\.[01] (\d{3})\)",
    re.M,
)


# Without MYAPP_SOCKET uWSGI's HTTP router is one more child of the master.
ROUTER_SPAWNED = re.compile(r"spawned uWSGI http \d+ \(pid: (\d+)\)")


class LoggedRequest(NamedTuple):
    pid: int
    method: str
    uri: str
    status: int


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_tool(name, package):
    """The tool's path; a missing tool fails the run (CI installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is required by the end-to-end suite and was not found: "
            f"apt-get install -y {package} (.ci/run installs it)",
            pytrace=False,
        )
    return path


def wait_until(predicate, timeout, interval=0.2, what="condition"):
    """Poll predicate until it returns truthy (and return that), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s")


class Uwsgi:
    """uWSGI serving myapp.ini on a free loopback port, its output in one log.

    env is laid over os.environ (a None value removes a variable); processes
    and threads become MYAPP_PROCESSES and MYAPP_THREADS unless None. port is
    MYAPP_HTTP's (a free one unless given).
    """

    def __init__(
        self,
        env=None,
        *,
        processes=2,
        threads=None,
        name="uwsgi",
        log_dir=OUTPUT,
        cwd=ROOT,
        args=(),
        port=None,
    ):
        self.port = port or free_port()
        self.processes = processes
        env = {**os.environ, **(env or {}), "MYAPP_HTTP": f"127.0.0.1:{self.port}"}
        for key, value in (("MYAPP_PROCESSES", processes), ("MYAPP_THREADS", threads)):
            if value is not None:
                env[key] = str(value)
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, f"{name}-{self.port}.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [UWSGI, "--ini", os.path.join(ROOT, "myapp.ini"), *args],
                cwd=cwd,
                env={k: v for k, v in env.items() if v is not None},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, health=True, timeout=60):
        """Until every worker has loaded the app and the server answers HTTP.

        health=True also wants GET /api/v1/health to answer 200 (the database
        is reachable); otherwise any answer will do.
        """

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"uWSGI exited with {self.process.returncode}; see {self.log_path}"
                )
            if self.log().count(APP_READY) < self.processes:
                return False
            try:
                status = self.request("GET", "/api/v1/health", timeout=5).status
            except OSError:
                return False
            return status == 200 or not health

        try:
            wait_until(ready, timeout, what=f"uWSGI ready ({self.log_path})")
        except AssertionError:
            self.stop()
            raise
        return self

    def log(self):
        """Everything uWSGI and the app have written so far."""
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def requests_logged(self):
        """Every request the app answered so far, by worker: [LoggedRequest]."""
        return [
            LoggedRequest(int(pid), method, uri, int(status))
            for pid, method, uri, status in REQUEST_LINE.findall(self.log())
        ]

    def request(self, method, path, body=None, headers=None, raw=None, timeout=30):
        """One request on a new connection; the response with .body and .json."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            response.body = response.read()
        finally:
            conn.close()
        content_type = response.getheader("Content-Type") or ""
        response.json = (
            json.loads(response.body)
            if "json" in content_type and response.body
            else None
        )
        return response

    def children(self):
        """The master's live processes: its workers and, without nginx, its router."""
        master = self.process.pid
        with open(f"/proc/{master}/task/{master}/children") as handle:
            return [int(pid) for pid in handle.read().split()]

    def worker_pids(self):
        """The master's live worker processes (not its HTTP router)."""
        routers = {int(pid) for pid in ROUTER_SPAWNED.findall(self.log())}
        return [pid for pid in self.children() if pid not in routers]

    def router_pid(self):
        """The master's HTTP router process (myapp.ini without MYAPP_SOCKET)."""
        routers = {int(pid) for pid in ROUTER_SPAWNED.findall(self.log())}
        (router,) = routers.intersection(self.children())
        return router

    def stop(self):
        """SIGTERM the master, then SIGKILL it and any worker that outlived it.

        A worker stuck on shutdown (seen once: a futex wait after SIGTERM) would
        otherwise be orphaned when the master is killed.
        """
        if self.process.poll() is not None:
            return
        try:
            workers = self.children()
        except FileNotFoundError:  # the master exited just now
            workers = []
        stop_process(self.process)
        for pid in workers:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if b"uwsgi" in handle.read():
                        os.kill(pid, signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass


def stop_process(process, timeout=15):
    """SIGTERM, then SIGKILL if it outlives timeout; its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def occupy_workers(server, count):
    """Hold `count` workers on half-sent requests, so the others take the load."""
    blockers = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        blockers.append(sock)
    time.sleep(0.2)  # let a worker accept each one
    return blockers


def start_uwsgi(env=None, *, health=True, timeout=60, **options):
    """A Uwsgi (see its options) once every worker serves; stopped if it never does."""
    return Uwsgi(env, **options).wait_ready(health=health, timeout=timeout)


def env_for_tests(database_url, **extra):
    """The env of a uWSGI in testing config on the run's database."""
    return {"MYAPP_CONFIG": "testing", "DATABASE_URL": database_url, **extra}


class Redis:
    """A throwaway redis-server on a free loopback port, without persistence."""

    def __init__(self, log_dir=OUTPUT):
        binary = require_tool("redis-server", "redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, f"redis-{self.port}.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
                + ["--save", "", "--appendonly", "no", "--protected-mode", "yes"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(self.answers, 15, interval=0.1, what="redis-server PONG")
        except AssertionError:
            self.stop()
            raise

    def answers(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited; see {self.log_path}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        stop_process(self.process)
