"""The failover test's app side: uWSGI hosts in namespaces, and a write load.

Each app host runs uWSGI from myapp.ini in its own network namespace (this
checkout and its .venv, production config) on the multi-host URL of
testing/pgcluster.py; nginx (testing/hosts.Nginx, the shipped multi-host site)
faces the load on loopback. The load is what clients do: batches with
client_ids and single uploads with a device key, each retried with the same
client_ids until it is answered 2xx, every answer recorded.
"""

import http.client
import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter

from testing import hosts as net
from testing.servers import UWSGI, stop_process

ROOT = net.ROOT
APP_PORT = 8000
PASSWORD = "correct horse battery"
BATCH = 10


def call(port, method, path, body=None, token=None, timeout=30):
    """(status, json body or None, headers) of one request through nginx."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        kind = response.getheader("Content-Type") or ""
        parsed = json.loads(payload) if payload and "json" in kind else None
        return response.status, parsed, dict(response.getheaders())
    finally:
        conn.close()


class AppHost:
    """uWSGI from myapp.ini in host `name`'s namespace, on its bridge address."""

    def __init__(self, network, name, env, log_dir):
        self.name = name
        self.address = network.addresses[name]
        self.log_path = os.path.join(log_dir, f"failover-app-{name}.log")
        self.log = open(self.log_path, "w")
        self.prefix = network.prefix(name)
        self.env = {
            **os.environ,
            **env,
            "MYAPP_HTTP": f"{self.address}:{APP_PORT}",
            "MYAPP_PROCESSES": "1",  # a restart loads the app once: CI's budget
            "MYAPP_THREADS": "4",
        }
        self.start()

    def start(self):
        """uWSGI and the alerts worker, as myapp.service and myapp-worker.service."""
        self.process = subprocess.Popen(
            self.prefix + [UWSGI, "--ini", os.path.join(ROOT, "myapp.ini")],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.worker = subprocess.Popen(
            self.prefix
            + [os.path.join(ROOT, ".venv", "bin", "flask"), "alerts", "worker"],
            cwd=ROOT,
            env={**self.env, "FLASK_APP": "wsgi"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def healthy(self):
        conn = http.client.HTTPConnection(self.address, APP_PORT, timeout=5)
        try:
            conn.request("GET", "/api/v1/health")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def restart(self, timeout=90):
        """Both stopped (SIGTERM) and started again; back once healthy."""
        for process in (self.worker, self.process):
            stop_process(process)
        self.start()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert time.monotonic() < deadline, f"host {self.name} never came back"
            time.sleep(0.2)

    def stop(self):
        for process in (self.worker, self.process):
            stop_process(process)
        self.log.close()


class Load:
    """Writers through nginx, bounded in count and time, until stopped.

    batches: [client_ids, attempts [(started, ended, status)], ids or None]
    singles: the same for one device upload each (a list of one client_id).
    """

    def __init__(self, port, token, device_key, limit_seconds=240, limit=20000):
        self.port = port
        self.tag = uuid.uuid4().hex[:8]  # its sensors' names: load-<tag>, device-<tag>
        self.token = token
        self.device_key = device_key
        self.batches = []
        self.singles = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + limit_seconds
        self.limit = limit
        self.sent = 0
        self.problems = []  # answers outside the contract, with what they were
        self.crashed = []
        self.threads = [
            threading.Thread(target=self.guard, args=(self.write_batches,), daemon=True)
            for _ in range(2)
        ] + [threading.Thread(target=self.guard, args=(self.upload,), daemon=True)]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=90)
        assert not self.crashed, self.crashed

    def guard(self, loop):
        try:
            loop()
        except BaseException as error:  # a silent dead thread would prove nothing
            self.crashed.append(repr(error))
            raise

    def running(self):
        return (
            not self.stopping.is_set()
            and time.monotonic() < self.deadline
            and self.sent < self.limit
        )

    def send(self, method, path, body, token, attempts):
        """One attempt: its record, and the answer's json if it was 2xx."""
        started = time.monotonic()
        try:
            status, parsed, headers = call(self.port, method, path, body, token)
        except (OSError, http.client.HTTPException) as error:
            status, parsed, headers = repr(error), None, {}
        ended = time.monotonic()
        with self.lock:
            self.sent += 1
            attempts.append((started, ended, status))
            if status == 503:
                retry = headers.get("Retry-After", "")
                kind = headers.get("Content-Type", "")
                if not retry.isdigit() or kind != "application/problem+json":
                    self.problems.append((status, retry, kind, parsed))
            elif not (isinstance(status, int) and 200 <= status < 300):
                self.problems.append((status, parsed))
        return parsed if isinstance(status, int) and status < 300 else None

    def until_stored(self, record, method, path, body, token):
        """What a client does: the same upload again until it is answered 2xx."""
        while self.running():
            answer = self.send(method, path, body, token, record[1])
            if answer is not None:
                return answer
            time.sleep(0.2)
        return None

    def write_batches(self):
        while self.running():
            client_ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            record = [client_ids, [], None]
            with self.lock:
                self.batches.append(record)
            items = [
                {"sensor": f"load-{self.tag}", "data": {"n": n}, "client_id": client_id}
                for n, client_id in enumerate(client_ids)
            ]
            answer = self.until_stored(
                record,
                "POST",
                "/api/v1/readings/batch",
                {"readings": items},
                self.token,
            )
            if answer is not None:
                record[2] = answer["ids"]
            time.sleep(0.01)

    def upload(self):
        while self.running():
            client_id = str(uuid.uuid4())
            record = [[client_id], [], None]
            with self.lock:
                self.singles.append(record)
            body = {
                "sensor": f"device-{self.tag}",
                "data": {"v": 1},
                "client_id": client_id,
            }
            answer = self.until_stored(
                record, "POST", "/api/v1/readings/", body, self.device_key
            )
            if answer is not None:
                record[2] = [answer["id"]]
            time.sleep(0.01)

    def attempts(self, since=None, until=None):
        """Every attempt (started, ended, status) that started in the window."""
        with self.lock:
            found = [a for r in self.batches + self.singles for a in r[1]]
        return [
            a
            for a in found
            if (since is None or a[0] >= since) and (until is None or a[0] < until)
        ]

    def first_write_after(self, moment):
        """Seconds from moment to the end of the first 2xx started after it."""
        ends = [
            ended
            for started, ended, status in self.attempts(since=moment)
            if isinstance(status, int) and status < 300
        ]
        return min(ends) - moment if ends else None

    def last_write_before(self, moment):
        ends = [
            ended
            for started, ended, status in self.attempts()
            if isinstance(status, int) and status < 300 and ended <= moment
        ]
        return max(ends) if ends else None

    def slowest(self):
        return max(ended - started for started, ended, _ in self.attempts())

    def longest_gap(self):
        """The longest time between two acknowledged writes' answers."""
        ends = sorted(
            ended
            for _, ended, status in self.attempts()
            if isinstance(status, int) and status < 300
        )
        return max((b - a for a, b in zip(ends, ends[1:])), default=0.0)

    def statuses(self, since, until):
        return Counter(str(status) for _, _, status in self.attempts(since, until))

    def wait_acknowledged(self, count, timeout=60):
        """Until `count` more uploads have been acknowledged than now."""

        def acknowledged():
            with self.lock:
                return sum(1 for r in self.batches + self.singles if r[2])

        target = acknowledged() + count
        deadline = time.monotonic() + timeout
        while acknowledged() < target:
            assert time.monotonic() < deadline, f"writes did not go on in {timeout} s"
            assert not self.crashed, self.crashed
            time.sleep(0.1)


def assert_stored(conn, load, user_id):
    """Every acknowledged upload is stored with its ids, none in part, no extra.

    conn: a psycopg connection to the current primary.
    """
    records = load.batches + load.singles
    client_ids = [cid for r in records for cid in r[0]]
    stored = dict(
        conn.execute(
            "SELECT client_id, id FROM readings WHERE client_id = ANY(%s)",
            (client_ids,),
        ).fetchall()
    )
    acknowledged = 0
    for ids, _, returned in records:
        found = [stored.get(cid) for cid in ids]
        if returned is not None:
            acknowledged += len(ids)
            assert found == returned, "an acknowledged upload is not what was stored"
        else:
            kept = sum(1 for value in found if value is not None)
            assert kept in (0, len(ids)), f"an upload was stored in part: {kept}"
    (count,) = conn.execute(
        "SELECT count(*) FROM readings WHERE user_id = %s AND sensor = ANY(%s)",
        (user_id, [f"load-{load.tag}", f"device-{load.tag}"]),
    ).fetchone()
    assert count == len(stored), "readings stored that no client sent"
    return acknowledged, count
