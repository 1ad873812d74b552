"""Alerts benchmark: ingest with rules against ingest without, and webhook latency.

    bench/run.sh alerts [--quick]

One uWSGI from myapp.ini (production config) on a fresh SQLite database, and
one `flask alerts worker`. Measures, in the same run:

- batch ingest (1000 readings a request, one client) by a user with 10
  threshold rules on the posted sensor, against the same ingest by a user with
  no rules; the two take turns request by request, the median round's ratio;
- the time from a crossing reading's 201 to its webhook's arrival at a
  receiver on loopback (which checks the signature), with the worker idle.

Writes bench/results/alerts.json and alerts.md, and prints the table.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "readings")]
sys.path.append(ROOT)

import common  # noqa: E402
from alerting import call, fresh_server, worker_env  # noqa: E402
import seed  # noqa: E402

from testing.alerts import Receiver, WorkerProcess  # noqa: E402

DATABASE = os.path.join(common.RESULTS, "alerts-data", "alerts.sqlite")
SENSOR = "greenhouse/temp"


def ten_rules():
    """Rules a greenhouse might have: warm/cold alarms at several levels."""
    rules = []
    for n in range(10):
        bounds = {"above": 23 + n / 2} if n % 2 == 0 else {"below": 17 - n / 2}
        condition = {"type": "threshold", "field": "celsius", "hysteresis": 0.5}
        rules.append(
            {"name": f"level {n}", "sensor": SENSOR, "condition": condition | bounds}
        )
    return rules


def bodies(count, rng):
    """Batches of 1000: a random walk around 20 C crossing some levels now and then."""
    value, made = 20.0, []
    for _ in range(count):
        items = []
        for _ in range(1000):
            value += rng.uniform(-0.4, 0.4) - (value - 20) * 0.01
            items.append(
                {
                    "sensor": SENSOR,
                    "data": {"celsius": round(value, 2), "rh": 55},
                    "client_id": str(uuid.uuid4()),
                }
            )
        made.append(json.dumps({"readings": items}).encode())
    return made


def bench_ingest(server, tokens, rounds, per_round, rng):
    """Both users post per_round batches in turns each round.

    Per round: readings/s of each, their ratio, and the ratios of each pair of
    requests sent back to back (the machine's load moves less within a pair).
    """
    results = []
    for number in range(rounds):
        spent = {"rules": 0.0, "none": 0.0}
        order = ["rules", "none"] if number % 2 == 0 else ["none", "rules"]
        batches = {name: bodies(per_round, rng) for name in order}
        pairs = []
        for index in range(per_round):
            took = {}
            for name in order:
                batch = batches[name][index]
                ms, _ = common.post_batch(server, tokens[name], batch)
                took[name] = ms / 1000
                spent[name] += took[name]
            pairs.append(took["none"] / took["rules"])
        rates = {name: per_round * 1000 / spent[name] for name in spent}
        rates["ratio"] = rates["rules"] / rates["none"]
        rates["pairs"] = pairs
        results.append(rates)
        common.say(
            f"  round {number + 1}: with rules {rates['rules']:,.0f}/s, "
            f"without {rates['none']:,.0f}/s, ratio {rates['ratio']:.2f}"
        )
    return results


def bench_latency(server, token, receiver, samples, rng):
    """Seconds from each crossing reading's 201 to its webhook's arrival."""
    made = call(
        server,
        "POST",
        "/api/v1/alerts/",
        token,
        {
            "name": "latency",
            "sensor": "latency/temp",
            "condition": {"type": "threshold", "field": "celsius", "above": 30},
            "webhook_url": receiver.url("/latency"),
        },
    )
    receiver.secrets["/latency"] = made["webhook_secret"]
    latencies = []
    for n in range(samples):
        time.sleep(rng.uniform(0.3, 0.6))  # the worker is idle, polling
        body = {"sensor": "latency/temp", "data": {"celsius": 35 if n % 2 == 0 else 20}}
        call(server, "POST", "/api/v1/readings/", token, body)
        answered = time.monotonic()
        arrival = receiver.wait_for(n + 1, timeout=30)[n]
        assert arrival.payload is not None, "a webhook failed its signature check"
        latencies.append(arrival.at - answered)
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    options = parser.parse_args()
    rounds, per_round, samples = (3, 4, 20) if options.quick else (5, 10, 60)
    rng = random.Random(7)
    load_before = os.getloadavg()
    server = fresh_server("alerts", DATABASE, users=3)
    receiver = Receiver()
    worker = None
    try:
        tokens = {
            "rules": seed.login(server, "bench1"),
            "none": seed.login(server, "bench2"),
        }
        for body in ten_rules():
            call(server, "POST", "/api/v1/alerts/", tokens["rules"], body)
        common.say(f"ingest: {rounds} rounds of {per_round} batches of 1000 each")
        ingest = bench_ingest(server, tokens, rounds, per_round, rng)
        events = call(
            server, "GET", "/api/v1/alerts/events?limit=1000", tokens["rules"]
        )
        worker = WorkerProcess(worker_env(DATABASE), name="bench-alerts-worker")
        common.say(f"latency: {samples} crossing readings, one at a time")
        latencies = bench_latency(
            server, seed.login(server, "bench3"), receiver, samples, rng
        )
    finally:
        if worker is not None:
            worker.stop()
        receiver.stop()
        server.stop()
    report(options, ingest, len(events["items"]), latencies, load_before)


def report(options, ingest, events, latencies, load_before):
    median = common.median_run(ingest, "ratio")
    paired = statistics.median(ratio for r in ingest for ratio in r["pairs"])
    millis = sorted(1000 * s for s in latencies)
    spread = common.latencies(millis)
    figures = {
        "when": common.utc_now(),
        "quick": options.quick,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "ingest_rounds": ingest,
        "events_recorded_by_the_rules": events,
        "latency_ms": millis,
    }
    load = ", ".join(f"{x:.2f}" for x in load_before)
    lines = [
        f"`bench/run.sh alerts{' --quick' if options.quick else ''}`, run of "
        f"{figures['when']} (load average before the run: {load}):",
        "",
        "| measurement | with alerts | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
        "| POST /readings/batch, 1000/request, 10 threshold rules on the sensor "
        f"(median round) | {median['rules']:,.0f} readings/s | no rules: "
        f"{median['none']:,.0f} "
        f"readings/s | {paired:.2f}x (median of {len(ingest) * len(ingest[0]['pairs'])}"
        " back-to-back pairs; the median round's totals: "
        f"{median['ratio']:.2f}x, rounds "
        + ", ".join(f"{r['ratio']:.2f}" for r in ingest)
        + ") | >= 0.8x |",
        f"| crossing reading's 201 to the webhook's arrival, worker idle "
        f"({len(millis)} readings) | p50 {spread['p50_ms']:.0f} ms, p99 "
        f"{spread['p99_ms']:.0f} ms, max {millis[-1]:.0f} ms | | | p50 < 1 s |",
        "",
        f"The rules recorded {events}{'+' if events >= 1000 else ''} events "
        "during the ingest runs.",
    ]
    text = "\n".join(lines) + "\n"
    common.save("alerts", figures, text)
    common.say("\n" + text)
    if not options.quick:
        common.publish("alerts", text)


if __name__ == "__main__":
    main()
