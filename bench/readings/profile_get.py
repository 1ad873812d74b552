"""Where the time of GET /readings/<id> goes: cProfile in-process, no network.

    .venv/bin/python bench/readings/profile_get.py [database.sqlite] [requests]

Calls the WSGI app directly (production config, a real token, the 1M-row table
of bench/run.sh readings) and groups own time by the layer it is spent in.
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
    ("sqlite3", "sqlite3 driver"),
    ("flask_restx", "flask-restx"),
    ("flask_limiter", "Flask-Limiter"),
    ("limits/", "Flask-Limiter"),
    ("flask_cors", "flask-cors"),
    ("werkzeug", "Werkzeug"),
    ("flask/", "Flask"),
    ("json", "json"),
]


def layer(filename):
    for needle, name in LAYERS:
        if needle in filename:
            return name
    return "Python stdlib / other"


def main():
    path = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.path.join(common.RESULTS, "readings-data", "big.sqlite")
    )
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    os.environ.update(
        {
            "MYAPP_CONFIG": "production",
            "SECRET_KEY": common.SECRET_KEY,
            "CORS_ORIGINS": "https://dashboard.example.com",
            "DATABASE_URL": f"sqlite:///{os.path.abspath(path)}",
        }
    )
    from werkzeug.test import EnvironBuilder

    from myapp import create_app

    app = create_app()
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"username": "bench1", "password": seed.PASSWORD}
    ).json["access_token"]
    environs = [
        EnvironBuilder(
            path=f"/api/v1/readings/{1 + (n * 7919) % 10000}",
            headers={"Authorization": f"Bearer {token}"},
        ).get_environ()
        for n in range(count)
    ]

    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    def serve(environ):
        body = app(dict(environ), start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()

    for environ in environs[:200]:
        serve(environ)
    started = time.process_time()
    for environ in environs:
        serve(environ)
    plain = (time.process_time() - started) / count * 1e6
    profiler = cProfile.Profile()
    profiler.enable()
    for environ in environs:
        serve(environ)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_layer = defaultdict(float)
    total = 0.0
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        by_layer[layer(filename)] += own
        total += own
    print(f"GET /readings/<id> in-process: {plain:.0f} us CPU a request, no profiler")
    print(f"own time by layer under cProfile ({count} requests):")
    for name, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {name:45} {seconds / count * 1e6:7.0f} us  {seconds / total:6.1%}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())
    if "--others" in sys.argv:
        out = io.StringIO()
        others = pstats.Stats(profiler, stream=out).sort_stats("tottime")
        others.print_stats("(?!.*site-packages)", 25)
        print(out.getvalue())


if __name__ == "__main__":
    main()
