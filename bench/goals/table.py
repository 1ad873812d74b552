"""The goals run's report: its table and its verdicts on issues 4, 14 and 21.

Written to bench/results/goals[-postgres].json and .md, and into
bench/README.md between the markers of "goals on <db>".
"""

import common
from cases import MEASURED_FOREST

LIMIT_MS = 100
# Issue 14: measured forest p50 <= 1.5x the plain one; ingest >= 0.8x.
FOREST_RATIO_MAX, INGEST_RATIO_MIN, STATEMENTS_MAX = 1.5, 0.8, 3
# Issue 21: 200 habits and a 1000-day batch at most 2x the batch without goals.
HABITS_RATIO_MAX = 2.0


def report(results):
    lines = [
        f"Goals benchmark, {results['started']} (bench/run.sh goals"
        + (" --db postgres)" if results["db"] == "postgres" else ")"),
        f"uWSGI myapp.ini, 2 processes, {results['db']};"
        f" {results['requests_per_case']}"
        " sequential requests per case, cases taking turns; 1-minute load average"
        f" {results['load_average_1m']['start']:.1f} at the start,"
        f" {results['load_average_1m']['end']:.1f} at the end (2 cores)",
        "",
        "| request | p50 ms | p99 ms | max ms | CPU ms in-process "
        "| SQL statements | response bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, figures in results["cases"].items():
        lines.append(
            f"| {label} | {figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} "
            f"| {figures['max_ms']:.1f} | {figures['cpu_ms_in_process']:.1f} "
            f"| {figures['sql_statements']} "
            f"| {figures['response_bytes']:,} |"
        )
    cases = results["cases"]
    met = all(
        figures["p50_ms"] < LIMIT_MS
        for label, figures in cases.items()
        if label.startswith(("GET /goals/ (", "GET /goals/?", "PATCH"))
    )
    verdict = "met" if met else "NOT met"
    lines += ["", f"Issue 4: p50 < {LIMIT_MS} ms on every goals case: {verdict}"]
    ratios = results["ratios"]
    forest_ok = ratios["measured_forest"] <= FOREST_RATIO_MAX
    statements = cases[MEASURED_FOREST]["sql_statements"]
    ingest_ok = ratios["ingest"] >= INGEST_RATIO_MIN
    lines += [
        "Issue 14: measured forest / plain forest, median of paired rounds: "
        f"{ratios['measured_forest']:.2f}x (target <= {FOREST_RATIO_MAX}x), "
        f"{statements} SQL statements (target <= {STATEMENTS_MAX}): "
        + ("met" if forest_ok and statements <= STATEMENTS_MAX else "NOT met"),
        "Issue 14: ingest with 10 measured goals / without, readings per second, "
        f"median of paired rounds: {ratios['ingest']:.2f}x "
        f"(target >= {INGEST_RATIO_MIN}x): " + ("met" if ingest_ok else "NOT met"),
    ]
    habits_ok = ratios["habits"] <= HABITS_RATIO_MAX
    lines.append(
        "Issue 21: the 1000-day batch with 200 daily habits / without goals, time,"
        f" median of paired rounds: {ratios['habits']:.2f}x"
        f" (target <= {HABITS_RATIO_MAX}x), {results['habit_rows']:,} goal rows kept"
        " (heads and shared periods; every upload writes those it touches): "
        + ("met" if habits_ok else "NOT met")
    )
    text = "\n".join(lines)
    name = "goals" if results["db"] == "sqlite" else f"goals-{results['db']}"
    common.save(name, results, text + "\n")
    common.say(text)
    common.publish(f"goals on {results['db']}", f"```\n{text}\n```\n")
