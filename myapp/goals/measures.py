"""Measured goals: targets kept up to date in the transactions that write readings.

Each target's running aggregates live in goal_measures, one row per bucket (the
whole time since started_at, or one UTC period of a habit). Storing readings
adds them to the rows of the targets on their sensors, in Python, in upload
order, so the first item after which a target is met is known; deleting
readings or changing a target recomputes that target's rows from the readings
in SQL. Reading goals then costs one query for every target of the user,
whatever the number of readings.
"""

from typing import NamedTuple

import sqlalchemy as sa

from myapp.db import db
from myapp.goals import periods, tallies
from myapp.goals.models import PERIODS, GoalMeasure, GoalTarget
from myapp.rawsql import CompiledSelect, marks, paramstyle, run
from myapp.readings.models import Reading, from_micros, to_micros
from myapp.readings.stats import sqlite_is_number
from myapp.timestamps import format_timestamp

TARGETS = GoalTarget.__table__
MEASURES = GoalMeasure.__table__
READINGS = Reading.__table__
# The stored columns of a tally, in tallies' order.
TALLY_COLUMNS = (
    "readings",
    "numbers",
    "total",
    "low",
    "high",
    "last_value",
    "last_at",
    "last_id",
)


class Target(NamedTuple):
    """A target as an upload judges it; open: its goal is not completed."""

    goal_id: int
    sensor: str
    field: str
    aggregate: str
    op: str
    value: float
    period: str | None
    since: int
    open: bool


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


# --- storing readings ----------------------------------------------------------


def add_readings(*, targets, readings):
    """Add an upload's new readings to these targets' measures (the user's goals
    lock held): {goal id: (position in the upload, completed_at)} of the open
    goals whose target without period they meet, at the first such item."""
    now = readings[0].created_at
    buckets = _bucketed(targets, _series(readings, targets))
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
            rows.append(_measure_row(target, bucket, tally))
    _write_measures(rows)
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


def _bucketed(targets, series):
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
            grouped = _grouped(items, target.period)
            if key is not None:
                shared[key] = grouped
        found[target.goal_id] = grouped
    return found


def _grouped(items, period):
    if period is None:
        return {0: items} if items else {}
    bucket_of = periods.bucket_function(period)
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


def _measure_row(target, bucket, tally):
    met = tallies.is_met(
        target.op, target.value, tallies.aggregate_of(target.aggregate, tally)
    )
    return (target.goal_id, bucket, *tally, met)


_MEASURE_COLUMNS = ("goal_id", "bucket", *TALLY_COLUMNS, "met")
# Rows per INSERT: well under SQLite's 32,766 parameters.
_ROWS_PER_STATEMENT = 2000


def _write_measures(rows):
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


# --- deleting readings and changing targets: recomputed from the readings ---


def _sqlite_numbers(joined):
    """(value of data[field] if a JSON number, else NULL) per row, as stats.py does."""
    path = '$."' + joined.c.field + '"'
    inner = (
        sa.select(
            *[joined.c[name] for name in ("goal_id", "period", "id", "recorded_at")],
            sa.func.json_extract(joined.c.data, path).label("raw"),
            joined.c.data,
            joined.c.field,
        )
        .limit(-1)
        .subquery()
    )
    path = '$."' + inner.c.field + '"'
    is_number = sqlite_is_number(inner.c.raw, inner.c.data, path)
    return inner, sa.case((is_number, inner.c.raw))


def _postgresql_numbers(joined):
    value = joined.c.data.op("->")(joined.c.field)
    is_number = sa.func.jsonb_typeof(value) == "number"
    number = sa.cast(
        sa.cast(joined.c.data.op("->>")(joined.c.field), sa.Numeric), sa.Float
    )
    return joined, sa.case((is_number, number))


