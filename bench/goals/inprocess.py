"""What a goals request costs the code itself: SQL statements and CPU, in-process.

SQLite's trace callback sees every statement, also those the app runs on the
driver's cursor directly (the prepared token check), which SQLAlchemy's cursor
events do not; on PostgreSQL psycopg's cursors are counted instead. CPU time,
unlike wall time, hardly moves with the machine's other load.
"""

import statistics
import time

import sqlalchemy as sa

from forest import reopen_subtree
from myapp.db import db


class CountingCursor:
    """psycopg cursors that count what they execute, while counting is on.

    PostgreSQL's stand-in for SQLite's trace callback: it sees the statements
    the app runs on the driver's cursor directly too.
    """

    def __init__(self, statements):
        import psycopg

        self.statements = statements
        self.original = psycopg.Cursor.execute
        counter = self

        def execute(cursor, query, *args, **kwargs):
            counter.statements.append(query)
            return counter.original(cursor, query, *args, **kwargs)

        self.patched = execute

    def on(self, *_):
        import psycopg

        psycopg.Cursor.execute = self.patched

    def off(self, *_):
        import psycopg

        psycopg.Cursor.execute = self.original


def in_process(app, method, path, token, bodies, reset):
    """(SQL statements of the first request, median CPU ms of the others)."""
    statements, cpu = [], []
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        counting = CountingCursor(statements)
        trace, untrace = counting.on, counting.off
    else:

        def trace(dbapi_connection, record, proxy):
            dbapi_connection.set_trace_callback(statements.append)

        def untrace(dbapi_connection, record):
            dbapi_connection.set_trace_callback(None)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for n, body in enumerate(bodies):
        if n == 0:
            sa.event.listen(engine, "checkout", trace)
            sa.event.listen(engine, "checkin", untrace)
        started = time.process_time()
        response = client.open(path, method=method, json=body, headers=headers)
        cpu.append((time.process_time() - started) * 1000)
        if n == 0:
            sa.event.remove(engine, "checkout", trace)
            sa.event.remove(engine, "checkin", untrace)
            counted = len(statements)
        assert response.status_code in (200, 201), response.json
        if reset:
            reopen_subtree(app)
    return counted, statistics.median(cpu[1:])
