"""Measured goals kept up to date as readings are stored, in the upload's transaction.

Storing readings adds them, in Python and in upload order (so the first item
after which a target is met is known), to each target's head (goal_measures:
all of a target without period, or a habit's first period from its
started_at on) and to the periods after it, which every habit on the same
(sensor, field, period) shares (goal_series). A habit's later periods hold only
readings from its started_at on, since period numbers never decrease with
time. So an upload writes one row per touched period of a series and one per
touched head, however many habits watch the series.
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
        " t.since, t.since_bucket, g.completed_at IS NULL FROM goal_targets t"
        " JOIN goals g ON g.id = t.goal_id"
        f" WHERE t.user_id = {mark} AND t.sensor IN ({marks(mark, len(sensors))})"
        " ORDER BY t.goal_id",
        [user_id, *sensors],
    )
    return [Target._make(row) for row in rows]


def series_floors(targets):
    """{(sensor, field, period): the earliest since_bucket of its habits}: the
    series keeps the periods after it."""
    floors = {}
    for target in targets:
        if target.period is not None:
            key = (target.sensor, target.field, target.period)
            floors[key] = min(floors.get(key, target.since_bucket), target.since_bucket)
    return floors


def add_readings(*, user_id, targets, readings, tz="UTC"):
    """Add an upload's new readings to these targets' heads and series (the
    user's goals lock held; habits' periods in the zone tz): {goal id:
    (position in the upload, completed_at)} of the open goals whose target
    without period they meet, at the first such item."""
    now = readings[0].created_at
    series = _series(readings, targets)
    grouped = {
        key: _grouped(series[key[:2]], key[2], tz)
        for key in {(t.sensor, t.field, t.period) for t in targets}
    }
    earliest = {}
    heads = {t.goal_id: _head_items(t, grouped, earliest) for t in targets}
    stored = _stored_heads([goal_id for goal_id, items in heads.items() if items])
    rows, completions = [], {}
    for target in targets:
        items = heads[target.goal_id]
        if not items:
            continue
        before = stored.get(target.goal_id, tallies.EMPTY)
        tally, met_by = _added(target, before, items)
        if met_by is not None:
            recorded_at, position = met_by
            completions[target.goal_id] = (position, from_micros(min(recorded_at, now)))
        rows.append(measure_row(target, head_bucket(target), tally))
    write_measures(rows)
    _add_to_series(user_id, grouped, series_floors(targets))
    return completions


def head_bucket(target):
    return 0 if target.period is None else target.since_bucket


def _head_items(target, grouped, earliest):
    """The items of an upload that the target's head counts, in upload order;
    earliest caches each group's first time (most uploads are all later)."""
    key = (target.sensor, target.field, target.period, head_bucket(target))
    items = grouped[key[:3]].get(key[3], ())
    if items and key not in earliest:
        earliest[key] = min(item[0] for item in items)
    if items and earliest[key] < target.since:
        return [item for item in items if item[0] >= target.since]
    return items


def _add_to_series(user_id, grouped, floors):
    """Add the items to the periods each habit series keeps: one read, one write."""
    touched = {
        (key, bucket): items
        for key, floor in floors.items()
        for bucket, items in grouped[key].items()
        if bucket > floor
    }
    if not touched:
        return
    stored = _stored_series(user_id, touched)
    write_series(
        [
            (
                user_id,
                *key,
                bucket,
                *tallies.merged(stored.get((key, bucket), tallies.EMPTY), items),
            )
            for (key, bucket), items in touched.items()
        ]
    )


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


def _stored_heads(goal_ids):
    """{goal id: tally} of these targets' stored heads."""
    if not goal_ids:
        return {}
    _, mark = paramstyle()
    rows = run(
        "SELECT goal_id, " + ", ".join(TALLY_COLUMNS) + " FROM goal_measures"
        f" WHERE goal_id IN ({marks(mark, len(goal_ids))})",
        sorted(goal_ids),
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _stored_series(user_id, touched):
    """{((sensor, field, period), bucket): tally} of the stored touched periods."""
    _, mark = paramstyle()
    keys = sorted({key for key, _ in touched})
    buckets = sorted({bucket for _, bucket in touched})
    rows = run(
        "SELECT sensor, field, period, bucket, "
        + ", ".join(TALLY_COLUMNS)
        + f" FROM goal_series WHERE user_id = {mark}"
        f" AND sensor IN ({marks(mark, len({key[0] for key in keys}))})"
        f" AND bucket IN ({marks(mark, len(buckets))})",
        [user_id, *sorted({key[0] for key in keys}), *buckets],
    )
    return {(tuple(row[:3]), row[3]): tuple(row[4:]) for row in rows}


def measure_row(target, bucket, tally):
    met = tallies.is_met(
        target.op, target.value, tallies.aggregate_of(target.aggregate, tally)
    )
    return (target.goal_id, bucket, *tally, met)


_MEASURE_COLUMNS = ("goal_id", "bucket", *TALLY_COLUMNS, "met")
_SERIES_COLUMNS = ("user_id", "sensor", "field", "period", "bucket", *TALLY_COLUMNS)
# Rows per INSERT: well under SQLite's 32,766 parameters.
_ROWS_PER_STATEMENT = 2000


def write_measures(rows):
    """Insert or replace goal_measures rows (computed under the lock) in bulk."""
    upsert("goal_measures", _MEASURE_COLUMNS, 2, rows)


def write_series(rows):
    """Insert or replace goal_series rows (computed under the lock) in bulk."""
    upsert("goal_series", _SERIES_COLUMNS, 5, rows)


def upsert(table, columns, key_length, rows, updates=None):
    """INSERT rows, in statements of _ROWS_PER_STATEMENT; a row whose key (the
    first key_length columns) exists replaces it, or applies updates (SQL)."""
    _, mark = paramstyle()
    names = ", ".join(columns)
    row_sql = f"({marks(mark, len(columns))})"
    key = ", ".join(columns[:key_length])
    if updates is None:
        updates = ", ".join(f"{n} = excluded.{n}" for n in columns[key_length:])
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        run(
            f"INSERT INTO {table} ({names}) VALUES "
            + ", ".join([row_sql] * len(chunk))
            + f" ON CONFLICT ({key}) DO UPDATE SET {updates}",
            [value for row in chunk for value in row],
        )
