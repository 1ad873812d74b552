"""The floor of the stack: bare Flask + sqlite3, no auth, the same GET answer.

Served by the same myapp.ini as the real app (uWSGI runs it from this directory).
"""

import json
import os
import threading
from datetime import datetime, timedelta, timezone

import sqlite3
from flask import Flask

app = Flask(__name__)
PATH = os.environ["DATABASE_URL"].removeprefix("sqlite:///")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_local = threading.local()


def connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(PATH)
        conn.execute("PRAGMA busy_timeout=10000")
    return conn


def rfc3339(micros):
    return (EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")[
        :-6
    ] + "Z"


@app.get("/api/v1/health")
def health():
    return {"status": "ok"}


@app.get("/api/v1/readings/<int:reading_id>")
def reading(reading_id):
    row = (
        connection()
        .execute(
            "SELECT id, sensor, recorded_at, data, client_id, created_at"
            " FROM readings WHERE id = ?",
            (reading_id,),
        )
        .fetchone()
    )
    if row is None:
        return {"detail": "The reading does not exist."}, 404
    return {
        "id": row[0],
        "sensor": row[1],
        "recorded_at": rfc3339(row[2]),
        "data": json.loads(row[3]),
        "client_id": row[4],
        "created_at": rfc3339(row[5]),
    }
