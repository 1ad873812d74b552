"""Alerts under flapping and abuse: a flapping batch, and fairness of the worker.

    bench/run.sh alert_load [--quick]

One uWSGI from myapp.ini (production config) on a fresh SQLite database.

- flapping: one 1000-reading batch that crosses the thresholds of 100 rules
  (each with a webhook) back and forth, against the same batch by a user with
  no rules, in turns; the events and waiting deliveries each batch leaves;
- fairness: one `flask alerts worker` (4 sending threads, webhook timeout 5 s);
  user A's 100 rules notify a receiver that takes 4.9 s to answer, and keep
  flapping; user B's new event: the time from its 201 to its arrival.

Writes bench/results/alert_load.json and .md, and prints the table.
"""

import argparse
import json
import os
import sqlite3
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "readings")]
sys.path.append(ROOT)

import common  # noqa: E402
from alerting import call, fresh_server, worker_env  # noqa: E402
import seed  # noqa: E402

from testing.alerts import Receiver, WorkerProcess  # noqa: E402

DATABASE = os.path.join(common.RESULTS, "alert_load-data", "alert_load.sqlite")
SENSOR = "line/pressure"
RULES = 100
WEBHOOK_TIMEOUT = 5


def add_rules(server, token, url, sensor=SENSOR, count=RULES):
    """count rules firing above 1 .. count; their webhook secrets."""
    for n in range(count):
        body = {
            "name": f"above {n + 1}",
            "sensor": sensor,
            "condition": {"type": "threshold", "field": "bar", "above": n + 1},
            "webhook_url": url,
        }
        call(server, "POST", "/api/v1/alerts/", token, body)


def flapping_batch(sensor=SENSOR):
    """1000 readings alternating 0 and 1000: every one crosses all 100 rules."""
    items = [{"sensor": sensor, "data": {"bar": 1000 * (n % 2)}} for n in range(1000)]
    return json.dumps({"readings": items}).encode()


def table_counts():
    with sqlite3.connect(DATABASE) as db:
        events = db.execute("SELECT count(*) FROM alert_events").fetchone()[0]
        waiting = db.execute(
            "SELECT count(*) FROM alert_deliveries WHERE status = 'pending'"
        ).fetchone()[0]
    return events, waiting


def bench_flapping(server, tokens, rounds):
    """In turns: the flapping batch with rules and without; per pair the times."""
    body = flapping_batch()
    pairs, events_per_batch, waiting = [], [], []
    for number in range(rounds):
        order = ["rules", "none"] if number % 2 == 0 else ["none", "rules"]
        took = {}
        for name in order:
            before = table_counts()[0]
            took[name], _ = common.post_batch(server, tokens[name], body)
            if name == "rules":
                events, pending = table_counts()
                events_per_batch.append(events - before)
                waiting.append(pending)
        pairs.append(took)
        common.say(
            f"  round {number + 1}: with rules {took['rules']:.0f} ms, without "
            f"{took['none']:.0f} ms, {events_per_batch[-1]} events, "
            f"{waiting[-1]} waiting"
        )
    return pairs, events_per_batch, waiting


