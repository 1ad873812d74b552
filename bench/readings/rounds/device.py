"""POST /readings/ one reading, 16 connections: device key, user token, bare INSERT.

The device's limit is counted as deployed (in-process storage), set high
enough never to answer 429.
"""

import json

import common
import seed
from harness import wrk
from report import PER_S, rate, ratio

# One reading as a sensor box posts it: server time, no client_id.
ONE_READING = json.dumps({"sensor": "garden/soil", "data": {"moisture": 0.41}})
UNLIMITED_DEVICES = {"MYAPP_DEVICE_RATE_LIMIT": "1000000000/minute"}


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


def measure(run):
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


def rows(results, setup):
    device, user, bare = (results[f"post_{n}"] for n in ("device", "user", "bare"))
    runs = results["post_one_runs"]
    per_user = ratio(runs, "post_device", "post_user", PER_S)
    per_bare = ratio(runs, "post_device", "post_bare", PER_S)
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
