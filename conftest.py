"""Shared fixtures: the app on a real database, isolation, users and tokens.

The database is SQLite unless TEST_DATABASE_URL names another (the test command
runs the suite once on SQLite and once on a throwaway PostgreSQL). The schema is
built once per run by the migrations; every test starts from empty tables.
"""

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from myapp import create_app
from myapp.db import db
from myapp.readings.models import Reading
from testing.accounts import PASSWORD, Account, create_admin, new_username
from testing.mail import MailServer
from testing.readings import BATCH
from testing.servers import env_for_tests, start_uwsgi


def pytest_configure(config):
    # An exception in a test's thread fails that test instead of warning.
    config.addinivalue_line(
        "filterwarnings", "error::pytest.PytestUnhandledThreadExceptionWarning"
    )


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
        # Both leave SQLite connections with foreign_keys=OFF in the pool: drop
        # them, so every test's connection is set up by the connect hook.
        db.engine.dispose()
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


@pytest.fixture(autouse=True)
def shared_limiter_restored(isolated):
    """Each app built re-binds the one shared Limiter: give its state back after.

    (Before isolated's teardown, which resets the restored limiter's counters.)
    """
    from myapp.limiter import limiter

    state = dict(limiter.__dict__)
    yield
    limiter.__dict__.clear()
    limiter.__dict__.update(state)


@pytest.fixture
def app_with(app, database_url):
    """make(**config): another app on the test database with config overrides."""

    def make(**config):
        base = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url}
        return create_app({**base, **config})

    return make


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


@pytest.fixture
def make_account(app, client, in_app):
    """Register (optionally as admin) and log in a new user."""

    def make(username=None, admin=False):
        username = username or new_username()
        if admin:
            body = {"id": create_admin(in_app, username)[1], "username": username}
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


@pytest.fixture(scope="session")
def live_server(app, database_url):
    """uWSGI with 2 single-threaded workers on the test database (migrated)."""
    server = start_uwsgi(env_for_tests(database_url), threads=1)
    yield server
    server.stop()


@pytest.fixture
def count_rows(in_app):
    """How many readings the database holds (optionally for one client_id)."""

    def count(**where):
        def run():
            query = sa.select(sa.func.count()).select_from(Reading)
            for name, value in where.items():
                query = query.where(getattr(Reading, name) == value)
            return db.session.execute(query).scalar_one()

        return in_app(run)

    return count


@pytest.fixture
def post_batch():
    """Post readings in batches of up to 1000; returns every id in order."""

    def post(account, items):
        ids = []
        for start in range(0, len(items), 1000):
            response = account.post(
                BATCH, json={"readings": items[start : start + 1000]}
            )
            assert response.status_code == 201, response.json
            ids.extend(response.json["ids"])
        return ids

    return post


@pytest.fixture
def mail_server():
    """An SMTP server on loopback that accepts every message (see testing.mail)."""
    server = MailServer()
    yield server
    server.stop()


@pytest.fixture
def mail_config(mail_server):
    """The config of an app that sends its email to mail_server."""
    return {
        "SMTP_URL": mail_server.url(),
        "MAIL_FROM": "myapp <alerts@myapp.example>",
        "PUBLIC_URL": "https://myapp.example",
        "SMTP_TIMEOUT": 5,
    }