def bench_fairness(server, tokens, slow, fast, samples):
    """Seconds from each of B's crossing readings' 201 to its webhook's arrival,
    while A's 100 rules keep every sending thread busy with a 4.9 s receiver."""
    made = call(
        server,
        "POST",
        "/api/v1/alerts/",
        tokens["b"],
        {
            "name": "b's alarm",
            "sensor": "b/temp",
            "condition": {"type": "threshold", "field": "celsius", "above": 30},
            "webhook_url": fast.url("/b"),
        },
    )
    fast.secrets["/b"] = made["webhook_secret"]
    flap = flapping_batch("a/pressure")
    latencies = []
    for n in range(samples):
        # A flaps again: a new latest state for each of its 100 rules.
        common.post_batch(server, tokens["a"], flap)
        time.sleep(1)  # A's deliveries are due and being sent
        body = {"sensor": "b/temp", "data": {"celsius": 35 if n % 2 == 0 else 20}}
        call(server, "POST", "/api/v1/readings/", tokens["b"], body)
        answered = time.monotonic()
        arrival = fast.wait_for(n + 1, timeout=120)[n]
        assert arrival.payload is not None, "a webhook failed its signature check"
        latencies.append(arrival.at - answered)
        common.say(
            f"  B's event {n + 1}: {latencies[-1]:.2f} s; A's arrivals so far "
            f"{len(slow.arrivals)}"
        )
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    options = parser.parse_args()
    rounds, samples = (3, 5) if options.quick else (7, 11)
    load_before = os.getloadavg()
    server = fresh_server("alert_load", DATABASE, users=4)
    slow = Receiver(delay=WEBHOOK_TIMEOUT - 0.1)
    fast = Receiver()
    worker = None
    try:
        tokens = {
            "rules": seed.login(server, "bench1"),
            "none": seed.login(server, "bench2"),
            "a": seed.login(server, "bench3"),
            "b": seed.login(server, "bench4"),
        }
        add_rules(server, tokens["rules"], slow.url("/never-sent"))
        common.say(f"flapping: {rounds} rounds of one 1000-reading batch each")
        flapping = bench_flapping(server, tokens, rounds)
        # The flapping user's deliveries are not the worker's business here.
        with sqlite3.connect(DATABASE) as db:
            db.execute("DELETE FROM alert_rules")
        add_rules(server, tokens["a"], slow.url("/a"), sensor="a/pressure")
        env = worker_env(
            DATABASE,
            MYAPP_WEBHOOK_TIMEOUT=str(WEBHOOK_TIMEOUT),
            MYAPP_ALERTS_WORKER_THREADS="4",
        )
        worker = WorkerProcess(env, name="bench-alert-load-worker")
        common.say(f"fairness: {samples} events of B behind A's 100 slow rules")
        fairness = bench_fairness(server, tokens, slow, fast, samples)
        a_arrivals = len(slow.arrivals)
    finally:
        if worker is not None:
            worker.stop()
        slow.stop()
        fast.stop()
        server.stop()
    report(options, flapping, fairness, a_arrivals, load_before)


def report(options, flapping, fairness, a_arrivals, load_before):
    pairs, events, waiting = flapping
    ratios = [pair["rules"] / pair["none"] for pair in pairs]
    with_rules = statistics.median(pair["rules"] for pair in pairs)
    without = statistics.median(pair["none"] for pair in pairs)
    seconds = sorted(fairness)
    p50 = statistics.median(seconds)
    figures = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": options.quick,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "flapping_pairs_ms": pairs,
        "events_per_batch": events,
        "deliveries_waiting_after_each_batch": waiting,
        "fairness_seconds": seconds,
        "a_arrivals_during_fairness": a_arrivals,
    }
    with open(os.path.join(common.RESULTS, "alert_load.json"), "w") as handle:
        json.dump(figures, handle, indent=2)
    load = ", ".join(f"{x:.2f}" for x in load_before)
    lines = [
        f"`bench/run.sh alert_load{' --quick' if options.quick else ''}`, run of "
        f"{figures['when']} (load average before the run: {load}):",
        "",
        "| measurement | figure | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        "| POST /readings/batch of 1000 readings crossing 100 rules' thresholds "
        f"back and forth (median of {len(pairs)}) | {with_rules:.0f} ms | the "
        f"same batch, no rules: {without:.0f} ms | "
        f"{statistics.median(ratios):.2f}x (pairs: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ") | <= 2x |",
        f"|   events recorded per batch | max {max(events)} (each: "
        + ", ".join(map(str, events))
        + ") | | | <= 200 |",
        f"|   deliveries waiting after each batch | max {max(waiting)} | | | <= 100 |",
        f"| user B's event, 201 to arrival, while A's 100 rules' receiver takes "
        f"4.9 s (4 threads, {len(seconds)} events) | p50 {p50:.2f} s, max "
        f"{seconds[-1]:.2f} s | | | p50 < {2 * WEBHOOK_TIMEOUT} s |",
        "",
        f"A's receiver got {a_arrivals} deliveries meanwhile.",
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(common.RESULTS, "alert_load.md"), "w") as handle:
        handle.write(text)
    common.say("\n" + text)
    if not options.quick:
        common.publish("alert_load", text)


if __name__ == "__main__":
    main()
