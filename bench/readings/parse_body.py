"""What strict UTF-8 body parsing costs a 1000-reading batch, in-process.

    .venv/bin/python bench/readings/parse_body.py [--rounds 7]

The app's StrictJSONProvider (strict UTF-8 decode, then json.loads on text)
against the parser it replaced (json.loads on the bytes, which guesses
UTF-16/32 and lets encoded surrogates through), on identical bodies: parsing
alone, and whole POST /readings/batch requests through Flask's test client on
a migrated SQLite file. Providers take turns round by round; medians reported.
Writes bench/results/parse_body.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from myapp import create_app, jsonio  # noqa: E402

BODIES_PER_ROUND = 10


class BytesGuessingProvider(jsonio.StrictJSONProvider):
    """The parser before strict UTF-8: json.loads(bytes) plus the escape check."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", jsonio._reject_constant)
        value = json.loads(s, **kwargs)
        text = s.decode("utf-8", "replace") if isinstance(s, bytes) else s
        if jsonio._SURROGATE_ESCAPE.search(text) and jsonio._has_lone_surrogate(value):
            raise ValueError("lone surrogate")
        return value


def batch_body():
    items = [
        {
            "sensor": "kitchen/temp",
            "recorded_at": f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "data": {"celsius": 21.5 + i / 100, "humidity": 40 + i % 7, "ok": True},
            "client_id": str(uuid.uuid4()),
        }
        for i in range(1000)
    ]
    return json.dumps({"readings": items}).encode()


def make_app(path):
    import flask_migrate

    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    client = app.test_client()
    user = {"username": "bench", "email": "bench@example.com", "password": "x" * 12}
    assert client.post("/api/v1/auth/register", json=user).status_code == 201
    login = {"username": "bench", "password": user["password"]}
    return (
        app,
        client,
        client.post("/api/v1/auth/login", json=login).json["access_token"],
    )


def time_parse(provider, body, repeat=20):
    started = time.perf_counter()
    for _ in range(repeat):
        provider.loads(body)
    return (time.perf_counter() - started) / repeat * 1000


def time_posts(app, client, token, provider, bodies):
    app.json = provider
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    for body in bodies:
        response = client.post("/api/v1/readings/batch", data=body, headers=headers)
        assert response.status_code == 201, response.json
    return (time.perf_counter() - started) / len(bodies) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, client, token = make_app(os.path.join(tmp, "bench.sqlite"))
        providers = {
            "strict UTF-8 (now)": jsonio.StrictJSONProvider(app),
            "json.loads(bytes) (before)": BytesGuessingProvider(app),
        }
        figures = {name: {"parse_ms": [], "post_ms": []} for name in providers}
        for _ in range(args.rounds):
            for name, provider in providers.items():
                bodies = [batch_body() for _ in range(BODIES_PER_ROUND)]
                figures[name]["parse_ms"].append(time_parse(provider, bodies[0]))
                figures[name]["post_ms"].append(
                    time_posts(app, client, token, provider, bodies)
                )
    size = len(batch_body())
    result = {
        "body_bytes": size,
        "rounds": args.rounds,
        "bodies_per_round": BODIES_PER_ROUND,
        "median": {
            name: {k: round(statistics.median(v), 3) for k, v in f.items()}
            for name, f in figures.items()
        },
    }
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "parse_body.json"), "w") as out:
        json.dump(result, out, indent=2)
    print(f"1000-reading body, {size} bytes; medians of {args.rounds} rounds")
    print("| parser | parse only (ms) | whole POST /readings/batch (ms) |")
    print("|---|---|---|")
    for name, median in result["median"].items():
        print(f"| {name} | {median['parse_ms']} | {median['post_ms']} |")


if __name__ == "__main__":
    main()
