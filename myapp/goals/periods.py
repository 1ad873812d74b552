"""UTC periods of habits as integers: consecutive periods have consecutive numbers.

A reading's time is microseconds since 1970-01-01 UTC (as readings store it).
Day n starts n days after 1970-01-01; week n starts on the Monday n weeks
after 1970-01-05 (the first Monday); month n is year * 12 + month - 1. A
target without period has one bucket, 0. The same numbers are computed in
Python (uploads) and in SQL (recomputing from stored readings).
"""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

DAY = 86_400_000_000
SECOND = 1_000_000
# 1970-01-01 was a Thursday: day 4 is the first Monday.
FIRST_MONDAY = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _month_of_day(day):
    date = _EPOCH + timedelta(days=day)
    return date.year * 12 + date.month - 1


def bucket_function(period):
    """micros -> bucket number for a period (None: the one bucket 0)."""
    if period is None:
        return lambda micros: 0
    if period == "day":
        return lambda micros: micros // DAY
    if period == "week":
        return lambda micros: (micros // DAY - FIRST_MONDAY) // 7
    months = {}

    def month(micros):
        day = micros // DAY
        found = months.get(day)
        if found is None:
            found = months[day] = _month_of_day(day)
        return found

    return month


def bucket_of(period, micros):
    """The bucket of one time."""
    return bucket_function(period)(micros)


def bucket_start(period, bucket):
    """When a bucket starts, as an aware UTC datetime."""
    if period == "day":
        return _EPOCH + timedelta(days=bucket)
    if period == "week":
        return _EPOCH + timedelta(days=FIRST_MONDAY + 7 * bucket)
    year, month = divmod(bucket, 12)
    return datetime(year, month + 1, 1, tzinfo=timezone.utc)


def _floor_div(value, divisor):
    # SQL's / and % truncate toward zero; times before 1970 must floor.
    return (value - ((value % divisor) + divisor) % divisor) // divisor


def bucket_sql(micros, period, dialect):
    """The SQL expression of bucket_function(period) over an integer column."""
    if period is None:
        return sa.literal(0)
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
