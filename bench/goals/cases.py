"""The requests of the goals benchmark, and how one is timed over HTTP."""

import http.client
import json
import time

import measured as issue14
from forest import FOREST_GOALS, SUBTREE_GOALS, SUBTREE_ROOT, TARGETS

FOREST = f"GET /goals/ ({FOREST_GOALS} goals, {{depth}} deep)"
MEASURED_FOREST = (
    f"GET /goals/, the same forest with {issue14.MEASURED_GOALS} measured goals "
    f"over {issue14.READINGS:,} readings"
)
PLAIN_INGEST = "POST /readings/batch, 1000 readings, no measured goals"
WATCHED_INGEST = "POST /readings/batch, 1000 readings, 10 measured goals on the sensor"
SPREAD_PLAIN = "POST /readings/batch, 1000 readings over 1000 days, no goals"
SPREAD_HABITS = (
    f"POST /readings/batch, 1000 readings over 1000 days, {issue14.HABITS} daily habits"
)


def cases(depth):
    """(label, method, path, user, body for the n-th request, reset after it)."""
    subtree = f"/api/v1/goals/{SUBTREE_ROOT}"
    batch = "/api/v1/readings/batch"
    return [
        ("GET /health (baseline)", "GET", "/api/v1/health", None, None, False),
        (FOREST.format(depth=depth), "GET", "/api/v1/goals/", "forest", None, False),
        (MEASURED_FOREST, "GET", "/api/v1/goals/", "measured", None, False),
        (PLAIN_INGEST, "POST", batch, "plain", issue14.ingest_body, False),
        (WATCHED_INGEST, "POST", batch, "watched", issue14.ingest_body, False),
        (SPREAD_PLAIN, "POST", batch, "plain", issue14.spread_body, False),
        (SPREAD_HABITS, "POST", batch, "habits", issue14.spread_body, False),
        (
            f"GET /goals/?flat=true ({FOREST_GOALS} goals)",
            "GET",
            "/api/v1/goals/?flat=true",
            "forest",
            None,
            False,
        ),
        (
            f"PATCH move, {SUBTREE_GOALS}-goal subtree",
            "PATCH",
            subtree,
            "mover",
            lambda n: {"parent_id": TARGETS[n % 2]},
            False,
        ),
        (
            f"PATCH complete, {SUBTREE_GOALS}-goal subtree",
            "PATCH",
            subtree,
            "mover",
            lambda n: {"completed": True},
            True,
        ),
    ]


def timed_request(port, method, path, token, body):
    """(ms, status, bytes) of one request on a new connection; body read, not parsed."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return elapsed, response.status, payload
