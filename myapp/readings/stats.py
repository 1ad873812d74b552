"""GET /readings/stats: buckets in a time zone, from rollups wherever they hold.

Buckets of 15 minutes and longer of a rolled-up field (readings.rollups) read
one rollup row a slot: a bucket's whole UTC hours from tier 1, its edges from
tier 0, so the cost grows with the number of buckets, not of readings. 1m and
5m buckets, and fields past the rolled-up ones, are computed from the raw
readings. Local buckets join the rows to their boundaries (calendars) in SQL.
"""

import math
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from myapp.calendars import FIXED, HOUR, QUARTER, boundaries, floor_quarter
from myapp.db import db
from myapp.errors import ValidationFailed
from myapp.micros import from_micros, to_micros
from myapp.rawsql import paramstyle, run
from myapp.readings import raw
from myapp.readings.queries import filtered
from myapp.readings.rollups import ROLLUPS, SCALE, rolled_up_fields
from myapp.readings.rows import RECORDED

BUCKETS = ("1m", "5m", "15m", "1h", "6h", "1d", "1w", "1mo")
RAW_ONLY = ("1m", "5m")
# Local buckets are joined to their boundaries this many at a time.
_BUCKETS_PER_STATEMENT = 2000
# The shortest each local bucket can be (a DST day is 23 hours, February 28
# days): past _DENSE_BUCKETS of those in the range, only buckets with data are
# looked for, instead of drawing every boundary of centuries.
SHORTEST = {"1h": HOUR // 2, "6h": 5 * HOUR, "1d": 23 * HOUR, "1w": 167 * HOUR}
SHORTEST["1mo"] = 28 * 23 * HOUR
_DENSE_BUCKETS = 20_000
_SLOTS_PER_PAGE = 5000
_DOUBLE_MAX = 1.7976931348623157e308


class Bucket(NamedTuple):
    """One bucket of a stats answer; start in stored microseconds."""

    start: int
    count: int
    sum: float
    min: float
    max: float
    avg: float


class Stats(NamedTuple):
    """A stats answer: its buckets, the effective since and until (microseconds
    or None) and whether rollups gave it."""

    buckets: list
    since: int | None
    until: int | None
    from_rollups: bool


def reading_stats(
    *, user_id, sensor, field, bucket, tz, since=None, until=None, max_buckets=None
):
    """data[field]'s count, sum, min, max and avg per bucket of the zone tz.

    More than max_buckets (READINGS_STATS_MAX_BUCKETS) non-empty buckets is a
    400 rather than an unbounded answer.
    """
    if max_buckets is None:
        max_buckets = current_app.config["READINGS_STATS_MAX_BUCKETS"]
    since = None if since is None else to_micros(since)
    until = None if until is None else to_micros(until)
    if bucket not in RAW_ONLY:
        since = None if since is None else floor_quarter(since)
        until = None if until is None else floor_quarter(until)
    rolled = bucket not in RAW_ONLY and field in (
        rolled_up_fields(user_id, {sensor})[sensor]
    )
    series = _Series(user_id, sensor, field, since, until, rolled)
    if bucket in FIXED:
        rows = series.fixed(FIXED[bucket], max_buckets + 1)
    else:
        rows = series.local(bucket, tz, max_buckets + 1)
    if len(rows) > max_buckets:
        raise ValidationFailed.query(
            "bucket",
            f"gives more than {max_buckets} buckets; choose a larger bucket "
            "or a narrower since/until",
        )
    return Stats([_bucket(*row) for row in rows], since, until, rolled)


def _bucket(start, count, total, scaled, low, high):
    count = int(count)  # PostgreSQL's sum of bigint counts is numeric
    if scaled is None:  # PostgreSQL: an exact numeric sum
        average = float(total / count)
    elif math.isfinite(float(total)):
        average = float(total) / count
    else:  # SQLite, past a double's range: the scaled sum still holds it
        average = float(scaled) / count / SCALE
        total = float(scaled) / SCALE
    # A sum past a double's range is answered as the largest double of its sign.
    total = min(max(float(total), -_DOUBLE_MAX), _DOUBLE_MAX)
    return Bucket(start, count, total, float(low), float(high), average)


class _Series:
    """One user's sensor and field, between since and until, raw or rolled up."""

    def __init__(self, user_id, sensor, field, since, until, rolled):
        self.user_id, self.sensor, self.field = user_id, sensor, field
        self.since, self.until, self.rolled = since, until, rolled

    def _rollups(self, tier):
        return sa.and_(
            ROLLUPS.c.user_id == self.user_id,
            ROLLUPS.c.sensor == self.sensor,
            ROLLUPS.c.field == self.field,
            ROLLUPS.c.tier == tier,
        )

    def _raw_values(self):
        rows = filtered(
            sa.select(RECORDED.label("at")),
            user_id=self.user_id,
            sensor=self.sensor,
            since=None if self.since is None else from_micros(self.since),
            until=None if self.until is None else from_micros(self.until),
        )
        return raw.numeric_values(rows, self.field)

    def fixed(self, width, limit):
        """(start, count, sum, scaled, min, max) per bucket of a fixed width."""
        if self.rolled:  # 15m: the tier-0 rows are the buckets
            columns = [ROLLUPS.c[name] for name in ("count", "total", "scaled")]
            query = sa.select(
                ROLLUPS.c.start, *columns, ROLLUPS.c.low, ROLLUPS.c.high
            ).where(self._rollups(0), *self._bounds(ROLLUPS.c.start))
            return db.session.execute(query.order_by("start").limit(limit)).all()
        values = self._raw_values()
        at = values.c.at
        # Floor to the bucket also for times before 1970 (SQL % truncates to 0).
        start = (at - ((at % width) + width) % width).label("start")
        query = (
            sa.select(start, *raw.aggregates(values))
            .group_by(start)
            .order_by(start)
            .limit(limit)
        )
        return db.session.execute(query).all()

    def _bounds(self, column):
        bounds = []
        if self.since is not None:
            bounds.append(column >= self.since)
        if self.until is not None:
            bounds.append(column < self.until)
        return bounds

    def _extent(self):
        """[lo, hi) holding every reading of the series, or None if it has none.

        min and max as two scalar subqueries: each is one step down the index,
        where one SELECT of both scans every row between them.
        """
        if self.rolled:
            column, width = ROLLUPS.c.start, QUARTER
            where = [self._rollups(0), *self._bounds(column)]
            first = sa.select(sa.func.min(column)).where(*where).scalar_subquery()
            last = sa.select(sa.func.max(column)).where(*where).scalar_subquery()
        else:
            values = self._raw_values()
            column, width = values.c.at, 1
            first = sa.select(sa.func.min(column)).scalar_subquery()
            last = sa.select(sa.func.max(column)).scalar_subquery()
        first, last = db.session.execute(sa.select(first, last)).one()
        if first is None:
            return None
        lo = first if self.since is None else max(first, self.since)
        hi = last + width if self.until is None else min(last + width, self.until)
        return lo, hi

    def local(self, bucket, tz, limit):
        """(start, count, sum, scaled, min, max) per local bucket with readings."""
        extent = self._extent()
        if extent is None:
            return []
        lo, hi = extent
        if (hi - lo) // SHORTEST[bucket] <= _DENSE_BUCKETS:
            edges = boundaries(bucket, tz, lo, hi)
            buckets = list(zip(edges, edges[1:]))
        else:  # a long range: only the buckets around the data
            buckets = self._buckets_with_data(bucket, tz, lo, hi, limit)
        found = []
        for first in range(0, len(buckets), _BUCKETS_PER_STATEMENT):
            spans = [
                (i, max(start, lo), min(end, hi))
                for i, (start, end) in enumerate(
                    buckets[first : first + _BUCKETS_PER_STATEMENT], first
                )
            ]
            rows = self._join(spans)
            found += [(buckets[i][0], *aggregates) for i, *aggregates in rows]
            if len(found) >= limit:
                break
        return found[:limit]

    def _buckets_with_data(self, bucket, tz, lo, hi, limit):
        """The buckets holding a 15-minute slot with data, up to limit of them.

        A slot never straddles a boundary (both are on 15 minutes), so each
        bucket found holds data; the slots are read in keyset pages.
        """
        buckets, cursor = [], lo
        while len(buckets) < limit:
            slots = self._slots(cursor, hi)
            for slot in slots:
                if buckets and slot < buckets[-1][1]:
                    continue
                edges = boundaries(bucket, tz, slot, slot + QUARTER)
                start = max(b for b in edges if b <= slot)
                end = min(b for b in edges if b > slot)
                buckets.append((start, end))
            if len(slots) < _SLOTS_PER_PAGE:
                break
            cursor = slots[-1] + QUARTER
        return buckets[:limit]

    def _slots(self, cursor, hi):
        """The next page of 15-minute slots with data, from cursor on."""
        if self.rolled:
            column = ROLLUPS.c.start
            query = sa.select(column).where(self._rollups(0))
        else:
            at = self._raw_values().c.at
            column = (at - ((at % QUARTER) + QUARTER) % QUARTER).label("slot")
            query = sa.select(column).distinct()
        query = query.where(column >= cursor, column < hi)
        query = query.order_by(column).limit(_SLOTS_PER_PAGE)
        return db.session.execute(query).scalars().all()

    def _join(self, spans):
        """Aggregates per span (i, lo, hi), joined in SQL, in span order."""
        if self.rolled:
            return self._join_rollups(spans)
        spans = [span for span in spans if span[1] < span[2]]
        if not spans:
            return []
        values = self._raw_values()
        table = _values_table(("i", "lo", "hi"), spans)
        query = (
            sa.select(table.c.i, *raw.aggregates(values))
            .join_from(
                table,
                values,
                sa.and_(values.c.at >= table.c.lo, values.c.at < table.c.hi),
            )
            .group_by(table.c.i)
            .order_by(table.c.i)
        )
        return db.session.execute(query).all()

    def _join_rollups(self, spans):
        """The spans' ranges joined to the rollups: SQL written here, not by
        SQLAlchemy, whose compiling of a long literal VALUES list cost more
        than the query (bench/readings/rounds/stats.py)."""
        ranges = [
            f"({i}, {tier}, {a}, {b})"
            for i, lo, hi in spans
            for tier, a, b in _tiers(lo, hi)
            if a < b
        ]
        if not ranges:
            return []
        dialect, mark = paramstyle()
        where = (
            f"r.user_id = {mark} AND r.sensor = {mark} AND r.field = {mark}"
            " AND r.tier = spans.tier AND r.start >= spans.lo AND r.start < spans.hi"
        )
        spans = "WITH spans (i, tier, lo, hi) AS (VALUES " + ", ".join(ranges) + ")"
        if dialect == "postgresql":
            # LATERAL: an index range a span; PostgreSQL would hash-join on tier
            # and filter the ranges, every rollup row against every span.
            sql = (
                f"{spans} SELECT spans.i, sum(a.count), sum(a.total), NULL,"
                " min(a.low), max(a.high) FROM spans CROSS JOIN LATERAL ("
                " SELECT sum(r.count) AS count, sum(r.total) AS total,"
                " min(r.low) AS low, max(r.high) AS high FROM reading_rollups r"
                f" WHERE {where}) a WHERE a.count IS NOT NULL"
                " GROUP BY spans.i ORDER BY spans.i"
            )
        else:
            sql = (
                f"{spans} SELECT spans.i, sum(r.count), sum(r.total), sum(r.scaled),"
                " min(r.low), max(r.high) FROM spans JOIN reading_rollups r"
                f" ON {where} GROUP BY spans.i ORDER BY spans.i"
            )
        return run(sql, [self.user_id, self.sensor, self.field])


def _tiers(lo, hi):
    """[lo, hi) (15-minute aligned) as (tier, start, end): whole UTC hours from
    tier 1, the quarters before and after them from tier 0."""
    first_hour = -(-lo // HOUR) * HOUR
    last_hour = hi - hi % HOUR
    if first_hour >= last_hour:
        return [(0, lo, hi)]
    return [(0, lo, first_hour), (1, first_hour, last_hour), (0, last_hour, hi)]


def _values_table(names, rows):
    """An inline VALUES table of integer rows (literals: no parameter limits)."""
    columns = [sa.column(name, sa.BigInteger) for name in names]
    return sa.values(*columns, name="spans", literal_binds=True).data(rows).cte("spans")
