"""Measured goals recomputed from the stored readings in SQL: after readings are
deleted, and when a target is set."""

import sqlalchemy as sa

from myapp.db import db, utcnow
from myapp.goals import periods
from myapp.goals.models import PERIODS
from myapp.goals.rows import MEASURES, TARGETS
from myapp.goals.upkeep import measure_row, write_measures
from myapp.jsonsql import sqlite_is_number
from myapp.micros import to_micros
from myapp.owners import time_zone_of
from myapp.readings.models import Reading

READINGS = Reading.__table__
_YEAR = 366 * 86400 * 1_000_000


def _float(value):
    return None if value is None else float(value)


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


def _recompute_query(goal_ids, dialect, zone):
    """Per (goal, bucket): the tally of the stored readings, in one SQL statement.

    zone: (tz, lo, hi) of the goals' user, periods counted in tz (its offsets
    from lo to hi; see periods.local_sql).
    """
    target, reading = TARGETS.c, READINGS.c
    joined = (
        sa.select(
            target.goal_id,
            target.period,
            target.field,
            reading.id,
            reading.recorded_at,
            reading.data,
        )
        .join_from(
            TARGETS,
            READINGS,
            sa.and_(
                reading.user_id == target.user_id,
                reading.sensor == target.sensor,
                sa.type_coerce(reading.recorded_at, sa.BigInteger) >= target.since,
            ),
        )
        .where(target.goal_id.in_(goal_ids))
        .subquery()
    )
    if dialect == "postgresql":
        source, number = _postgresql_numbers(joined)
    else:
        source, number = _sqlite_numbers(joined)
    at = sa.type_coerce(source.c.recorded_at, sa.BigInteger)
    local = periods.local_sql(at, *zone)
    bucket = sa.case(
        *[
            (source.c.period == period, periods.bucket_sql(at, period, dialect, local))
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


def _zone(targets):
    """(tz, lo, hi) of one user's targets: periods from the first since to a
    year from now in the user's zone (later readings take its last offset)."""
    habits = [row for row in targets.values() if row.period is not None]
    if not habits:
        return "UTC", 0, 0
    tz = time_zone_of(user_id=habits[0].user_id)
    lo = min(row.since for row in habits)
    return tz, lo, max(lo, to_micros(utcnow())) + _YEAR


def recompute(*, goal_ids):
    """Replace one user's goals' measure rows with tallies of their stored readings."""
    dialect = db.session.get_bind().dialect.name
    targets = {
        row.goal_id: row
        for row in db.session.execute(
            sa.select(TARGETS).where(TARGETS.c.goal_id.in_(goal_ids))
        )
    }
    query = _recompute_query(goal_ids, dialect, _zone(targets))
    found = db.session.execute(query).all()
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
        rows.append(measure_row(targets[goal_id], bucket, tally))
    write_measures(rows)
