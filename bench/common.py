"""Shared benchmark plumbing: uWSGI from myapp.ini, wrk runs, figures and tables.

Each feature's bench/<feature>/run.py imports this; nothing here is feature code.
"""

import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time

from testing.servers import ROOT, Uwsgi

RESULTS = os.path.join(ROOT, "bench", "results")
README = os.path.join(ROOT, "bench", "README.md")
# Production settings, as deployed: a strong secret and a real CORS origin list.
SECRET_KEY = secrets.token_urlsafe(48)
CORS_ORIGINS = "https://dashboard.example.com"


class Server(Uwsgi):
    """uWSGI serving myapp.ini (2 processes, its thread count) in production config.

    Ready once both workers have loaded the app and the port answers; its log is
    bench/results/<name>-<port>.log.
    """

    def __init__(
        self, name, database_url, app_dir=ROOT, extra_env=None, uwsgi_args=(), port=None
    ):
        self.name = name
        env = {
            "MYAPP_CONFIG": "production",
            "SECRET_KEY": SECRET_KEY,
            "CORS_ORIGINS": CORS_ORIGINS,
            "DATABASE_URL": database_url,
            "MYAPP_THREADS": None,
            **(extra_env or {}),
        }
        # The same ini for every app: only the directory holding wsgi.py differs.
        super().__init__(
            env,
            name=f"uwsgi-{name}",
            log_dir=RESULTS,
            cwd=app_dir,
            args=uwsgi_args,
            port=port,
        )
        self.wait_ready(health=False, timeout=120)


def production_app(database_url, **config):
    """The app in-process in production config (the servers' secret), migrated.

    Tokens it mints work on the servers of the same run.
    """
    import flask_migrate

    from myapp import create_app

    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": SECRET_KEY,
            **config,
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    return app


def request(server, method, path, body=None, headers=None):
    """One HTTP request; (status, parsed JSON or raw bytes)."""
    raw = body if isinstance(body, bytes) else None
    response = server.request(
        method, path, None if raw else body, headers, raw=raw, timeout=60
    )
    return response.status, (response.body if response.json is None else response.json)


def post_batch(server, token, body):
    """One encoded batch on a new connection, as a device sends it; (ms, created)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    status, answer = request(server, "POST", "/api/v1/readings/batch", body, headers)
    took = (time.perf_counter() - started) * 1000
    assert status == 201, str(answer)[:500]
    return took, answer["created"]


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url, script, args=(), duration=10, connections=8, threads=1, warmup=2):
    """Run wrk with a Lua script; requests/s, p50/p99 in ms, and error counts.

    A short unmeasured run first warms both workers (page cache, compiled SQL).
    """
    command = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "-s", script]
    # wrk's own 2 s timeout would drop slow answers from the latencies.
    command += ["--timeout", "30s"]
    tail = [url] + (["--", *args] if args else [])
    if warmup:
        subprocess.run(
            command + [f"-d{warmup}s"] + tail, capture_output=True, check=True
        )
    output = subprocess.run(
        command + [f"-d{duration}s"] + tail, capture_output=True, text=True, check=True
    ).stdout
    figures = {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", output)[1]),
        "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", output)[1]),
        "requests": int(re.search(r"(\d+) requests in", output)[1]),
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", output
    )
    figures["non_2xx"] = int(bad[1]) if bad else 0
    # A connection closed by the server after its response (uWSGI closes streamed
    # answers) is a read error to wrk, which reconnects; the other kinds fail.
    figures["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    return figures


def latencies(samples_ms):
    """p50/p99 of a list of latencies in ms."""
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"p50_ms": statistics.median(ordered), "p99_ms": p99}


def median_run(runs, key):
    """The run whose figure `key` is the median of all runs."""
    return sorted(runs, key=lambda figures: figures[key])[len(runs) // 2]


def paired_ratio(numerators, denominators):
    """Median of the ratios of two cases' figures, each pair measured back to back."""
    return statistics.median(a / b for a, b in zip(numerators, denominators))


def rfc3339(seconds):
    """Seconds since 1970 as RFC 3339 UTC text, for query strings."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def utc_now():
    """The time of a run, as its report names it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def save(name, results, text):
    """A run's figures into bench/results/<name>.json and its report into .md."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as handle:
        handle.write(text)


def say(*parts):
    print(*parts, flush=True)
    sys.stdout.flush()


def publish(section, text):
    """Put a run's report into bench/README.md between the section's markers.

    The figures in the README are then always one run's own output, whole.
    """
    begin = f"<!-- {section}: written by the bench run, not by hand -->\n"
    end = f"<!-- end of {section} -->"
    with open(README) as handle:
        head, begun, rest = handle.read().partition(begin)
    _, ended, tail = rest.partition(end)
    if not (begun and ended):
        say(f"bench/README.md has no markers for {section!r}: left as it was")
        return
    with open(README, "w") as handle:
        handle.write(head + begin + text + end + tail)
    say(f"bench/README.md: the figures of {section} rewritten from this run")
