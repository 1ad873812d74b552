"""Retention as a client sets it, and the clock moved by the test's hand."""

import sqlalchemy as sa

RETENTION = "/api/v1/readings/retention"
PREVIEW = "/api/v1/readings/retention/preview"
DAY = 86400 * 1_000_000
HOUR = 3600 * 1_000_000


def rule(keep_days, sensors=None):
    return {"sensors": sensors, "keep_days": keep_days}


def put_rules(account, *rules):
    """PUT the rules (asserts 200); the answer's body."""
    response = account.client.put(
        RETENTION, json={"rules": list(rules)}, headers=account.headers
    )
    assert response.status_code == 200, response.json
    return response.json


def grace_passes(user_id):
    """As if the grace ran out: prunes_from moved to a second ago (app context)."""
    from myapp.db import db
    from myapp.readings.models import RetentionPolicy
    from myapp.readings.service import now_micros

    db.session.execute(
        sa.update(RetentionPolicy)
        .where(RetentionPolicy.user_id == user_id)
        .values(prunes_from=now_micros() - 1_000_000)
    )
    db.session.commit()


def prune_at(now, batch=1000, **kwargs):
    """Prune every user with rules as the worker would at `now` (app context)."""
    from myapp.readings.prune import prune_all

    return prune_all(now=now, batch=batch, **kwargs)


def now():
    from myapp.readings.service import now_micros

    return now_micros()


def pruned_ids_of(user_id):
    """{reading id} of the user's recorded pruned client_ids (app context)."""
    from myapp.db import db
    from myapp.readings.models import PrunedClientId

    found = db.session.execute(
        sa.select(PrunedClientId.reading_id).where(PrunedClientId.user_id == user_id)
    )
    return sorted(found.scalars())


def prune_process(env, *args, name="prune"):
    """`flask readings prune` as a real process (Popen), its output in a log file."""
    import os
    import socket
    import subprocess
    import sys

    from testing.servers import OUTPUT, ROOT

    os.makedirs(OUTPUT, exist_ok=True)
    with socket.socket() as sock:  # a unique name per process
        sock.bind(("127.0.0.1", 0))
        path = os.path.join(OUTPUT, f"{name}-{sock.getsockname()[1]}.log")
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    with open(path, "w") as log:
        process = subprocess.Popen(
            [flask, "readings", "prune", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = path
    return process


def removed_in(log_text):
    """The readings each 'retention: removed N ...' line of a log counts, summed."""
    import re

    return sum(map(int, re.findall(r"retention: removed (\d+) readings", log_text)))
