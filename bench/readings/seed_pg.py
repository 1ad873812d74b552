"""Benchmark databases on PostgreSQL: migrations for the schema, COPY for rows.

The big table holds readings of many users interleaved in time, as devices
send them: one 30-second tick has user 2's accelerometer reading, user 1's
reading every other tick for its first 10,000 minutes, and about 9 readings of
998 other users (5 sensors each; user 3 has 100, for GET /readings/latest). So
one user's rows are spread over the whole heap, not stored together. Rows
stream from a Python generator into one `COPY ... (FREEZE)` into the table
truncated in the same transaction, with its indexes and constraints (and the
foreign keys of other tables into it) dropped first and built once after, as a
bulk load should be; then readings_latest is filled as the app keeps it. A
marker table says which seed a database holds, so later runs reuse it.
"""

import os
import random
import sys
import time
import uuid

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import seed  # noqa: E402

VERSION = "pg-3"  # 3: rollups
USERS = 1000
BENCH_USER_ROWS = 10_000  # user 1, ids 1..10,000 (as on SQLite)
STATS_ROWS = 1_000_000  # user 2's accelerometer, one every 30 s
COLUMNS = "id, user_id, sensor, recorded_at, data, client_id, created_at"


def plain_url(url):
    """psycopg's form of a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_database(url, name):
    return url.rsplit("/", 1)[0] + "/" + name


def seeded(url):
    """The (version, rows) marker of the database at url, or None."""
    try:
        with psycopg.connect(plain_url(url)) as conn:
            return conn.execute("SELECT version, rows FROM bench_seed").fetchone()
    except psycopg.Error:
        return None


def recreate_database(url):
    """Drop and create the database url names (connected through `postgres`)."""
    name = url.rsplit("/", 1)[1]
    admin = plain_url(with_database(url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def interleaved_rows(total):
    """(id, row) of the big table, in time order across users."""
    rng = random.Random(2)
    mine = seed.bench_user_rows()
    others = total - BENCH_USER_ROWS - STATS_ROWS
    other_id = BENCH_USER_ROWS + STATS_ROWS
    for tick in range(STATS_ROWS):
        second = seed.START_S + tick * 30
        if tick % 2 == 0 and tick // 2 < BENCH_USER_ROWS:
            yield tick // 2 + 1, next(mine)
        yield BENCH_USER_ROWS + tick + 1, one(rng, 2, "accelerometer", second, tick)
        # Integer shares: exactly `others` rows over all ticks.
        for _ in range((tick + 1) * others // STATS_ROWS - tick * others // STATS_ROWS):
            other_id += 1
            user = 3 + other_id % (USERS - 2)
            if user == 3:
                sensor = seed.MANY_SENSORS[other_id // (USERS - 2) % 100]
            else:
                sensor = seed.SENSORS[other_id % len(seed.SENSORS)]
            yield other_id, one(rng, user, sensor, second, other_id)


def one(rng, user_id, sensor, second, n):
    """One reading within the 30 s from second; every other one has a client_id."""
    micros = second * 1_000_000 + rng.randrange(30_000_000)
    data = (
        f'{{"x":{rng.uniform(-9.81, 9.81):.4f},"y":{rng.uniform(-9.81, 9.81):.4f},'
        f'"z":{rng.uniform(-9.81, 9.81):.4f},"battery":{rng.randrange(100)},'
        '"unit":"m/s2"}'
    )
    client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if n % 2 else None
    return user_id, sensor, micros, data, client_id, micros


def copy_line(reading_id, row):
    user_id, sensor, micros, data, client_id, created = row
    client = client_id if client_id is not None else "\\N"
    return f"{reading_id}\t{user_id}\t{sensor}\t{micros}\t{data}\t{client}\t{created}\n"


def bulk_load(url, rows, batch=20_000):
    """Replace the readings table's rows with rows, then rebuild its indexes."""
    with psycopg.connect(plain_url(url)) as conn:
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'readings'::regclass ORDER BY contype = 'f'"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'readings'"
        ).fetchall()
        referencing = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE confrelid = 'readings'::regclass"
            " AND conrelid <> 'readings'::regclass"
        ).fetchall()
        names = {name for name, _ in constraints}
        # Their foreign keys hang on readings' primary key: dropped before it.
        for table, name, _ in referencing:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in reversed(constraints):
            conn.execute(f'ALTER TABLE readings DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            if name not in names:
                conn.execute(f'DROP INDEX "{name}"')
        conn.execute("TRUNCATE readings")
        count = 0
        with conn.cursor().copy(
            f"COPY readings ({COLUMNS}) FROM STDIN (FREEZE)"
        ) as copy:
            lines = []
            for reading_id, row in rows:
                lines.append(copy_line(reading_id, row))
                if len(lines) == batch:
                    copy.write("".join(lines))
                    count += len(lines)
                    lines.clear()
            copy.write("".join(lines))
            count += len(lines)
        conn.commit()
        for name, definition in constraints:
            conn.execute(f'ALTER TABLE readings ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            if name not in names:
                conn.execute(definition)
        conn.execute("DELETE FROM readings_latest")
        conn.execute(seed.FILL_LATEST)
        for table, name, definition in referencing:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('readings', 'id'),"
            " (SELECT max(id) FROM readings))"
        )
        conn.commit()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) readings, readings_latest")
    return count


def mark(url, rows):
    with psycopg.connect(plain_url(url)) as conn:
        conn.execute("CREATE TABLE bench_seed (version text, rows bigint)")
        conn.execute("INSERT INTO bench_seed VALUES (%s, %s)", (VERSION, rows))


def build(url, rows, users, loginable=3):
    """A fresh database at url: migrations, users, then rows by COPY."""
    started = time.monotonic()
    recreate_database(url)
    app = seed.migrated_url(url)
    seed.add_users(app, users, loginable)
    count = bulk_load(url, rows)
    seed.rebuild_rollups(app)
    mark(url, count)
    return count, time.monotonic() - started


def build_big(url, total):
    return build(url, interleaved_rows(total), USERS)


def build_small(url):
    """User 1's same 10,000 readings, alone in the table."""
    rows = ((n + 1, row) for n, row in enumerate(seed.bench_user_rows()))
    return build(url, rows, 1)


def build_empty(url):
    recreate_database(url)
    app = seed.migrated_url(url)
    seed.add_users(app, 1)
