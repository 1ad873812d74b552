"""Fewer round trips to PostgreSQL, which is another process (or host) away.

- A pooled connection is pinged before use (in autocommit, so the ping
  opens no transaction, which SQLAlchemy's pool_pre_ping would) if it sat
  idle for DATABASE_PING_IDLE_SECONDS: by default 0, every use. Set higher, a
  busy pool saves that round trip and a busier connection is only checked
  for a hang-up the server already sent (a read of the socket); but one an
  outage broke without a word (a cut link) then fails one request with a
  503 before SQLAlchemy drops the process's pool: the outage suite saw it.
  A connection that fails either check is replaced before a request sees it.
- A connection checked out for an API read (GET, HEAD) is in autocommit: no
  BEGIN before the first statement, no ROLLBACK after the last. Each statement
  still sees one consistent snapshot; reads write nothing.
"""

import time

import sqlalchemy as sa
from flask import has_request_context, request

from myapp.db import db

_READS = frozenset(("GET", "HEAD"))


def init_app(app):
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        ping_when_idle(engine, app.config["DATABASE_PING_IDLE_SECONDS"])
        reads_in_autocommit(engine)


def _api_read():
    return (
        has_request_context()
        and request.method in _READS
        and request.path.startswith("/api/")
    )


def reads_in_autocommit(engine):
    """psycopg's commit and rollback cost nothing outside a transaction."""

    @sa.event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, proxy):
        if _api_read():
            dbapi_connection.autocommit = True
            record.info["autocommit"] = True

    @sa.event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, record):
        if record is not None and record.info.pop("autocommit", False):
            if dbapi_connection is not None and not dbapi_connection.closed:
                dbapi_connection.autocommit = False


def ping_when_idle(engine, idle_seconds):
    """Ping a connection at checkout only if it was idle that long."""

    @sa.event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None:
            return
        if time.monotonic() - idle_since < idle_seconds:
            if _server_hung_up(dbapi_connection):
                raise sa.exc.DisconnectionError()
            return
        try:
            # In autocommit, so the ping opens no transaction.
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.autocommit = autocommit
        except Exception as error:
            # The pool discards this connection and checks out a fresh one.
            raise sa.exc.DisconnectionError() from error


def _server_hung_up(dbapi_connection):
    """Whether the server closed this connection while it sat in the pool (a
    terminated backend, a restart): libpq reads what already arrived on the
    socket, without a round trip."""
    pgconn = dbapi_connection.pgconn
    try:
        # The first read takes the server's last message, the second its EOF.
        pgconn.consume_input()
        pgconn.consume_input()
    except Exception:
        return True
    return pgconn.status != 0  # libpq's CONNECTION_OK
