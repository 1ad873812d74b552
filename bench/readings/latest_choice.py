"""GET /readings/latest: walk the index, or keep a latest-per-sensor table?
(The app keeps the table, readings_latest; this measures the choice.)

    .venv/bin/python bench/readings/latest_choice.py [big.sqlite]

Measured in-process with sqlite3 on a copy of the 1,000,000-row table of
bench/run.sh readings (bench3: 100 sensors), median of many runs each:
- read: a skip-scan of the readings index against the app's read of the
  readings_latest table (one row per user and sensor) joined to readings;
- write: one single-reading upload transaction (INSERT + COMMIT) with and
  without the upsert that keeps readings_latest current (service._keep_latest),
  and the same for a 1000-reading batch over 5 sensors (one upsert a batch),
  in turns so both see the same load.
Deletes are left out: deleting a sensor's newest reading also seeks the next
one (one INSERT .. SELECT, the seek the skip-scan does per sensor).
"""

import os
import shutil
import sqlite3
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402

USER = 3  # bench3, 100 sensors
INSERT = (
    "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
    " created_at, device_id) VALUES {values} RETURNING id"
)


def median_us(run, times):
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def paired_medians_us(run, times):
    """{False: us, True: us}: run(flag) in turns, so both see the same load."""
    samples = {False: [], True: []}
    for _ in range(times):
        for flag in samples:
            started = time.perf_counter()
            run(flag)
            samples[flag].append((time.perf_counter() - started) * 1e6)
    return {flag: statistics.median(found) for flag, found in samples.items()}


# The alternative: walk the (user_id, sensor, recorded_at, id) index, two seeks
# a sensor (the next name, then its newest reading), no table to keep.
SKIP_SCAN = (
    "WITH RECURSIVE names(sensor, n) AS ("
    "SELECT (SELECT s.sensor FROM readings s WHERE s.user_id = :user_id"
    " AND s.sensor > :after ORDER BY s.sensor LIMIT 1), 1"
    " UNION ALL SELECT (SELECT s.sensor FROM readings s"
    " WHERE s.user_id = :user_id AND s.sensor > names.sensor"
    " ORDER BY s.sensor LIMIT 1), names.n + 1"
    " FROM names WHERE names.sensor IS NOT NULL AND names.n < :count)"
    " SELECT r.id, r.sensor, r.recorded_at, CAST(r.data AS TEXT), r.client_id,"
    " r.device_id, r.created_at FROM names JOIN readings r ON r.id = ("
    "SELECT n.id FROM readings n WHERE n.user_id = :user_id"
    " AND n.sensor = names.sensor ORDER BY n.recorded_at DESC, n.id DESC LIMIT 1)"
)


def table_sql():
    """What the app runs (queries._LATEST): readings_latest joined to readings."""
    from myapp.readings.queries import _LATEST

    return _LATEST.statement.element.text  # :named parameters, as sqlite3 takes


def uploads(conn, rows, with_table, spent=None):
    """One upload transaction of rows (sensor, micros); the upsert if with_table.

    spent, a list, gets the upsert's own microseconds (Python part included).
    """
    marks = ", ".join(["(?, ?, ?, '{}', NULL, ?, NULL)"] * len(rows))
    args = [v for sensor, at in rows for v in (USER, sensor, at, at)]
    ids = [row[0] for row in conn.execute(INSERT.format(values=marks), args)]
    if with_table:
        from myapp.readings.service import _UPSERT_LATEST

        started = time.perf_counter()
        newest = {}
        for (sensor, at), reading_id in zip(rows, ids):
            if (at, reading_id) > newest.get(sensor, (-1, -1)):
                newest[sensor] = (at, reading_id)
        marks = ", ".join(["(?, ?, ?, ?)"] * len(newest))
        args = [
            v
            for sensor, (at, rid) in sorted(newest.items())
            for v in (USER, sensor, at, rid)
        ]
        conn.execute(_UPSERT_LATEST.format(values=marks), args)
        if spent is not None:
            spent.append((time.perf_counter() - started) * 1e6)
    conn.commit()


def main():
    source = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.join(common.RESULTS, "readings-data", "big.sqlite")
    )
    path = os.path.join(common.RESULTS, "readings-data", "latest-choice.sqlite")
    shutil.copyfile(source, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # CPU, not the disk's fsync
    args = {"user_id": USER, "after": "", "count": 101}
    table = table_sql()
    assert sorted(conn.execute(SKIP_SCAN, args).fetchall()) == sorted(
        conn.execute(table, args).fetchall()
    )
    read_scan = median_us(lambda: conn.execute(SKIP_SCAN, args).fetchall(), 300)
    read_table = median_us(lambda: conn.execute(table, args).fetchall(), 300)
    now = int(time.time() * 1e6)
    one = [("room0/sensor0", now)]
    batch = [(f"room{n % 5}/sensor0", now + n) for n in range(1000)]
    own = {"1 reading": [], "1000 readings": []}
    single = paired_medians_us(
        lambda flag: uploads(conn, one, flag, own["1 reading"]), 400
    )
    many = paired_medians_us(
        lambda flag: uploads(conn, batch, flag, own["1000 readings"]), 60
    )
    conn.close()
    os.remove(path)
    print("GET /readings/latest for 100 sensors on 1,000,000 rows (sqlite3, median):")
    print(f"  skip-scan over the (user_id, sensor, ...) index  {read_scan:8.0f} us")
    print(f"  latest-per-sensor table joined to readings       {read_table:8.0f} us")
    print("Upload transaction, INSERT + COMMIT (synchronous=NORMAL), median:")
    for label, figures in (("1 reading", single), ("1000 readings", many)):
        extra = figures[True] - figures[False]
        print(
            f"  {label:14} {figures[False]:8.0f} us; with the table's upsert"
            f" {figures[True]:8.0f} us (difference of medians {extra:+.0f} us);"
            f" the upsert itself {statistics.median(own[label]):.0f} us"
        )


if __name__ == "__main__":
    main()
