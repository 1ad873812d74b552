"""Where the time of a device's POST /readings/ goes: cProfile in-process.

    .venv/bin/python bench/readings/profile_post.py [requests]

Calls the WSGI app directly (production config, a real device key and a real
access token, a fresh SQLite file from the migrations with synchronous=NORMAL
so the disk's fsync does not hide the CPU) and groups own time by layer, as
profile_get.py does for GET. Then CPU per request for the same single-reading
POST with a device key, with the user's access token, and on the bare Flask +
sqlite3 app (bare/wsgi.py, same settings).
"""

import cProfile
import os
import pstats
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [HERE, os.path.dirname(HERE), ROOT]

import common  # noqa: E402
import profile_get  # noqa: E402
import seed  # noqa: E402

BODY = b'{"sensor": "garden/soil", "data": {"moisture": 0.41}}'
profile_get.LAYERS.insert(0, ("myapp/devices", "myapp.devices: scope, last use"))
profile_get.LAYERS.insert(0, ("flask_limiter", "Flask-Limiter (the device's limit)"))
profile_get.LAYERS.insert(0, ("limits/", "Flask-Limiter (the device's limit)"))


def build(path):
    """The app as deployed on path; (app, device key, access token)."""
    from myapp import create_app

    seed.build_empty(path)
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": common.SECRET_KEY,
            "CORS_ORIGINS": "https://dashboard.example.com",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.abspath(path)}",
            "SQLITE_SYNCHRONOUS": "NORMAL",
            "DEVICE_RATE_LIMIT": "1000000000/minute",
        }
    )
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"username": "bench1", "password": seed.PASSWORD}
    ).json["access_token"]
    key = client.post(
        "/api/v1/devices/",
        json={"name": "profiled"},
        headers={"Authorization": f"Bearer {token}"},
    ).json["key"]
    return app, key, token


def environs(count, bearer=None):
    from werkzeug.test import EnvironBuilder

    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return [
        EnvironBuilder(
            path="/api/v1/readings/",
            method="POST",
            data=BODY,
            content_type="application/json",
            headers=headers,
        ).get_environ()
        for _ in range(count)
    ]


def bare_app(path):
    import sqlite3

    seed.build_empty(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO devices (id, user_id, name, key_prefix, created_at)"
            " VALUES (1, 1, 'bench', 'mdk_bench', 0)"
        )
    os.environ["DATABASE_URL"] = f"sqlite:///{os.path.abspath(path)}"
    sys.path.insert(0, os.path.join(HERE, "bare"))
    import wsgi

    wsgi.PRAGMAS = ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL")
    return wsgi.app


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    data = os.path.join(common.RESULTS, "readings-data")
    os.makedirs(data, exist_ok=True)
    app, key, token = build(os.path.join(data, "profile-post.sqlite"))
    posted = {"status": "201", "body": BODY, "repeats": 3}
    # CPU only: the wall time of an in-process POST is mostly the fsync.
    device, _ = profile_get.cpu_per_request(app, environs(count, key), **posted)
    user, _ = profile_get.cpu_per_request(app, environs(count, token), **posted)
    bare, _ = profile_get.cpu_per_request(
        bare_app(os.path.join(data, "profile-bare.sqlite")), environs(count), **posted
    )
    profiler = cProfile.Profile()
    requests = environs(count, key)
    profiler.enable()
    profile_get.serve_all(app, requests, status="201", body=BODY)
    profiler.disable()
    by_layer = defaultdict(float)
    total = 0.0
    for (filename, _, function), (_, _, own, _, _) in pstats.Stats(
        profiler
    ).stats.items():
        by_layer[profile_get.layer(filename, function)] += own
        total += own
    print(
        f"POST /readings/ (one reading) in-process, CPU a request, best of 3 x {count}:"
    )
    print(f"  {'device key':45} {device:5.0f} us")
    print(f"  {'user access token':45} {user:5.0f} us")
    print(f"  {'bare Flask + sqlite3 INSERT':45} {bare:5.0f} us")
    print(f"own time by layer under cProfile, device key ({count} requests):")
    for name, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {name:45} {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
