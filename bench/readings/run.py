"""Readings benchmark: uWSGI from myapp.ini (2 processes) on loopback, on SQLite.

    bench/run.sh readings [--quick]

Measures, in one run and on the same data, the targets of issues 3 and 12 and
their baselines: GET /readings/<id> against a bare Flask + sqlite3 app (wrk),
batch ingest against json.loads + executemany in-process, keyset listing on a
1,000,000-row and a 10,000-row table, stats over 100,000 readings, a single
reading posted with a device key against a user's token and a bare Flask +
sqlite3 INSERT (16 connections), and GET /readings/latest for 100 sensors
against GET /readings/<id>. Writes bench/results/readings.json and readings.md,
and prints the table.
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import seed  # noqa: E402

DATA = os.path.join(common.RESULTS, "readings-data")
LUA = os.path.join(HERE, "lua")
BIG, SMALL = os.path.join(DATA, "big.sqlite"), os.path.join(DATA, "small.sqlite")
INGEST, FLOOR = os.path.join(DATA, "ingest.sqlite"), os.path.join(DATA, "floor.sqlite")
DEVICE_APP = os.path.join(DATA, "device-app.sqlite")
DEVICE_BARE = os.path.join(DATA, "device-bare.sqlite")
# One reading as a sensor box posts it: server time, no client_id.
ONE_READING = json.dumps({"sensor": "garden/soil", "data": {"moisture": 0.41}})
PARTS = ("get", "list", "stats", "ingest", "device", "latest")
SEED_VERSION = "5"
# Tokens outlive the whole run; every check still runs on every request.
SERVER_ENV = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200"}


def url(path):
    return f"sqlite:///{path}"


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
    seed.build_empty(DEVICE_APP)
    seed.build_empty(DEVICE_BARE)
    # The bare app stores device 1's row: the device must exist (foreign key).
    with sqlite3.connect(DEVICE_BARE) as conn:
        conn.execute(
            "INSERT INTO devices (id, user_id, name, key_prefix, created_at)"
            " VALUES (1, 1, 'bench', 'mdk_bench', 0)"
        )


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


def bench_stats(server, token, duration):
    path = "/api/v1/readings/stats?sensor=accelerometer&field=x&bucket=1h"
    body = check(server, path, token)
    assert sum(b["count"] for b in body["buckets"]) == 100_000
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


def ingest_bodies(count, size=1000):
    """Distinct 1000-reading bodies, every item with its own client_id."""
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


def bench_post_one(server, duration, token=None):
    """wrk with 16 connections posting one reading each request."""
    figures = common.wrk(
        server.url,
        os.path.join(LUA, "post_json.lua"),
        ["/api/v1/readings/", ONE_READING] + ([token] if token else []),
        duration=duration,
        connections=16,
    )
    assert figures["non_2xx"] == 0, figures
    return figures


def bench_latest(server, token, duration):
    """One connection: the newest reading of bench3's 100 sensors, one page."""
    body = check(server, "/api/v1/readings/latest", token)
    assert len(body["items"]) == 100 and body["next_cursor"] is None, body
    figures = common.wrk(
        server.url,
        os.path.join(LUA, "fixed_get.lua"),
        ["/api/v1/readings/latest", token],
        duration=duration,
        connections=1,
    )
    assert figures["non_2xx"] == 0, figures
    figures["items"] = len(body["items"])
    return figures


