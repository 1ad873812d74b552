"""Where the time of GET /readings/<id> goes: cProfile in-process, no network.

    .venv/bin/python bench/readings/profile_get.py [database.sqlite] [requests]

Calls the WSGI app directly (production config, a real token, the 1M-row table
of bench/run.sh readings) and groups own time by the layer it is spent in. Then
measures CPU per request with platform settings changed by config alone, to
show what each shared layer costs (what-ifs; nothing is changed for real).
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
]


def layer(filename, function):
    if filename == "~":
        if "sqlite3" in function:
            return "sqlite3 driver (C): the queries themselves"
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


def build(path, **overrides):
    """The app as deployed, with config overrides; (app, one GET environ per id)."""
    from werkzeug.test import EnvironBuilder

    from myapp import create_app

    config = {
        "ENV_NAME": "production",
        "SECRET_KEY": common.SECRET_KEY,
        "CORS_ORIGINS": "https://dashboard.example.com",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.abspath(path)}",
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
    """Best of a few passes: CPU microseconds of this process per request."""
    serve_all(app, environs[:300], **serve)
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        serve_all(app, environs, **serve)
        best = min(best, time.process_time() - started)
    return best / len(environs) * 1e6


def bare_cpu_per_request(path):
    """The same GET on the bare Flask + sqlite3 app, in-process."""
    from werkzeug.test import EnvironBuilder

    os.environ["DATABASE_URL"] = f"sqlite:///{os.path.abspath(path)}"
    sys.path.insert(0, os.path.join(HERE, "bare"))
    import wsgi

    environs = [
        EnvironBuilder(path=f"/api/v1/readings/{1 + (n * 7919) % 10000}").get_environ()
        for n in range(3000)
    ]
    return cpu_per_request(wsgi.app, environs)


def main():
    path = (
        sys.argv[1]
        if len(sys.argv) > 1 and sys.argv[1].endswith(".sqlite")
        else (os.path.join(common.RESULTS, "readings-data", "big.sqlite"))
    )
    app, environs = build(path)
    count = len(environs)
    plain = cpu_per_request(app, environs)
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
    print(f"GET /readings/<id> in-process: {plain:.0f} us CPU a request (no profiler)")
    print(f"own time by layer under cProfile ({count} requests):")
    for name, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {name:45} {seconds / total:6.1%}")
    if "--cumulative" in sys.argv:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    print("\nCPU per request, best of 5 passes over 3000 requests:")
    floor = bare_cpu_per_request(path)
    print(f"  {'bare Flask + sqlite3 (the floor)':45} {floor:5.0f} us")
    for label, overrides in WHAT_IFS:
        app, environs = build(path, **overrides)
        print(f"  {label:45} {cpu_per_request(app, environs):5.0f} us")


if __name__ == "__main__":
    main()
