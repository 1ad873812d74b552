"""The readings run's report: one table of the rounds run, then the details.

Written to bench/results/readings[-postgres][-partial].md and .json; a whole
run as deployed also puts it into bench/README.md between its markers.
"""

import common

P50, PER_S = "p50_ms", "requests_per_s"


def ratio(runs, mine, base, key):
    """Median over rounds of mine/base, each pair measured back to back."""
    return common.paired_ratio(
        [figures[key] for figures in runs[mine]],
        [figures[key] for figures in runs[base]],
    )


def rate(figures, digits=2):
    """Requests/s, p50 and p99 of a wrk run, and its socket errors if any."""
    errors = figures["socket_errors"]
    return f"{figures[PER_S]:.0f} req/s, {latency(figures, digits)}" + (
        f", {errors} socket errors" if errors else ""
    )


def latency(figures, digits=2):
    return (
        f"p50 {figures['p50_ms']:.{digits}f} ms, p99 {figures['p99_ms']:.{digits}f} ms"
    )


def readings_rate(figures):
    return f"{figures['readings_per_s']:.0f} readings/s, {latency(figures, 1)}"


def details(results):
    """What the table has no room for: floors, statements, plans."""
    lines = []
    floor = results.get("ingest_floor", {})
    if "methods" in floor:
        lines += ["", "Ingest floors, in-process, same bodies (median round):"]
        lines += [
            f"    {method}: {figures['readings_per_s']:.0f} readings/s,"
            f" p50 {figures['p50_ms']:.1f} ms"
            for method, figures in floor["methods"].items()
        ]
    if "list_statements" in results:
        lines += ["", "Every SQL statement of one GET /readings/ page (no COUNT):"]
        lines += [f"    {statement}" for statement in results["list_statements"]]
        lines += ["", "Its plan on SQLite:"]
        lines += [f"    {row}" for row in results["list_plan"]]
    for label, found in results.get("plans", {}).items():
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of the {label} query:", ""]
        lines += [f"    {found['sql']}", f"    -- {found['parameters']}", ""]
        lines += [f"    {row}" for row in found["plan"]]
    return lines


def write(run, rows, publish):
    """The table of these rows, into bench/results (and bench/README.md)."""
    results, setup = run.results, run.setup

    def load(key):
        return ", ".join(f"{n:.1f}" for n in results[key])

    lines = [
        f"`{results['command']}`, run of {results['started']} on {setup.name};"
        f" load average (1, 5, 15 min) at the start {load('load_average')},"
        f" at the end {load('load_average_end')}.",
        "",
        "Figures: the median round of each server; ratio: the median over rounds of"
        " the ratio of the two runs measured back to back.",
        "",
        "| measurement | myapp | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = "\n".join(lines + details(results)) + "\n"
    name = "readings" if setup.name == "sqlite" else f"readings-{setup.name}"
    common.save(name + ("" if publish else "-partial"), results, text)
    common.say("\n" + text)
    if publish:
        common.publish(f"readings on {setup.name}", text)
