"""Setting and removing a goal's target: stored, then recomputed from the readings."""

import sqlalchemy as sa

from myapp.db import db
from myapp.goals import periods, tallies
from myapp.owners import time_zone_of
from myapp.goals.recompute import drop_unwatched_series, start_target
from myapp.goals.rows import MEASURES, TALLY_COLUMNS, TARGETS
from myapp.micros import to_micros


def _target_row(goal_id):
    return db.session.execute(
        sa.select(TARGETS).where(TARGETS.c.goal_id == goal_id)
    ).first()


def _same_target(row, target):
    return row is not None and all(
        getattr(row, name) == target.get(name)
        for name in ("sensor", "field", "aggregate", "op", "value", "period")
    )


def set_target(*, user_id, goal_id, started_at, target):
    """Give a goal this target (None removes it): (changed, met now).

    met is whether a target without period is met by the readings stored so
    far. The caller holds the user's lock in its strongest form
    (goals.service), so no upload is between storing readings and adding them
    to this target; a new target's measures are computed from the readings.
    """
    row = _target_row(goal_id)
    if target is None:
        db.session.execute(sa.delete(TARGETS).where(TARGETS.c.goal_id == goal_id))
        drop_unwatched_series(user_id=user_id)
        return row is not None, False
    target = {"period": None, **target, "value": float(target["value"])}
    changed = not _same_target(row, target)
    if changed:
        _store_target(
            user_id=user_id, goal_id=goal_id, since=to_micros(started_at), target=target
        )
    if target["period"] is not None:
        return changed, False
    stored = db.session.execute(
        sa.select(*[MEASURES.c[name] for name in TALLY_COLUMNS]).where(
            MEASURES.c.goal_id == goal_id
        )
    ).first()
    tally = tuple(stored) if stored else tallies.EMPTY
    value = tallies.aggregate_of(target["aggregate"], tally)
    return changed, tallies.is_met(target["op"], target["value"], value)


def _store_target(*, user_id, goal_id, since, target):
    db.session.execute(sa.delete(TARGETS).where(TARGETS.c.goal_id == goal_id))
    aggregate, op, value = target["aggregate"], target["op"], target["value"]
    db.session.execute(
        sa.insert(TARGETS).values(
            goal_id=goal_id,
            user_id=user_id,
            since=since,
            since_bucket=periods.bucket_of(
                target["period"], since, time_zone_of(user_id=user_id)
            ),
            empty_met=tallies.empty_met(aggregate, op, value),
            **target,
        )
    )
    start_target(user_id=user_id, goal_id=goal_id)
    drop_unwatched_series(user_id=user_id)


def habits_of(*, user_id):
    """The user's targets with a period: (goal_id, period, since) each."""
    return db.session.execute(
        sa.select(TARGETS.c.goal_id, TARGETS.c.period, TARGETS.c.since).where(
            TARGETS.c.user_id == user_id, TARGETS.c.period.is_not(None)
        )
    ).all()


def renumber(*, habits, tz):
    """Give each habit the number of its first period in the zone tz."""
    for habit in habits:
        db.session.execute(
            sa.update(TARGETS)
            .where(TARGETS.c.goal_id == habit.goal_id)
            .values(since_bucket=periods.bucket_of(habit.period, habit.since, tz))
        )
