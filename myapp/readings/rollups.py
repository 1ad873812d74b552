"""Rollups: count, sum, min and max of numeric fields per time slot, kept exact.

The upload's transaction adds its new readings to the slots of the first
FIELDS_PER_SENSOR numeric fields seen per (user, sensor) (readings.models has
both tables); a deletion recomputes the slots it touched from the readings
that remain. Statistics of 15 minutes and longer then cost one row a slot,
whatever the number of readings. One statement per tier and upload: rows are
merged in Python first, and written in key order, so racing uploads wait on
each other's rows instead of deadlocking.
"""

import decimal
import math

import sqlalchemy as sa

from myapp.calendars import HOUR, QUARTER
from myapp.db import db
from myapp.owners import lock_owner
from myapp.rawsql import marks, paramstyle, run
from myapp.readings.models import FIELD_NAME_MAX, ReadingField, ReadingRollup
from myapp.readings.raw import numbers_between

FIELDS_PER_SENSOR = 32
TIERS = ((0, QUARTER), (1, HOUR))
SCALE = 2.0**-64  # SQLite's scaled sum: exact powers of two, no overflow
FIELDS = ReadingField.__table__
ROLLUPS = ReadingRollup.__table__
# 10 parameters a row: within SQLite's 32,766 and PostgreSQL's 65,535 a statement.
_ROWS_PER_STATEMENT = 3000


def numeric(value):
    """Whether a JSON value counts as a number: not a boolean, within a double."""
    if value.__class__ is bool or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def nameable(field):
    """Whether a stats query can name the field (query.text(256), no '"' or NUL)."""
    return len(field) <= FIELD_NAME_MAX and '"' not in field and "\x00" not in field


def slot_start(micros, width):
    return micros - micros % width


def rolled_up_fields(user_id, sensors):
    """{sensor: set of its rolled-up fields} for these sensors: one query."""
    found = {sensor: set() for sensor in sensors}
    rows = db.session.execute(
        sa.select(FIELDS.c.sensor, FIELDS.c.field).where(
            FIELDS.c.user_id == user_id, FIELDS.c.sensor.in_(sorted(sensors))
        )
    )
    for sensor, field in rows:
        found[sensor].add(field)
    return found


def _numbers(readings):
    """{sensor: [(recorded_at, {field: number})]} of readings with numeric fields."""
    series = {}
    for sensor, recorded_at, data in readings:
        numbers = {k: v for k, v in data.items() if numeric(v) and nameable(k)}
        if numbers:
            series.setdefault(sensor, []).append((recorded_at, numbers))
    return series


def _register(user_id, series, known):
    """Record new fields up to FIELDS_PER_SENSOR per sensor, in the order seen."""
    wanted = {
        sensor: [f for f in _in_order(items) if f not in known[sensor]]
        for sensor, items in series.items()
        if len(known[sensor]) < FIELDS_PER_SENSOR
    }
    if not any(wanted.values()):
        return known
    # Under the user's lock, read again: a racing upload may have taken places.
    lock_owner(user_id=user_id)
    known = rolled_up_fields(user_id, set(series))
    rows = []
    for sensor, fields in wanted.items():
        room = FIELDS_PER_SENSOR - len(known[sensor])
        new = [f for f in fields if f not in known[sensor]][: max(room, 0)]
        known[sensor].update(new)
        rows += [{"user_id": user_id, "sensor": sensor, "field": f} for f in new]
    if rows:
        db.session.execute(sa.insert(FIELDS), rows)
    return known


def _in_order(items):
    seen = {}
    for _, numbers in items:
        for field in numbers:
            seen.setdefault(field, None)
    return list(seen)


def add_readings(*, user_id, readings):
    """Add new readings, (sensor, recorded_at micros, data dict), to the rollups."""
    series = _numbers(readings)
    if not series:
        return
    known = _register(user_id, series, rolled_up_fields(user_id, set(series)))
    merged = {}
    for sensor, items in series.items():
        fields = known[sensor]
        for recorded_at, numbers in items:
            for field, value in numbers.items():
                if field not in fields:
                    continue
                value = float(value) if isinstance(value, float) else value
                for tier, width in TIERS:
                    key = (sensor, field, tier, slot_start(recorded_at, width))
                    _merge(merged, key, value)
    _upsert(user_id, merged)


