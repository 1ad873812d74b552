"""Measured goals kept up to date as readings are stored, in the upload's transaction.

Storing readings adds them to the goal_measures rows of the targets on their
sensors (the whole time since started_at, or one UTC period of a habit), in
Python, in upload order, so the first item after which a target is met is known.
"""

from myapp.goals import periods, tallies
from myapp.goals.rows import TALLY_COLUMNS, Target
from myapp.micros import from_micros
from myapp.rawsql import marks, paramstyle, run


def targets_on(*, user_id, sensors):
    """The user's targets on any of these sensors: one indexed lookup."""
    _, mark = paramstyle()
    rows = run(
        "SELECT t.goal_id, t.sensor, t.field, t.aggregate, t.op, t.value, t.period,"
        " t.since, g.completed_at IS NULL FROM goal_targets t"
        " JOIN goals g ON g.id = t.goal_id"
        f" WHERE t.user_id = {mark} AND t.sensor IN ({marks(mark, len(sensors))})"
        " ORDER BY t.goal_id",
        [user_id, *sensors],
    )
    return [Target._make(row) for row in rows]


def add_readings(*, targets, readings, tz="UTC"):
    """Add an upload's new readings to these targets' measures (the user's goals
    lock held; habits' periods in the zone tz): {goal id: (position in the
    upload, completed_at)} of the open goals whose target without period they
    meet, at the first such item."""
    now = readings[0].created_at
    buckets = _bucketed(targets, _series(readings, targets), tz)
    stored = _stored_tallies(buckets)
    rows, completions = [], {}
    for target in targets:
        for bucket, items in buckets[target.goal_id].items():
            before = stored.get((target.goal_id, bucket), tallies.EMPTY)
            tally, met_by = _added(target, before, items)
            if met_by is not None:
                recorded_at, position = met_by
                completions[target.goal_id] = (
                    position,
                    from_micros(min(recorded_at, now)),
                )
            rows.append(measure_row(target, bucket, tally))
    write_measures(rows)
    return completions


def _series(readings, targets):
    """{(sensor, field): [(recorded_at, id, number or None, position), ...]}.

    In upload order; position is the reading's place in the upload.
    """
    series = {}
    for sensor, field in {(target.sensor, target.field) for target in targets}:
        number_in = tallies.number_in
        series[sensor, field] = [
            (r.recorded_at, r.id, number_in(r.data, field), position)
            for position, r in enumerate(readings)
            if r.sensor == sensor
        ]
    return series


def _bucketed(targets, series, tz):
    """{goal id: {bucket: its readings in that bucket, in upload order}}.

    Readings before a goal's started_at are left out. Targets sharing a sensor,
    field and period share one bucketing of the series.
    """
    shared = {}
    found = {}
    earliest = {
        key: min(item[0] for item in items) for key, items in series.items() if items
    }
    for target in targets:
        items = series[target.sensor, target.field]
        key = (target.sensor, target.field, target.period)
        if items and earliest[target.sensor, target.field] < target.since:
            items = [item for item in items if item[0] >= target.since]
            key = None
        grouped = shared.get(key)
        if grouped is None:
            grouped = _grouped(items, target.period, tz)
            if key is not None:
                shared[key] = grouped
        found[target.goal_id] = grouped
    return found


def _grouped(items, period, tz):
    if period is None:
        return {0: items} if items else {}
    bucket_of = periods.bucket_function(period, tz)
    grouped = {}
    for bucket, item in zip(map(bucket_of, [item[0] for item in items]), items):
        found = grouped.get(bucket)
        if found is None:
            grouped[bucket] = [item]
        else:
            found.append(item)
    return grouped


def _added(target, tally, items):
    """(the tally with items added, (recorded_at, position) of the first item after
    which an open goal's target without period is met, or None).

    A target already met (a goal a person reopened) is met again after the
    first item; one not met may become met at any item. Items are walked one
    by one only if the target could be met on the way.
    """
    watched = target.open and target.period is None
    aggregate, op, value = target.aggregate, target.op, target.value
    if not (watched and tallies.could_meet(aggregate, op, value, tally, items)):
        return tallies.merged(tally, items), None
    for index, (recorded_at, reading_id, number, position) in enumerate(items):
        tally = tallies.added(tally, recorded_at, reading_id, number)
        if tallies.is_met(op, value, tallies.aggregate_of(aggregate, tally)):
            return tallies.merged(tally, items[index + 1 :]), (recorded_at, position)
    return tally, None


def _stored_tallies(buckets):
    """{(goal id, bucket): tally} of the stored rows these buckets would change."""
    goal_ids = sorted(buckets)
    numbers = sorted({bucket for found in buckets.values() for bucket in found})
    if not numbers:
        return {}
    _, mark = paramstyle()
    rows = run(
        "SELECT goal_id, bucket, " + ", ".join(TALLY_COLUMNS) + " FROM goal_measures"
        f" WHERE goal_id IN ({marks(mark, len(goal_ids))})"
        f" AND bucket IN ({marks(mark, len(numbers))})",
        [*goal_ids, *numbers],
    )
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def measure_row(target, bucket, tally):
    met = tallies.is_met(
        target.op, target.value, tallies.aggregate_of(target.aggregate, tally)
    )
    return (target.goal_id, bucket, *tally, met)


_MEASURE_COLUMNS = ("goal_id", "bucket", *TALLY_COLUMNS, "met")
# Rows per INSERT: well under SQLite's 32,766 parameters.
_ROWS_PER_STATEMENT = 2000


def write_measures(rows):
    """Insert or replace goal_measures rows (computed under the lock) in bulk."""
    _, mark = paramstyle()
    columns = ", ".join(_MEASURE_COLUMNS)
    row_sql = f"({marks(mark, len(_MEASURE_COLUMNS))})"
    updates = ", ".join(f"{name} = excluded.{name}" for name in _MEASURE_COLUMNS[2:])
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        run(
            f"INSERT INTO goal_measures ({columns}) VALUES "
            + ", ".join([row_sql] * len(chunk))
            + f" ON CONFLICT (goal_id, bucket) DO UPDATE SET {updates}",
            [value for row in chunk for value in row],
        )
