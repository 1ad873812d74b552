"""GET /readings/stats: hourly buckets over user 2's accelerometer, 1 connection."""

import common
import seed
from harness import check, wrk
from report import latency

STATS = "/api/v1/readings/stats?sensor=accelerometer&field=x&bucket=1h"


def measure(run):
    common.say(
        f"== GET /readings/stats over {run.setup.stats_rows:,} readings of one sensor"
    )
    token = seed.login(run.big, "bench2")
    body = check(run.big, STATS, token)
    assert sum(b["count"] for b in body["buckets"]) == run.setup.stats_rows
    figures = wrk(run.big, "fixed_get.lua", [STATS, token], run.duration + 4, 1)
    figures["buckets"] = len(body["buckets"])
    run.results["stats"] = figures
    common.say(f"  {figures}")
    run.plan("stats", "bench2", STATS)


def rows(results, setup):
    stats = results["stats"]
    return [
        (
            f"GET /readings/stats, {setup.stats_rows:,} readings, bucket 1h,"
            " 1 connection",
            f"{latency(stats, 1)} ({stats['buckets']} buckets)",
            "",
            "",
            setup.targets["stats"],
        )
    ]