def bench_get_by_id_one_connection(server, token, duration):
    figures = common.wrk(
        server.url,
        os.path.join(LUA, "get_by_id.lua"),
        ["/api/v1/readings/", "1", "10000", token],
        duration=duration,
        connections=1,
    )
    assert figures["non_2xx"] == 0, figures
    return figures


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
    parser.add_argument("--rebuild", action="store_true", help="reseed the 1M table")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app's uWSGI (what-if experiments)",
    )
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated subset of {','.join(PARTS)} (for iterating)",
    )
    options = parser.parse_args()
    only = set(options.only.split(","))
    duration = 4 if options.quick else 8
    rounds = 1 if options.quick else 3
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    build_databases(options.rebuild)
    SERVER_ENV.update(item.split("=", 1) for item in options.env)
    results["env"] = dict(SERVER_ENV)
    servers = []

    def serve(name, path, **kwargs):
        kwargs.setdefault("extra_env", SERVER_ENV)
        servers.append(common.Server(name, url(path), **kwargs))
        return servers[-1]

    try:
        app = serve("readings-big", BIG)
        token = login(app)
        if "get" in only:
            common.say("== GET /readings/<id>: myapp vs bare Flask + sqlite3 (1M rows)")
            bare = serve(
                "readings-bare", BIG, extra_env={}, app_dir=os.path.join(HERE, "bare")
            )
            # myapp.ini recycles a worker every ~5000 requests; a reload of this
            # app costs seconds of CPU, of the bare app almost nothing.
            steady = serve("readings-steady", BIG, uwsgi_args=["--max-requests", "0"])
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
                "== GET /readings/?since&until&limit=100: 1,000,000 vs 10,000 rows"
            )
            small = serve("readings-small", SMALL)
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
            results["list_statements"], results["list_plan"] = (
                statements_per_list_request()
            )
        if "stats" in only:
            common.say("== GET /readings/stats over 100,000 readings of one sensor")
            results["stats"] = bench_stats(app, login(app, "bench2"), duration + 4)
            common.say(f"  {results['stats']}")
        if "ingest" in only:
            common.say("== POST /readings/batch (1000 readings a request, one client)")
            per_round = 4 if options.quick else 12
            bodies = ingest_bodies(per_round * rounds + 2)
            ingest = serve("readings-ingest", INGEST)
            ingest_token = login(ingest)
            bench_ingest(ingest, ingest_token, bodies[:2], 0)  # warm-up
            chunks = iter(
                [
                    bodies[2 + n * per_round : 2 + (n + 1) * per_round]
                    for n in range(rounds)
                ]
            )
            floors = iter(
                [
                    bodies[2 + n * per_round : 2 + (n + 1) * per_round]
                    for n in range(rounds)
                ]
            )
            median, results["ingest_runs"] = alternate(
                rounds,
                {
                    "ingest": lambda: bench_ingest(
                        ingest, ingest_token, next(chunks), 0
                    ),
                    "ingest_floor": lambda: bench_floor(next(floors), 0),
                },
                "readings_per_s",
            )
            results.update(median)
            # Devices re-send batches whose answer they lost: every item is stored.
            results["ingest_retry"] = bench_ingest(
                ingest, ingest_token, bodies[2 : 2 + per_round], 0
            )
            common.say(f"  retry of stored batches {results['ingest_retry']}")
            assert results["ingest_retry"]["created"] == 0, "a retry stored readings"
        if "device" in only:
            common.say(
                "== POST /readings/ one reading, 16 connections: device key vs"
                " user token vs bare Flask + sqlite3 INSERT"
            )
            # The limit is counted as deployed, but set high enough not to stop wrk.
            device_env = dict(SERVER_ENV, MYAPP_DEVICE_RATE_LIMIT="1000000000/minute")
            uploads = serve("readings-device", DEVICE_APP, extra_env=device_env)
            upload_token = login(uploads)
            key = new_device_key(uploads, upload_token)
            bare = serve(
                "readings-bare-post",
                DEVICE_BARE,
                extra_env={},
                app_dir=os.path.join(HERE, "bare"),
            )
            median, results["post_one_runs"] = alternate(
                rounds,
                {
                    "post_device": lambda: bench_post_one(uploads, duration, key),
                    "post_user": lambda: bench_post_one(
                        uploads, duration, upload_token
                    ),
                    "post_bare": lambda: bench_post_one(bare, duration),
                },
                "requests_per_s",
            )
            results.update(median)
            results["load_average"] = os.getloadavg()
        if "latest" in only:
            common.say("== GET /readings/latest, 100 sensors, 1M rows, 1 connection")
            many = login(app, "bench3")
            median, results["latest_runs"] = alternate(
                rounds,
                {
                    "latest": lambda: bench_latest(app, many, duration),
                    "get_by_id_1": lambda: bench_get_by_id_one_connection(
                        app, token, duration
                    ),
                },
                P50,
            )
            results.update(median)
    finally:
        for server in servers:
            server.stop()
    results["load_average_end"] = os.getloadavg()
    if only == set(PARTS):
        report(results)
    else:
        path = os.path.join(common.RESULTS, "readings-partial.json")
        with open(path, "w") as handle:
            json.dump(results, handle, indent=2)
        common.say(f"partial run: figures in {path}")


P50 = "p50_ms"