def _recompute_query(goal_ids, dialect):
    """Per (goal, bucket): the tally of the stored readings, in one SQL statement."""
    t, r = TARGETS, READINGS
    joined = (
        sa.select(t.c.goal_id, t.c.period, t.c.field, r.c.id, r.c.recorded_at, r.c.data)
        .join_from(
            t,
            r,
            sa.and_(
                r.c.user_id == t.c.user_id,
                r.c.sensor == t.c.sensor,
                sa.type_coerce(r.c.recorded_at, sa.BigInteger) >= t.c.since,
            ),
        )
        .where(t.c.goal_id.in_(goal_ids))
        .subquery()
    )
    if dialect == "postgresql":
        source, number = _postgresql_numbers(joined)
    else:
        source, number = _sqlite_numbers(joined)
    at = sa.type_coerce(source.c.recorded_at, sa.BigInteger)
    bucket = sa.case(
        *[
            (source.c.period == period, periods.bucket_sql(at, period, dialect))
            for period in PERIODS
        ],
        else_=0,
    )
    valued = sa.select(
        source.c.goal_id,
        bucket.label("bucket"),
        source.c.id,
        at.label("at"),
        number.label("number"),
    ).subquery()
    newest = sa.func.row_number().over(
        partition_by=(valued.c.goal_id, valued.c.bucket),
        order_by=(
            valued.c.number.is_(None),
            valued.c.at.desc(),
            valued.c.id.desc(),
        ),
    )
    ranked = sa.select(valued, newest.label("rank")).subquery()
    numbers = ranked.c.number

    def newest_number(column):
        return sa.func.max(
            sa.case((sa.and_(ranked.c.rank == 1, numbers.is_not(None)), column))
        )

    return (
        sa.select(
            ranked.c.goal_id,
            ranked.c.bucket,
            sa.func.count(),
            sa.func.count(numbers),
            _total(numbers, dialect),
            sa.func.min(numbers),
            sa.func.max(numbers),
            newest_number(numbers),
            newest_number(ranked.c.at),
            newest_number(ranked.c.id),
        )
        .group_by(ranked.c.goal_id, ranked.c.bucket)
        .order_by(ranked.c.goal_id, ranked.c.bucket)
    )


def _total(numbers, dialect):
    # SQLite's sum() of integers fails past 64 bits; total() adds in doubles.
    if dialect == "postgresql":
        return sa.func.coalesce(sa.func.sum(numbers), 0.0)
    return sa.func.total(numbers)


def recompute(*, goal_ids):
    """Replace the goals' measure rows with tallies of their stored readings."""
    dialect = db.session.get_bind().dialect.name
    found = db.session.execute(_recompute_query(goal_ids, dialect)).all()
    targets = {
        row.goal_id: row
        for row in db.session.execute(
            sa.select(TARGETS).where(TARGETS.c.goal_id.in_(goal_ids))
        )
    }
    db.session.execute(sa.delete(MEASURES).where(MEASURES.c.goal_id.in_(goal_ids)))
    rows = []
    for goal_id, bucket, readings, numbers, total, *rest in found:
        low, high, last_value, last_at, last_id = rest
        tally = (
            readings,
            numbers,
            float(total),
            _float(low),
            _float(high),
            _float(last_value),
            last_at,
            last_id,
        )
        rows.append(_measure_row(targets[goal_id], bucket, tally))
    _write_measures(rows)


def _float(value):
    return None if value is None else float(value)


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
            since_bucket=periods.bucket_of(target["period"], since),
            empty_met=tallies.empty_met(aggregate, op, value),
            **target,
        )
    )
    recompute(goal_ids=[goal_id])


# --- reading goals ----------------------------------------------------------------


class MeasuredRow(NamedTuple):
    """A target with its current bucket's tally and what its streak needs."""

    goal_id: int
    sensor: str
    field: str
    aggregate: str
    op: str
    value: float
    period: str | None
    since_bucket: int
    empty_met: bool
    current: int
    readings: int | None
    numbers: int | None
    total: float | None
    low: float | None
    high: float | None
    last_value: float | None
    last_at: int | None
    last_id: int | None
    previous_met: bool | None
    boundary: int | None


def _as_driver_gives(column):
    """A float column without SQLAlchemy's result processing: both drivers give
    Python floats, and psycopg's Numeric processor needs a type code that a
    statement compiled once (rawsql.CompiledSelect) does not have."""
    if isinstance(column.type, sa.Float):
        return sa.type_coerce(column, sa.types.NullType()).label(column.key)
    return column


