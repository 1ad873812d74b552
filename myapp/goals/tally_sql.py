"""The SQL that tallies stored readings per key and period: one statement
per recompute, the readings that remain and the tallies of pruned ones
(goal_pruned) read in one snapshot, so a prune committing meanwhile counts
once. Sources give, per reading or pruned range, the key and buckets kept."""

import sqlalchemy as sa

from myapp.goals import periods
from myapp.goals.models import PERIODS
from myapp.goals.pruned import PRUNED
from myapp.goals.rows import TALLY_COLUMNS, TARGETS
from myapp.jsonsql import sqlite_is_number
from myapp.readings.models import Reading

READINGS = Reading.__table__


def _sqlite_numbers(joined):
    """(value of data[field] if a JSON number, else NULL) per row, as stats.py does."""
    path = '$."' + joined.c.field + '"'
    inner = (
        sa.select(
            *[joined.c[name] for name in ("key", "period", "lo", "hi")],
            *[joined.c[name] for name in ("id", "recorded_at", "data", "field")],
            sa.func.json_extract(joined.c.data, path).label("raw"),
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


def _bucket(source, at, dialect, zone):
    """SQL: the bucket of at in its row's period (source.c.period), in zone."""
    local = periods.local_sql(at, *zone)
    return sa.case(
        *[
            (source.c.period == period, periods.bucket_sql(at, period, dialect, local))
            for period in PERIODS
        ],
        else_=0,
    )


def _kept(bucketed):
    """The rows of buckets lo to hi (or on) of each row's own lo and hi."""
    return sa.and_(
        bucketed.c.bucket >= bucketed.c.lo,
        sa.or_(bucketed.c.hi.is_(None), bucketed.c.bucket <= bucketed.c.hi),
    )


def _ranked(rows, number, at, row_id):
    """rows with rank 1 on each (key, bucket)'s newest number, by (at, row_id)."""
    newest = sa.func.row_number().over(
        partition_by=(rows.c.key, rows.c.bucket),
        order_by=(number.is_(None), at.desc(), row_id.desc()),
    )
    return sa.select(rows, newest.label("rank")).subquery()


def tallies_query(joined, pruned, dialect, zone):
    """Per (key, bucket): the tally of the joined readings, in one SQL statement.

    joined has, per reading: key, period, field, lo and hi (the buckets kept:
    lo <= bucket, and bucket <= hi unless hi is NULL), id, recorded_at, data.
    pruned has per pruned range: key, period, lo, hi, start and a
    tally (goal_pruned), added to the readings' in the same statement.
    zone: (tz, lo, hi) of the user, periods counted in tz (its offsets from lo
    to hi; see periods.local_sql).
    """
    if dialect == "postgresql":
        source, number = _postgresql_numbers(joined)
    else:
        source, number = _sqlite_numbers(joined)
    at = sa.type_coerce(source.c.recorded_at, sa.BigInteger)
    bucketed = sa.select(
        source.c.key,
        source.c.lo,
        source.c.hi,
        _bucket(source, at, dialect, zone).label("bucket"),
        source.c.id,
        at.label("at"),
        number.label("number"),
    ).subquery()
    valued = sa.select(bucketed).where(_kept(bucketed)).subquery()
    ranked = _ranked(valued, valued.c.number, valued.c.at, valued.c.id)
    numbers = ranked.c.number

    def newest_number(column):
        return sa.func.max(
            sa.case((sa.and_(ranked.c.rank == 1, numbers.is_not(None)), column))
        )

    raw = sa.select(
        ranked.c.key,
        ranked.c.bucket,
        sa.func.count().label("readings"),
        sa.func.count(numbers).label("numbers"),
        _total(numbers, dialect).label("total"),
        sa.func.min(numbers).label("low"),
        sa.func.max(numbers).label("high"),
        newest_number(numbers).label("last_value"),
        newest_number(ranked.c.at).label("last_at"),
        newest_number(ranked.c.id).label("last_id"),
    ).group_by(ranked.c.key, ranked.c.bucket)
    return _with_pruned(raw, pruned, dialect, zone)


def _with_pruned(raw, pruned, dialect, zone):
    """The tallies of raw (key, bucket, tally) and of the pruned ranges, merged."""
    start = sa.type_coerce(pruned.c.start, sa.BigInteger)
    bucketed = sa.select(
        pruned.c.key,
        pruned.c.lo,
        pruned.c.hi,
        _bucket(pruned, start, dialect, zone).label("bucket"),
        *[pruned.c[name] for name in TALLY_COLUMNS],
    ).subquery()
    kept = sa.select(
        bucketed.c.key, bucketed.c.bucket, *[bucketed.c[n] for n in TALLY_COLUMNS]
    ).where(_kept(bucketed))
    both = sa.union_all(raw, kept).subquery()
    ranked = _ranked(both, both.c.last_at, both.c.last_at, both.c.last_id)

    def newest_of(column):
        return sa.func.max(sa.case((ranked.c.rank == 1, column)))

    return (
        sa.select(
            ranked.c.key,
            ranked.c.bucket,
            sa.cast(sa.func.sum(ranked.c.readings), sa.BigInteger),
            sa.cast(sa.func.sum(ranked.c.numbers), sa.BigInteger),
            _total(ranked.c.total, dialect),
            sa.func.min(ranked.c.low),
            sa.func.max(ranked.c.high),
            newest_of(ranked.c.last_value),
            newest_of(ranked.c.last_at),
            newest_of(ranked.c.last_id),
        )
        .group_by(ranked.c.key, ranked.c.bucket)
        .order_by(ranked.c.key, ranked.c.bucket)
    )


def _heads(goal_ids, table, columns, at, *on):
    """Per row of table a head counts: its goal's sensor from started_at on,
    kept to the head's bucket; columns of table after key, period, lo, hi."""
    target, row = TARGETS.c, table.c
    head = sa.case((target.period.is_(None), 0), else_=target.since_bucket)
    on = (row.user_id == target.user_id, row.sensor == target.sensor, *on)
    return (
        sa.select(
            target.goal_id.label("key"),
            target.period,
            head.label("lo"),
            head.label("hi"),
            *columns,
        )
        .join_from(TARGETS, table, sa.and_(*on, at >= target.since))
        .where(target.goal_id.in_(goal_ids))
        .subquery()
    )


def _series(user_id, key, since, lo, hi, table, columns, at, *where):
    """Per row of table in one series from since on: its periods lo to hi (or on)."""
    sensor, _, period = key
    row = table.c
    return (
        sa.select(
            sa.literal(0).label("key"),
            sa.literal(period).label("period"),
            sa.literal(lo).label("lo"),
            sa.cast(sa.literal(hi), sa.Integer).label("hi"),
            *columns,
        )
        .where(row.user_id == user_id, row.sensor == sensor, at >= since, *where)
        .subquery()
    )


_RECORDED = sa.type_coerce(READINGS.c.recorded_at, sa.BigInteger)
_READ = (READINGS.c.id, READINGS.c.recorded_at, READINGS.c.data)
_PRUNED = (PRUNED.c.start, *[PRUNED.c[name] for name in TALLY_COLUMNS])


def heads_source(goal_ids):
    """Per reading a head counts, with its target's field."""
    columns = (TARGETS.c.field, *_READ)
    return _heads(goal_ids, READINGS, columns, _RECORDED)


def series_source(user_id, key, since, lo, hi):
    """Per reading of one series from since on, with the series' field."""
    columns = (sa.literal(key[1]).label("field"), *_READ)
    return _series(user_id, key, since, lo, hi, READINGS, columns, _RECORDED)


def pruned_heads_source(goal_ids):
    """Per pruned range of its field a head counts."""
    on = PRUNED.c.field == TARGETS.c.field
    return _heads(goal_ids, PRUNED, _PRUNED, PRUNED.c.start, on)


def pruned_series_source(user_id, key, since, lo, hi):
    """Per pruned range of one series from since on."""
    field = PRUNED.c.field == key[1]
    return _series(user_id, key, since, lo, hi, PRUNED, _PRUNED, PRUNED.c.start, field)


def _total(numbers, dialect):
    # SQLite's sum() of integers fails past 64 bits; total() adds in doubles.
    if dialect == "postgresql":
        return sa.func.coalesce(sa.func.sum(numbers), 0.0)
    return sa.func.total(numbers)
