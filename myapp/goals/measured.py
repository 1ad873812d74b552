"""The read model of measured goals: every target of a user with its current
bucket and streak, in one query, whatever the number of readings."""

import sqlalchemy as sa

from myapp.goals import periods, tallies
from myapp.goals.models import PERIODS
from myapp.goals.rows import (
    MEASURES,
    SERIES,
    TALLY_COLUMNS,
    TARGETS,
    Measured,
    MeasuredRow,
)
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


def _met(row, t):
    """SQL: whether a series row's aggregate meets the target t (NULL: never)."""
    value = sa.case(
        (t.c.aggregate == "count", sa.cast(row.c.readings, sa.Float)),
        (t.c.aggregate == "sum", row.c.total),
        (t.c.aggregate == "min", row.c.low),
        (t.c.aggregate == "max", row.c.high),
        (t.c.aggregate == "avg", row.c.total / sa.func.nullif(row.c.numbers, 0)),
        else_=row.c.last_value,
    )
    met = sa.case((t.c.op == ">=", value >= t.c.value), else_=value <= t.c.value)
    return sa.func.coalesce(met, sa.false())


def _met_or_empty(row, t):
    """A period's met: a missing row is an empty period."""
    return sa.case((row.c.bucket.is_(None), t.c.empty_met), else_=_met(row, t))


def _series_at(alias, t, bucket):
    s = SERIES.alias(alias)
    on = sa.and_(
        s.c.user_id == t.c.user_id,
        s.c.sensor == t.c.sensor,
        s.c.field == t.c.field,
        s.c.period == t.c.period,
        s.c.bucket == bucket,
    )
    return s, on


def _current_bucket(t):
    """SQL: the number of the current period of t's period (bound per period)."""
    return sa.case(
        *[
            (t.c.period == period, sa.bindparam(period, type_=sa.Integer))
            for period in PERIODS
        ],
        else_=0,
    )


_KIND = ("user_id", "sensor", "field", "period", "aggregate", "op", "value")


def _kind_boundaries():
    """Per kind of habit (one series, one aggregate, op and value): the streak's
    boundary over the series' periods after its earliest habit's head.

    A kind's habits agree on which periods are met, so one walk serves them
    all, and _streak clamps it to each habit's own start. The streak ends with
    the current period if it is met, else with the previous one (end). The
    boundary is, when an empty period is met, the last unmet period up to end;
    otherwise the first period of the run of met periods that reaches end.
    Both walk the series' key back from end, so they cost the streak's length,
    not the series' history, once per kind, not once per habit.
    """
    t = TARGETS
    k = (
        sa.select(
            *[t.c[name] for name in _KIND],
            t.c.empty_met,
            sa.func.min(t.c.since_bucket).label("since_bucket"),
        )
        .where(t.c.user_id == sa.bindparam("user_id"), t.c.period.is_not(None))
        .group_by(*[t.c[name] for name in _KIND], t.c.empty_met)
        .subquery("kinds")
    )
    current = _current_bucket(k)
    shared, shared_on = _series_at("kind_shared", k, current)
    # A habit that has not reached the current period yet never reads the walk.
    end = sa.case((_met_or_empty(shared, k), current), else_=current - 1)
    earlier, _ = _series_at("earlier", k, None)
    before, _ = _series_at("before", k, None)
    same_series = sa.and_(
        *[earlier.c[name] == k.c[name] for name in ("user_id", "sensor", "field")],
        earlier.c.period == k.c.period,
        earlier.c.bucket > k.c.since_bucket,
        earlier.c.bucket <= end,
    )
    last_unmet = (
        sa.select(earlier.c.bucket)
        .where(same_series, sa.not_(_met(earlier, k)))
        .order_by(earlier.c.bucket.desc())
        .limit(1)
        .scalar_subquery()
    )
    run_start = (
        sa.select(earlier.c.bucket)
        .where(
            same_series,
            _met(earlier, k),
            sa.or_(
                earlier.c.bucket - 1 == k.c.since_bucket,
                ~sa.exists().where(
                    *[
                        before.c[name] == earlier.c[name]
                        for name in ("user_id", "sensor", "field", "period")
                    ],
                    before.c.bucket == earlier.c.bucket - 1,
                    _met(before, k),
                )
                # The kind of the outer query, two levels up.
                .correlate_except(before),
            ),
        )
        .order_by(earlier.c.bucket.desc())
        .limit(1)
        .scalar_subquery()
    )
    boundary = sa.case((k.c.empty_met, last_unmet), else_=run_start)
    return (
        sa.select(*[k.c[name] for name in _KIND], boundary.label("boundary"))
        .select_from(k.outerjoin(shared, shared_on))
        .subquery("walked")
    )


