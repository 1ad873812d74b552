"""GET /readings/latest (bench3's 100 sensors) against GET /readings/<id>."""

import common
import seed
from harness import check, get_by_id, wrk
from report import P50, latency, ratio

LATEST = "/api/v1/readings/latest"


def measure(run):
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


def rows(results, setup):
    latest, by_id = results["latest"], results["get_by_id_1"]
    paired = ratio(results["latest_runs"], "latest", "get_by_id_1", P50)
    return [
        (
            f"GET /readings/latest, 100 sensors, {setup.big_rows / 1e6:g}M rows,"
            " 1 connection",
            latency(latest),
            f"GET /readings/<id>, 1 connection: {latency(by_id)}",
            f"{paired:.2f}x",
            "p50 <= 2x",
        )
    ]
