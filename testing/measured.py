"""The Measured goals contract recomputed in plain Python from stored readings.

Independent of myapp.goals (its periods come from datetime, its aggregates from
lists), so a test comparing the two catches a rule applied wrongly on either side.
"""

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(text):
    """Microseconds since 1970 of an RFC 3339 text (what the API stores)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def text(value):
    """RFC 3339 text of microseconds since 1970, as the API writes it."""
    moment = EPOCH + timedelta(microseconds=value)
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.%fZ")


class Stored(NamedTuple):
    """A stored reading as the model sees it."""

    id: int
    sensor: str
    recorded_at: int
    data: dict


def period_of(period, at):
    """A hashable, orderable name of the UTC period containing at (micros)."""
    moment = EPOCH + timedelta(microseconds=at)
    day = moment.date()
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())  # its Monday
    return (day.year, day.month)


def previous(period, name):
    if period == "day":
        return name - timedelta(days=1)
    if period == "week":
        return name - timedelta(days=7)
    year, month = name
    return (year, month - 1) if month > 1 else (year - 1, 12)


def numbers(readings, field):
    """The numbers (never booleans) at data[field], with their reading."""
    return [
        (r, float(r.data[field]))
        for r in readings
        if type(r.data.get(field)) in (int, float)
    ]


def aggregate(target, readings):
    """The aggregate over these readings (already of the sensor, since started_at)."""
    kind = target["aggregate"]
    if kind == "count":
        return len(readings)
    found = numbers(readings, target["field"])
    values = [value for _, value in found]
    if kind == "sum":
        return float(sum(values))
    if not values:
        return None
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    if kind == "avg":
        return sum(values) / len(values)
    newest = max(found, key=lambda pair: (pair[0].recorded_at, pair[0].id))
    return newest[1]


def met(target, value):
    if value is None:
        return False
    return (
        value >= target["value"] if target["op"] == ">=" else value <= target["value"]
    )


def counted(target, since, readings):
    return [
        r for r in readings if r.sensor == target["sensor"] and r.recorded_at >= since
    ]


def evaluate(target, since, readings, now):
    """(value, met, streak) of a target over every stored reading, as of now."""
    mine = counted(target, since, readings)
    period = target.get("period")
    if period is None:
        value = aggregate(target, mine)
        return value, met(target, value), None
    by_period = {}
    for reading in mine:
        by_period.setdefault(period_of(period, reading.recorded_at), []).append(reading)

    def met_in(name):
        return met(target, aggregate(target, by_period.get(name, [])))

    current = period_of(period, now)
    value = aggregate(target, by_period.get(current, []))
    first = period_of(period, since)
    end = current if met_in(current) else previous(period, current)
    streak = 0
    while end >= first and met_in(end):
        streak += 1
        end = previous(period, end)
    return value, met(target, value), streak


def progress(target, value):
    """An open measured leaf's progress."""
    useful = target["aggregate"] in ("sum", "count") and target["op"] == ">="
    if not useful or target["value"] <= 0:
        return 0.0
    return min(1.0, max(0.0, value / target["value"]))
