"""Alert rules as a client writes them, and a webhook receiver as a customer runs one.

The receiver is a real HTTP server on loopback that checks every delivery's
Standard Webhooks signature with the standardwebhooks library, the way a
customer's endpoint would, and records what arrived.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from testing.servers import OUTPUT, ROOT, stop_process, wait_until

ALERTS = "/api/v1/alerts/"
EVENTS = "/api/v1/alerts/events"


def threshold(field="celsius", **bounds):
    return {"type": "threshold", "field": field, **bounds}


def rule(sensor="kitchen/temp", condition=None, name="too warm", **fields):
    """A rule body as a client would post it."""
    body = {"name": name, "sensor": sensor, "condition": condition or threshold()}
    if condition is None:
        body["condition"]["above"] = 30
    body.update(fields)
    return body


class Arrival(NamedTuple):
    message_id: str
    path: str
    payload: dict | None  # None when the signature did not verify
    at: float  # time.monotonic() on arrival
    sender: str  # the address it came from


class Receiver:
    """A webhook endpoint on 127.0.0.1 (or address); answer(path, count) picks
    each status.

    count is the how-manieth request to path this is; answer gives a status,
    or (status, headers).

    secrets maps a path to the rule's webhook secret; an arrival whose
    signature does not verify with it is kept with payload None.
    """

    def __init__(self, answer=None, delay=0.0, address="127.0.0.1"):
        self.answer = answer or (lambda path, count: 200)
        self.delay = delay
        self.secrets = {}
        self.arrivals = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver._receive(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.address = address
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path="/hook"):
        return f"http://{self.address}:{self.port}{path}"

    def _receive(self, request):
        body = request.rfile.read(int(request.headers["Content-Length"]))
        arrived = time.monotonic()
        try:
            secret = self.secrets[request.path]
            payload = Webhook(secret).verify(body, dict(request.headers))
        except (KeyError, WebhookVerificationError):
            payload = None
        with self._lock:
            self.arrivals.append(
                Arrival(
                    request.headers["webhook-id"],
                    request.path,
                    payload,
                    arrived,
                    request.client_address[0],
                )
            )
            count = len([a for a in self.arrivals if a.path == request.path])
        if self.delay:
            time.sleep(self.delay)
        answer = self.answer(request.path, count)
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        request.send_response(status)
        for name, value in {"Content-Length": "0", **headers}.items():
            request.send_header(name, value)
        request.end_headers()

    def unique(self):
        """The first arrival of each webhook-id, in arrival order."""
        seen = {}
        with self._lock:
            for arrival in self.arrivals:
                seen.setdefault(arrival.message_id, arrival)
        return list(seen.values())

    def wait_for(self, count, timeout=30):
        """Until count distinct messages have arrived; returns them."""
        wait_until(lambda: len(self.unique()) >= count, timeout, 0.05, "webhooks")
        return self.unique()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def worker_env(database_url, **extra):
    """The environment of a worker on the test database, sending to loopback."""
    return {
        **os.environ,
        "MYAPP_CONFIG": "testing",
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi",
        "MYAPP_WEBHOOK_ALLOW_HTTP": "true",
        "MYAPP_WEBHOOK_ALLOW_PRIVATE": "true",
        "MYAPP_WEBHOOK_TIMEOUT": "2",
        "MYAPP_ALERTS_DELIVERY_LEASE_SECONDS": "6",
        "MYAPP_ALERTS_WORKER_POLL_SECONDS": "0.05",
        "MYAPP_ALERTS_RETRY_DELAYS": "[0.2, 0.4, 0.6, 0.8]",
        **extra,
    }


class WorkerProcess:
    """`flask alerts worker` as a real process, its output in one log file."""

    def __init__(self, env, name="alerts-worker"):
        os.makedirs(OUTPUT, exist_ok=True)
        with socket.socket() as sock:  # a unique name per process
            sock.bind(("127.0.0.1", 0))
            self.log_path = os.path.join(OUTPUT, f"{name}-{sock.getsockname()[1]}.log")
        flask = os.path.join(os.path.dirname(sys.executable), "flask")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [flask, "alerts", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._started, 30, 0.05, f"worker started ({self.log_path})")

    def _started(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker exited; see {self.log_path}")
        return " started: " in self.log()

    def log(self):
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def attempts_logged(self):
        return self.log().count(" attempt ")

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        """SIGTERM; the exit status (0 for a clean stop)."""
        return stop_process(self.process, timeout=30)


def payloads_by_rule(arrivals):
    """Verified payloads grouped by rule id, in arrival order."""
    grouped = {}
    for arrival in arrivals:
        assert arrival.payload is not None, f"unverified webhook {arrival}"
        grouped.setdefault(arrival.payload["data"]["rule"]["id"], []).append(
            arrival.payload
        )
    return grouped


def send_due(now, status_code, *, lease_seconds=60):
    """The worker's step at a chosen time `now` (microseconds), in an app context:
    claim one due delivery and record an answer of status_code (None: in flight,
    not finished). The claimed delivery, or None if none was due."""
    from myapp.alerts import claims, webhooks

    claimed = claims.claim(now=now, lease_seconds=lease_seconds)
    if not claimed:
        return None
    if status_code is not None:
        outcome = webhooks.Outcome(status_code, None)
        claims.finish(claimed[0], outcome, at=now, now=now)
    return claimed[0]


def finish_at(claimed, now, status_code):
    """Record the answer to a delivery send_due left in flight, at `now`."""
    from myapp.alerts import claims, webhooks

    claims.finish(claimed, webhooks.Outcome(status_code, None), at=now, now=now)


def hooked_rule(account, receiver, path, **fields):
    """A rule whose webhook goes to receiver at path; the receiver knows its secret."""
    response = account.post(ALERTS, json=rule(webhook_url=receiver.url(path), **fields))
    assert response.status_code == 201, response.json
    receiver.secrets[path] = response.json["webhook_secret"]
    return response.json


def attempt_due(now, *, lease_seconds=60):
    """The worker's step at `now` (microseconds), in an app context: claim one
    due delivery, attempt it as the worker does (emails really sent), record
    it. (Claimed, Outcome), or None if nothing was due."""
    from flask import current_app

    from myapp.alerts import claims, emails
    from myapp.alerts.models import EMAIL

    claimed = claims.claim(now=now, lease_seconds=lease_seconds)
    if not claimed:
        return None
    assert claimed[0].channel == EMAIL, "attempt_due sends emails only"
    outcome = emails.attempt(claimed[0], current_app.config, now=now)
    claims.finish(claimed[0], outcome, at=now, now=now)
    return claimed[0], outcome
