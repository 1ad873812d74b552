"""Where the time of GET /readings/<id> goes: cProfile in-process, no network.

    .venv/bin/python bench/readings/profile_get.py [database.sqlite]
    PG_CONF=deploy/postgresql/myapp.conf PG_DATA_DIR=bench/results/pg-data \
        scripts/pg-throwaway.sh .venv/bin/python bench/readings/profile_get.py postgres

Calls the WSGI app directly (production config, a real token, the big table
of bench/run.sh readings [--db postgres]) and groups own time by the layer it
is spent in. Then measures CPU (and, as PostgreSQL is another process, wall
time) per request with platform settings changed by config alone, to show what
each shared layer costs (what-ifs; nothing is changed for real).
"""

import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import seed  # noqa: E402
import seed_pg  # noqa: E402

LAYERS = [
    ("myapp/auth", "myapp.auth: token check"),
    ("myapp/readings", "myapp.readings: view, service, serializer"),
    ("myapp/", "myapp: other"),
    ("/jwt/", "PyJWT"),
    ("flask_jwt_extended", "flask-jwt-extended"),
    ("sqlalchemy/orm", "SQLAlchemy ORM (session)"),
    ("sqlalchemy", "SQLAlchemy Core/engine"),
    ("flask_restx", "flask-restx"),
    ("flask_limiter", "Flask-Limiter"),
    ("limits/", "Flask-Limiter"),
    ("flask_cors", "flask-cors"),
    ("werkzeug", "Werkzeug"),
    ("flask/", "Flask"),
    ("json", "json"),
    ("psycopg", "psycopg (Python)"),
]


def layer(filename, function):
    if filename == "~":
        if "sqlite3" in function:
            return "sqlite3 driver (C): the queries themselves"
        if "psycopg" in function:
            return "psycopg (C): the queries, waiting for PostgreSQL"
        return "C builtins (isinstance, dict, str ...)"
    for needle, name in LAYERS:
        if needle in filename:
            return name
    if "/lib/python3" in filename and "site-packages" not in filename:
        return "Python stdlib (inspect, enum, threading ...)"
    return "other"


WHAT_IFS = [
    ("as deployed (production config)", {}),
    # What remains of Flask-Limiter on requests to unlimited endpoints.
    ("Flask-Limiter off (after_request, teardown)", {"RATELIMIT_ENABLED": False}),
    # What remains of CORS on requests without an Origin header.
    ("CORS off", {"CORS_ORIGINS": ""}),
    ("both", {"RATELIMIT_ENABLED": False, "CORS_ORIGINS": ""}),
]
# PostgreSQL is a round trip away: each statement the app sends is one.
PG_WHAT_IFS = [
    ("no pool pre-ping (one SELECT 1 less)", {"pool_pre_ping": False}),
    (
        "autocommit too (no BEGIN, no ROLLBACK)",
        {"pool_pre_ping": False, "isolation_level": "AUTOCOMMIT"},
    ),
]


def build(url, **overrides):
    """The app as deployed, with config overrides; (app, one GET environ per id)."""
    from werkzeug.test import EnvironBuilder

    from myapp import create_app

    config = {
        "ENV_NAME": "production",
        "SECRET_KEY": common.SECRET_KEY,
        "CORS_ORIGINS": "https://dashboard.example.com",
        "SQLALCHEMY_DATABASE_URI": url,
    }
    config.update(overrides)
    app = create_app(config)
    token = (
        app.test_client()
        .post(
            "/api/v1/auth/login",
            json={"username": "bench1", "password": seed.PASSWORD},
        )
        .json["access_token"]
    )
    environs = [
        EnvironBuilder(
            path=f"/api/v1/readings/{1 + (n * 7919) % 10000}",
            headers={"Authorization": f"Bearer {token}"},
        ).get_environ()
        for n in range(3000)
    ]
    return app, environs


def serve_all(app, environs, status="200", body=None):
    """Call the app with each environ; body (bytes) is each request's fresh input."""

    def start_response(line, headers, exc_info=None):
        assert line.startswith(status), line

    for environ in environs:
        environ = dict(environ)
        if body is not None:
            environ["wsgi.input"] = io.BytesIO(body)
        answer = app(environ, start_response)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()


def cpu_per_request(app, environs, repeats=5, **serve):
    """Best of a few passes: (CPU, wall) microseconds of this process per request."""
    serve_all(app, environs[:300], **serve)
    best, wall = float("inf"), float("inf")
    for _ in range(repeats):
        started, clock = time.process_time(), time.perf_counter()
        serve_all(app, environs, **serve)
        best = min(best, time.process_time() - started)
        wall = min(wall, time.perf_counter() - clock)
    return best / len(environs) * 1e6, wall / len(environs) * 1e6


def bare_cpu_per_request(url):
    """The same GET on the bare Flask + driver app, in-process."""
    from werkzeug.test import EnvironBuilder

    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, os.path.join(HERE, "bare"))
    import wsgi

    environs = [
        EnvironBuilder(path=f"/api/v1/readings/{1 + (n * 7919) % 10000}").get_environ()
        for n in range(3000)
    ]
    return cpu_per_request(wsgi.app, environs)


def main():
    if sys.argv[1:2] == ["postgres"]:
        url = seed_pg.with_database(os.environ["TEST_DATABASE_URL"], "readings_big")
        driver, what_ifs = "psycopg", WHAT_IFS + PG_WHAT_IFS
    else:
        path = (
            sys.argv[1]
            if len(sys.argv) > 1 and sys.argv[1].endswith(".sqlite")
            else (os.path.join(common.RESULTS, "readings-data", "big.sqlite"))
        )
        url, driver, what_ifs = (
            f"sqlite:///{os.path.abspath(path)}",
            "sqlite3",
            WHAT_IFS,
        )
    app, environs = build(url)
    count = len(environs)
    plain, wall = cpu_per_request(app, environs)
    profiler = cProfile.Profile()
    profiler.enable()
    serve_all(app, environs)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_layer = defaultdict(float)
    total = 0.0
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():
        by_layer[layer(filename, function)] += own
        total += own
    print(
        f"GET /readings/<id> in-process: {plain:.0f} us CPU, {wall:.0f} us wall"
        " a request (no profiler)"
    )
    print(f"own time by layer under cProfile ({count} requests):")
    for name, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {name:45} {seconds / total:6.1%}")
    if "--cumulative" in sys.argv:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    print("\nCPU and wall time per request, best of 5 passes over 3000 requests:")
    floor = bare_cpu_per_request(url)
    label = f"bare Flask + {driver} (the floor)"
    print(f"  {label:45} {floor[0]:5.0f} us CPU {floor[1]:5.0f} us wall")
    for label, overrides in what_ifs:
        if "pool_pre_ping" in overrides:
            overrides = {"SQLALCHEMY_ENGINE_OPTIONS": overrides}
        app, environs = build(url, **overrides)
        cpu, wall = cpu_per_request(app, environs)
        print(f"  {label:45} {cpu:5.0f} us CPU {wall:5.0f} us wall")


if __name__ == "__main__":
    main()
