"""What retention prunes stays counted: the tallies of pruned readings.

Each pruning batch hands its readings here before deleting them, in its own
transaction (readings_pruned), so a batch's readings move from the raw table
to goal_pruned at once, or not at all. Recomputing a period from the
readings that remain (recompute.py) adds these tallies in the same statement,
one snapshot, so a prune committing meanwhile is counted once.
"""

import bisect

import sqlalchemy as sa

from myapp.calendars import floor_quarter
from myapp.db import db
from myapp.goals import tallies
from myapp.goals.models import GoalPruned
from myapp.goals.rows import TALLY_COLUMNS, TARGETS
from myapp.goals.upkeep import upsert
from myapp.readings.models import ReadingField

PRUNED = GoalPruned.__table__
_KEY = ("user_id", "sensor", "field", "start")


def on_readings_pruned(sender, *, user_id, sensor, readings, **_):
    """Add the pruned readings' tallies per field and range, merged in SQL."""
    fields, sinces = _watched(user_id, sensor)
    if not fields:
        return
    found = {}
    for reading in readings:
        start = range_start(reading.recorded_at, sinces)
        for field in fields:
            number = tallies.number_in(reading.data, field)
            key = (field, start)
            tally = found.get(key, tallies.EMPTY)
            found[key] = tallies.added(tally, reading.recorded_at, reading.id, number)
    # Key order: two pruners of one sensor wait on each other, never deadlock.
    rows = [(user_id, sensor, *key, *found[key]) for key in sorted(found)]
    _merge(rows)


def range_start(recorded_at, sinces):
    """The 15-minute slot of recorded_at, or the latest since inside it before it."""
    start = floor_quarter(recorded_at)
    inside = bisect.bisect_right(sinces, recorded_at)
    if inside and sinces[inside - 1] > start:
        return sinces[inside - 1]
    return start


def _watched(user_id, sensor):
    """Fields to keep (targets' and rolled-up ones) and the targets' sinces."""
    t, f = TARGETS.c, ReadingField.__table__.c
    targets = db.session.execute(
        sa.select(t.field, t.since).where(t.user_id == user_id, t.sensor == sensor)
    ).all()
    rolled = db.session.execute(
        sa.select(f.field).where(f.user_id == user_id, f.sensor == sensor)
    ).scalars()
    fields = sorted({row.field for row in targets} | set(rolled))
    return fields, sorted({row.since for row in targets})


def _newer(column):
    """SQL: the added last_* if its number is newer than the kept one."""
    newer = (
        "excluded.last_at IS NOT NULL AND (goal_pruned.last_at IS NULL"
        " OR excluded.last_at > goal_pruned.last_at"
        " OR (excluded.last_at = goal_pruned.last_at"
        " AND excluded.last_id > goal_pruned.last_id))"
    )
    return f"CASE WHEN {newer} THEN excluded.{column} ELSE goal_pruned.{column} END"


def _extreme(column, op):
    return (
        f"CASE WHEN goal_pruned.{column} IS NULL OR excluded.{column} {op}"
        f" goal_pruned.{column} THEN excluded.{column} ELSE goal_pruned.{column} END"
    )


_MERGE = ", ".join(
    [f"{name} = goal_pruned.{name} + excluded.{name}" for name in TALLY_COLUMNS[:3]]
    + [f"low = {_extreme('low', '<')}", f"high = {_extreme('high', '>')}"]
    + [f"{name} = {_newer(name)}" for name in TALLY_COLUMNS[5:]]
)


def _merge(rows):
    columns = (*_KEY, *TALLY_COLUMNS)
    upsert("goal_pruned", columns, len(_KEY), rows, updates=_MERGE)
