"""The ingest round's floors: the same bodies stored by a plain in-process insert.

json.loads and one executemany (SQLite), or json.loads and the faster of one
COPY and one executemany (PostgreSQL), one transaction per body.
"""

import json
import sqlite3
import time
from datetime import datetime, timezone

import common
import seed_pg

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
FLOOR_COLUMNS = "user_id, sensor, recorded_at, data, client_id, created_at"


def floor_rows(body, recorded_at):
    """The rows of one body as a plain insert stores them (user 1)."""
    return [
        (
            1,
            item["sensor"],
            recorded_at(item["recorded_at"]),
            json.dumps(item["data"]),
            item.get("client_id"),
            0,
        )
        for item in json.loads(body)["readings"]
    ]


def timed_bodies(bodies, store):
    """store(body) for each body; its latencies and readings/s over them all."""
    samples = []
    started = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        store(body)
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return dict(common.latencies(samples), readings_per_s=len(bodies) * 1000 / elapsed)


def sqlite_floor(floor_url, bodies):
    """The database floor: json.loads + one executemany per body, one transaction."""
    conn = sqlite3.connect(floor_url.removeprefix("sqlite:///"))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO readings ({FLOOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"

    def store(body):
        with conn:
            conn.executemany(sql, floor_rows(body, str))

    figures = timed_bodies(bodies, store)
    conn.close()
    return dict(figures, method="executemany")


def micros_of(text):
    """Microseconds since 1970 of an RFC 3339 UTC time (the floor's parse)."""
    delta = datetime.fromisoformat(text.replace("Z", "+00:00")) - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def postgres_floor(floor_url, bodies):
    """The floors on PostgreSQL: json.loads, then one COPY or one executemany.

    Each into its own table identical to readings (same indexes, the unique
    client_id constraint), one transaction per body; both run on the same bodies.
    """
    import psycopg

    with psycopg.connect(seed_pg.plain_url(floor_url)) as conn:
        for table in ("floor_copy", "floor_many"):
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (LIKE readings INCLUDING ALL)"
            )
        conn.commit()

        def copy(body):
            rows = floor_rows(body, micros_of)
            with conn.cursor() as cursor:
                with cursor.copy(
                    f"COPY floor_copy ({FLOOR_COLUMNS}) FROM STDIN"
                ) as copying:
                    for row in rows:
                        copying.write_row(row)
            conn.commit()

        def executemany(body):
            rows = floor_rows(body, micros_of)
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO floor_many ({FLOOR_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    rows,
                )
            conn.commit()

        figures = {
            "copy": timed_bodies(bodies, copy),
            "executemany": timed_bodies(bodies, executemany),
        }
    best = max(figures, key=lambda method: figures[method]["readings_per_s"])
    return dict(figures[best], method=best, methods=figures)
