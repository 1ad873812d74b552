"""Goals benchmark: uWSGI from myapp.ini (2 processes) on loopback.

    bench/run.sh goals [--requests 60]                 SQLite
    bench/run.sh goals --db postgres [--requests 60]   a PostgreSQL run.sh starts
    (or: .venv/bin/python bench/goals/run.py [--requests 60])

Measures the targets of issue 4 on one seeded database: GET /goals/ for a user
with 5,000 goals nested 50 deep (tree and flat), and moving and completing a
1,000-goal subtree (PATCH, whose answer is that whole subtree). And those of
issue 14 (measured goals, bench/goals/measured.py): the same forest with 100
measured goals over 100,000 readings against the forest without targets, and
1000-reading uploads to a sensor with 10 measured goals against the same
uploads by a user with none. Requests go one at a time on one connection, so
latencies are service times, not queueing; the cases take turns request by
request, with GET /health as the baseline, so background load spreads evenly
over them. SQL statements per request are counted in-process on the same data.
Writes bench/results/goals.json and goals.md, and prints the table.

The trees are forest.py's, the requests cases.py's, the in-process counts
inprocess.py's, the report table.py's.
"""

import argparse
import os
import random
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import measured as issue14  # noqa: E402
from cases import (  # noqa: E402
    FOREST,
    MEASURED_FOREST,
    PLAIN_INGEST,
    SPREAD_HABITS,
    SPREAD_PLAIN,
    WATCHED_INGEST,
    cases,
    timed_request,
)
from forest import FOREST_DEPTH, FOREST_GOALS, SUBTREE_GOALS  # noqa: E402
from forest import continue_ids, random_tree, reopen_subtree, seed  # noqa: E402
from inprocess import in_process  # noqa: E402
from readings import seed_pg  # noqa: E402
from table import report  # noqa: E402

# Tokens outlive the whole run; every check still runs on every request.
SERVER_ENV = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60, help="per case")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: on the server in TEST_DATABASE_URL (bench/run.sh starts one)",
    )
    options = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="goals-bench-")
    url = "sqlite:///" + os.path.join(workdir, "goals.sqlite")
    if options.db == "postgres":
        server_url = os.environ.get("TEST_DATABASE_URL", "")
        if not server_url.startswith("postgresql"):
            parser.error("--db postgres runs through bench/run.sh, which starts one")
        url = seed_pg.with_database(server_url, "goals_bench")
        seed_pg.recreate_database(url)
    app = common.production_app(url, CORS_ORIGINS=common.CORS_ORIGINS)
    common.say(f"seeding {FOREST_GOALS + SUBTREE_GOALS + 2} goals in {workdir} ...")
    tokens, depth = seed(app, random.Random(options.seed))
    common.say("seeding the measured forest and 100,000 readings ...")
    tokens["measured"], _ = issue14.seed_forest(
        app, app.test_client(), random_tree, FOREST_GOALS, FOREST_DEPTH, options.seed
    )
    continue_ids(app)
    tokens.update(issue14.seed_ingest(app))
    tokens.update(issue14.seed_habits(app))
    plan = cases(depth)
    load = [os.getloadavg()[0]]

    measured = {}
    for label, method, path, who, body_for, reset in plan:
        bodies = [body_for(n + 1) if body_for else None for n in range(21)]
        measured[label] = in_process(app, method, path, tokens.get(who), bodies, reset)

    server = common.Server("goals", url, extra_env=SERVER_ENV)
    samples = {label: [] for label, *_ in plan}
    sizes = {}
    try:
        for n in range(options.requests + 3):  # the first 3 rounds warm up
            for label, method, path, who, body_for, reset in plan:
                body = body_for(n) if body_for else None
                ms, status, payload = timed_request(
                    server.port, method, path, tokens.get(who), body
                )
                assert status in (200, 201), (label, status, payload[:300])
                if reset:
                    reopen_subtree(app)
                if n >= 3:
                    samples[label].append(ms)
                sizes[label] = len(payload)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    load.append(os.getloadavg()[0])
    habit_rows = issue14.goal_rows(app, "habits")

    forest = FOREST.format(depth=depth)
    results = {
        "started": common.utc_now(),
        "db": options.db,
        "requests_per_case": options.requests,
        "load_average_1m": {"start": load[0], "end": load[1]},
        "ratios": {
            "measured_forest": common.paired_ratio(
                samples[MEASURED_FOREST], samples[forest]
            ),
            # Readings/s with 10 targets over readings/s without: plain ms / watched ms.
            "ingest": common.paired_ratio(
                samples[PLAIN_INGEST], samples[WATCHED_INGEST]
            ),
            # Time with 200 habits over time without: habits ms / plain ms.
            "habits": common.paired_ratio(
                samples[SPREAD_HABITS], samples[SPREAD_PLAIN]
            ),
        },
        "habit_rows": habit_rows,
        "cases": {
            label: dict(
                common.latencies(samples[label]),
                max_ms=max(samples[label]),
                cpu_ms_in_process=measured[label][1],
                sql_statements=measured[label][0],
                response_bytes=sizes[label],
            )
            for label in samples
        },
    }
    report(results)


if __name__ == "__main__":
    main()
