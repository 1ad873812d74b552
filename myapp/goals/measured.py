"""The read model of measured goals: every target of a user with its current
bucket and streak, in one query, whatever the number of readings."""

import sqlalchemy as sa

from myapp.goals import periods, tallies
from myapp.goals.models import PERIODS
from myapp.goals.rows import MEASURES, TALLY_COLUMNS, TARGETS, Measured, MeasuredRow
from myapp.micros import to_micros
from myapp.rawsql import CompiledSelect
from myapp.timestamps import format_timestamp


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


def measured_goals(*, user_id, now, tz):
    """{goal id: Measured} for every target of the user, as of now in the zone
    tz (the user's): one query."""
    micros = to_micros(now)
    current = {period: periods.bucket_of(period, micros, tz) for period in PERIODS}
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
