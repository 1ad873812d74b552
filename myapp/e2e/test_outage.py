"""The database goes away: 503 problems in bounded time, then recovery by itself.

A database that accepts connections but never answers (any run) must not hang
workers: the connect timeout turns it into 503. On the PostgreSQL run (a
throwaway server or TEST_POSTGRES_URL alike) uWSGI reaches PostgreSQL through
a TCP relay the test cuts under load: every connection drops and new ones are
refused, as when the server stops or the network fails. That gives 503s,
/health says unavailable, and once the relay is back the same workers serve
again without a restart.
"""

import http.client
import json
import os
import socket
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from testing.accounts import register_over_http
from testing.http import Http
from testing.servers import Uwsgi, wait_until

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


def test_an_unresponsive_database_answers_503_within_the_connect_timeout(figures):
    hole = Blackhole()
    env = dict(os.environ)
    env.update(
        {
            "MYAPP_CONFIG": "testing",
            "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{hole.port}/nothing",
            "MYAPP_DATABASE_CONNECT_TIMEOUT": "2",
        }
    )
    server = Uwsgi(env, processes=1, threads=1, name="uwsgi-blackhole")
    try:
        server.wait_ready(health=False, timeout=30)
        # CLIENT_TIMEOUT is far below harakiri: a hung worker is status None.
        status, kind, body, health_seconds = timed(server, "GET", "/api/v1/health")
        assert status == 503, f"no answer within {CLIENT_TIMEOUT} s"
        assert body["status"] == "unavailable"
        status, kind, body, login_seconds = timed(
            server, "POST", "/api/v1/auth/login", {"username": "a", "password": "b"}
        )
        assert (status, kind) == (503, "application/problem+json")
    finally:
        server.stop()
        hole.close()
    figures["unresponsive_database"] = {
        "connect_timeout_seconds": 2,
        "health_answered_after_seconds": round(health_seconds, 2),
        "login_answered_after_seconds": round(login_seconds, 2),
    }


class Relay:
    """A TCP relay to the database that can be cut (all dropped, new refused)."""

    def __init__(self, host, port):
        self.upstream = (host, port)
        self.port = None
        self.pairs = []
        self.lock = threading.Lock()
        self.listen()

    def listen(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port or 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, args=(self.sock,), daemon=True).start()

    def accept(self, listener):
        while True:
            try:
                client = listener.accept()[0]
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                if listener is not self.sock:  # cut meanwhile
                    client.close()
                    server.close()
                    return
                self.pairs.append((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=pump, args=(source, sink), daemon=True).start()

    def cut(self):
        """New connections are refused and every open one is dropped."""
        with self.lock:
            listener, self.sock = self.sock, None
            pairs, self.pairs = self.pairs, []
        # A listener only closed would go on accepting in the blocked accept().
        doomed = [sock for pair in pairs for sock in pair]
        if listener:
            doomed.append(listener)
        for sock in doomed:
            drop(sock)

    def restore(self):
        self.listen()


def drop(sock):
    """Shut a socket down both ways (waking any thread blocked on it), close it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def pump(source, sink):
    """Copy bytes one way until either side is gone."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass


@pytest.fixture
def relayed_postgres(database_url):
    """A Relay to the run's PostgreSQL and the database URL through it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to lose")
    url = sa.engine.make_url(database_url)
    if not url.host or url.host.startswith("/"):
        pytest.fail(f"the outage test relays TCP: {url!r} names no TCP host")
    relay = Relay(url.host, url.port or 5432)
    relayed = url.set(host="127.0.0.1", port=relay.port)
    yield relay, relayed.render_as_string(hide_password=False)
    relay.cut()


def test_postgresql_going_away_under_load_gives_503_then_recovers_by_itself(
    relayed_postgres, uwsgi, figures
):
    relay, relayed_url = relayed_postgres
    server = uwsgi({"DATABASE_URL": relayed_url}, processes=2)
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
        relay.cut()
        mark = len(answers)
        wait_until(lambda: len(answers) >= mark + 20, timeout=60)
        health = timed(server, "GET", "/api/v1/health")
        relay.restore()
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
