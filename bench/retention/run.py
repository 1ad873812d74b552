"""Retention benchmark: pruning rows/s, and upload latency while a prune runs.

    bench/run.sh retention [--quick] [--rows N]
    bench/run.sh retention --db postgres [--quick] [--rows N]

A fresh database holds N readings (default 1,000,000) of user bench2's one
sensor from 2026-01-01, one every 20 s (closer for more than a million, so
all are over a day old; every other with a client_id), and a rule keeping
them 1 day with no grace left, so all but the newest go. One uWSGI from
myapp.ini (production config) takes uploads from bench1 (batches of 10, two
clients): 5 s of warm-up, 30 s without pruning, then while `flask readings
prune` (production config, --batch readings a transaction, each followed by
a pause --pause times as long) removes them: upload p50/p99 in both phases
of the same run, pruning rows/s, and the space before and after (the SQLite
file; PostgreSQL's tables), with the bytes the pruned client_ids take.
Rollups are not seeded (pruning never reads them); the sensor's numeric
fields are, so measured goals keep their tallies of it (goal_pruned). Writes
bench/results/retention[-postgres].json and .md, and the section of bench/README.md.
"""

import argparse
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "readings")]
sys.path.append(ROOT)

import common  # noqa: E402
import seed  # noqa: E402

DATABASE = os.path.join(common.RESULTS, "retention-data", "retention.sqlite")
UPLOAD = b'{"readings": [%s]}' % b", ".join(
    [b'{"sensor": "kitchen/temp", "data": {"celsius": 21.5, "rh": 40}}'] * 10
)


def build(options):
    """The database with the seeded readings and bench2's rule; its app."""
    import random

    # One every 20 s for a million (231 days from 2026-01-01), closer for more,
    # so that every reading is in the past and over a day old.
    step = max(1, 20 * 1_000_000 // options.rows)
    rows = seed.readings(random.Random(5), 2, options.rows, step, ["accelerometer"])
    if options.db == "postgres":
        import seed_pg

        url = seed_pg.with_database(options.server_url, "bench_retention")
        seed_pg.recreate_database(url)
        app = seed.migrated_url(url)
        seed.add_users(app, 2)
        seed_pg.bulk_load(url, ((n + 1, row) for n, row in enumerate(rows)))
    else:
        os.makedirs(os.path.dirname(DATABASE), exist_ok=True)
        url = f"sqlite:///{DATABASE}"
        app = seed.migrated(DATABASE)
        seed.add_users(app, 2)
        seed.insert(DATABASE, rows)
    from myapp.db import db
    from myapp.readings import retention
    from myapp.readings.models import ReadingField

    with app.app_context():
        # The numeric fields uploads would have seen (rollups themselves are not
        # seeded): measured goals keep a tally of each per pruned 15 minutes.
        for field in ("x", "y", "z", "battery"):
            db.session.add(ReadingField(user_id=2, sensor="accelerometer", field=field))
        db.session.commit()
        rule = {"sensors": None, "keep_days": 1}
        now = int(time.time() * 1_000_000)
        retention.put_rules(user_id=2, rules=[rule], now=now, grace_hours=0)
        db.engine.dispose()
    return app, url


def sizes(app):
    """Bytes on disk: the whole SQLite file, or PostgreSQL's readings tables."""
    from myapp.db import db

    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
            free = connection.exec_driver_sql("PRAGMA freelist_count").scalar()
            size = connection.exec_driver_sql("PRAGMA page_size").scalar()
            ids = connection.exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN"
                " ('readings_pruned_ids', 'sqlite_autoindex_readings_pruned_ids_1')"
            ).scalar()
            found = {"file": pages * size, "free_pages": free}
        else:
            found = {
                "readings": connection.exec_driver_sql(
                    "SELECT pg_total_relation_size('readings')"
                ).scalar(),
                "dead_rows": connection.exec_driver_sql(
                    "SELECT n_dead_tup FROM pg_stat_user_tables"
                    " WHERE relname = 'readings'"
                ).scalar(),
            }
            ids = connection.exec_driver_sql(
                "SELECT pg_total_relation_size('readings_pruned_ids')"
            ).scalar()
        found["pruned_ids"] = ids or 0
        found["goal_pruned"] = _goal_pruned_bytes(connection)
        found["goal_pruned_rows"] = connection.exec_driver_sql(
            "SELECT count(*) FROM goal_pruned"
        ).scalar()
        found["pruned_id_rows"] = connection.exec_driver_sql(
            "SELECT count(*) FROM readings_pruned_ids"
        ).scalar()
        db.session.rollback()
        db.engine.dispose()
    return found


def _goal_pruned_bytes(connection):
    """goal_pruned with its primary key, in bytes."""
    if connection.dialect.name == "sqlite":
        return connection.exec_driver_sql(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN"
            " ('goal_pruned', 'sqlite_autoindex_goal_pruned_1')"
        ).scalar()
    return connection.exec_driver_sql(
        "SELECT pg_total_relation_size('goal_pruned')"
    ).scalar()