def _measured_select(streaks=True):
    """Every target of a user with its head, its current period and, for a
    habit, its kind's streak boundary (_kind_boundaries; NULL without
    streaks), in one statement."""
    t = TARGETS
    head = MEASURES.alias("head")
    current = _current_bucket(t)
    shared, shared_on = _series_at("shared", t, current)
    previous, previous_on = _series_at("prev", t, current - 1)
    head_met = sa.case((head.c.goal_id.is_(None), t.c.empty_met), else_=_met(head, t))
    previous_met = sa.case(
        (current - 1 == t.c.since_bucket, head_met),
        (current - 1 < t.c.since_bucket, t.c.empty_met),
        else_=_met_or_empty(previous, t),
    )
    joined = (
        t.outerjoin(head, head.c.goal_id == t.c.goal_id)
        .outerjoin(shared, shared_on)
        .outerjoin(previous, previous_on)
    )
    boundary = sa.cast(sa.null(), sa.Integer)
    if streaks:
        walked = _kind_boundaries()
        joined = joined.outerjoin(
            walked, sa.and_(*[walked.c[name] == t.c[name] for name in _KIND])
        )
        boundary = walked.c.boundary
    query = (
        sa.select(
            *[_as_driver_gives(t.c[name]) for name in MeasuredRow._fields[:9]],
            current.label("current"),
            *[
                _as_driver_gives(head.c[name]).label(f"head_{name}")
                for name in TALLY_COLUMNS
            ],
            *[
                _as_driver_gives(shared.c[name]).label(f"shared_{name}")
                for name in TALLY_COLUMNS
            ],
            previous_met.label("previous_met"),
            boundary.label("boundary"),
        )
        .select_from(joined)
        .where(t.c.user_id == sa.bindparam("user_id"))
    )
    return CompiledSelect(query, MeasuredRow)


_MEASURED = _measured_select()
# Without the streaks' walks back, which cost their length: streak None.
_MEASURED_NO_STREAKS = _measured_select(streaks=False)


def measured_goals(*, user_id, now, tz, streaks=True):
    """{goal id: Measured} for every target of the user, as of now in the zone
    tz (the user's): one query. streaks=False leaves every streak None."""
    micros = to_micros(now)
    current = {period: periods.bucket_of(period, micros, tz) for period in PERIODS}
    as_of = format_timestamp(now)
    found = {}
    select = _MEASURED if streaks else _MEASURED_NO_STREAKS
    for row in select.tuples(user_id=user_id, **current):
        row = MeasuredRow._make(row)
        found[row.goal_id] = _measured(row, as_of, streaks)
    return found


def _tally(row, prefix):
    tally = tuple(getattr(row, prefix + name) for name in TALLY_COLUMNS)
    return tallies.EMPTY if tally[0] is None else tally


def _current_tally(row):
    """The head's tally for a target without period or in its first period,
    else the series' current period (empty before the habit starts)."""
    if row.period is None or row.current == row.since_bucket:
        return _tally(row, "head_")
    if row.current < row.since_bucket:
        return tallies.EMPTY
    return _tally(row, "shared_")


def _measured(row, as_of, streaks=True):
    value = tallies.aggregate_of(row.aggregate, _current_tally(row))
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
    if row.period is not None and streaks:
        streak = _streak(row, met)
    progress = 0.0
    if row.op == ">=" and row.value > 0 and row.aggregate in ("sum", "count"):
        progress = min(1.0, max(0.0, value / row.value))
    return Measured(
        target, {"value": value, "met": met, "as_of": as_of}, streak, progress
    )


def _streak(row, current_met):
    """Consecutive met periods ending now (or with the previous period), from
    the series' periods after the head (boundary) and the head itself."""
    end = row.current if current_met else row.current - 1
    if end < row.since_bucket or not (current_met or row.previous_met):
        return 0
    head = _tally(row, "head_")
    head_met = tallies.is_met(
        row.op, row.value, tallies.aggregate_of(row.aggregate, head)
    )
    if row.empty_met:
        # The periods after the last unmet one (or since the goal started);
        # the kind's last unmet period may lie before this habit's start.
        unmet = row.boundary
        if unmet is None or unmet <= row.since_bucket:
            unmet = row.since_bucket - (1 if head_met else 0)
        return end - unmet
    if end == row.since_bucket:
        return 1
    # The run of met periods that reaches end, from its first period after
    # the head (the kind's run may start before this habit's head).
    start = max(row.boundary, row.since_bucket + 1)
    if start == row.since_bucket + 1 and head_met:
        start = row.since_bucket
    return end - start + 1
