"""GET /readings/<id>, 8 connections: the app against bare Flask + its driver."""

import common
from harness import check, get_by_id
from report import PER_S, rate, ratio


def measure(run):
    common.say(
        f"== GET /readings/<id>: myapp vs bare Flask + {run.setup.driver}"
        f" ({run.setup.big_rows:,} rows)"
    )
    bare = run.serve_bare("readings-bare", run.setup.big)
    app_answer = check(run.big, "/api/v1/readings/1", run.token)
    assert check(bare, "/api/v1/readings/1") == app_answer
    run.results["get_by_id"], run.results["get_by_id_runs"] = run.alternate(
        {
            "app": lambda: get_by_id(run.big, run.token, run.duration, 8),
            "bare": lambda: get_by_id(bare, None, run.duration, 8),
        },
        PER_S,
    )
    run.stop(bare)


def rows(results, setup):
    get, runs = results["get_by_id"], results["get_by_id_runs"]
    return [
        (
            "GET /readings/<id>, 8 connections",
            rate(get["app"]),
            f"bare Flask+{setup.driver}: {rate(get['bare'])}",
            f"{ratio(runs, 'app', 'bare', PER_S):.2f}x",
            ">= 0.50x",
        )
    ]