def _measured_select():
    """Every target of a user with its current bucket and the streak's boundary.

    For a habit the streak ends with the current period if it is met, else with
    the previous one (end). boundary is, when an empty period is met, the last
    unmet period up to end; otherwise the first period of the run of met
    periods that reaches end. Both walk the (goal_id, bucket) key back from end,
    so they cost the streak's length, not the goal's history.
    """
    t = TARGETS
    current_row, previous_row = MEASURES.alias("current_row"), MEASURES.alias("prev")
    current = sa.case(
        *[
            (t.c.period == period, sa.bindparam(period, type_=sa.Integer))
            for period in PERIODS
        ],
        else_=0,
    )
    current_met = sa.case(
        (current_row.c.goal_id.is_(None), t.c.empty_met), else_=current_row.c.met
    )
    end = sa.case((current_met, current), else_=current - 1)
    earlier = MEASURES.alias("earlier")
    before = MEASURES.alias("before")
    last_unmet = (
        sa.select(earlier.c.bucket)
        .where(
            earlier.c.goal_id == t.c.goal_id,
            sa.not_(earlier.c.met),
            earlier.c.bucket <= end,
        )
        .order_by(earlier.c.bucket.desc())
        .limit(1)
        .scalar_subquery()
    )
    run_start = (
        sa.select(earlier.c.bucket)
        .where(
            earlier.c.goal_id == t.c.goal_id,
            earlier.c.met,
            earlier.c.bucket <= end,
            ~sa.exists().where(
                before.c.goal_id == earlier.c.goal_id,
                before.c.bucket == earlier.c.bucket - 1,
                before.c.met,
            ),
        )
        .order_by(earlier.c.bucket.desc())
        .limit(1)
        .scalar_subquery()
    )
    boundary = sa.case(
        (t.c.period.is_(None), sa.null()),
        (t.c.empty_met, last_unmet),
        else_=run_start,
    )
    previous_met = sa.case(
        (previous_row.c.goal_id.is_(None), t.c.empty_met), else_=previous_row.c.met
    )
    query = (
        sa.select(
            *[_as_driver_gives(t.c[name]) for name in MeasuredRow._fields[:9]],
            current.label("current"),
            *[
                _as_driver_gives(current_row.c[name]).label(name)
                for name in TALLY_COLUMNS
            ],
            previous_met.label("previous_met"),
            boundary.label("boundary"),
        )
        .select_from(
            t.outerjoin(
                current_row,
                sa.and_(
                    current_row.c.goal_id == t.c.goal_id,
                    current_row.c.bucket == current,
                ),
            ).outerjoin(
                previous_row,
                sa.and_(
                    previous_row.c.goal_id == t.c.goal_id,
                    previous_row.c.bucket == current - 1,
                ),
            )
        )
        .where(t.c.user_id == sa.bindparam("user_id"))
    )
    return CompiledSelect(query, MeasuredRow)


_MEASURED = _measured_select()


class Measured(NamedTuple):
    """What a goal's node shows of its target; progress for an open leaf."""

    target: dict
    measured: dict
    streak: int | None
    progress: float


def measured_goals(*, user_id, now):
    """{goal id: Measured} for every target of the user, as of now: one query."""
    micros = to_micros(now)
    current = {period: periods.bucket_of(period, micros) for period in PERIODS}
    as_of = format_timestamp(now)
    found = {}
    for row in _MEASURED.tuples(user_id=user_id, **current):
        row = MeasuredRow._make(row)
        found[row.goal_id] = _measured(row, as_of)
    return found


def _measured(row, as_of):
    tally = tallies.EMPTY if row.readings is None else row[10:18]
    value = tallies.aggregate_of(row.aggregate, tally)
    met = tallies.is_met(row.op, row.value, value)
    target = {
        "sensor": row.sensor,
        "field": row.field,
        "aggregate": row.aggregate,
        "op": row.op,
        "value": row.value,
        "period": row.period,
    }
    streak = None
    if row.period is not None:
        streak = _streak(row, met)
    progress = 0.0
    if row.op == ">=" and row.value > 0 and row.aggregate in ("sum", "count"):
        progress = min(1.0, max(0.0, value / row.value))
    return Measured(
        target, {"value": value, "met": met, "as_of": as_of}, streak, progress
    )


def _streak(row, current_met):
    """Consecutive met periods ending now (or with the previous period)."""
    end = row.current if current_met else row.current - 1
    if end < row.since_bucket or not (current_met or row.previous_met):
        return 0
    if row.empty_met:
        # The periods after the last unmet one (or since the goal started).
        unmet = row.since_bucket - 1 if row.boundary is None else row.boundary
        return end - max(row.since_bucket - 1, unmet)
    # The run of met periods that reaches end, from its first period.
    return end - max(row.since_bucket, row.boundary) + 1
