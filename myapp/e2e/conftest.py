"""End-to-end fixtures: real uWSGI servers, accounts over HTTP, row snapshots.

Every suite here talks HTTP to uWSGI started from myapp.ini on a loopback port,
on the run's database (SQLite, or PostgreSQL under scripts/pg-throwaway.sh).
Every response the suite receives is scanned for tracebacks and password
material. Tools the suites need (redis-server, chromium) fail the run loudly
when missing: CI installs them.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from conftest import PASSWORD, ROOT, LiveServer, free_port, start_uwsgi, stop_uwsgi

OUTPUT = os.path.join(ROOT, "test-output")
# What must never appear in any response body.
FORBIDDEN_IN_BODIES = (
    "Traceback (most recent call last)",
    'File "/',
    "password_hash",
    "$argon2",
    PASSWORD,
)


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


def assert_clean(response):
    """No traceback, no password material, whatever the status."""
    text = response.body.decode("utf-8", "replace")
    for needle in FORBIDDEN_IN_BODIES:
        assert needle not in text, f"{needle!r} in a {response.status} body: {text}"
    return response


class Http:
    """HTTP to one live server; every response body is checked for leaks."""

    def __init__(self, server, token=None):
        self.server = server
        self.token = token

    def request(self, method, path, body=None, headers=None, raw=None, token=None):
        headers = dict(headers or {})
        token = token if token is not None else self.token
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.server.request(method, path, body, headers=headers, raw=raw)
        return assert_clean(response)

    def as_user(self, token):
        return Http(self.server, token)


class HttpAccount:
    """A user registered and logged in over HTTP."""

    def __init__(self, http, username, user_id, tokens):
        self.username = username
        self.id = user_id
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        self.http = http.as_user(self.access_token)

    def request(self, method, path, body=None, **kw):
        return self.http.request(method, path, body, **kw)


def login(http, username, password=PASSWORD):
    response = http.request(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}
    )
    assert response.status == 200, response.body
    return response.json


def register_over_http(http, username=None):
    """Register and log in a fresh user through the API."""
    username = username or "e2e_" + uuid.uuid4().hex[:10]
    body = {"username": username, "email": f"{username}@example.com"}
    created = http.request(
        "POST", "/api/v1/auth/register", dict(body, password=PASSWORD)
    )
    assert created.status == 201, created.body
    return HttpAccount(http, username, created.json["id"], login(http, username))


def create_admin(in_app, username=None):
    """An admin exists only through the CLI or the service, never over HTTP."""
    from myapp.users import service

    username = username or "admin_" + uuid.uuid4().hex[:8]
    in_app(
        lambda: service.register(
            username=username,
            email=f"{username}@example.com",
            password=PASSWORD,
            is_admin=True,
        ).id
    )
    return username


@pytest.fixture
def http(live_server):
    return Http(live_server)


@pytest.fixture
def account(http):
    """A factory of users registered over HTTP on the shared live server."""
    return lambda username=None: register_over_http(http, username)


@pytest.fixture
def admin_account(http, in_app):
    username = create_admin(in_app)
    account = HttpAccount(http, username, None, login(http, username))
    account.id = account.request("GET", "/api/v1/users/me").json["id"]
    return account


@pytest.fixture
def snapshot(in_app):
    """Every row of every table, to prove a request changed nothing."""
    from myapp.db import db

    def take():
        def read():
            rows = {}
            with db.engine.connect() as conn:
                for table in db.metadata.sorted_tables:
                    query = sa.select(table).order_by(*table.primary_key.columns)
                    rows[table.name] = [tuple(r) for r in conn.execute(query)]
            return rows

        return in_app(read)

    return take


@pytest.fixture
def uwsgi(app, database_url):
    """Start extra uWSGI servers (own env, worker count); all stopped afterwards."""
    os.makedirs(OUTPUT, exist_ok=True)
    servers = []

    def start(extra_env=None, processes=2):
        server = start_uwsgi(database_url, extra_env, processes)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop_server(server)


def stop_server(server):
    """stop_uwsgi, then SIGKILL any worker that outlived its master.

    A worker stuck on shutdown (seen once: a futex wait after SIGTERM) would
    otherwise be orphaned when stop_uwsgi kills the master after 15 s.
    """
    if server.process.poll() is not None:
        return
    try:
        workers = worker_pids(server)
    except FileNotFoundError:  # the master exited just now
        workers = []
    stop_uwsgi(server)
    for pid in workers:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if b"uwsgi" not in handle.read():
                    continue
            os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass


def launch_uwsgi(env, name="uwsgi"):
    """Start uWSGI from myapp.ini with exactly env (plus a free port), no waiting.

    For servers that must not, or cannot, pass the root start_uwsgi's health
    wait: refused production configs, unreachable databases.
    """
    port = free_port()
    env = dict(env, MYAPP_HTTP=f"127.0.0.1:{port}")
    env.setdefault("MYAPP_PROCESSES", "1")
    env.setdefault("MYAPP_THREADS", "1")
    os.makedirs(OUTPUT, exist_ok=True)
    log_path = os.path.join(OUTPUT, f"{name}-{port}.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "uwsgi")]
            + ["--ini", os.path.join(ROOT, "myapp.ini")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(port, process)
    server.log_path = log_path
    return server


def worker_pids(server):
    """The uWSGI master's live worker processes."""
    master = server.process.pid
    path = f"/proc/{master}/task/{master}/children"
    with open(path) as handle:
        return [int(pid) for pid in handle.read().split()]


def kill_worker(pid):
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def figures(database_url):
    """Counts the suites report (README figures), written at the end of the run."""
    found = {}
    yield found
    if found:
        os.makedirs(OUTPUT, exist_ok=True)
        kind = "postgresql" if database_url.startswith("postgres") else "sqlite"
        with open(os.path.join(OUTPUT, f"e2e-figures-{kind}.json"), "w") as handle:
            json.dump(found, handle, indent=2, sort_keys=True)


def unsigned_copy(token):
    """The same claims under {"alg": "none"} and no signature."""
    claims = token.split(".")[1]
    header = json.dumps({"alg": "none", "typ": "JWT"}).encode()
    return base64.urlsafe_b64encode(header).rstrip(b"=").decode() + f".{claims}."


def wait_until(predicate, timeout, interval=0.2):
    """Poll predicate until it returns truthy, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def run(command, **kw):
    return subprocess.run(command, capture_output=True, text=True, **kw)
