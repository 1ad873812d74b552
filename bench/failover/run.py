"""Failover figures: runs deploy/test_failover.py and publishes what it measured.

    bench/run.sh failover

The test (pg_auto_failover: a monitor, a primary and a synchronous standby in
network namespaces, two app hosts behind nginx, a retrying write load) writes
test-output/failover-figures.json; this turns that run's figures into the
table between the failover markers of bench/README.md, and into
bench/results/failover.json and failover.md. A failed test publishes nothing.
Needs root (namespaces) and Debian's postgresql-15-auto-failover.
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.dirname(HERE)]
sys.path.append(ROOT)

import common  # noqa: E402
import quorum  # noqa: E402

FIGURES = os.path.join(ROOT, "test-output", "failover-figures.json")
CASES = (
    ("kill -9", "kill -9 of the primary"),
    ("link cut", "primary's link cut"),
    ("switchover", "planned switchover, app hosts restarted one by one"),
    ("standby lost", "standby killed"),
)


def seconds(places):
    return lambda value: f"{value:.{places}f} s"


def statuses(counts):
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))


# (row, the figure's keys in the cases that have it, how it is written)
ROWS = (
    (
        "fault to the first acknowledged write",
        ["fault to first successful write s"],
        seconds(1),
    ),
    (
        "longest time without an acknowledged write",
        ["longest time without an acknowledged write s"],
        seconds(1),
    ),
    (
        "answers to writes started from the fault to that write",
        ["answers to requests started from fault to first write"],
        statuses,
    ),
    (
        "answers to every write of the run (retries included)",
        ["statuses of the whole run"],
        statuses,
    ),
    ("slowest answer", ["slowest answer s"], seconds(2)),
    ("switchover and both restarts took", ["switchover and restarts s"], seconds(0)),
    (
        "fault to the lost node back as standby",
        ["fault to old primary back as standby s", "fault to standby back s"],
        seconds(0),
    ),
    (
        "fault to the primary going on alone (wait_primary)",
        ["fault to primary alone (wait_primary) s"],
        seconds(1),
    ),
)


def failover_rows(figures):
    cases = [(figures[key], title) for key, title in CASES]
    rows = [
        ("measurement", *(title for _, title in cases)),
        ("---",) * (len(cases) + 1),
    ]
    for label, keys, written in ROWS:
        cells = []
        for case, _ in cases:
            found = [case[key] for key in keys if key in case]
            cells.append(written(found[0]) if found else "")
        rows.append((label, *cells))
    stored = []
    for case, _ in cases:
        if "acknowledged readings" in case:
            stored.append(
                f"{case['acknowledged readings']:,}; {case['readings stored']:,}"
            )
        else:
            stored.append("")
    rows.append(
        ("readings acknowledged; stored on the new primary, ids equal", *stored)
    )
    return rows


def report(figures, started, load):
    lines = [
        f"`bench/run.sh failover`, run of {started} (load average before the run: "
        f"{load}):",
        "",
    ]
    for row in failover_rows(figures):
        lines.append("| " + " | ".join(row) + " |")
    rate = figures["write throughput"]
    on = rate["synchronous_commit on, readings/s"]
    off = rate["synchronous_commit off, readings/s"]
    ratio = (sum(on) / len(on)) / (sum(off) / len(off))
    lines += [
        "",
        f"| POST /readings/batch of {rate['batch size']}, 2 clients through nginx "
        "| readings/s (runs in turn: on, off, on) |",
        "|---|---|",
        f"| synchronous_commit on (the standby confirms each commit) "
        f"| {', '.join(f'{r:,}' for r in on)} |",
        f"| synchronous_commit off (a crash may lose the last commits) "
        f"| {', '.join(f'{r:,}' for r in off)} |",
        f"| on against off | {ratio:.2f}x |",
        "",
    ]
    quorums = figures.get("standby lost, by node count")
    if quorums:
        lines += [
            "A standby killed while one client commits a row at a time "
            "(`bench/failover/quorum.py`, no app):",
            "",
            "| nodes, number_sync_standbys | longest time without a commit "
            "| commits in the 10 s after | the primary after "
            "| synchronous_standby_names after |",
            "|---|---|---|---|---|",
        ]
        for q in quorums:
            lines.append(
                f"| {q['nodes']}, {q['number_sync_standbys']} "
                f"| {q['longest time without a commit s']:.2f} s "
                f"| {q['commits in the 10 s after the kill']:,} "
                f"| {q['primary state after']} "
                f"| `{q['synchronous_standby_names after'] or '(empty)'}` |"
            )
        lines.append("")
    return "\n".join(lines)


def main():
    started = common.utc_now()
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    if os.path.exists(FIGURES):
        os.remove(FIGURES)
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    run = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "pytest"), "-q", "-p", "no:cacheprovider"]
        + [os.path.join(ROOT, "deploy", "test_failover.py")],
        cwd=ROOT,
        env=env,
    )
    if run.returncode != 0:
        common.say("the failover test failed: nothing published")
        return run.returncode
    with open(FIGURES) as handle:
        figures = json.load(handle)
    figures["standby lost, by node count"] = [
        quorum.measure(2, 0),
        quorum.measure(3, 1),
    ]
    text = report(figures, started, load)
    common.save("failover", {"run of": started, "load": load, **figures}, text)
    common.say(text)
    common.publish("failover", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
