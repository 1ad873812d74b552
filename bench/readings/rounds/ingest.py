"""POST /readings/batch, 1000 readings a request, one client, against the floor.

Bodies with a client_id on every item and without any, and the floor (floors.py)
on the same bodies, in turns; then the first round's bodies again, as a device
re-sends a batch whose answer it lost: nothing may be stored twice.
"""

import json
import random
import time
import uuid

import common
import seed
from report import ratio, readings_rate

PER_S = "readings_per_s"


def ingest_bodies(count, size=1000, client_ids=True):
    """Distinct 1000-reading bodies, every item with its own client_id (or none)."""
    rng = random.Random(7)
    bodies = []
    for n in range(count):
        items = []
        for i in range(size):
            moment = seed.START_S + n * size + i
            items.append(
                {
                    "sensor": seed.SENSORS[i % len(seed.SENSORS)],
                    "recorded_at": time.strftime(
                        "%Y-%m-%dT%H:%M:%S", time.gmtime(moment)
                    )
                    + f".{rng.randrange(10**6):06d}Z",
                    "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "data": {
                        "x": round(rng.uniform(-9.81, 9.81), 4),
                        "y": round(rng.uniform(-9.81, 9.81), 4),
                        "z": round(rng.uniform(-9.81, 9.81), 4),
                        "battery": rng.randrange(100),
                        "unit": "m/s2",
                    },
                }
            )
            if not client_ids:
                del items[-1]["client_id"]
        bodies.append(json.dumps({"readings": items}).encode())
    return bodies


def post_batches(server, token, bodies):
    """One client, one request at a time, a new connection for each."""
    samples = []
    created = 0
    started = time.perf_counter()
    for body in bodies:
        took, stored = common.post_batch(server, token, body)
        samples.append(took)
        created += stored
    elapsed = time.perf_counter() - started
    figures = {PER_S: len(bodies) * 1000 / elapsed}
    figures.update(requests=len(bodies), created=created, **common.latencies(samples))
    return figures


def measure(run):
    common.say("== POST /readings/batch (1000 readings a request, one client)")
    per_round = 4 if run.quick else 12
    bodies = ingest_bodies(per_round * run.rounds + 2)
    anonymous = ingest_bodies(per_round * run.rounds, client_ids=False)
    server = run.serve("readings-ingest", run.setup.empty("ingest"))
    floor = run.setup.empty("floor")
    token = seed.login(server)
    post_batches(server, token, bodies[:2])  # warm-up

    def chunks(source):
        return iter(source[n : n + per_round] for n in range(0, len(source), per_round))

    mine, theirs, plain = chunks(bodies[2:]), chunks(bodies[2:]), chunks(anonymous)
    median, run.results["ingest_runs"] = run.alternate(
        {
            "ingest": lambda: post_batches(server, token, next(mine)),
            "ingest_anonymous": lambda: post_batches(server, token, next(plain)),
            "ingest_floor": lambda: run.setup.ingest_floor(floor, next(theirs)),
        },
        PER_S,
    )
    run.results.update(median)
    # Devices re-send batches whose answer they lost: nothing is stored twice.
    retry = post_batches(server, token, bodies[2 : 2 + per_round])
    common.say(f"  retry of stored batches {retry}")
    assert retry["created"] == 0, "a retry stored readings"
    run.results["ingest_retry"] = retry
    run.stop(server)


def rows(results, setup):
    floor, runs = results["ingest_floor"], results["ingest_runs"]
    target = setup.targets["ingest"]

    def row(label, name):
        return (
            label,
            readings_rate(results[name]),
            f"json.loads+{floor['method']}: {floor[PER_S]:.0f} readings/s",
            f"{ratio(runs, name, 'ingest_floor', PER_S):.2f}x",
            target,
        )

    return [
        row(
            "POST /readings/batch, 1000/request, 1 client, every item with a client_id",
            "ingest",
        ),
        row("  same, no client_id", "ingest_anonymous"),
        (
            "  same batches again (all duplicates: a device's retry)",
            readings_rate(results["ingest_retry"]),
            "",
            "",
            "",
        ),
    ]
