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
"""

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.dirname(HERE), ROOT]

import common  # noqa: E402
from readings import seed_pg  # noqa: E402
import flask_migrate  # noqa: E402
import measured as issue14  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from myapp import create_app  # noqa: E402
from myapp.db import db  # noqa: E402
from myapp.goals.models import Goal  # noqa: E402
from myapp.users import service as users  # noqa: E402

FOREST_GOALS, FOREST_DEPTH = 5000, 50
SUBTREE_GOALS, SUBTREE_ROOT, TARGETS = 1000, 100_001, (200_001, 200_002)
LIMIT_MS = 100
# Issue 14: measured forest p50 <= 1.5x the plain one; ingest >= 0.8x.
FOREST_RATIO_MAX, INGEST_RATIO_MIN, STATEMENTS_MAX = 1.5, 0.8, 3
PASSWORD = "correct horse battery"
# Tokens outlive the whole run; every check still runs on every request.
SERVER_ENV = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200"}


def random_tree(rng, user_id, first_id, count, max_depth, top_level_share):
    """count goal rows: a spine max_depth deep, then random parents (ids ascend).

    About 40% are completed, leaves first, so no completed goal has an open child.
    """
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows, depth = [], {}
    for n in range(count):
        goal_id = first_id + n
        if n < max_depth:
            parent = goal_id - 1 if n else None
        elif rng.random() < top_level_share:
            parent = None
        else:
            parent = rng.randrange(first_id, goal_id)
            while depth[parent] >= max_depth:
                parent = rng.randrange(first_id, goal_id)
        depth[goal_id] = 1 if parent is None else depth[parent] + 1
        stamp = base + timedelta(seconds=n)
        rows.append(
            {
                "id": goal_id,
                "user_id": user_id,
                "parent_id": parent,
                "name": f"goal {n}: write the next chapter of the plan",
                "description": "Some words about it." if n % 3 else None,
                "started_at": stamp,
                "completed_at": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    children = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    for row in reversed(rows):
        kids = children.get(row["id"], [])
        if all(kid["completed_at"] for kid in kids) and rng.random() < 0.4:
            row["completed_at"] = row["created_at"] + timedelta(days=1)
    return rows, max(depth.values())


def seed(app, rng):
    """forest: 5,000 goals 50 deep; mover: one 1,000-goal subtree and two targets."""
    with app.app_context():
        forest_user = users.register(
            username="forest", email="forest@example.com", password=PASSWORD
        )
        mover = users.register(
            username="mover", email="mover@example.com", password=PASSWORD
        )
        forest, depth = random_tree(
            rng, forest_user.id, 1, FOREST_GOALS, FOREST_DEPTH, 0.02
        )
        subtree, _ = random_tree(rng, mover.id, SUBTREE_ROOT, SUBTREE_GOALS, 30, 0.0)
        for row in subtree:
            row["completed_at"] = None
        targets = [
            dict(subtree[0], id=target, name=f"target {target}") for target in TARGETS
        ]
        db.session.execute(sa.insert(Goal.__table__), forest + subtree + targets)
        db.session.commit()
        tokens = {
            name: users.start_session(user=user)["access_token"]
            for name, user in (("forest", forest_user), ("mover", mover))
        }
    return tokens, depth


def reopen_subtree(app):
    """Undo a completion outside the timing, so every complete does 1,000 rows."""
    table = Goal.__table__
    with app.app_context():
        db.session.execute(
            sa.update(table)
            .where(table.c.id.between(SUBTREE_ROOT, SUBTREE_ROOT + SUBTREE_GOALS - 1))
            .values(completed_at=None)
        )
        db.session.commit()


FOREST = f"GET /goals/ ({FOREST_GOALS} goals, {{depth}} deep)"
MEASURED_FOREST = (
    f"GET /goals/, the same forest with {issue14.MEASURED_GOALS} measured goals "
    f"over {issue14.READINGS:,} readings"
)
PLAIN_INGEST = "POST /readings/batch, 1000 readings, no measured goals"
WATCHED_INGEST = "POST /readings/batch, 1000 readings, 10 measured goals on the sensor"


def cases(depth):
    """(label, method, path, user, body for the n-th request, reset after it)."""
    subtree = f"/api/v1/goals/{SUBTREE_ROOT}"
    batch = "/api/v1/readings/batch"
    return [
        ("GET /health (baseline)", "GET", "/api/v1/health", None, None, False),
        (FOREST.format(depth=depth), "GET", "/api/v1/goals/", "forest", None, False),
        (MEASURED_FOREST, "GET", "/api/v1/goals/", "measured", None, False),
        (PLAIN_INGEST, "POST", batch, "plain", issue14.ingest_body, False),
        (WATCHED_INGEST, "POST", batch, "watched", issue14.ingest_body, False),
        (
            f"GET /goals/?flat=true ({FOREST_GOALS} goals)",
            "GET",
            "/api/v1/goals/?flat=true",
            "forest",
            None,
            False,
        ),
        (
            f"PATCH move, {SUBTREE_GOALS}-goal subtree",
            "PATCH",
            subtree,
            "mover",
            lambda n: {"parent_id": TARGETS[n % 2]},
            False,
        ),
        (
            f"PATCH complete, {SUBTREE_GOALS}-goal subtree",
            "PATCH",
            subtree,
            "mover",
            lambda n: {"completed": True},
            True,
        ),
    ]


def timed_request(port, method, path, token, body):
    """(ms, status, bytes) of one request on a new connection; body read, not parsed."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return elapsed, response.status, payload


