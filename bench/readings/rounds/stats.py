"""GET /readings/stats over a year of one sensor (user 2), from rollups, against
GET /readings/<id> on the same server, 1 connection each, in turns."""

import common
import seed
from harness import check, get_by_id, wrk
from report import P50, latency, ratio

DAY_S = 86400
ZONE = "Europe/Berlin"
BASE = "/api/v1/readings/stats?sensor=accelerometer&field=x"


def queries():
    """The year in local days, and 31 days (from day 100) in local hours."""
    start = seed.START_S + 100 * DAY_S
    since, until = common.rfc3339(start), common.rfc3339(start + 31 * DAY_S)
    return {
        "year_1d": f"{BASE}&bucket=1d&tz={ZONE}",
        "month_1h": f"{BASE}&bucket=1h&tz={ZONE}&since={since}&until={until}",
    }


def measure(run):
    common.say(
        f"== GET /readings/stats over {run.setup.stats_rows:,} readings of one"
        " sensor (a year), against GET /readings/<id>"
    )
    token = seed.login(run.big, "bench2")
    found = {}
    for name, path in queries().items():
        body = check(run.big, path, token)
        assert body["from_rollups"] is True, body
        found[name] = len(body["buckets"])
    year = check(run.big, queries()["year_1d"], token)
    assert sum(b["count"] for b in year["buckets"]) == run.setup.stats_rows
    jobs = {
        name: (
            lambda path=path: wrk(
                run.big, "fixed_get.lua", [path, token], run.duration, 1
            )
        )
        for name, path in queries().items()
    }
    jobs["get"] = lambda: get_by_id(run.big, run.token, run.duration, 1)
    median, runs = run.alternate(jobs, P50)
    for name, count in found.items():
        median[name]["buckets"] = count
    run.results["stats"], run.results["stats_runs"] = median, runs


def rows(results, setup):
    stats, runs = results["stats"], results["stats_runs"]
    labels = {
        "year_1d": f"a year in {ZONE} days",
        "month_1h": f"31 days in {ZONE} hours",
    }
    return [
        (
            f"GET /readings/stats, {labels[name]}, {setup.stats_rows:,} readings,"
            " 1 connection",
            f"{latency(stats[name], 1)} ({stats[name]['buckets']} buckets)",
            f"GET by id: {latency(stats['get'], 2)}",
            f"{ratio(runs, name, 'get', P50):.1f}x",
            "<= 20x and p50 < 50 ms",
        )
        for name in labels
    ]
