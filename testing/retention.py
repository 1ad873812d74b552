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