def _merge(merged, key, value):
    slot = merged.get(key)
    if slot is None:
        merged[key] = [1, value, value * SCALE, value, value]
        return
    slot[0] += 1
    slot[1] += value
    slot[2] += value * SCALE
    if value < slot[3]:
        slot[3] = value
    if value > slot[4]:
        slot[4] = value


def _upsert(user_id, merged):
    """One INSERT .. ON CONFLICT DO UPDATE per chunk of slots, in key order."""
    dialect, mark = paramstyle()
    postgresql = dialect == "postgresql"
    least, greatest = ("least", "greatest") if postgresql else ("min", "max")
    scaled = "NULL" if postgresql else "reading_rollups.scaled + excluded.scaled"
    row = f"({marks(mark, 10)})"
    keys = sorted(merged)
    for start in range(0, len(keys), _ROWS_PER_STATEMENT):
        chunk = keys[start : start + _ROWS_PER_STATEMENT]
        values = []
        for key in chunk:
            count, total, scaled_total, low, high = merged[key]
            if postgresql:
                total, scaled_total = _exact(total, scaled_total), None
            values += [user_id, *key, count, total, scaled_total, low, high]
        run(
            "INSERT INTO reading_rollups (user_id, sensor, field, tier, start,"
            " count, total, scaled, low, high) VALUES "
            + ", ".join([row] * len(chunk))
            + " ON CONFLICT (user_id, sensor, field, tier, start) DO UPDATE SET"
            " count = reading_rollups.count + excluded.count,"
            " total = reading_rollups.total + excluded.total,"
            f" scaled = {scaled},"
            f" low = {least}(reading_rollups.low, excluded.low),"
            f" high = {greatest}(reading_rollups.high, excluded.high)",
            values,
        )


def _exact(total, scaled_total):
    """A slot's sum for PostgreSQL's numeric: past a double's range, the scaled
    sum (exact powers of two) times 2**64."""
    if math.isfinite(total):
        return total
    return decimal.Decimal(scaled_total) * 2**64


def _sums(values):
    """total and scaled of a slot's values, for the database in use."""
    if db.session.get_bind().dialect.name == "postgresql":
        return {"total": sum(map(decimal.Decimal, values)), "scaled": None}
    scaled = math.fsum(v * SCALE for v in values)
    try:
        total = math.fsum(values)
    except OverflowError:  # SQLite keeps the infinity; scaled holds the sum
        total = math.copysign(math.inf, scaled)
    return {"total": total, "scaled": scaled}


def remove_readings(*, user_id, readings):
    """Recompute the slots that held deleted readings from the readings left.

    readings: (sensor, recorded_at micros, data dict) of what was deleted.
    min and max cannot be subtracted, so each touched slot is read again from
    the raw readings of its 15 minutes or hour (an index range each).
    """
    series = _numbers(readings)
    if not series:
        return
    known = rolled_up_fields(user_id, set(series))
    slots = set()
    for sensor, items in series.items():
        for recorded_at, numbers in items:
            for field in numbers:
                if field in known[sensor]:
                    for tier, width in TIERS:
                        start = slot_start(recorded_at, width)
                        slots.add((sensor, field, tier, start, width))
    for sensor, field, tier, start, width in sorted(slots):
        _recompute_slot(user_id, sensor, field, tier, start, width)


def _recompute_slot(user_id, sensor, field, tier, start, width):
    values = numbers_between(
        user_id=user_id, sensor=sensor, field=field, lo=start, hi=start + width
    )
    where = sa.and_(
        ROLLUPS.c.user_id == user_id,
        ROLLUPS.c.sensor == sensor,
        ROLLUPS.c.field == field,
        ROLLUPS.c.tier == tier,
        ROLLUPS.c.start == start,
    )
    if not values:
        db.session.execute(sa.delete(ROLLUPS).where(where))
        return
    db.session.execute(
        sa.update(ROLLUPS)
        .where(where)
        .values(
            count=len(values),
            **_sums(values),
            low=min(values),
            high=max(values),
        )
    )
