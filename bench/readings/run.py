"""Readings benchmark: uWSGI from myapp.ini (2 processes) on loopback.

    bench/run.sh readings [--quick]                 SQLite
    bench/run.sh readings --db postgres [--quick]   a PostgreSQL run.sh starts

Measures, in one run and on the same data, the targets of issues 3 and 15 and
their baselines: GET /readings/<id> against a bare Flask app on the same
driver (wrk), batch ingest against the fastest plain in-process insert, keyset
listing on a big (SQLite 1,000,000 rows, PostgreSQL 10,000,000) and a
10,000-row table, and stats over one sensor's readings (100,000; 1,000,000).
Writes bench/results/readings[-postgres].json and .md, and prints the table.
"""

import argparse
import http.client
import json
import os
import random
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import seed  # noqa: E402
import seed_pg  # noqa: E402

DATA = os.path.join(common.RESULTS, "readings-data")
LUA = os.path.join(HERE, "lua")
BIG, SMALL = os.path.join(DATA, "big.sqlite"), os.path.join(DATA, "small.sqlite")
INGEST, FLOOR = os.path.join(DATA, "ingest.sqlite"), os.path.join(DATA, "floor.sqlite")
SEED_VERSION = "3"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Tokens outlive the whole run; every check still runs on every request.
# uWSGI 2.0.x's harakiri kills a worker reading a POST body at once when its
# other thread finished a request meanwhile (one deadline per worker, zeroed by
# that thread: unbit/uwsgi#2706); it cut ingest runs short, so it is off here.
SERVER_ENV = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200", "MYAPP_HARAKIRI": "0"}


def url(path):
    return f"sqlite:///{path}"


class SQLite:
    """Where the SQLite run's data lives, and what each measurement expects."""

    name = "sqlite"
    big, small, ingest = url(BIG), url(SMALL), url(INGEST)
    big_rows, stats_rows = 1_000_000, 100_000
    driver = "sqlite3"
    targets = {"ingest": ">= 25,000/s and >= 0.35x", "stats": "< 300 ms"}
    ingest_floor = staticmethod(lambda bodies: bench_floor(bodies, 0))

    @staticmethod
    def build(options):
        build_databases(options.rebuild)


class PostgreSQL:
    """The run's PostgreSQL (TEST_DATABASE_URL, from scripts/pg-throwaway.sh)."""

    name = "postgres"
    stats_rows = seed_pg.STATS_ROWS
    driver = "psycopg"
    targets = {"ingest": ">= 30,000/s and >= 0.35x", "stats": "< 1 s"}

    def __init__(self, server_url, big_rows):
        self.big = seed_pg.with_database(server_url, "readings_big")
        self.small = seed_pg.with_database(server_url, "readings_small")
        self.ingest = seed_pg.with_database(server_url, "readings_ingest")
        self.big_rows = big_rows

    def build(self, options):
        """The big and small databases are reused unless the seed changed."""
        for target, rows, build in (
            (
                self.big,
                self.big_rows,
                lambda: seed_pg.build_big(self.big, self.big_rows),
            ),
            (
                self.small,
                seed_pg.BENCH_USER_ROWS,
                lambda: seed_pg.build_small(self.small),
            ),
        ):
            if options.rebuild or seed_pg.seeded(target) != (seed_pg.VERSION, rows):
                common.say(f"seeding {rows:,} readings into {target} (COPY) ...")
                count, seconds = build()
                common.say(f"  seeded {count:,} rows in {seconds:.0f} s")
        seed_pg.build_empty(self.ingest)

    def ingest_floor(self, bodies):
        return bench_floor_pg(self.ingest, bodies)


def build_databases(rebuild):
    """The 1M and 10k tables are reused between runs unless the seed changed."""
    os.makedirs(DATA, exist_ok=True)
    marker = os.path.join(DATA, "version")
    fresh = (
        not rebuild and os.path.exists(marker) and open(marker).read() == SEED_VERSION
    )
    if not fresh:
        started = time.monotonic()
        common.say("seeding 1,000,000 readings (sqlite3 executemany) ...")
        seed.build_big(BIG)
        seed.build_small(SMALL)
        open(marker, "w").write(SEED_VERSION)
        common.say(f"  seeded in {time.monotonic() - started:.0f} s")
    seed.build_empty(INGEST)
    seed.build_empty(FLOOR)


