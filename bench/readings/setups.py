"""Where a readings run's data lives: SQLite files or the run's PostgreSQL.

Each setup builds (or reuses) the big and the 10,000-row table, makes empty
databases for the write rounds, and names its driver, its targets and its
ingest floor.
"""

import functools
import os
import time

import common
import floors
import seed
import seed_pg

DATA = os.path.join(common.RESULTS, "readings-data")
BIG, SMALL = os.path.join(DATA, "big.sqlite"), os.path.join(DATA, "small.sqlite")
# 7: a year of user 2 (1,000,000 readings) and rollups (seed.py).
SEED_VERSION = "7"
PG_ROWS, PG_MIN_ROWS = 10_000_000, 1_110_000


def url(path):
    return f"sqlite:///{path}"


class SQLite:
    """Where the SQLite run's data lives, and what each measurement expects."""

    name = "sqlite"
    big, small = url(BIG), url(SMALL)
    big_rows, stats_rows = 2_000_000, 1_000_000
    driver = "sqlite3"
    targets = {"ingest": ">= 25,000/s and >= 0.35x"}

    @staticmethod
    def build(rebuild):
        """The 1M and 10k tables are reused between runs unless the seed changed."""
        os.makedirs(DATA, exist_ok=True)
        marker = os.path.join(DATA, "version")
        fresh = os.path.exists(marker) and open(marker).read() == SEED_VERSION
        if fresh and not rebuild:
            # Reused data meets the code's schema: later migrations, applied.
            seed.migrated_url(url(BIG))
            seed.migrated_url(url(SMALL))
            return
        started = time.monotonic()
        common.say("seeding 2,000,000 readings (sqlite3 executemany) ...")
        seed.build_big(BIG)
        seed.build_small(SMALL)
        open(marker, "w").write(SEED_VERSION)
        common.say(f"  seeded in {time.monotonic() - started:.0f} s")

    @staticmethod
    def empty(name):
        """A new database with the schema and user bench1 alone."""
        path = os.path.join(DATA, f"{name}.sqlite")
        seed.build_empty(path)
        return url(path)

    @staticmethod
    def ingest_floor(floor_url, bodies):
        return floors.sqlite_floor(floor_url, bodies)


class PostgreSQL:
    """The run's PostgreSQL (TEST_DATABASE_URL, from scripts/pg-throwaway.sh)."""

    name = "postgres"
    stats_rows = seed_pg.STATS_ROWS
    driver = "psycopg"
    targets = {"ingest": ">= 30,000/s and >= 0.35x"}

    def __init__(self, server_url, big_rows):
        self.server_url = server_url
        self.big = seed_pg.with_database(server_url, "readings_big")
        self.small = seed_pg.with_database(server_url, "readings_small")
        self.big_rows = big_rows

    def build(self, rebuild):
        """The big and small databases are reused unless the seed changed."""
        for target, rows, build in (
            (
                self.big,
                self.big_rows,
                functools.partial(seed_pg.build_big, self.big, self.big_rows),
            ),
            (
                self.small,
                seed_pg.BENCH_USER_ROWS,
                functools.partial(seed_pg.build_small, self.small),
            ),
        ):
            if rebuild or seed_pg.seeded(target) != (seed_pg.VERSION, rows):
                common.say(f"seeding {rows:,} readings into {target} (COPY) ...")
                count, seconds = build()
                common.say(f"  seeded {count:,} rows in {seconds:.0f} s")
            else:
                # Reused data meets the code's schema: later migrations, applied.
                seed.migrated_url(target)

    def empty(self, name):
        """A new database with the schema and user bench1 alone."""
        target = seed_pg.with_database(self.server_url, f"readings_{name}")
        seed_pg.build_empty(target)
        return target

    @staticmethod
    def ingest_floor(floor_url, bodies):
        return floors.postgres_floor(floor_url, bodies)