def paired_ratio(runs, mine, base, key):
    """Median over rounds of mine/base, each pair measured back to back."""
    ratios = sorted(a[key] / b[key] for a, b in zip(runs[mine], runs[base]))
    return ratios[len(ratios) // 2]


def device_rows(results):
    """The rows of issue 12: a device's single POST, and the latest readings."""
    device, user, bare = (results[f"post_{n}"] for n in ("device", "user", "bare"))
    posts, latest = results["post_one_runs"], results["latest"]
    by_id = results["get_by_id_1"]

    def rate(figures):
        return (
            f"{figures['requests_per_s']:.0f} req/s, p50 {figures['p50_ms']:.1f} ms,"
            f" p99 {figures['p99_ms']:.1f} ms"
        )

    per_user = paired_ratio(posts, "post_device", "post_user", "requests_per_s")
    per_bare = paired_ratio(posts, "post_device", "post_bare", "requests_per_s")
    ratio = paired_ratio(results["latest_runs"], "latest", "get_by_id_1", P50)
    return [
        (
            "POST /readings/ one reading with a device key, 16 connections",
            rate(device),
            f"same POST, user's access token: {rate(user)};"
            f" bare Flask+sqlite3 INSERT: {rate(bare)}",
            f"{per_user:.2f}x token, {per_bare:.2f}x bare",
            ">= 1.00x token, >= 0.35x bare",
        ),
        (
            "GET /readings/latest, 100 sensors, 1M rows, 1 connection",
            f"p50 {latest['p50_ms']:.2f} ms, p99 {latest['p99_ms']:.2f} ms",
            f"GET /readings/<id>, 1 connection: p50 {by_id['p50_ms']:.2f} ms,"
            f" p99 {by_id['p99_ms']:.2f} ms",
            f"{ratio:.2f}x",
            "p50 <= 2x",
        ),
    ]


def report(results):
    get = results["get_by_id"]
    ingest, floor = results["ingest"], results["ingest_floor"]
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

    def by_id(label, name):
        figures = get[name]
        errors = figures["socket_errors"]
        return (
            label,
            f"{figures['requests_per_s']:.0f} req/s, p50 {figures['p50_ms']:.2f} ms,"
            f" p99 {figures['p99_ms']:.2f} ms"
            + (f", {errors} socket errors" if errors else ""),
            f"bare Flask+sqlite3: {bare['requests_per_s']:.0f} req/s, p50 "
            f"{bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms",
            f"{paired_ratio(runs, name, 'bare', 'requests_per_s'):.2f}x",
            ">= 0.50x",
        )

    rows = [
        by_id("GET /readings/<id>, 8 connections (myapp.ini as is)", "app"),
        by_id("  same, workers not recycled (--max-requests 0)", "app_no_recycle"),
        (
            "POST /readings/batch, 1000/request, 1 client",
            f"{ingest['readings_per_s']:.0f} readings/s, p50 {ingest['p50_ms']:.1f} ms,"
            f" p99 {ingest['p99_ms']:.1f} ms",
            f"json.loads+executemany: {floor['readings_per_s']:.0f} readings/s",
            f"{paired_ratio(ingests, 'ingest', 'ingest_floor', 'readings_per_s'):.2f}x",
            ">= 25,000/s and >= 0.35x",
        ),
        (
            "  same batches again (all duplicates: a device's retry)",
            f"{retry['readings_per_s']:.0f} readings/s, p50 {retry['p50_ms']:.1f} ms,"
            f" p99 {retry['p99_ms']:.1f} ms",
            "",
            "",
            "",
        ),
        (
            "GET /readings/?since&until&limit=100, 1M rows, 1 connection",
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
            "GET /readings/stats, 100,000 readings, bucket 1h, 1 connection",
            f"p50 {stats['p50_ms']:.1f} ms, p99 {stats['p99_ms']:.1f} ms"
            f" ({stats['buckets']} buckets)",
            "",
            "",
            "< 300 ms",
        ),
        *device_rows(results),
    ]
    lines = [
        f"Readings benchmark, {results['started']} (bench/run.sh readings)",
        "",
        "Load average (1, 5, 15 min) at the device rounds: "
        + ", ".join(f"{n:.1f}" for n in results["load_average"])
        + "; at the end: "
        + ", ".join(f"{n:.1f}" for n in results["load_average_end"]),
        "",
        "Figures: the median round of each server; ratio: the median over rounds of"
        " the ratio of the two runs measured back to back.",
        "",
        "| measurement | myapp | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "Every SQL statement of one GET /readings/ page (no COUNT):"]
    lines += [f"    {statement}" for statement in results["list_statements"]]
    lines += ["", "Its plan on SQLite:"] + [
        f"    {row}" for row in results["list_plan"]
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(common.RESULTS, "readings.md"), "w") as handle:
        handle.write(text)
    with open(os.path.join(common.RESULTS, "readings.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    common.say("\n" + text)


if __name__ == "__main__":
    main()
