"""Measured goals recomputed from the stored readings (and the tallies of
pruned ones) in SQL: heads and series after readings are deleted or the zone
changed, and when a target is set."""

import sqlalchemy as sa

from myapp.db import db, utcnow
from myapp.goals import periods, tally_sql
from myapp.goals.rows import MEASURES, SERIES, TARGETS
from myapp.goals.upkeep import measure_row, series_floors, write_measures, write_series
from myapp.micros import to_micros
from myapp.owners import time_zone_of

_YEAR = 366 * 86400 * 1_000_000


def _float(value):
    return None if value is None else float(value)


def _zone(user_id, targets):
    """(tz, lo, hi) of one user's targets: periods from the first since to a
    year from now in the user's zone (later readings take its last offset)."""
    habits = [row for row in targets if row.period is not None]
    if not habits:
        return "UTC", 0, 0
    lo = min(row.since for row in habits)
    return time_zone_of(user_id=user_id), lo, max(lo, to_micros(utcnow())) + _YEAR


def _tallies(query):
    """(key, bucket, tally) of each row of a _tallies_query."""
    for key, bucket, readings, numbers, total, *rest in db.session.execute(query):
        low, high, last_value, last_at, last_id = rest
        tally = (readings, numbers, float(total), *map(_float, (low, high)))
        yield key, bucket, (*tally, _float(last_value), last_at, last_id)


def _targets(goal_ids):
    return db.session.execute(
        sa.select(TARGETS).where(TARGETS.c.goal_id.in_(goal_ids))
    ).all()


def _recompute_heads(targets, dialect, zone):
    """Replace these targets' heads with tallies of their stored readings."""
    by_goal = {row.goal_id: row for row in targets}
    goal_ids = sorted(by_goal)
    pruned = tally_sql.pruned_heads_source(goal_ids)
    readings = tally_sql.heads_source(goal_ids)
    query = tally_sql.tallies_query(readings, pruned, dialect, zone)
    found = list(_tallies(query))
    db.session.execute(sa.delete(MEASURES).where(MEASURES.c.goal_id.in_(by_goal)))
    write_measures([measure_row(by_goal[key], b, tally) for key, b, tally in found])


def _recompute_series(user_id, key, since, lo, hi, dialect, zone):
    """Replace one series' periods lo to hi (or all from lo, and every row of
    it before: a rebuild) with tallies of its stored readings from since on."""
    readings = tally_sql.series_source(user_id, key, since, lo, hi)
    pruned = tally_sql.pruned_series_source(user_id, key, since, lo, hi)
    query = tally_sql.tallies_query(readings, pruned, dialect, zone)
    found = list(_tallies(query))
    s = SERIES.c
    stale = [s.user_id == user_id, s.sensor == key[0], s.field == key[1]]
    stale.append(s.period == key[2])
    if hi is not None:
        stale += [s.bucket >= lo, s.bucket <= hi]
    db.session.execute(sa.delete(SERIES).where(*stale))
    write_series([(user_id, *key, bucket, *tally) for _, bucket, tally in found])


def recompute(*, user_id, goal_ids):
    """Rebuild these targets' heads and every series they watch from the stored
    readings: after readings are deleted, or the user's zone changed. goal_ids
    hold every target on the series they watch."""
    dialect = db.session.get_bind().dialect.name
    targets = _targets(goal_ids)
    zone = _zone(user_id, targets)
    _recompute_heads(targets, dialect, zone)
    floors = series_floors(targets)
    for key, floor in floors.items():
        since = min(t.since for t in targets if (t.sensor, t.field, t.period) == key)
        _recompute_series(user_id, key, since, floor + 1, None, dialect, zone)


def recompute_deleted(*, user_id, goal_ids, deleted):
    """After readings are deleted, recompute only the heads and series periods
    that held them, from the readings that remain: other periods keep what
    they counted (readings that retention pruned too). goal_ids hold every
    target on the deleted readings' sensors; deleted: (sensor, recorded_at)."""
    dialect = db.session.get_bind().dialect.name
    targets = _targets(goal_ids)
    zone = _zone(user_id, targets)
    tz = zone[0]
    touched_heads = [
        t
        for t in targets
        if any(_in_head(t, at, tz) for sensor, at in deleted if sensor == t.sensor)
    ]
    if touched_heads:
        _recompute_heads(touched_heads, dialect, zone)
    for key, floor in series_floors(targets).items():
        sensor, _, period = key
        bucket_of = periods.bucket_function(period, tz)
        touched = sorted({bucket_of(at) for name, at in deleted if name == sensor})
        since = min(t.since for t in targets if (t.sensor, t.field, t.period) == key)
        for lo, hi in _runs(b for b in touched if b > floor):
            _recompute_series(user_id, key, since, lo, hi, dialect, zone)


def _in_head(target, at, tz):
    if at < target.since:
        return False
    if target.period is None:
        return True
    return periods.bucket_of(target.period, at, tz) == target.since_bucket


def _runs(buckets):
    """(first, last) of each run of consecutive bucket numbers, in order."""
    runs = []
    for bucket in buckets:
        if runs and runs[-1][1] == bucket - 1:
            runs[-1][1] = bucket
        else:
            runs.append([bucket, bucket])
    return [tuple(run) for run in runs]


def start_target(*, user_id, goal_id):
    """Compute a new target's head and, for a habit, the periods of its series
    that no earlier habit on it kept (the periods before the series' floor)."""
    dialect = db.session.get_bind().dialect.name
    (target,) = _targets([goal_id])
    zone = _zone(user_id, [target])
    _recompute_heads([target], dialect, zone)
    if target.period is None:
        return
    key = (target.sensor, target.field, target.period)
    others = [
        row
        for row in watching(user_id=user_id, key=key)
        if row.goal_id != target.goal_id
    ]
    lo = target.since_bucket + 1
    if not others:
        _recompute_series(user_id, key, target.since, lo, None, dialect, zone)
        return
    floor = min(row.since_bucket for row in others)
    if target.since_bucket < floor:
        _recompute_series(user_id, key, target.since, lo, floor, dialect, zone)


def watching(*, user_id, key):
    """The targets of the user on one (sensor, field, period)."""
    sensor, field, period = key
    t = TARGETS.c
    return db.session.execute(
        sa.select(TARGETS).where(
            t.user_id == user_id,
            t.sensor == sensor,
            t.field == field,
            t.period == period,
        )
    ).all()


def drop_unwatched_series(*, user_id):
    """Remove the user's series that no habit watches any more."""
    s, t = SERIES.c, TARGETS.c
    watched = sa.exists().where(
        t.user_id == s.user_id,
        t.sensor == s.sensor,
        t.field == s.field,
        t.period == s.period,
    )
    db.session.execute(sa.delete(SERIES).where(s.user_id == user_id, ~watched))
