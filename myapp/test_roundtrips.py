"""PostgreSQL round trips (myapp/roundtrips.py): an API read sends its
statements and nothing else (no ping on a busy pool, no BEGIN, no ROLLBACK); a
write keeps its transaction; an idle connection is pinged, and a dead one
replaced before a request sees it."""

import contextlib
import tempfile

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.readings import READINGS, reading


@pytest.fixture
def postgres(app):
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite is in the process, no round trips")
    # No app context held: each request checks out and returns its connection.
    return engine


@contextlib.contextmanager
def tracing(engine):
    """The messages an engine's connections send, from libpq's trace of each."""
    lines = []
    traced = {}

    def checkout(dbapi_connection, record, proxy):
        handle = tempfile.TemporaryFile("w+")
        dbapi_connection.pgconn.trace(handle.fileno())
        # Unprepared while traced, so each statement's text is in the trace:
        # a statement prepared earlier would show as a bare Bind.
        threshold = dbapi_connection.prepare_threshold
        dbapi_connection.prepare_threshold = None
        traced[id(dbapi_connection)] = handle, threshold

    def checkin(dbapi_connection, record):
        handle, threshold = traced.pop(id(dbapi_connection), (None, None))
        if handle is not None:
            dbapi_connection.pgconn.untrace()
            dbapi_connection.prepare_threshold = threshold
            handle.seek(0)
            for line in handle:
                # Frontend messages: "<time>\tF\t<length>\t<type>\t...".
                fields = line.split("\t")
                if len(fields) > 3 and fields[1] == "F":
                    lines.append((fields[3], line))
            handle.close()

    # First of the checkout listeners, so the trace sees the app's ping too.
    sa.event.listen(engine, "checkout", checkout, insert=True)
    sa.event.listen(engine, "checkin", checkin)
    try:
        yield lines
    finally:
        sa.event.remove(engine, "checkout", checkout)
        sa.event.remove(engine, "checkin", checkin)


@pytest.fixture
def sent(postgres):
    with tracing(postgres) as lines:
        yield lines


def statements(lines):
    """The SQL text of each query or prepared statement sent."""
    return [line for kind, line in lines if kind in ("Query", "Parse")]


def test_an_api_read_sends_a_ping_and_its_statements_only(alice, sent):
    created = alice.post(READINGS, json=reading()).json
    # Past psycopg's prepare threshold (5), as in a long test run.
    for _ in range(6):
        alice.get(f"{READINGS}{created['id']}")
    sent.clear()
    assert alice.get(f"{READINGS}{created['id']}").status_code == 200
    sql = " ".join(statements(sent)).upper()
    assert "BEGIN" not in sql and "ROLLBACK" not in sql
    # The ping (by default before every use), the session check, the reading.
    assert len(statements(sent)) == 3 and "SELECT 1" in sql, statements(sent)


def test_with_an_idle_threshold_a_busy_pool_sends_no_ping(postgres, app_with, alice):
    app = app_with(DATABASE_PING_IDLE_SECONDS=60)
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    created = client.post(READINGS, json=reading(), headers=alice.headers).json
    url = f"{READINGS}{created['id']}"
    with tracing(engine) as lines:
        assert client.get(url, headers=alice.headers).status_code == 200
    sql = " ".join(statements(lines)).upper()
    assert "SELECT 1" not in sql and "BEGIN" not in sql
    assert len(statements(lines)) == 2, statements(lines)


def test_a_write_still_runs_in_one_transaction(alice, sent):
    assert alice.post(READINGS, json=reading()).status_code == 201
    sql = " ".join(statements(sent)).upper()
    assert "BEGIN" in sql and "COMMIT" in sql


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(postgres):
    from myapp.roundtrips import ping_when_idle

    engine = sa.create_engine(postgres.url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, 0)
    backend = sa.text("SELECT pg_backend_pid()")
    try:
        with engine.connect() as connection:
            first = connection.execute(backend).scalar_one()
        with postgres.connect() as other:
            # The pooled connection dies while idle, as in a database restart.
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        with engine.connect() as connection:
            assert connection.execute(backend).scalar_one() != first
    finally:
        engine.dispose()


def test_a_connection_the_server_hung_up_is_replaced_without_a_ping(postgres):
    from myapp.roundtrips import ping_when_idle

    engine = sa.create_engine(postgres.url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, 3600)  # never idle long enough for a ping
    backend = sa.text("SELECT pg_backend_pid()")
    killer = sa.create_engine(postgres.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            first = connection.execute(backend).scalar_one()
        with killer.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            # The backend has gone once its pid is no longer listed.
            other.execute(
                sa.text(
                    "SELECT pg_sleep(0.05) FROM generate_series(1, 100)"
                    " WHERE EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = :pid)"
                ),
                {"pid": first},
            )
        with engine.connect() as connection:
            assert connection.execute(backend).scalar_one() != first
    finally:
        engine.dispose()
        killer.dispose()
