"""End-to-end fixtures: real uWSGI servers, accounts over HTTP, row snapshots.

Every suite here talks HTTP to uWSGI started from myapp.ini on a loopback port
(testing.servers), on the run's database (SQLite, or PostgreSQL under
scripts/pg-throwaway.sh). Every response the suites receive is scanned for
tracebacks and password material (testing.http). Tools the suites need
(redis-server, chromium) fail the run loudly when missing: CI installs them.
"""

import json
import os

import pytest
import sqlalchemy as sa

from testing.accounts import HttpAccount, create_admin, login, register_over_http
from testing.browser import chromium
from testing.http import Http
from testing.servers import OUTPUT, Redis, env_for_tests, start_uwsgi
from testing.webclient import WebClient


@pytest.fixture
def http(live_server):
    return Http(live_server)


@pytest.fixture
def account(http):
    """A factory of users registered over HTTP on the shared live server."""
    return lambda username=None: register_over_http(http, username)


@pytest.fixture
def admin_account(http, in_app):
    username, user_id = create_admin(in_app)
    return HttpAccount(http, username, user_id, login(http, username))


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
    """start(extra_env, processes, threads): more servers on the test database.

    In testing config, ready once /api/v1/health is 200; all stopped afterwards.
    """
    servers = []

    def start(extra_env=None, processes=2, threads=1):
        env = env_for_tests(database_url, **(extra_env or {}))
        servers.append(start_uwsgi(env, processes=processes, threads=threads))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def redis_url():
    """The URL of a throwaway redis-server for this module's tests."""
    redis = Redis()
    yield redis.url
    redis.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, one per test module."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def figures(database_url):
    """Counts the suites report, written to test-output/ at the end of the run."""
    found = {}
    yield found
    if found:
        os.makedirs(OUTPUT, exist_ok=True)
        kind = "postgresql" if database_url.startswith("postgres") else "sqlite"
        with open(os.path.join(OUTPUT, f"e2e-figures-{kind}.json"), "w") as handle:
            json.dump(found, handle, indent=2, sort_keys=True)


@pytest.fixture
def web(browser, live_server):
    """Opens browser tabs on /app/ (of live_server, or another server)."""
    clients = []

    def open_client(server=live_server, **context_options):
        client = WebClient(browser, server, **context_options)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def user(live_server):
    return register_over_http(Http(live_server))
