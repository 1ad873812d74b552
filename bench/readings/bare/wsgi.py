"""The floor of the stack: bare Flask + the driver, no auth, the same answers.

sqlite3 or psycopg, by DATABASE_URL; one connection per thread, kept (pooled)
for the worker's life. GET /readings/<id> reads one row; POST /readings/
stores the same row a device's upload does (user 1, device 1, the server's
time) in a transaction of its own (on SQLite with the app's production
settings), and answers the same 201 body. Served by the same myapp.ini as the
real app (uWSGI runs it from this directory).
"""

import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import sqlite3
from flask import Flask, request

app = Flask(__name__)
URL = os.environ["DATABASE_URL"]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_local = threading.local()
SQL = (
    "SELECT id, sensor, recorded_at, data, client_id, created_at, device_id"
    " FROM readings WHERE id = ?"
)
INSERT = (
    "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
    " created_at, device_id) VALUES (1, ?, ?, ?, NULL, ?, 1) RETURNING id"
)
# The app's SQLite settings in production (myapp/db.py).
PRAGMAS = ("foreign_keys=ON", "journal_mode=WAL", "synchronous=FULL")


def connect():
    if URL.startswith("sqlite:///"):
        conn = sqlite3.connect(URL.removeprefix("sqlite:///"))
        for pragma in PRAGMAS:
            conn.execute(f"PRAGMA {pragma}")
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


def insert(sensor, now, data):
    """The id of a new reading of user 1's device 1, committed."""
    args = (sensor, now, data, now)
    conn = connection()
    if isinstance(conn, sqlite3.Connection):
        with conn:
            return conn.execute(INSERT, args).fetchone()[0]
    # Autocommit: the INSERT is its own transaction.
    (reading_id,) = conn.execute(INSERT.replace("?", "%s"), args).fetchone()
    return reading_id


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
        "device_id": row[6],
        "created_at": rfc3339(row[5]),
    }


@app.post("/api/v1/readings/")
def store():
    item = request.get_json()
    now = int(time.time() * 1_000_000)
    data = json.dumps(item["data"], separators=(",", ":"))
    reading_id = insert(item["sensor"], now, data)
    body = {
        "id": reading_id,
        "sensor": item["sensor"],
        "recorded_at": rfc3339(now),
        "data": item["data"],
        "client_id": None,
        "device_id": 1,
        "created_at": rfc3339(now),
    }
    return body, 201, {"Location": f"/api/v1/readings/{reading_id}"}
