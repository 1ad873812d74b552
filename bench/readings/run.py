"""Readings benchmark: uWSGI from myapp.ini (2 processes) on loopback.

    bench/run.sh readings [--quick] [--only get,list,...]   SQLite
    bench/run.sh readings --db postgres [--quick]           a PostgreSQL run.sh starts

Measures, in one run and on the same data, the targets of issues 3, 12 and 15
against baselines of the same run: GET /readings/<id> against a bare Flask app
on the same driver (wrk); keyset listing on a big (SQLite 1,000,000 rows,
PostgreSQL 10,000,000) and a 10,000-row table; stats over one sensor's
readings (100,000; 1,000,000); batch ingest against the fastest plain
in-process insert; one reading posted over 16 connections with a device key,
against a user's token and a bare Flask INSERT; GET /readings/latest for 100
sensors against GET /readings/<id>. Writes bench/results/readings[-postgres]
.json and .md, puts the table into bench/README.md, and prints it.
"""

import argparse
import functools
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
BARE = os.path.join(HERE, "bare")
BIG, SMALL = os.path.join(DATA, "big.sqlite"), os.path.join(DATA, "small.sqlite")
# 6: user 3's 100 sensors and readings_latest (seed.py).
SEED_VERSION = "6"
PG_ROWS, PG_MIN_ROWS = 10_000_000, 1_110_000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
LIST_PAGE = (
    "/api/v1/readings/?limit=100&since=2026-01-02T00:00:00Z"
    "&until=2026-01-02T03:00:00Z"
)
STATS = "/api/v1/readings/stats?sensor=accelerometer&field=x&bucket=1h"
LATEST = "/api/v1/readings/latest"
# One reading as a sensor box posts it: server time, no client_id.
ONE_READING = json.dumps({"sensor": "garden/soil", "data": {"moisture": 0.41}})
# Tokens outlive the whole run (every check still runs on every request). The
# app arms no harakiri: uWSGI 2.0.x keeps one deadline per worker, which its
# other thread zeroes, and killed workers reading POST bodies (unbit/uwsgi#2706).
SERVER_ENV = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200", "MYAPP_HARAKIRI": "0"}
# The device limit is counted as deployed, but set high enough not to stop wrk.
UNLIMITED_DEVICES = {"MYAPP_DEVICE_RATE_LIMIT": "1000000000/minute"}
P50, PER_S = "p50_ms", "requests_per_s"


def url(path):
    return f"sqlite:///{path}"


class SQLite:
    """Where the SQLite run's data lives, and what each measurement expects."""

    name = "sqlite"
    big, small = url(BIG), url(SMALL)
    big_rows, stats_rows = 1_000_000, 100_000
    driver = "sqlite3"
    targets = {"ingest": ">= 25,000/s and >= 0.35x", "stats": "< 300 ms"}

    @staticmethod
    def build(rebuild):
        """The 1M and 10k tables are reused between runs unless the seed changed."""
        os.makedirs(DATA, exist_ok=True)
        marker = os.path.join(DATA, "version")
        fresh = os.path.exists(marker) and open(marker).read() == SEED_VERSION
        if fresh and not rebuild:
            return
        started = time.monotonic()
        common.say("seeding 1,000,000 readings (sqlite3 executemany) ...")
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
        return sqlite_floor(floor_url, bodies)


class PostgreSQL:
    """The run's PostgreSQL (TEST_DATABASE_URL, from scripts/pg-throwaway.sh)."""

    name = "postgres"
    stats_rows = seed_pg.STATS_ROWS
    driver = "psycopg"
    targets = {"ingest": ">= 30,000/s and >= 0.35x", "stats": "< 1 s"}

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

    def empty(self, name):
        """A new database with the schema and user bench1 alone."""
        target = seed_pg.with_database(self.server_url, f"readings_{name}")
        seed_pg.build_empty(target)
        return target

    @staticmethod
    def ingest_floor(floor_url, bodies):
        return postgres_floor(floor_url, bodies)