class CountingCursor:
    """psycopg cursors that count what they execute, while counting is on.

    PostgreSQL's stand-in for SQLite's trace callback: it sees the statements
    the app runs on the driver's cursor directly too.
    """

    def __init__(self, statements):
        import psycopg

        self.statements = statements
        self.original = psycopg.Cursor.execute
        counter = self

        def execute(cursor, query, *args, **kwargs):
            counter.statements.append(query)
            return counter.original(cursor, query, *args, **kwargs)

        self.patched = execute

    def on(self, *_):
        import psycopg

        psycopg.Cursor.execute = self.patched

    def off(self, *_):
        import psycopg

        psycopg.Cursor.execute = self.original


def in_process(app, method, path, token, bodies, reset):
    """(SQL statements, median CPU ms) of requests run in-process on the same data.

    SQLite's trace callback sees every statement, also those the app runs on the
    driver's cursor directly (the prepared token check), which SQLAlchemy's
    cursor events do not. CPU time, unlike wall time, hardly moves with the
    machine's other load, so it shows what the code itself costs.
    """
    statements, cpu = [], []
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        counting = CountingCursor(statements)
        trace, untrace = counting.on, counting.off
    else:

        def trace(dbapi_connection, record, proxy):
            dbapi_connection.set_trace_callback(statements.append)

        def untrace(dbapi_connection, record):
            dbapi_connection.set_trace_callback(None)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for n, body in enumerate(bodies):
        if n == 0:
            sa.event.listen(engine, "checkout", trace)
            sa.event.listen(engine, "checkin", untrace)
        started = time.process_time()
        response = client.open(path, method=method, json=body, headers=headers)
        cpu.append((time.process_time() - started) * 1000)
        if n == 0:
            sa.event.remove(engine, "checkout", trace)
            sa.event.remove(engine, "checkin", untrace)
            counted = len(statements)
        assert response.status_code in (200, 201), response.json
        if reset:
            reopen_subtree(app)
    return counted, statistics.median(cpu[1:])


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
    # Same secret as the server, so the tokens minted here work there.
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": common.SECRET_KEY,
            "CORS_ORIGINS": "https://dashboard.example.com",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    common.say(f"seeding {FOREST_GOALS + SUBTREE_GOALS + 2} goals in {workdir} ...")
    tokens, depth = seed(app, random.Random(options.seed))
    common.say("seeding the measured forest and 100,000 readings ...")
    tokens["measured"], _ = issue14.seed_forest(
        app, app.test_client(), random_tree, FOREST_GOALS, FOREST_DEPTH, options.seed
    )
    tokens.update(issue14.seed_ingest(app))
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

    forest = FOREST.format(depth=depth)
    results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "db": options.db,
        "requests_per_case": options.requests,
        "load_average_1m": {"start": load[0], "end": load[1]},
        "ratios": {
            "measured_forest": paired_ratio(samples[MEASURED_FOREST], samples[forest]),
            # Readings/s with 10 targets over readings/s without: plain ms / watched ms.
            "ingest": paired_ratio(samples[PLAIN_INGEST], samples[WATCHED_INGEST]),
        },
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


def paired_ratio(numerators, denominators):
    """Median of the round-by-round ratios of two cases measured back to back."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def report(results):
    lines = [
        f"Goals benchmark, {results['started']} (bench/run.sh goals"
        + (" --db postgres)" if results["db"] == "postgres" else ")"),
        f"uWSGI myapp.ini, 2 processes, {results['db']};"
        f" {results['requests_per_case']}"
        " sequential requests per case, cases taking turns; 1-minute load average"
        f" {results['load_average_1m']['start']:.1f} at the start,"
        f" {results['load_average_1m']['end']:.1f} at the end (2 cores)",
        "",
        "| request | p50 ms | p99 ms | max ms | CPU ms in-process "
        "| SQL statements | response bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, figures in results["cases"].items():
        lines.append(
            f"| {label} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} "
            f"| {figures['max_ms']:.1f} | {figures['cpu_ms_in_process']:.1f} "
            f"| {figures['sql_statements']} "
            f"| {figures['response_bytes']:,} |"
        )
    cases = results["cases"]
    met = all(
        figures["p50_ms"] < LIMIT_MS
        for label, figures in cases.items()
        if label.startswith(("GET /goals/ (", "GET /goals/?", "PATCH"))
    )
    verdict = "met" if met else "NOT met"
    lines += ["", f"Issue 4: p50 < {LIMIT_MS} ms on every goals case: {verdict}"]
    ratios = results["ratios"]
    forest_ok = ratios["measured_forest"] <= FOREST_RATIO_MAX
    statements = cases[MEASURED_FOREST]["sql_statements"]
    ingest_ok = ratios["ingest"] >= INGEST_RATIO_MIN
    lines += [
        "Issue 14: measured forest / plain forest, median of paired rounds: "
        f"{ratios['measured_forest']:.2f}x (target <= {FOREST_RATIO_MAX}x), "
        f"{statements} SQL statements (target <= {STATEMENTS_MAX}): "
        + ("met" if forest_ok and statements <= STATEMENTS_MAX else "NOT met"),
        "Issue 14: ingest with 10 measured goals / without, readings per second, "
        f"median of paired rounds: {ratios['ingest']:.2f}x "
        f"(target >= {INGEST_RATIO_MIN}x): " + ("met" if ingest_ok else "NOT met"),
    ]
    text = "\n".join(lines)
    os.makedirs(common.RESULTS, exist_ok=True)
    name = "goals" if results["db"] == "sqlite" else f"goals-{results['db']}"
    with open(os.path.join(common.RESULTS, f"{name}.json"), "w") as out:
        json.dump(results, out, indent=2)
    with open(os.path.join(common.RESULTS, f"{name}.md"), "w") as out:
        out.write(text + "\n")
    common.say(text)
    common.publish(f"goals on {results['db']}", f"```\n{text}\n```\n")


if __name__ == "__main__":
    main()
