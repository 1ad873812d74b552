"""GET /readings/stats: count/min/max/avg per UTC-aligned bucket in one SQL query."""

import math
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from myapp.db import db
from myapp.errors import ValidationFailed
from myapp.jsonsql import sqlite_is_number
from myapp.readings.queries import filtered
from myapp.readings.rows import READINGS, RECORDED

SCALE = 2.0**-64
BUCKETS = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 21600,
    "1d": 86400,
}


class Bucket(NamedTuple):
    """One bucket of a stats answer; start in stored microseconds."""

    start: int
    count: int
    min: float
    max: float
    avg: float


def _postgresql_values(query, field):
    """Rows of (start, value) where data's top-level field is a JSON number."""
    key = sa.bindparam("field", field, type_=sa.Text)
    is_number = sa.func.jsonb_typeof(READINGS.c.data.op("->")(key)) == "number"
    # numeric, not float8: a sum of large values must not overflow into an error.
    value = sa.case((is_number, sa.cast(READINGS.c.data.op("->>")(key), sa.Numeric)))
    return query.add_columns(value.label("value")).where(is_number).subquery()


def _sqlite_values(query, field):
    """Rows of (start, value) where data's top-level field is a JSON number.

    json_extract parses the document once per row (LIMIT -1 keeps SQLite from
    flattening the subquery and parsing again per use); only an extracted 0 or
    1 needs json_type, to tell a number from JSON true or false.
    """
    path = sa.bindparam("path", '$."' + field + '"', type_=sa.Text)
    inner = (
        query.add_columns(
            sa.func.json_extract(READINGS.c.data, path).label("value"), READINGS.c.data
        )
        .limit(-1)
        .subquery()
    )
    is_number = sqlite_is_number(inner.c.value, inner.c.data, path)
    return sa.select(inner.c.start, inner.c.value).where(is_number).subquery()


def reading_stats(
    *, user_id, sensor, field, bucket, since=None, until=None, max_buckets=None
):
    """A Bucket of data[field]'s count, min, max and avg per UTC-aligned bucket.

    One SQL query; more than max_buckets (READINGS_STATS_MAX_BUCKETS) for one
    answer is a 400 rather than an unbounded response. min, max and avg are
    floats (finite: inputs are).
    """
    if max_buckets is None:
        max_buckets = current_app.config["READINGS_STATS_MAX_BUCKETS"]
    width = BUCKETS[bucket] * 1_000_000
    # Floor to the bucket also for times before 1970 (SQL % truncates toward 0).
    start = (RECORDED - ((RECORDED % width) + width) % width).label("start")
    rows = filtered(
        sa.select(start), user_id=user_id, sensor=sensor, since=since, until=until
    )
    if db.session.get_bind().dialect.name == "postgresql":
        values = _postgresql_values(rows, field)
        # numeric sums never overflow: no scaled average (a fifth of the query).
        scaled = sa.null()
    else:
        values = _sqlite_values(rows, field)
        # SQLite averages in doubles: two values near 1e308 sum to infinity,
        # so an average of the values scaled down (exactly, by 2**-64) too.
        scaled = sa.func.avg(values.c.value * SCALE)
    query = (
        sa.select(
            values.c.start,
            sa.func.count(values.c.value),
            sa.func.min(values.c.value),
            sa.func.max(values.c.value),
            sa.func.avg(values.c.value),
            scaled,
        )
        .group_by(values.c.start)
        .order_by(values.c.start)
        .limit(max_buckets + 1)
    )
    found = db.session.execute(query).all()
    if len(found) > max_buckets:
        raise ValidationFailed.query(
            "bucket",
            f"gives more than {max_buckets} buckets; choose a larger bucket "
            "or a narrower since/until",
        )
    return [
        Bucket(start, count, float(low), float(high), _finite_average(avg, scaled))
        for start, count, low, high, avg, scaled in found
    ]


def _finite_average(avg, scaled):
    avg = float(avg)
    return avg if math.isfinite(avg) else float(scaled) / SCALE