class Uploads:
    """Two clients posting batches of 10 readings back to back; their latencies."""

    def __init__(self, server, token):
        self.server, self.token = server, token
        self.latencies, self.stopping = [], threading.Event()
        self.threads = [threading.Thread(target=self._post) for _ in range(2)]

    def _post(self):
        while not self.stopping.is_set():
            ms, created = common.post_batch(self.server, self.token, UPLOAD)
            self.latencies.append(ms)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def prune(url, options):
    """`flask readings prune` as deployed; (rows removed, seconds it says)."""
    env = {
        "MYAPP_RETENTION_PRUNE_BATCH": str(options.batch),
        "MYAPP_RETENTION_PRUNE_PAUSE": str(options.pause),
        "MYAPP_RETENTION_PRUNE_BATCH_SECONDS": str(options.batch_seconds),
        **os.environ,
        "MYAPP_CONFIG": "production",
        "SECRET_KEY": common.SECRET_KEY,
        "CORS_ORIGINS": common.CORS_ORIGINS,
        "DATABASE_URL": url,
        "FLASK_APP": "wsgi",
    }
    flask = os.path.join(ROOT, ".venv", "bin", "flask")
    done = subprocess.run(
        [flask, "readings", "prune"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"removed (\d+) readings .* in ([\d.]+) s", done.stderr)
    return int(found[1]), float(found[2])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 readings")
    parser.add_argument("--rows", type=int, help="readings to seed")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch", type=int, default=1000, help="readings a batch")
    parser.add_argument("--pause", type=float, default=1.0, help="pause per batch")
    parser.add_argument(
        "--batch-seconds", type=float, default=0.025, help="time a batch is sized to"
    )
    options = parser.parse_args()
    options.rows = options.rows or (100_000 if options.quick else 1_000_000)
    if options.db == "postgres":
        options.server_url = os.environ.get("TEST_DATABASE_URL", "")
        if not options.server_url.startswith("postgresql"):
            parser.error("--db postgres runs through bench/run.sh, which starts one")
    load_before = os.getloadavg()
    common.say(f"seeding {options.rows:,} readings on {options.db}")
    started = time.monotonic()
    app, url = build(options)
    common.say(f"  seeded in {time.monotonic() - started:.0f} s")
    before = sizes(app)
    # Access tokens outlive a 10M prune (production's 15 minutes do not).
    env = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "14400"}
    server = common.Server("retention", url, extra_env=env)
    try:
        token = seed.login(server, "bench1")
        with Uploads(server, token):  # warm-up, not measured
            time.sleep(5)
        with Uploads(server, token) as baseline:
            time.sleep(10 if options.quick else 30)  # the baseline phase's length
        with Uploads(server, token) as during:
            removed, seconds = prune(url, options)
    finally:
        server.stop()
    after = sizes(app)
    report(options, load_before, removed, seconds, baseline, during, before, after)


def report(options, load_before, removed, seconds, baseline, during, before, after):
    quiet = common.latencies(baseline.latencies)
    busy = common.latencies(during.latencies)
    per_id = after["pruned_ids"] / max(after["pruned_id_rows"], 1)
    figures = {
        "when": common.utc_now(),
        "db": options.db,
        "rows": options.rows,
        "batch": options.batch,
        "pause": options.pause,
        "batch_seconds": options.batch_seconds,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "removed": removed,
        "seconds": seconds,
        "uploads": {"baseline": quiet, "during_prune": busy},
        "upload_counts": [len(baseline.latencies), len(during.latencies)],
        "sizes": {"before": before, "after": after},
    }
    name = "retention" + ("-postgres" if options.db == "postgres" else "")
    load = ", ".join(f"{x:.2f}" for x in load_before)
    mb = 1024 * 1024
    lines = [
        f"`bench/run.sh retention{' --db postgres' if options.db == 'postgres' else ''}"
        f"{' --quick' if options.quick else ''}"
        f"{f' --rows {options.rows}' if not options.quick else ''}"
        f" --batch {options.batch} --pause {options.pause:g}"
        f" --batch-seconds {options.batch_seconds:g}`, run of "
        f"{figures['when']} on {options.db} (load average before: {load}):",
        "",
        "| measurement | figure | target |",
        "|---|---|---|",
        f"| pruning {removed:,} of {options.rows:,} readings while the uploads "
        f"run (up to {options.batch} a transaction, sized to take about "
        f"{options.batch_seconds * 1000:g} ms, each followed by a pause "
        f"{options.pause:g} times as long, then the space given back) | "
        f"{seconds:.1f} s, "
        f"{removed / seconds:,.0f} readings/s | |",
        f"| upload p99, batches of 10, two clients: without pruning "
        f"({len(baseline.latencies)} uploads) / during it "
        f"({len(during.latencies)}) | {quiet['p99_ms']:.1f} ms / "
        f"{busy['p99_ms']:.1f} ms: {busy['p99_ms'] / quiet['p99_ms']:.2f}x "
        f"(p50 {quiet['p50_ms']:.1f} / {busy['p50_ms']:.1f} ms) | <= 2x |",
        f"| pruned client_ids kept | {after['pruned_id_rows']:,} rows, "
        f"{after['pruned_ids'] / mb:.1f} MiB: {per_id:.0f} bytes each, "
        f"{per_id * 1_000_000 / mb:.0f} MiB per million | |",
        f"| measured goals' tallies of the pruned readings (goal_pruned: one "
        f"row per field and 15 minutes) | {after['goal_pruned_rows']:,} rows, "
        f"{after['goal_pruned'] / mb:.1f} MiB: "
        f"{after['goal_pruned'] * 1_000_000 / max(removed, 1) / mb:.1f} MiB per "
        f"million pruned readings | |",
    ]
    if options.db == "sqlite":
        lines.append(
            f"| the SQLite file (auto_vacuum incremental) | "
            f"{before['file'] / mb:,.0f} MiB before, {after['file'] / mb:,.0f} MiB "
            f"after ({after['free_pages']} free pages left) | |"
        )
    else:
        lines.append(
            f"| readings with its indexes | {before['readings'] / mb:,.0f} MiB "
            f"before, {after['readings'] / mb:,.0f} MiB after, "
            f"{after['dead_rows']:,} dead rows for autovacuum | |"
        )
    text = "\n".join(lines) + "\n"
    common.save(name, figures, text)
    common.say(text)
    common.publish(f"retention on {options.db}", text)


if __name__ == "__main__":
    main()
