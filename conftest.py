"""Shared fixtures: the app on a real database, isolation, users and tokens.

The database is SQLite unless TEST_DATABASE_URL names another (the test command
runs the suite once on SQLite and once on a throwaway PostgreSQL). The schema is
built once per run by the migrations; every test starts from empty tables.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from myapp import create_app
from myapp.db import db

ROOT = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "correct horse battery"


def pytest_report_header(config):
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'sqlite (temporary)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    return url or "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


@pytest.fixture(scope="session")
def app(database_url):
    """One app for the run, its schema built by running every migration."""
    import flask_migrate

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        drop_everything()
        flask_migrate.upgrade(revision="heads")
    yield app
    with app.app_context():
        db.engine.dispose()


def drop_everything():
    """Start from an empty database, whatever an earlier run left."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            meta = sa.MetaData()
            meta.reflect(conn)
            conn.execute(sa.text("PRAGMA foreign_keys=OFF"))
            for table in reversed(meta.sorted_tables):
                conn.execute(sa.text(f'DROP TABLE "{table.name}"'))
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    # The pragma above sticks to its pooled connection: start over with fresh ones.
    db.engine.dispose()


def empty_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f'DELETE FROM "{name}"'))


@pytest.fixture(autouse=True)
def isolated(request):
    """Every test that touches the app starts and ends with empty tables."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    yield
    with app.app_context():
        db.session.remove()
        empty_tables()
    from myapp.limiter import limiter

    limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_with(app, database_url):
    """make(**config): another app on the test database with config overrides.

    Each new app re-binds the shared limiter; it is given back afterwards.
    """
    from myapp.limiter import limiter

    state = dict(limiter.__dict__)

    def make(**config):
        base = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url}
        return create_app({**base, **config})

    yield make
    limiter.__dict__.clear()
    limiter.__dict__.update(state)


@pytest.fixture
def in_app(app):
    """Run code in a fresh app context (as a request would), e.g. to inspect rows."""

    def run(func, *args, **kwargs):
        with app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return run


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


class Account:
    """A registered user with live tokens, as a client would hold them."""

    def __init__(self, client, user, tokens):
        self.client = client
        self.user = user
        self.id = user["id"]
        self.username = user["username"]
        self.password = PASSWORD
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]

    @property
    def headers(self):
        return bearer(self.access_token)

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self.headers, **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self.headers, **kw)

    def delete(self, url, json=None, **kw):
        return self.client.delete(url, json=json, headers=self.headers, **kw)


@pytest.fixture
def make_account(app, client, in_app):
    """Register (optionally as admin) and log in a new user."""

    def make(username=None, admin=False):
        username = username or "user_" + uuid.uuid4().hex[:8]
        if admin:
            from myapp.users import service

            user = in_app(
                lambda: service.register(
                    username=username,
                    email=f"{username}@example.com",
                    password=PASSWORD,
                    is_admin=True,
                ).id
            )
            body = {"id": user, "username": username}
        else:
            response = client.post(
                "/api/v1/auth/register",
                json={
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": PASSWORD,
                },
            )
            assert response.status_code == 201, response.json
            body = response.json
        tokens = client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert tokens.status_code == 200, tokens.json
        return Account(client, body, tokens.json)

    return make


@pytest.fixture
def alice(make_account):
    return make_account("alice")


@pytest.fixture
def bob(make_account):
    return make_account("bob")


@pytest.fixture
def admin(make_account):
    return make_account("root_admin", admin=True)


@pytest.fixture
def expired_token(app, in_app, alice):
    """An access token of alice's live session that expired a minute ago."""
    from flask_jwt_extended import create_access_token, decode_token

    def mint():
        sid = decode_token(alice.access_token)["sid"]
        return create_access_token(
            identity=str(alice.id),
            additional_claims={"sid": sid},
            expires_delta=timedelta(minutes=-1),
        )

    return in_app(mint)


# --- a real uWSGI server on loopback, for end-to-end tests -----------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uWSGI serving myapp.ini on a loopback port; plain HTTP/1.1 requests."""

    def __init__(self, port, process):
        self.port = port
        self.process = process

    def request(self, method, path, body=None, headers=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        response.body = payload
        content_type = response.getheader("Content-Type") or ""
        response.json = (
            json.loads(payload) if "json" in content_type and payload else None
        )
        return response


def start_uwsgi(database_url, extra_env=None, processes=2):
    """Start uWSGI from myapp.ini on a free loopback port and wait until it serves."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "MYAPP_CONFIG": "testing",
            "DATABASE_URL": database_url,
            "MYAPP_HTTP": f"127.0.0.1:{port}",
            "MYAPP_PROCESSES": str(processes),
            "MYAPP_THREADS": "1",
        }
    )
    env.update(extra_env or {})
    uwsgi = os.path.join(os.path.dirname(sys.executable), "uwsgi")
    log = open(os.path.join(ROOT, "test-output", f"uwsgi-{port}.log"), "w")
    process = subprocess.Popen(
        [uwsgi, "--ini", os.path.join(ROOT, "myapp.ini")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(port, process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"uWSGI exited with {process.returncode}; see {log.name}"
            )
        try:
            if server.request("GET", "/api/v1/health").status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("uWSGI did not start serving within 30 s")


def stop_uwsgi(server):
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def live_server(app, database_url):
    """uWSGI with 2 workers on the test database (schema already migrated)."""
    os.makedirs(os.path.join(ROOT, "test-output"), exist_ok=True)
    server = start_uwsgi(database_url)
    yield server
    stop_uwsgi(server)