def login(server, username="bench1"):
    status, body = common.request(
        server,
        "POST",
        "/api/v1/auth/login",
        {"username": username, "password": seed.PASSWORD},
    )
    assert status == 200, body
    return body["access_token"]


def check(server, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = common.request(server, "GET", path, headers=headers)
    assert status == 200, (server.name, path, status, body)
    return body


def bench_get_by_id(servers, token, rounds, duration):
    """wrk with 8 connections on random ids of user 1, servers taking turns."""
    script = os.path.join(LUA, "get_by_id.lua")
    answers = [
        check(server, "/api/v1/readings/1", token) for server in servers.values()
    ]
    assert all(answer == answers[0] for answer in answers), answers

    def job(name, server):
        extra = [] if name == "bare" else [token]
        figures = common.wrk(
            server.url,
            script,
            ["/api/v1/readings/", "1", "10000", *extra],
            duration=duration,
        )
        assert figures["non_2xx"] == 0, figures
        return figures

    return alternate(
        rounds,
        {
            name: (lambda n=name, s=server: job(n, s))
            for name, server in servers.items()
        },
        "requests_per_s",
    )


def median_run(runs, key):
    """The run whose figure `key` is the median of all runs."""
    return sorted(runs, key=lambda figures: figures[key])[len(runs) // 2]


def bench_list(server, token, duration, sensor=None):
    """One connection: p50/p99 are service times, not queueing."""
    args = [token, str(seed.START_S), str(seed.START_S + 10_000 * 60), str(3 * 3600)]
    if sensor:
        args.append(sensor)
    page = check(
        server,
        "/api/v1/readings/?limit=100&since=2026-01-02T00:00:00Z"
        "&until=2026-01-02T03:00:00Z" + (f"&sensor={sensor}" if sensor else ""),
        token,
    )
    assert len(page["items"]) == (36 if sensor else 100), len(page["items"])
    figures = common.wrk(
        server.url,
        os.path.join(LUA, "list_window.lua"),
        args,
        duration=duration,
        connections=1,
    )
    assert figures["non_2xx"] == 0, figures
    return figures


def bench_stats(server, token, duration, readings):
    path = "/api/v1/readings/stats?sensor=accelerometer&field=x&bucket=1h"
    body = check(server, path, token)
    assert sum(b["count"] for b in body["buckets"]) == readings
    figures = common.wrk(
        server.url,
        os.path.join(LUA, "fixed_get.lua"),
        [path, token],
        duration=duration,
        connections=1,
    )
    assert figures["non_2xx"] == 0, figures
    figures["buckets"] = len(body["buckets"])
    return figures


def ingest_bodies(count, size=1000, client_ids=True):
    """Distinct 1000-reading bodies, every item with its own client_id (or none)."""
    rng = random.Random(7)
    bodies = []
    for n in range(count):
        items = []
        for i in range(size):
            moment = seed.START_S + n * size + i
            items.append(
                {
                    "sensor": seed.SENSORS[i % len(seed.SENSORS)],
                    "recorded_at": time.strftime(
                        "%Y-%m-%dT%H:%M:%S", time.gmtime(moment)
                    )
                    + f".{rng.randrange(10**6):06d}Z",
                    "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "data": {
                        "x": round(rng.uniform(-9.81, 9.81), 4),
                        "y": round(rng.uniform(-9.81, 9.81), 4),
                        "z": round(rng.uniform(-9.81, 9.81), 4),
                        "battery": rng.randrange(100),
                        "unit": "m/s2",
                    },
                }
            )
            if not client_ids:
                del items[-1]["client_id"]
        bodies.append(json.dumps({"readings": items}).encode())
    return bodies


def bench_ingest(server, token, bodies, warmup):
    """One client, one request at a time, a new connection for each."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    samples = []
    started = None
    created = 0
    for n, body in enumerate(bodies):
        if n == warmup:
            started = time.perf_counter()
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/api/v1/readings/batch", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        assert response.status == 201, payload[:500]
        created += json.loads(payload)["created"]
        if n >= warmup:
            samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    measured = len(bodies) - warmup
    figures = {"readings_per_s": measured * 1000 / elapsed, "requests": measured}
    figures["created"] = created
    figures.update(common.latencies(samples))
    return figures


def bench_floor(bodies, warmup):
    """The database floor: json.loads + one executemany per body, one transaction."""
    conn = sqlite3.connect(FLOOR)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = (
        "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)"
    )
    samples = []
    started = None
    for n, body in enumerate(bodies):
        if n == warmup:
            started = time.perf_counter()
        t0 = time.perf_counter()
        items = json.loads(body)["readings"]
        with conn:
            conn.executemany(
                sql,
                [
                    (
                        1,
                        item["sensor"],
                        item["recorded_at"],
                        json.dumps(item["data"]),
                        item["client_id"],
                        0,
                    )
                    for item in items
                ],
            )
        if n >= warmup:
            samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    conn.close()
    figures = {"readings_per_s": (len(bodies) - warmup) * 1000 / elapsed}
    figures.update(common.latencies(samples))
    return figures


FLOOR_COLUMNS = "user_id, sensor, recorded_at, data, client_id, created_at"


def micros_of(text):
    """Microseconds since 1970 of an RFC 3339 UTC time (the floor's parse)."""
    delta = datetime.fromisoformat(text.replace("Z", "+00:00")) - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def bench_floor_pg(url, bodies):
    """The floors on PostgreSQL: json.loads, then one COPY or one executemany.

    Each into its own table identical to readings (same indexes, the unique
    client_id constraint), one transaction per body; both run on the same bodies.
    """
    import psycopg

    figures = {}
    with psycopg.connect(seed_pg.plain_url(url)) as conn:
        for table in ("floor_copy", "floor_many"):
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (LIKE readings INCLUDING ALL)"
            )
        conn.commit()
        for method in ("copy", "executemany"):
            samples = []
            started = time.perf_counter()
            for body in bodies:
                t0 = time.perf_counter()
                rows = [
                    (
                        1,
                        item["sensor"],
                        micros_of(item["recorded_at"]),
                        json.dumps(item["data"]),
                        item.get("client_id"),
                        0,
                    )
                    for item in json.loads(body)["readings"]
                ]
                with conn.cursor() as cursor:
                    if method == "copy":
                        with cursor.copy(
                            f"COPY floor_copy ({FLOOR_COLUMNS}) FROM STDIN"
                        ) as copy:
                            for row in rows:
                                copy.write_row(row)
                    else:
                        cursor.executemany(
                            f"INSERT INTO floor_many ({FLOOR_COLUMNS})"
                            " VALUES (%s, %s, %s, %s, %s, %s)",
                            rows,
                        )
                conn.commit()
                samples.append((time.perf_counter() - t0) * 1000)
            elapsed = time.perf_counter() - started
            figures[method] = dict(
                common.latencies(samples),
                readings_per_s=len(bodies) * 1000 / elapsed,
            )
    best = max(figures, key=lambda method: figures[method]["readings_per_s"])
    return dict(figures[best], method=best, methods=figures)


def explain_pg(url):
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL of one list page and one stats answer.

    The statements are the app's own, captured as it runs them in-process.
    """
    import sqlalchemy as sa

    from myapp import create_app
    from myapp.db import db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    client = app.test_client()
    seen = []
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM readings" in statement:
            seen.append((statement, parameters))

    plans = {}
    for user, label, path in (
        (
            "bench1",
            "list",
            "/api/v1/readings/?limit=100&since=2026-01-02T00:00:00Z"
            "&until=2026-01-02T03:00:00Z",
        ),
        (
            "bench2",
            "stats",
            "/api/v1/readings/stats?sensor=accelerometer&field=x&bucket=1h",
        ),
    ):
        token = client.post(
            "/api/v1/auth/login", json={"username": user, "password": seed.PASSWORD}
        ).json["access_token"]
        seen.clear()
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.json
        statement, parameters = seen[-1]
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plans[label] = {
                "sql": " ".join(statement.split()),
                "parameters": {k: str(v) for k, v in dict(parameters).items()},
                "plan": [row[0] for row in cursor.fetchall()],
            }
        finally:
            raw.close()
    sa.event.remove(engine, "before_cursor_execute", capture)
    with app.app_context():
        db.engine.dispose()
    return plans


def statements_per_list_request():
    """Every SQL statement SQLite runs for one GET /readings/ page, and its plan."""
    import sqlalchemy as sa

    from myapp import create_app
    from myapp.db import db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url(BIG)})
    seen = []
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"username": "bench1", "password": seed.PASSWORD}
    ).json["access_token"]
    with app.app_context():
        engine = db.engine
        engine.dispose()

    @sa.event.listens_for(engine, "connect")
    def trace(dbapi_connection, record):
        # SQLite reports each statement as run, raw DBAPI ones included.
        dbapi_connection.set_trace_callback(seen.append)

    for _ in range(2):  # the second request is the steady state (pooled connection)
        seen.clear()
        response = client.get(
            "/api/v1/readings/?limit=100&since=2026-01-02T00:00:00Z"
            "&until=2026-01-02T03:00:00Z",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
    statements = [" ".join(s.split()) for s in seen if not s.startswith("PRAGMA")]
    page = next(s for s in statements if "FROM readings" in s)
    with app.app_context():
        plan = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + page)).all()
    return statements, [row[-1] for row in plan]


def alternate(rounds, jobs, key):
    """Run named jobs in turns, rounds times; the run with the median result each.

    Taking turns spreads the machine's background load evenly over the jobs.
    """
    runs = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, job in jobs.items():
            figures = job()
            runs[name].append(figures)
            common.say(f"  {name:22} {figures}")
    return {name: median_run(found, key) for name, found in runs.items()}, runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--rebuild", action="store_true", help="reseed the tables")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: on the server in TEST_DATABASE_URL (bench/run.sh starts one)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=10_000_000,
        help="rows of the big PostgreSQL table (at least 1,010,000)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app's uWSGI (what-if experiments)",
    )
    parser.add_argument(
        "--only",
        default="get,list,stats,ingest",
        help="comma-separated subset of get,list,stats,ingest (for iterating)",
    )
    options = parser.parse_args()
    if options.db == "postgres":
        server_url = os.environ.get("TEST_DATABASE_URL", "")
        if not server_url.startswith("postgresql"):
            parser.error("--db postgres runs through bench/run.sh, which starts one")
        setup = PostgreSQL(server_url, options.rows)
    else:
        setup = SQLite()
    only = set(options.only.split(","))
    duration = 4 if options.quick else 8
    rounds = 1 if options.quick else 3
    results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "db": setup.name,
        "big_rows": setup.big_rows,
        "stats_rows": setup.stats_rows,
        "load_average": os.getloadavg(),
    }
    setup.build(options)
    SERVER_ENV.update(item.split("=", 1) for item in options.env)
    results["env"] = dict(SERVER_ENV)
    servers = []

    def serve(name, database_url, **kwargs):
        kwargs.setdefault("extra_env", SERVER_ENV)
        servers.append(common.Server(name, database_url, **kwargs))
        return servers[-1]

    try:
        app = serve("readings-big", setup.big)
        token = login(app)
        if "get" in only:
            common.say(
                f"== GET /readings/<id>: myapp vs bare Flask + {setup.driver}"
                f" ({setup.big_rows:,} rows)"
            )
            bare = serve(
                "readings-bare",
                setup.big,
                extra_env={},
                app_dir=os.path.join(HERE, "bare"),
            )
            # myapp.ini recycles a worker every ~5000 requests; a reload of this
            # app costs seconds of CPU, of the bare app almost nothing.
            steady = serve(
                "readings-steady", setup.big, uwsgi_args=["--max-requests", "0"]
            )
            results["get_by_id"], results["get_by_id_runs"] = bench_get_by_id(
                {"app": app, "bare": bare, "app_no_recycle": steady},
                token,
                rounds,
                duration,
            )
            for server in (bare, steady):
                server.stop()
                servers.remove(server)
        if "list" in only:
            common.say(
                f"== GET /readings/?since&until&limit=100: {setup.big_rows:,}"
                " vs 10,000 rows"
            )
            small = serve("readings-small", setup.small)
            small_token = login(small)
            median, results["list_runs"] = alternate(
                rounds,
                {
                    "list_big": lambda: bench_list(app, token, duration),
                    "list_small": lambda: bench_list(small, small_token, duration),
                    "list_big_sensor": lambda: bench_list(app, token, duration, "gps"),
                    "list_small_sensor": lambda: bench_list(
                        small, small_token, duration, "gps"
                    ),
                },
                "p50_ms",
            )
            results.update(median)
            if setup.name == "sqlite":
                results["list_statements"], results["list_plan"] = (
                    statements_per_list_request()
                )
        if "stats" in only:
            common.say(
                f"== GET /readings/stats over {setup.stats_rows:,} readings"
                " of one sensor"
            )
            results["stats"] = bench_stats(
                app, login(app, "bench2"), duration + 4, setup.stats_rows
            )
            common.say(f"  {results['stats']}")
        if setup.name == "postgres" and {"list", "stats"} & only:
            results["plans"] = explain_pg(setup.big)
        if "ingest" in only:
            results.update(bench_ingest_rounds(setup, serve, options.quick, rounds))
    finally:
        for server in servers:
            server.stop()
    if only == {"get", "list", "stats", "ingest"}:
        report(results, setup)


def bench_ingest_rounds(setup, serve, quick, rounds):
    """Ingest with and without client_ids against the floor, rounds in turns."""
    common.say("== POST /readings/batch (1000 readings a request, one client)")
    per_round = 4 if quick else 12
    bodies = ingest_bodies(per_round * rounds + 2)
    anonymous = ingest_bodies(per_round * rounds, client_ids=False)
    ingest = serve("readings-ingest", setup.ingest)
    ingest_token = login(ingest)
    bench_ingest(ingest, ingest_token, bodies[:2], 0)  # warm-up

    def chunks(source, skip=0):
        return iter(
            [
                source[skip + n * per_round : skip + (n + 1) * per_round]
                for n in range(rounds)
            ]
        )

    mine, theirs, plain = chunks(bodies, 2), chunks(bodies, 2), chunks(anonymous)
    median, runs = alternate(
        rounds,
        {
            "ingest": lambda: bench_ingest(ingest, ingest_token, next(mine), 0),
            "ingest_anonymous": lambda: bench_ingest(
                ingest, ingest_token, next(plain), 0
            ),
            "ingest_floor": lambda: setup.ingest_floor(next(theirs)),
        },
        "readings_per_s",
    )
    found = dict(median, ingest_runs=runs)
    # Devices re-send batches whose answer they lost: every item is stored.
    found["ingest_retry"] = bench_ingest(
        ingest, ingest_token, bodies[2 : 2 + per_round], 0
    )
    common.say(f"  retry of stored batches {found['ingest_retry']}")
    assert found["ingest_retry"]["created"] == 0, "a retry stored readings"
    return found


P50 = "p50_ms"


def paired_ratio(runs, mine, base, key):
    """Median over rounds of mine/base, each pair measured back to back."""
    ratios = sorted(a[key] / b[key] for a, b in zip(runs[mine], runs[base]))
    return ratios[len(ratios) // 2]


def report(results, setup):
    get = results["get_by_id"]
    floor = results["ingest_floor"]
    retry = results["ingest_retry"]
    big, small = results["list_big"], results["list_small"]
    big_gps, small_gps = results["list_big_sensor"], results["list_small_sensor"]
    stats = results["stats"]
    bare = get["bare"]
    runs, lists, ingests = (
        results["get_by_id_runs"],
        results["list_runs"],
        results["ingest_runs"],
    )
    rows_big = f"{setup.big_rows / 1e6:g}M rows"
    if setup.name == "sqlite":
        floor_name = "json.loads+executemany"
    else:
        floor_name = f"json.loads+{floor['method']}"

    def by_id(label, name):
        figures = get[name]
        errors = figures["socket_errors"]
        return (
            label,
            f"{figures['requests_per_s']:.0f} req/s, p50 {figures['p50_ms']:.2f} ms,"
            f" p99 {figures['p99_ms']:.2f} ms"
            + (f", {errors} socket errors" if errors else ""),
            f"bare Flask+{setup.driver}: {bare['requests_per_s']:.0f} req/s, p50 "
            f"{bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms",
            f"{paired_ratio(runs, name, 'bare', 'requests_per_s'):.2f}x",
            ">= 0.50x",
        )

    def ingest(label, name, target):
        figures = results[name]
        return (
            label,
            f"{figures['readings_per_s']:.0f} readings/s, p50 "
            f"{figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms",
            f"{floor_name}: {floor['readings_per_s']:.0f} readings/s",
            f"{paired_ratio(ingests, name, 'ingest_floor', 'readings_per_s'):.2f}x",
            target,
        )

    rows = [
        by_id("GET /readings/<id>, 8 connections (myapp.ini as is)", "app"),
        by_id("  same, workers not recycled (--max-requests 0)", "app_no_recycle"),
        ingest(
            "POST /readings/batch, 1000/request, 1 client, every item with a client_id",
            "ingest",
            setup.targets["ingest"],
        ),
        ingest("  same, no client_id", "ingest_anonymous", setup.targets["ingest"]),
        (
            "  same batches again (all duplicates: a device's retry)",
            f"{retry['readings_per_s']:.0f} readings/s, p50 {retry['p50_ms']:.1f} ms,"
            f" p99 {retry['p99_ms']:.1f} ms",
            "",
            "",
            "",
        ),
        (
            f"GET /readings/?since&until&limit=100, {rows_big}, 1 connection",
            f"p50 {big['p50_ms']:.2f} ms, p99 {big['p99_ms']:.2f} ms",
            f"10k rows: p50 {small['p50_ms']:.2f} ms, p99 {small['p99_ms']:.2f} ms",
            f"{paired_ratio(lists, 'list_big', 'list_small', P50):.2f}x",
            "p50 < 20 ms, <= 1.5x",
        ),
        (
            "  same with &sensor=gps",
            f"p50 {big_gps['p50_ms']:.2f} ms",
            f"10k rows: p50 {small_gps['p50_ms']:.2f} ms",
            f"{paired_ratio(lists, 'list_big_sensor', 'list_small_sensor', P50):.2f}x",
            "",
        ),
        (
            f"GET /readings/stats, {setup.stats_rows:,} readings, bucket 1h,"
            " 1 connection",
            f"p50 {stats['p50_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms"
            f" ({stats['buckets']} buckets)",
            "",
            "",
            setup.targets["stats"],
        ),
    ]
    load = ", ".join(f"{n:.1f}" for n in results["load_average"])
    command = "bench/run.sh readings" + (
        " --db postgres" if setup.name != "sqlite" else ""
    )
    lines = [
        f"Readings benchmark on {setup.name}, {results['started']} ({command});"
        f" load average at the start {load}",
        "",
        "Figures: the median round of each server; ratio: the median over rounds of"
        " the ratio of the two runs measured back to back.",
        "",
        "| measurement | myapp | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if "methods" in floor:
        lines += ["", "Ingest floors, in-process, same bodies (median round):"]
        lines += [
            f"    {method}: {figures['readings_per_s']:.0f} readings/s,"
            f" p50 {figures['p50_ms']:.1f} ms"
            for method, figures in floor["methods"].items()
        ]
    if "list_statements" in results:
        lines += ["", "Every SQL statement of one GET /readings/ page (no COUNT):"]
        lines += [f"    {statement}" for statement in results["list_statements"]]
        lines += ["", "Its plan on SQLite:"]
        lines += [f"    {row}" for row in results["list_plan"]]
    for label, found in results.get("plans", {}).items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of the {label} query:", ""]
        lines += [f"    {found['sql']}", f"    -- {found['parameters']}", ""]
        lines += [f"    {row}" for row in found["plan"]]
    text = "\n".join(lines) + "\n"
    name = "readings" if setup.name == "sqlite" else f"readings-{setup.name}"
    with open(os.path.join(common.RESULTS, f"{name}.md"), "w") as handle:
        handle.write(text)
    with open(os.path.join(common.RESULTS, f"{name}.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    common.say("\n" + text)


if __name__ == "__main__":
    main()
