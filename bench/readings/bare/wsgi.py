"""The floor of the stack: bare Flask + the driver, no auth, the same GET answer.

sqlite3 or psycopg, by DATABASE_URL; one connection per thread, kept (pooled)
for the worker's life. Served by the same myapp.ini as the real app (uWSGI runs
it from this directory).
"""

import json
import os
import threading
from datetime import datetime, timedelta, timezone

import sqlite3
from flask import Flask

app = Flask(__name__)
URL = os.environ["DATABASE_URL"]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_local = threading.local()
SQL = (
    "SELECT id, sensor, recorded_at, data, client_id, created_at"
    " FROM readings WHERE id = ?"
)


def connect():
    if URL.startswith("sqlite:///"):
        conn = sqlite3.connect(URL.removeprefix("sqlite:///"))
        conn.execute("PRAGMA busy_timeout=10000")
        return conn
    import psycopg

    # Autocommit: one statement, no transaction to begin and end around it.
    return psycopg.connect(
        URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    )


def connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = connect()
    return conn


def fetch(reading_id):
    conn = connection()
    if isinstance(conn, sqlite3.Connection):
        row = conn.execute(SQL, (reading_id,)).fetchone()
        return row and row[:3] + (json.loads(row[3]),) + row[4:]
    # psycopg parses JSONB into Python objects itself.
    return conn.execute(SQL.replace("?", "%s"), (reading_id,)).fetchone()


def rfc3339(micros):
    return (EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")[
        :-6
    ] + "Z"


@app.get("/api/v1/health")
def health():
    return {"status": "ok"}


@app.get("/api/v1/readings/<int:reading_id>")
def reading(reading_id):
    row = fetch(reading_id)
    if row is None:
        return {"detail": "The reading does not exist."}, 404
    return {
        "id": row[0],
        "sensor": row[1],
        "recorded_at": rfc3339(row[2]),
        "data": row[3],
        "client_id": row[4],
        "created_at": rfc3339(row[5]),
    }