class Run:
    """One run: its database, its settings, the servers it started, its figures."""

    def __init__(self, setup, options):
        self.setup = setup
        self.quick = options.quick
        self.duration = 4 if options.quick else 8
        self.rounds = 1 if options.quick else 3
        self.env = dict(SERVER_ENV, **dict(item.split("=", 1) for item in options.env))
        self.servers = []
        self.results = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join(["bench/run.sh", "readings", *sys.argv[1:]]),
            "db": setup.name,
            "big_rows": setup.big_rows,
            "stats_rows": setup.stats_rows,
            "env": self.env,
            "load_average": os.getloadavg(),
        }

    def serve(self, name, database_url, **kwargs):
        """The app (or with app_dir=BARE the bare one) from myapp.ini."""
        kwargs.setdefault("extra_env", self.env)
        self.servers.append(common.Server(name, database_url, **kwargs))
        return self.servers[-1]

    def serve_bare(self, name, database_url):
        return self.serve(name, database_url, extra_env={}, app_dir=BARE)

    def stop(self, *servers):
        """Stop these servers, or all still running."""
        for server in servers or list(self.servers):
            server.stop()
            self.servers.remove(server)

    @functools.cached_property
    def big(self):
        """The app on the big table, shared by the rounds that read it."""
        return self.serve("readings-big", self.setup.big)

    @functools.cached_property
    def token(self):
        """bench1's access token on the big table (user 1, ids 1 to 10,000)."""
        return seed.login(self.big)

    def alternate(self, jobs, key):
        """Named jobs in turns, each round; the run with the median `key` each.

        Taking turns spreads the machine's background load evenly over the jobs.
        """
        runs = {name: [] for name in jobs}
        for _ in range(self.rounds):
            for name, job in jobs.items():
                runs[name].append(job())
                common.say(f"  {name:22} {runs[name][-1]}")
        median = {name: median_run(found, key) for name, found in runs.items()}
        return median, runs

    def plan(self, label, username, path):
        """PostgreSQL's plan of the readings query behind path, as measured."""
        if self.setup.name == "postgres":
            plans = self.results.setdefault("plans", {})
            plans[label] = explain_pg(self.setup.big, username, path)


