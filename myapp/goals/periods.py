"""Periods of habits in the user's zone as integers: consecutive periods have
consecutive numbers.

A reading's time is microseconds since 1970-01-01 UTC (as readings store it);
its local wall time (myapp.calendars: the pinned tzdata) is numbered. Day n
is the nth local date after 1970-01-01; week n starts on the Monday n weeks
after 1970-01-05 (the first Monday); month n is year * 12 + month - 1. A
target without period has one bucket, 0. The same numbers are computed in
Python (uploads) and in SQL (recomputing from stored readings), where the
zone's offsets are a CASE over their changes.
"""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from myapp.calendars import local_micros, offsets

DAY = 86_400_000_000
SECOND = 1_000_000
# 1970-01-01 was a Thursday: day 4 is the first Monday.
FIRST_MONDAY = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _month_of_day(day):
    date = _EPOCH + timedelta(days=day)
    return date.year * 12 + date.month - 1


def bucket_function(period, tz="UTC"):
    """micros -> bucket number for a period in the zone (None: the one bucket 0)."""
    if period is None:
        return lambda micros: 0
    local = local_micros(tz)
    if period == "day":
        return lambda micros: local(micros) // DAY
    if period == "week":
        return lambda micros: (local(micros) // DAY - FIRST_MONDAY) // 7
    months = {}

    def month(micros):
        day = local(micros) // DAY
        found = months.get(day)
        if found is None:
            found = months[day] = _month_of_day(day)
        return found

    return month


def bucket_of(period, micros, tz="UTC"):
    """The bucket of one time in the zone."""
    return bucket_function(period, tz)(micros)


def bucket_start(period, bucket):
    """When a bucket starts in UTC (its local start, for a user in UTC)."""
    if period == "day":
        return _EPOCH + timedelta(days=bucket)
    if period == "week":
        return _EPOCH + timedelta(days=FIRST_MONDAY + 7 * bucket)
    year, month = divmod(bucket, 12)
    return datetime(year, month + 1, 1, tzinfo=timezone.utc)


def _floor_div(value, divisor):
    # SQL's / and % truncate toward zero; times before 1970 must floor.
    return (value - ((value % divisor) + divisor) % divisor) // divisor


def local_sql(micros, tz, lo, hi):
    """SQL: micros (an integer column) as local wall time in the zone, for times
    from lo to hi (earlier and later ones take the first and last offset)."""
    if tz == "UTC":
        return micros
    segments = offsets(tz, lo, hi)
    if len(segments) == 1:
        return micros + segments[0][1]
    whens = [
        (micros < start, sa.literal(offset))
        for (_, offset), (start, _) in zip(segments, segments[1:])
    ]
    return micros + sa.case(*whens, else_=segments[-1][1])


def bucket_sql(micros, period, dialect, local=None):
    """The SQL expression of bucket_function(period) over an integer column;
    local: local_sql's expression of it, in the user's zone (default UTC)."""
    if period is None:
        return sa.literal(0)
    micros = micros if local is None else local
    day = _floor_div(micros, DAY)
    if period == "day":
        return day
    if period == "week":
        return _floor_div(day - FIRST_MONDAY, 7)
    seconds = _floor_div(micros, SECOND)
    if dialect == "postgresql":
        moment = sa.func.timezone("UTC", sa.func.to_timestamp(seconds))
        year = sa.cast(sa.extract("year", moment), sa.Integer)
        month = sa.cast(sa.extract("month", moment), sa.Integer)
    else:
        year = sa.cast(sa.func.strftime("%Y", seconds, "unixepoch"), sa.Integer)
        month = sa.cast(sa.func.strftime("%m", seconds, "unixepoch"), sa.Integer)
    return year * 12 + month - 1
