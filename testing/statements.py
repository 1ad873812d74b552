"""Counting the SQL statements a request sends, at the driver (rawsql's too)."""

import re
import tempfile

import sqlalchemy as sa
from psycopg import pq

from myapp.db import db

# Not counted: transaction bounds, and psycopg dropping its prepared statements
# on rollback once a query has run prepare_threshold times.
NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "DEALLOCATE ALL")
# A statement the client sent, in libpq's trace (SQL text may span lines).
SENT = re.compile(r"^F\t\d+\t(Query|Execute)\t(.*)$", re.M)


class DriverTrace:
    """Every statement the driver sends, whoever built it (prepared.py too).

    sqlite3 reports each statement to a trace callback; on PostgreSQL, libpq's
    protocol trace (through psycopg) shows each simple Query and each Execute.
    """

    def __init__(self):
        self.statements = []
        self.files = {}

    def start(self, dbapi_connection, record, proxy):
        if hasattr(dbapi_connection, "set_trace_callback"):
            dbapi_connection.set_trace_callback(self.statements.append)
            return
        trace = self.files[id(dbapi_connection)] = tempfile.TemporaryFile()
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(
            pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
        )

    def stop(self, dbapi_connection, record):
        if hasattr(dbapi_connection, "set_trace_callback"):
            dbapi_connection.set_trace_callback(None)
            return
        dbapi_connection.pgconn.untrace()
        with self.files.pop(id(dbapi_connection)) as trace:
            trace.seek(0)
            self.statements += sent_statements(trace.read().decode())

    def count(self):
        return sum(
            not statement.lstrip().upper().startswith(NOT_COUNTED)
            for statement in self.statements
        )


def sent_statements(trace):
    """What each Query (its SQL) and Execute message in a libpq trace ran."""
    return [
        text.strip(' "') if message == "Query" else "(extended protocol)"
        for message, text in SENT.findall(trace)
    ]


def traced_request(app, account, method, url, body=None):
    """Run a request; (response, SQL seen by SQLAlchemy, DriverTrace).

    SQLAlchemy's before_cursor_execute misses the driver-level statements of
    myapp/rawsql.py (the token check, uploads); the driver's trace sees every one.
    """
    with app.app_context():
        engine = db.engine
    seen, driver = [], DriverTrace()

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    hooks = [
        ("before_cursor_execute", record),
        ("checkout", driver.start),
        ("checkin", driver.stop),
    ]
    for name, hook in hooks:
        sa.event.listen(engine, name, hook)
    try:
        response = account.client.open(
            url, method=method, json=body, headers=account.headers
        )
    finally:
        for name, hook in hooks:
            sa.event.remove(engine, name, hook)
    return response, seen, driver
