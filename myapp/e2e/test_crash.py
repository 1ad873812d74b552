"""kill -9 of uWSGI workers under write load loses no acknowledged reading.

Writers post single readings and batches, each reading with its own client_id,
while workers are killed one after another (the master respawns them).
Afterwards every reading answered 2xx is in the database, every batch is
there whole or not at all, and the service answers again.
"""

import http.client
import os
import random
import signal
import threading
import time
import uuid

import sqlalchemy as sa

from testing.accounts import register_over_http
from testing.http import Http
from testing.servers import wait_until

WRITERS = 4
KILLS = 6
BATCH = 10
# What a client may get while workers die: its answer, a cut connection (None),
# or the documented 503 problem. Never a 500.
ACCEPTABLE = {200, 201, None, 503}


class WriteLoad:
    """Writer threads that remember what they sent and what was acknowledged.

    A failure inside a writer (a leak found in a body, anything unexpected)
    stops the load and is raised again in the test's own thread.
    """

    def __init__(self, server, token):
        self.http = Http(server, token)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = []  # (kind, client_ids, status or None when cut, content type)
        self.errors = []
        self.random = random.Random(6)
        self.threads = [threading.Thread(target=self.write) for _ in range(WRITERS)]

    def write(self):
        try:
            while not self.stop.is_set():
                self.write_one()
        except BaseException as error:
            self.errors.append(error)
            self.stop.set()

    def write_one(self):
        with self.lock:
            single = self.random.random() < 0.5
        ids = [str(uuid.uuid4()) for _ in range(1 if single else BATCH)]
        items = [
            {"sensor": "crash", "data": {"n": n}, "client_id": cid}
            for n, cid in enumerate(ids)
        ]
        path = "/api/v1/readings/" if single else "/api/v1/readings/batch"
        body = items[0] if single else {"readings": items}
        try:
            response = self.http.request("POST", path, body)
            status, kind = response.status, response.getheader("Content-Type")
        except (OSError, http.client.HTTPException):
            status, kind = None, None  # the worker died holding this request
        with self.lock:
            self.sent.append(("single" if single else "batch", ids, status, kind))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), "a writer hung"
        self.raise_errors()

    def raise_errors(self):
        if self.errors:
            raise self.errors[0]

    def acknowledged_since(self, mark):
        self.raise_errors()
        with self.lock:
            return sum(1 for _, _, s, _ in self.sent[mark:] if s and 200 <= s < 300)


def stored_client_ids(in_app, user_id):
    from myapp.db import db
    from myapp.readings.models import Reading

    def read():
        query = sa.select(Reading.client_id).where(Reading.user_id == user_id)
        return [str(c) for c in db.session.execute(query).scalars()]

    return in_app(read)


def test_killing_workers_under_write_load_loses_no_acknowledged_reading(
    uwsgi, in_app, figures
):
    server = uwsgi(processes=2)
    account = register_over_http(Http(server))
    killer = random.Random(9)
    with WriteLoad(server, account.access_token) as load:
        wait_until(lambda: load.acknowledged_since(0) >= 5, timeout=30)
        for _ in range(KILLS):
            mark = len(load.sent)
            os.kill(killer.choice(server.worker_pids()), signal.SIGKILL)
            # The service keeps answering: writes succeed again after each kill.
            wait_until(lambda: load.acknowledged_since(mark) >= 3, timeout=30)
        time.sleep(0.3)
    assert wait_until(
        lambda: server.request("GET", "/api/v1/health").status == 200, timeout=30
    )

    stored = stored_client_ids(in_app, account.id)
    assert len(stored) == len(set(stored)), "a reading was stored twice"
    stored = set(stored)
    acknowledged = lost = 0
    for kind, ids, status, content_type in load.sent:
        assert status in ACCEPTABLE, f"a {kind} answered {status} during the kills"
        if status == 503:
            assert content_type == "application/problem+json"
        present = sum(cid in stored for cid in ids)
        assert present in (0, len(ids)), f"a {kind} was stored partially"
        if status is not None and 200 <= status < 300:
            assert present == len(ids), f"an acknowledged {kind} is missing"
            acknowledged += len(ids)
        elif status is None:
            lost += 1
        else:
            assert present == 0, f"a {kind} answered {status} was stored"
    assert acknowledged > 0
    figures["crash"] = {
        "workers_killed": KILLS,
        "requests_sent": len(load.sent),
        "readings_acknowledged_and_checked": acknowledged,
        "requests_cut_by_a_kill": lost,
    }
