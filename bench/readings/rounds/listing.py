"""GET /readings/?since&until&limit=100: a window of 100 readings, 1 connection.

On the big and the 10,000-row table in turns, with and without &sensor=gps;
then the statements and plan of one page.
"""

import common
import queries
import seed
from harness import check, wrk
from report import P50, latency, ratio

LIST_PAGE = (
    "/api/v1/readings/?limit=100&since=2026-01-02T00:00:00Z"
    "&until=2026-01-02T03:00:00Z"
)


def list_window(server, token, duration, sensor=None):
    """One connection: p50/p99 are service times, not queueing."""
    args = [token, str(seed.START_S), str(seed.START_S + 10_000 * 60), str(3 * 3600)]
    page = check(server, LIST_PAGE + (f"&sensor={sensor}" if sensor else ""), token)
    assert len(page["items"]) == (36 if sensor else 100), len(page["items"])
    return wrk(
        server, "list_window.lua", args + ([sensor] if sensor else []), duration, 1
    )


def measure(run):
    common.say(
        f"== GET /readings/?since&until&limit=100: {run.setup.big_rows:,}"
        " vs 10,000 rows"
    )
    small = run.serve("readings-small", run.setup.small)
    small_token = seed.login(small)
    big, token, duration = run.big, run.token, run.duration
    median, run.results["list_runs"] = run.alternate(
        {
            "list_big": lambda: list_window(big, token, duration),
            "list_small": lambda: list_window(small, small_token, duration),
            "list_big_sensor": lambda: list_window(big, token, duration, "gps"),
            "list_small_sensor": lambda: list_window(
                small, small_token, duration, "gps"
            ),
        },
        P50,
    )
    run.results.update(median)
    run.stop(small)
    if run.setup.name == "sqlite":
        statements, plan = queries.statements_per_request(run.setup.big, LIST_PAGE)
        run.results["list_statements"], run.results["list_plan"] = statements, plan
    run.plan("list", "bench1", LIST_PAGE)


def rows(results, setup):
    big, small = results["list_big"], results["list_small"]
    big_gps, small_gps = results["list_big_sensor"], results["list_small_sensor"]
    runs = results["list_runs"]
    return [
        (
            f"GET /readings/?since&until&limit=100, {setup.big_rows / 1e6:g}M rows,"
            " 1 connection",
            latency(big),
            f"10k rows: {latency(small)}",
            f"{ratio(runs, 'list_big', 'list_small', P50):.2f}x",
            "p50 < 20 ms, <= 1.5x",
        ),
        (
            "  same with &sensor=gps",
            f"p50 {big_gps['p50_ms']:.2f} ms",
            f"10k rows: p50 {small_gps['p50_ms']:.2f} ms",
            f"{ratio(runs, 'list_big_sensor', 'list_small_sensor', P50):.2f}x",
            "",
        ),
    ]
