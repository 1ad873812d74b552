"""Requests wait out a primary's move instead of failing (DATABASE_PRIMARY_WAIT).

When PostgreSQL's primary moves (a switchover, a failover) a request meets a
dead or read-only connection and would answer 503. If nothing it did reached
a COMMIT, nothing of it is stored, so it is run again from the start, with the
same body, until it gets through or the wait is over (then its 503 goes out).
A request that began a COMMIT is never run again: whether that COMMIT took
is unknown, and the contract's client_ids make the client's retry the safe
one. Off (0) unless configured: a database that is simply down should answer
503 within the connect timeout, as before.
"""

import io
import time

import sqlalchemy as sa
from flask import has_request_context, request

from myapp.db import db

UNAVAILABLE = "myapp.database_unavailable"
COMMITTED = "myapp.commit_begun"
PAUSE = 0.5  # seconds between runs of a request


def note_unavailable():
    """Called by the error handler: this request's 503 is the database's."""
    if has_request_context():
        request.environ[UNAVAILABLE] = True


def note_commit(connection):
    if has_request_context():
        request.environ[COMMITTED] = True


def init_app(app):
    wait = float(app.config["DATABASE_PRIMARY_WAIT"])
    if wait <= 0:
        return
    with app.app_context():
        sa.event.listen(db.engine, "commit", note_commit)
    app.wsgi_app = PrimaryWait(app.wsgi_app, wait, app.config["MAX_CONTENT_LENGTH"])


class PrimaryWait:
    """WSGI middleware: a request failed by the database before any COMMIT runs
    again until `wait` seconds have passed."""

    def __init__(self, app, wait, max_body):
        self.app = app
        self.wait = wait
        self.max_body = max_body

    def body(self, environ):
        """The request body as bytes, or None when it cannot be read again."""
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length > (self.max_body or length):
            return None  # the app refuses it (413) without reading it
        return environ["wsgi.input"].read(length) if length else b""

    def __call__(self, environ, start_response):
        body = self.body(environ)
        if body is None:
            return self.app(environ, start_response)
        deadline = time.monotonic() + self.wait
        while True:
            attempt = dict(environ)
            attempt["wsgi.input"] = io.BytesIO(body)
            attempt["CONTENT_LENGTH"] = str(len(body))
            started = []

            def capture(status, headers, exc_info=None):
                started[:] = [status, headers, exc_info]
                return lambda data: None  # the app never uses write()

            result = self.app(attempt, capture)
            again = (
                attempt.get(UNAVAILABLE)
                and not attempt.get(COMMITTED)
                and time.monotonic() + PAUSE < deadline
            )
            if not again:
                start_response(*started)
                return result
            if hasattr(result, "close"):
                result.close()
            time.sleep(PAUSE)
