"""The database goes away: 503 problems in bounded time, then recovery by itself.

A database that accepts connections but never answers (any run) must not hang
workers: the connect timeout turns it into 503. Stopping the run's PostgreSQL
under load (PostgreSQL run only: scripts/pg-throwaway.sh exports PG_BIN and
PG_DATA) gives 503s, /health says unavailable, and once PostgreSQL is back the
same workers serve again without a restart. That test restarts PostgreSQL in
a finally block, so the tests after it find it up.
"""

import http.client
import json
import os
import shlex
import socket
import subprocess
import threading
import time
from collections import Counter

import pytest

from myapp.e2e.conftest import (
    Http,
    launch_uwsgi,
    register_over_http,
    stop_server,
    wait_until,
)

CLIENT_TIMEOUT = 20  # LiveServer waits 30 s; an answer must come well before


class Blackhole:
    """A TCP listener that accepts connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        for conn in self.held:
            conn.close()
        self.sock.close()


def timed(server, method, path, body=None, token=None):
    """(status, content type, body json, seconds); status None if it timed out.

    A connection cut or a body cut short gives status "broken".
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=CLIENT_TIMEOUT)
    started = time.monotonic()
    try:
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        kind = response.getheader("Content-Type")
        parsed = json.loads(payload) if payload and "json" in (kind or "") else None
        return response.status, kind, parsed, time.monotonic() - started
    except (socket.timeout, TimeoutError):
        return None, None, None, time.monotonic() - started
    except (http.client.HTTPException, ConnectionError) as error:
        # A cut or truncated answer (e.g. headers sent, body lost) is a bug too.
        return "broken", repr(error), None, time.monotonic() - started
    finally:
        conn.close()


def test_an_unresponsive_database_answers_503_within_the_connect_timeout():
    hole = Blackhole()
    env = dict(os.environ)
    env.update(
        {
            "MYAPP_CONFIG": "testing",
            "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{hole.port}/nothing",
            "MYAPP_DATABASE_CONNECT_TIMEOUT": "2",
        }
    )
    server = launch_uwsgi(env, "uwsgi-blackhole")
    try:
        wait_until(lambda: _answers(server), timeout=30)
        status, kind, body, seconds = timed(server, "GET", "/api/v1/health")
        assert status == 503, f"no answer within {CLIENT_TIMEOUT} s"
        assert body["status"] == "unavailable" and seconds < 10
        status, kind, body, seconds = timed(
            server, "POST", "/api/v1/auth/login", {"username": "a", "password": "b"}
        )
        assert (status, kind) == (503, "application/problem+json")
        assert seconds < 10
    finally:
        stop_server(server)
        hole.close()


def _answers(server):
    """True once uWSGI serves anything (the root page needs no database)."""
    try:
        return server.request("GET", "/").status == 200
    except OSError:
        return False


# --- stopping the run's PostgreSQL under load --------------------------------


def pg_command(*args):
    """Run a PostgreSQL tool as the postgres user when we are root."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    tool = os.path.join(os.environ["PG_BIN"], args[0])
    return subprocess.run(
        as_user + [tool] + list(args[1:]), capture_output=True, text=True, timeout=60
    )


def postmaster_options(data):
    """The options PostgreSQL was started with (scripts/pg-throwaway.sh's -o)."""
    with open(os.path.join(data, "postmaster.opts")) as handle:
        argv = shlex.split(handle.read())[1:]
    options = []
    while argv:
        arg = argv.pop(0)
        if arg == "-D":
            argv.pop(0)
        else:
            options.append(arg)
    return shlex.join(options)


@pytest.fixture
def controllable_postgres(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the SQLite run has no server to stop")
    if not (os.environ.get("PG_BIN") and os.environ.get("PG_DATA")):
        pytest.skip(
            "PG_BIN/PG_DATA unset: the server is not ours to stop "
            "(run under scripts/pg-throwaway.sh)"
        )
    data = os.environ["PG_DATA"]
    options = postmaster_options(data)
    log = os.path.join(os.path.dirname(data), "server.log")

    def start():
        started = pg_command(
            "pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start"
        )
        assert started.returncode == 0, started.stdout + started.stderr

    def stop():
        stopped = pg_command("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    yield stop, start
    # Whatever happened, the tests after this one need their database.
    if pg_command("pg_ctl", "-D", data, "status").returncode != 0:
        start()


def test_stopping_postgresql_under_load_gives_503_then_recovers_by_itself(
    controllable_postgres, uwsgi, figures
):
    stop_postgres, start_postgres = controllable_postgres
    server = uwsgi(processes=2)
    token = register_over_http(Http(server)).access_token
    answers = []
    done = threading.Event()

    def load():
        n = 0
        while not done.is_set():
            n += 1
            if n % 2:
                reading = {"sensor": "outage", "data": {"n": n}}
                answers.append(
                    timed(server, "POST", "/api/v1/readings/", reading, token)
                )
            else:
                answers.append(timed(server, "GET", "/api/v1/readings/", None, token))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(answers) >= 10, timeout=30)
        stop_postgres()
        mark = len(answers)
        wait_until(lambda: len(answers) >= mark + 20, timeout=60)
        health = timed(server, "GET", "/api/v1/health")
        start_postgres()
        recovered = wait_until(
            lambda: timed(server, "GET", "/api/v1/health")[0] == 200, timeout=60
        )
        mark_back = len(answers)
        wait_until(lambda: len(answers) >= mark_back + 10, timeout=60)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)

    broken = [a for a in answers if a[0] == "broken"]
    assert not broken, f"answers cut short: {broken[:3]}"
    during = answers[mark : mark + 20]
    statuses = Counter(status for status, _, _, _ in during)
    assert None not in statuses, f"requests hung past {CLIENT_TIMEOUT} s: {statuses}"
    assert 500 not in statuses
    assert statuses[503] > 0, statuses
    assert set(statuses) <= {200, 201, 503}, statuses
    for status, kind, body, _ in during:
        if status == 503:
            assert kind == "application/problem+json" and body["status"] == 503
    assert health[0] == 503 and health[2]["status"] == "unavailable"
    assert recovered
    after = Counter(status for status, _, _, _ in answers[mark_back + 5 :])
    assert set(after) <= {200, 201}, after
    figures["outage"] = {
        "requests": len(answers),
        "answered_503": sum(1 for a in answers if a[0] == 503),
        "slowest_answer_seconds": round(max(a[3] for a in answers), 2),
    }


def test_a_connection_killed_after_the_last_query_still_gets_its_whole_answer(
    client, alice, database_url
):
    """Found by the outage test: the teardown ROLLBACK raised after the headers.

    PostgreSQL ends the request's connection between the response being built
    and the session being closed (as a shutdown does); the client must still
    get its complete 200, not headers with no body.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite connections cannot be killed")
    from flask import request_finished
    from sqlalchemy import text

    from myapp.db import db

    def kill_this_requests_connection(sender, response, **extra):
        pid = db.session.connection().connection.dbapi_connection.info.backend_pid
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()

    with request_finished.connected_to(
        kill_this_requests_connection, client.application
    ):
        response = client.get("/api/v1/users/me", headers=alice.headers)
    assert response.status_code == 200
    assert response.json["username"] == "alice"
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 200
