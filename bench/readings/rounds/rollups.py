"""What rollups cost an upload: POST /readings/batch in-process, CPU time, with
rollups kept and with them switched off, in pairs back to back.

Switched off means readings.rollups.add_readings replaced by a no-op in this
bench process only (the app has no such switch: stats would then be wrong).
Bodies of 1000 readings of one sensor, one every 30 s, with 1 and with 10
numeric fields; CPU time (time.process_time) hardly moves with the machine's
other load, unlike wall time. It is the app's process only: SQLite's work is
in it, PostgreSQL's server work is not.
"""

import random
import statistics
import time

import common
import seed

ROUNDS_PER_CASE = 12


def bodies(count, fields, start_s):
    rng = random.Random(fields)
    made = []
    for n in range(count):
        first = start_s + n * 30_000
        items = [
            {
                "sensor": "meter",
                "recorded_at": common.rfc3339(first + 30 * i),
                "data": {f"f{k}": round(rng.uniform(0, 100), 3) for k in range(fields)},
            }
            for i in range(1000)
        ]
        made.append({"readings": items})
    return made


def cpu_ms(client, headers, body):
    started = time.process_time()
    response = client.post("/api/v1/readings/batch", json=body, headers=headers)
    took = (time.process_time() - started) * 1000
    assert response.status_code == 201, response.json
    return took


def measure(run):
    from myapp.readings import rollups

    common.say("== rollups: POST /readings/batch in-process, CPU, on and off")
    app = common.production_app(run.setup.empty("rollups"))
    client = app.test_client()
    token = seed.login_in_process(app)
    headers = {"Authorization": f"Bearer {token}"}
    kept = rollups.add_readings
    results = {}
    for fields in (1, 10):
        start_s = seed.START_S + fields * 10**8
        rounds = 4 if run.quick else ROUNDS_PER_CASE
        pairs = iter(bodies(2 * rounds + 2, fields, start_s))
        cpu_ms(client, headers, next(pairs))  # warm-up: fields recorded
        rollups.add_readings = lambda **_: None
        cpu_ms(client, headers, next(pairs))
        rollups.add_readings = kept
        on, off = [], []
        for _ in range(rounds):
            on.append(cpu_ms(client, headers, next(pairs)))
            rollups.add_readings = lambda **_: None
            try:
                off.append(cpu_ms(client, headers, next(pairs)))
            finally:
                rollups.add_readings = kept
        results[fields] = {
            "on_ms": statistics.median(on),
            "off_ms": statistics.median(off),
            "ratio": common.paired_ratio(off, on),
        }
        common.say(f"  {fields} fields: {results[fields]}")
    run.results["rollups"] = results


def rows(results, setup):
    return [
        (
            f"POST /readings/batch with rollups, {fields} numeric field"
            + ("s" if fields > 1 else "")
            + " a reading, in-process CPU",
            f"{figures['on_ms']:.1f} ms a batch",
            f"rollups off: {figures['off_ms']:.1f} ms",
            f"{figures['ratio']:.2f}x",
            ">= 0.85x",
        )
        for fields, figures in sorted(results["rollups"].items())
    ]