def median_run(runs, key):
    """The run whose figure `key` is the median of all runs."""
    return sorted(runs, key=lambda figures: figures[key])[len(runs) // 2]


def check(server, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = common.request(server, "GET", path, headers=headers)
    assert status == 200, (server.name, path, status, body)
    return body


def wrk(server, script, args, duration, connections):
    """common.wrk with a script of lua/, failing on any non-2xx answer."""
    figures = common.wrk(
        server.url,
        os.path.join(LUA, script),
        args,
        duration=duration,
        connections=connections,
    )
    assert figures["non_2xx"] == 0, (server.name, figures)
    return figures


def get_by_id(server, token, duration, connections):
    """Random ids of user 1; the bare app takes no token."""
    args = ["/api/v1/readings/", "1", "10000"] + ([token] if token else [])
    return wrk(server, "get_by_id.lua", args, duration, connections)


def measure_get_by_id(run):
    """GET /readings/<id>, 8 connections: the app against bare Flask + its driver."""
    common.say(
        f"== GET /readings/<id>: myapp vs bare Flask + {run.setup.driver}"
        f" ({run.setup.big_rows:,} rows)"
    )
    bare = run.serve_bare("readings-bare", run.setup.big)
    app_answer = check(run.big, "/api/v1/readings/1", run.token)
    assert check(bare, "/api/v1/readings/1") == app_answer
    run.results["get_by_id"], run.results["get_by_id_runs"] = run.alternate(
        {
            "app": lambda: get_by_id(run.big, run.token, run.duration, 8),
            "bare": lambda: get_by_id(bare, None, run.duration, 8),
        },
        PER_S,
    )
    run.stop(bare)


def list_window(server, token, duration, sensor=None):
    """One connection: p50/p99 are service times, not queueing."""
    args = [token, str(seed.START_S), str(seed.START_S + 10_000 * 60), str(3 * 3600)]
    page = check(server, LIST_PAGE + (f"&sensor={sensor}" if sensor else ""), token)
    assert len(page["items"]) == (36 if sensor else 100), len(page["items"])
    return wrk(
        server, "list_window.lua", args + ([sensor] if sensor else []), duration, 1
    )


def measure_list(run):
    """A window of 100 readings on the big and the 10,000-row table, in turns."""
    common.say(
        f"== GET /readings/?since&until&limit=100: {run.setup.big_rows:,}"
        " vs 10,000 rows"
    )
    small = run.serve("readings-small", run.setup.small)
    small_token = seed.login(small)
    big, token, duration = run.big, run.token, run.duration
    median, run.results["list_runs"] = run.alternate(
        {
            "list_big": lambda: list_window(big, token, duration),
            "list_small": lambda: list_window(small, small_token, duration),
            "list_big_sensor": lambda: list_window(big, token, duration, "gps"),
            "list_small_sensor": lambda: list_window(
                small, small_token, duration, "gps"
            ),
        },
        P50,
    )
    run.results.update(median)
    run.stop(small)
    if run.setup.name == "sqlite":
        statements, plan = statements_per_list_request(run.setup.big)
        run.results["list_statements"], run.results["list_plan"] = statements, plan
    run.plan("list", "bench1", LIST_PAGE)


def measure_stats(run):
    """Hourly stats over user 2's accelerometer, one connection."""
    common.say(
        f"== GET /readings/stats over {run.setup.stats_rows:,} readings of one sensor"
    )
    token = seed.login(run.big, "bench2")
    body = check(run.big, STATS, token)
    assert sum(b["count"] for b in body["buckets"]) == run.setup.stats_rows
    figures = wrk(run.big, "fixed_get.lua", [STATS, token], run.duration + 4, 1)
    figures["buckets"] = len(body["buckets"])
    run.results["stats"] = figures
    common.say(f"  {figures}")
    run.plan("stats", "bench2", STATS)


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


def post_batches(server, token, bodies):
    """One client, one request at a time, a new connection for each."""
    samples = []
    created = 0
    started = time.perf_counter()
    for body in bodies:
        took, stored = common.post_batch(server, token, body)
        samples.append(took)
        created += stored
    elapsed = time.perf_counter() - started
    figures = {"readings_per_s": len(bodies) * 1000 / elapsed}
    figures.update(requests=len(bodies), created=created, **common.latencies(samples))
    return figures


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


def sqlite_floor(floor_url, bodies):
    """The database floor: json.loads + one executemany per body, one transaction."""
    conn = sqlite3.connect(floor_url.removeprefix("sqlite:///"))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO readings ({FLOOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    samples = []
    started = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        with conn:
            conn.executemany(sql, floor_rows(body, str))
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    conn.close()
    figures = {"readings_per_s": len(bodies) * 1000 / elapsed, "method": "executemany"}
    figures.update(common.latencies(samples))
    return figures


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

    figures = {}
    with psycopg.connect(seed_pg.plain_url(floor_url)) as conn:
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
                rows = floor_rows(body, micros_of)
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


def measure_ingest(run):
    """Batches with and without client_ids against the floor in turns, then a retry."""
    common.say("== POST /readings/batch (1000 readings a request, one client)")
    per_round = 4 if run.quick else 12
    bodies = ingest_bodies(per_round * run.rounds + 2)
    anonymous = ingest_bodies(per_round * run.rounds, client_ids=False)
    server = run.serve("readings-ingest", run.setup.empty("ingest"))
    floor = run.setup.empty("floor")
    token = seed.login(server)
    post_batches(server, token, bodies[:2])  # warm-up

    def chunks(source):
        return iter(source[n : n + per_round] for n in range(0, len(source), per_round))

    mine, theirs, plain = chunks(bodies[2:]), chunks(bodies[2:]), chunks(anonymous)
    median, run.results["ingest_runs"] = run.alternate(
        {
            "ingest": lambda: post_batches(server, token, next(mine)),
            "ingest_anonymous": lambda: post_batches(server, token, next(plain)),
            "ingest_floor": lambda: run.setup.ingest_floor(floor, next(theirs)),
        },
        "readings_per_s",
    )
    run.results.update(median)
    # Devices re-send batches whose answer they lost: nothing is stored twice.
    retry = post_batches(server, token, bodies[2 : 2 + per_round])
    common.say(f"  retry of stored batches {retry}")
    assert retry["created"] == 0, "a retry stored readings"
    run.results["ingest_retry"] = retry
    run.stop(server)


def new_device_key(server, token):
    """A device of bench1 that may write any sensor: its key."""
    status, body = common.request(
        server,
        "POST",
        "/api/v1/devices/",
        {"name": "bench box"},
        {"Authorization": f"Bearer {token}"},
    )
    assert status == 201, body
    return body["key"]


def add_bare_device(database_url):
    """Device 1 of user 1, whose readings the bare app stores (a foreign key)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO devices (id, user_id, name, key_prefix, created_at)"
                " VALUES (1, 1, 'bench', 'mdk_bench', 0)"
            )
        )
    engine.dispose()


def post_one(server, duration, token=None):
    """16 connections posting one reading each request."""
    args = ["/api/v1/readings/", ONE_READING] + ([token] if token else [])
    return wrk(server, "post_json.lua", args, duration, 16)


def measure_device_uploads(run):
    """Many devices posting one reading: a device key, a user's token, bare INSERT."""
    common.say(
        "== POST /readings/ one reading, 16 connections: device key vs user token"
        f" vs bare Flask + {run.setup.driver} INSERT"
    )
    uploads = run.serve(
        "readings-device",
        run.setup.empty("device"),
        extra_env=dict(run.env, **UNLIMITED_DEVICES),
    )
    token = seed.login(uploads)
    key = new_device_key(uploads, token)
    bare_url = run.setup.empty("device_bare")
    add_bare_device(bare_url)
    bare = run.serve_bare("readings-bare-post", bare_url)
    median, run.results["post_one_runs"] = run.alternate(
        {
            "post_device": lambda: post_one(uploads, run.duration, key),
            "post_user": lambda: post_one(uploads, run.duration, token),
            "post_bare": lambda: post_one(bare, run.duration),
        },
        PER_S,
    )
    run.results.update(median)
    run.stop(uploads, bare)


def measure_latest(run):
    """GET /readings/latest (bench3's 100 sensors) against GET /readings/<id>."""
    common.say(
        f"== GET /readings/latest, 100 sensors, {run.setup.big_rows:,} rows,"
        " vs GET /readings/<id>, 1 connection each"
    )
    token = seed.login(run.big, "bench3")
    body = check(run.big, LATEST, token)
    assert len(body["items"]) == 100 and body["next_cursor"] is None, body
    median, run.results["latest_runs"] = run.alternate(
        {
            "latest": lambda: wrk(
                run.big, "fixed_get.lua", [LATEST, token], run.duration, 1
            ),
            "get_by_id_1": lambda: get_by_id(run.big, run.token, run.duration, 1),
        },
        P50,
    )
    run.results.update(median)


def explain_pg(database_url, username, path):
    """EXPLAIN (ANALYZE, BUFFERS) of the last readings query the app runs for path.

    The statement is the app's own, captured as it runs it in-process.
    """
    import sqlalchemy as sa

    from myapp import create_app
    from myapp.db import db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    client = app.test_client()
    seen = []
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM readings" in statement:
            seen.append((statement, parameters))

    token = client.post(
        "/api/v1/auth/login", json={"username": username, "password": seed.PASSWORD}
    ).json["access_token"]
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.json
    sa.event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        plan = [row[0] for row in cursor.fetchall()]
    finally:
        raw.close()
        engine.dispose()
    return {
        "sql": " ".join(statement.split()),
        "parameters": {k: str(v) for k, v in dict(parameters).items()},
        "plan": plan,
    }


def statements_per_list_request(database_url):
    """Every SQL statement SQLite runs for one GET /readings/ page, and its plan."""
    import sqlalchemy as sa

    from myapp import create_app
    from myapp.db import db

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
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
        response = client.get(LIST_PAGE, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    statements = [" ".join(s.split()) for s in seen if not s.startswith("PRAGMA")]
    page = next(s for s in statements if "FROM readings" in s)
    with app.app_context():
        plan = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + page)).all()
        db.engine.dispose()
    return statements, [row[-1] for row in plan]


def paired_ratio(runs, mine, base, key):
    """Median over rounds of mine/base, each pair measured back to back."""
    ratios = sorted(a[key] / b[key] for a, b in zip(runs[mine], runs[base]))
    return ratios[len(ratios) // 2]


def rate(figures, digits=2):
    """Requests/s, p50 and p99 of a wrk run, and its socket errors if any."""
    errors = figures["socket_errors"]
    return f"{figures[PER_S]:.0f} req/s, {latency(figures, digits)}" + (
        f", {errors} socket errors" if errors else ""
    )


def latency(figures, digits=2):
    return (
        f"p50 {figures['p50_ms']:.{digits}f} ms, p99 {figures['p99_ms']:.{digits}f} ms"
    )


def readings_rate(figures):
    return f"{figures['readings_per_s']:.0f} readings/s, {latency(figures, 1)}"


def get_by_id_rows(results, setup):
    get, runs = results["get_by_id"], results["get_by_id_runs"]
    return [
        (
            "GET /readings/<id>, 8 connections",
            rate(get["app"]),
            f"bare Flask+{setup.driver}: {rate(get['bare'])}",
            f"{paired_ratio(runs, 'app', 'bare', PER_S):.2f}x",
            ">= 0.50x",
        )
    ]


def list_rows(results, setup):
    big, small = results["list_big"], results["list_small"]
    big_gps, small_gps = results["list_big_sensor"], results["list_small_sensor"]
    runs = results["list_runs"]
    return [
        (
            f"GET /readings/?since&until&limit=100, {setup.big_rows / 1e6:g}M rows,"
            " 1 connection",
            latency(big),
            f"10k rows: {latency(small)}",
            f"{paired_ratio(runs, 'list_big', 'list_small', P50):.2f}x",
            "p50 < 20 ms, <= 1.5x",
        ),
        (
            "  same with &sensor=gps",
            f"p50 {big_gps['p50_ms']:.2f} ms",
            f"10k rows: p50 {small_gps['p50_ms']:.2f} ms",
            f"{paired_ratio(runs, 'list_big_sensor', 'list_small_sensor', P50):.2f}x",
            "",
        ),
    ]


def stats_rows(results, setup):
    stats = results["stats"]
    return [
        (
            f"GET /readings/stats, {setup.stats_rows:,} readings, bucket 1h,"
            " 1 connection",
            f"{latency(stats, 1)} ({stats['buckets']} buckets)",
            "",
            "",
            setup.targets["stats"],
        )
    ]


def ingest_rows(results, setup):
    floor, runs = results["ingest_floor"], results["ingest_runs"]
    target = setup.targets["ingest"]

    def row(label, name):
        ratio = paired_ratio(runs, name, "ingest_floor", "readings_per_s")
        return (
            label,
            readings_rate(results[name]),
            f"json.loads+{floor['method']}: {floor['readings_per_s']:.0f} readings/s",
            f"{ratio:.2f}x",
            target,
        )

    return [
        row(
            "POST /readings/batch, 1000/request, 1 client, every item with a client_id",
            "ingest",
        ),
        row("  same, no client_id", "ingest_anonymous"),
        (
            "  same batches again (all duplicates: a device's retry)",
            readings_rate(results["ingest_retry"]),
            "",
            "",
            "",
        ),
    ]


def device_upload_rows(results, setup):
    device, user, bare = (results[f"post_{n}"] for n in ("device", "user", "bare"))
    runs = results["post_one_runs"]
    per_user = paired_ratio(runs, "post_device", "post_user", PER_S)
    per_bare = paired_ratio(runs, "post_device", "post_bare", PER_S)
    return [
        (
            "POST /readings/ one reading with a device key, 16 connections",
            rate(device, 1),
            f"same POST, user's access token: {rate(user, 1)};"
            f" bare Flask+{setup.driver} INSERT: {rate(bare, 1)}",
            f"{per_user:.2f}x token, {per_bare:.2f}x bare",
            ">= 1.00x token, >= 0.35x bare",
        )
    ]


def latest_rows(results, setup):
    latest, by_id = results["latest"], results["get_by_id_1"]
    ratio = paired_ratio(results["latest_runs"], "latest", "get_by_id_1", P50)
    return [
        (
            f"GET /readings/latest, 100 sensors, {setup.big_rows / 1e6:g}M rows,"
            " 1 connection",
            latency(latest),
            f"GET /readings/<id>, 1 connection: {latency(by_id)}",
            f"{ratio:.2f}x",
            "p50 <= 2x",
        )
    ]


# Each part of a run: what measures it, and its rows of the table.
ROUNDS = {
    "get": (measure_get_by_id, get_by_id_rows),
    "list": (measure_list, list_rows),
    "stats": (measure_stats, stats_rows),
    "ingest": (measure_ingest, ingest_rows),
    "device": (measure_device_uploads, device_upload_rows),
    "latest": (measure_latest, latest_rows),
}


def details(results):
    """What the table has no room for: floors, statements, plans."""
    lines = []
    floor = results.get("ingest_floor", {})
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
    return lines


def report(run, parts, publish):
    """The table of the parts run, into bench/results (and bench/README.md)."""
    results, setup = run.results, run.setup

    def load(key):
        return ", ".join(f"{n:.1f}" for n in results[key])

    lines = [
        f"`{results['command']}`, run of {results['started']} on {setup.name};"
        f" load average (1, 5, 15 min) at the start {load('load_average')},"
        f" at the end {load('load_average_end')}.",
        "",
        "Figures: the median round of each server; ratio: the median over rounds of"
        " the ratio of the two runs measured back to back.",
        "",
        "| measurement | myapp | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for part in parts:
        rows = ROUNDS[part][1](results, setup)
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines + details(results)) + "\n"
    name = "readings" if setup.name == "sqlite" else f"readings-{setup.name}"
    name += "" if publish else "-partial"
    with open(os.path.join(common.RESULTS, f"{name}.md"), "w") as handle:
        handle.write(text)
    with open(os.path.join(common.RESULTS, f"{name}.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    common.say("\n" + text)
    if publish:
        common.publish(f"readings on {setup.name}", text)


def parse_options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 4 s")
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
        default=PG_ROWS,
        help=f"rows of the big PostgreSQL table (at least {PG_MIN_ROWS:,})",
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
        default=",".join(ROUNDS),
        help=f"comma-separated subset of {','.join(ROUNDS)} (for iterating)",
    )
    options = parser.parse_args()
    only = set(options.only.split(","))
    if only - set(ROUNDS):
        parser.error(f"--only: unknown parts {','.join(sorted(only - set(ROUNDS)))}")
    options.parts = [part for part in ROUNDS if part in only]
    if options.rows < PG_MIN_ROWS:
        # Below it user 3 of seed_pg has fewer readings than its 100 sensors.
        parser.error(f"--rows: at least {PG_MIN_ROWS:,}")
    if options.db == "postgres":
        options.server_url = os.environ.get("TEST_DATABASE_URL", "")
        if not options.server_url.startswith("postgresql"):
            parser.error("--db postgres runs through bench/run.sh, which starts one")
    return options


def main():
    options = parse_options()
    if options.db == "postgres":
        setup = PostgreSQL(options.server_url, options.rows)
    else:
        setup = SQLite()
    run = Run(setup, options)
    setup.build(options.rebuild)
    try:
        for part in options.parts:
            ROUNDS[part][0](run)
    finally:
        run.stop()
    run.results["load_average_end"] = os.getloadavg()
    # Only a whole run as deployed (no what-if --env) stands in bench/README.md.
    report(run, options.parts, options.parts == list(ROUNDS) and not options.env)


if __name__ == "__main__":
    main()
