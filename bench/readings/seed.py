"""Benchmark databases, built fast: migrations for the schema, sqlite3 for rows.

Rows go straight into SQLite with executemany (not through HTTP or the ORM), in
(user_id, recorded_at) order, with the same encoding the app uses.
"""

import json
import os
import random
import sqlite3
import sys
import uuid
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

START_S = 1_767_225_600  # 2026-01-01T00:00:00Z
PASSWORD = "bench-password-1"
SENSORS = ["accelerometer", "gyroscope", "kitchen/temp", "hallway/humidity", "gps"]
# User 3 (bench3) of the 1M table: a house of 100 sensors, for GET /readings/latest.
MANY_SENSORS = [f"room{n // 10}/sensor{n % 10}" for n in range(100)]
# What the app keeps with every upload: each sensor's newest reading.
FILL_LATEST = (
    "INSERT INTO readings_latest (user_id, sensor, recorded_at, reading_id)"
    " SELECT r.user_id, r.sensor, r.recorded_at, r.id"
    " FROM (SELECT DISTINCT user_id, sensor FROM readings) s"
    " JOIN readings r ON r.id = (SELECT n.id FROM readings n"
    " WHERE n.user_id = s.user_id AND n.sensor = s.sensor"
    " ORDER BY n.recorded_at DESC, n.id DESC LIMIT 1)"
)


def migrated(path):
    """A new SQLite database at path with every migration applied."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return migrated_url(f"sqlite:///{path}")


def migrated_url(url):
    """The app on the (empty) database at url, with every migration applied."""
    import flask_migrate

    from myapp import create_app
    from myapp.db import db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        flask_migrate.upgrade(
            directory=os.path.join(ROOT, "migrations"), revision="heads"
        )
        db.engine.dispose()
    return app


def add_users(app, count, loginable=3):
    """Users 1 to 3 (bench1 ...) can log in; the others only own rows."""
    from myapp.db import db
    from myapp.users import service

    with app.app_context():
        for n in range(1, min(count, loginable) + 1):
            service.register(
                username=f"bench{n}", email=f"bench{n}@example.com", password=PASSWORD
            )
        hash_ = db.session.execute(db.text("SELECT password_hash FROM users")).scalar()
        created = datetime(2026, 1, 1, tzinfo=timezone.utc)
        others = [
            {"u": f"bench{n}", "e": f"bench{n}@example.com", "h": hash_, "c": created}
            for n in range(loginable + 1, count + 1)
        ]
        if others:
            db.session.execute(
                db.text(
                    "INSERT INTO users (username, email, password_hash, is_admin,"
                    " created_at) VALUES (:u, :e, :h, :admin, :c)"
                ).bindparams(
                    db.bindparam("admin", False, type_=db.Boolean),
                    db.bindparam("c", type_=db.DateTime(timezone=True)),
                ),
                others,
            )
        db.session.commit()
        db.engine.dispose()


def readings(rng, user_id, count, step_s, sensors, start_s=START_S):
    """count rows of one user, every step_s seconds, cycling through sensors."""
    for n in range(count):
        micros = (start_s + n * step_s) * 1_000_000 + rng.randrange(1_000_000)
        data = {
            "x": round(rng.uniform(-9.81, 9.81), 4),
            "y": round(rng.uniform(-9.81, 9.81), 4),
            "z": round(rng.uniform(-9.81, 9.81), 4),
            "battery": rng.randrange(100),
            "unit": "m/s2",
        }
        yield (
            user_id,
            sensors[n % len(sensors)],
            micros,
            json.dumps(data, separators=(",", ":")),
            str(uuid.UUID(int=rng.getrandbits(128), version=4)) if n % 2 else None,
            micros,
        )


def insert(path, rows):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("DELETE FROM readings_latest")
        conn.execute(FILL_LATEST)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def bench_user_rows():
    """The 10,000 readings of user 1 that every listing benchmark queries."""
    return readings(random.Random(1), 1, 10_000, 60, SENSORS)


def build_big(path, total=2_000_000, users=100, stats_rows=1_000_000):
    """user 1: 10,000 readings; user 2: a year of one sensor (1,000,000, one
    every 30 s); user 3: about 9,000 of 100 sensors; others: the rest."""
    app = migrated(path)
    add_users(app, users)
    rng = random.Random(2)

    def rows():
        yield from bench_user_rows()
        yield from readings(rng, 2, stats_rows, 30, ["accelerometer"])
        rest = total - 10_000 - stats_rows
        per_user = rest // (users - 2)
        for user_id in range(3, users + 1):
            count = per_user if user_id < users else rest - per_user * (users - 3)
            sensors = MANY_SENSORS if user_id == 3 else SENSORS
            yield from readings(rng, user_id, count, 45, sensors)

    insert(path, rows())
    rebuild_rollups(app)


def rebuild_rollups(app):
    """Rollups, as uploads keep them (what flask readings rebuild-rollups does)."""
    from myapp.readings.rebuild import rebuild_user, users_with_readings

    with app.app_context():
        for user_id in users_with_readings():
            rebuild_user(user_id=user_id)


def build_small(path):
    """The same 10,000 readings of user 1, alone in the table."""
    app = migrated(path)
    add_users(app, 1)
    insert(path, bench_user_rows())
    rebuild_rollups(app)


def build_empty(path, users=1):
    app = migrated(path)
    add_users(app, users)


def login(server, username="bench1"):
    """An access token of a seeded bench user, logged in over HTTP."""
    import common  # bench/common.py: the benches put it on sys.path

    status, body = common.request(
        server,
        "POST",
        "/api/v1/auth/login",
        {"username": username, "password": PASSWORD},
    )
    assert status == 200, body
    return body["access_token"]


def login_in_process(app, username="bench1"):
    """An access token of a seeded bench user, from the app in this process."""
    response = app.test_client().post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.json
    return response.json["access_token"]
