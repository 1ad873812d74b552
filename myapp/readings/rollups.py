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
import itertools
import math

import sqlalchemy as sa

from myapp.calendars import HOUR, QUARTER
from myapp.db import db
from myapp.owners import lock_owner
from myapp.rawsql import marks, paramstyle, run
from myapp.readings.models import FIELD_NAME_MAX, ReadingField, ReadingRollup
from myapp.readings.rows import READINGS

FIELDS_PER_SENSOR = 32
TIERS = ((0, QUARTER), (1, HOUR))
SCALE = 2.0**-64  # SQLite's scaled sum: exact powers of two, no overflow
FIELDS = ReadingField.__table__
ROLLUPS = ReadingRollup.__table__
# 10 parameters a row: within SQLite's 32,766 and PostgreSQL's 65,535 a statement.
_ROWS_PER_STATEMENT = 3000


DOUBLE_MAX = 1.7976931348623157e308
_NUMBER_TYPES = (int, float)  # exactly: bool is an int subclass, and no number
_NUMBER_KINDS = frozenset(_NUMBER_TYPES)


def numeric(value):
    """Whether a JSON value counts as a number: not a boolean, within a double."""
    return value.__class__ in _NUMBER_TYPES and -DOUBLE_MAX <= value <= DOUBLE_MAX


def nameable(field):
    """Whether a stats query can name the field (query.text(256), no '"' or NUL)."""
    return len(field) <= FIELD_NAME_MAX and '"' not in field and "\x00" not in field


def slot_start(micros, width):
    return micros - micros % width


def rolled_up_fields(user_id, sensors):
    """{sensor: set of its rolled-up fields} for these sensors: one query, on
    the driver's cursor (every upload runs it)."""
    found = {sensor: set() for sensor in sensors}
    _, mark = paramstyle()
    rows = run(
        "SELECT sensor, field FROM reading_fields"
        f" WHERE user_id = {mark} AND sensor IN ({marks(mark, len(found))})",
        [user_id, *sorted(found)],
    )
    for sensor, field in rows:
        found[sensor].add(field)
    return found


def _unseen(readings, known):
    """{sensor: numeric nameable fields not yet known, in the order seen}, for
    sensors with room left."""
    unseen = {}
    for sensor, _, data in readings:
        fields = known[sensor]
        if len(fields) >= FIELDS_PER_SENSOR:
            continue
        for field in data.keys() - fields:
            if numeric(data[field]) and nameable(field):
                unseen.setdefault(sensor, {}).setdefault(field, None)
    return {sensor: list(fields) for sensor, fields in unseen.items()}


def _register(user_id, unseen):
    """Record new fields up to FIELDS_PER_SENSOR per sensor; the known fields.

    Under the user's lock, read again: a racing upload may have taken places.
    """
    lock_owner(user_id=user_id)
    known = rolled_up_fields(user_id, set(unseen))
    rows = []
    for sensor, fields in unseen.items():
        room = FIELDS_PER_SENSOR - len(known[sensor])
        new = [f for f in fields if f not in known[sensor]][: max(room, 0)]
        known[sensor].update(new)
        rows += [{"user_id": user_id, "sensor": sensor, "field": f} for f in new]
    if rows:
        db.session.execute(sa.insert(FIELDS), rows)
    return known


def add_readings(*, user_id, readings):
    """Add new readings, (sensor, recorded_at micros, data dict), to the rollups."""
    if not readings:
        return
    known = rolled_up_fields(user_id, {sensor for sensor, _, _ in readings})
    unseen = _unseen(readings, known)
    if unseen:
        known.update(_register(user_id, unseen))
    quarters = {}  # (sensor, field, slot) -> the values in that 15 minutes
    for sensor, rows in _by_sensor(readings).items():
        fields = known[sensor]
        if fields:
            _quarters_of(sensor, fields, rows, quarters)
    if quarters:
        _upsert(user_id, _tiers_of(quarters))


def _by_sensor(readings):
    grouped = {}
    for sensor, recorded_at, data in readings:
        grouped.setdefault(sensor, []).append((recorded_at, data))
    return grouped


def _quarters_of(sensor, fields, rows, quarters):
    """Add one sensor's values of fields to quarters, a field at a time. The
    runs of equal slots (a batch is mostly in time order) are found once for
    every field; a field that is a number in every reading (the usual case)
    is sliced without a test per value."""
    slots = [at - at % QUARTER for at, _ in rows]
    runs, start = [], 0
    for slot, same_slot in itertools.groupby(slots):
        end = start + sum(1 for _ in same_slot)
        runs.append((slot, start, end))
        start = end
    datas = [data for _, data in rows]
    for field in fields:
        column = [data.get(field) for data in datas]
        every_one_a_number = set(map(type, column)) <= _NUMBER_KINDS
        for slot, start, end in runs:
            values = column[start:end]
            if not every_one_a_number:
                values = [v for v in values if v.__class__ in _NUMBER_TYPES]
                if not values:
                    continue
            if min(values) < -DOUBLE_MAX or max(values) > DOUBLE_MAX:
                values = [v for v in values if -DOUBLE_MAX <= v <= DOUBLE_MAX]
            if values:
                quarters.setdefault((sensor, field, slot), []).extend(values)


def _tiers_of(quarters):
    """{(sensor, field, tier, start): [count, total, scaled, low, high]}: each
    15-minute slot, and each UTC hour merged from its quarters."""
    merged = {}
    for (sensor, field, slot), values in quarters.items():
        total = sum(values)
        quarter = [len(values), total, _scaled(total, values), min(values)]
        quarter.append(max(values))
        merged[(sensor, field, 0, slot)] = quarter
        hour = merged.get((sensor, field, 1, slot - slot % HOUR))
        if hour is None:
            merged[(sensor, field, 1, slot - slot % HOUR)] = list(quarter)
            continue
        hour[0] += quarter[0]
        hour[1] += total
        hour[2] += quarter[2]
        hour[3] = min(hour[3], quarter[3])
        hour[4] = max(hour[4], quarter[4])
    return merged


def _scaled(total, values):
    """The sum of value * 2**-64 (exact powers of two): total's, unless it overflows."""
    try:
        as_double = float(total)
    except OverflowError:
        as_double = math.inf
    if math.isfinite(as_double):
        return as_double * SCALE
    return math.fsum(float(value) * SCALE for value in values)


_UPDATE = (
    " ON CONFLICT (user_id, sensor, field, tier, start) DO UPDATE SET"
    " count = reading_rollups.count + excluded.count,"
    " total = reading_rollups.total + excluded.total,"
    " scaled = {scaled},"
    " low = {least}(reading_rollups.low, excluded.low),"
    " high = {greatest}(reading_rollups.high, excluded.high)"
)
_COLUMNS = (
    "INSERT INTO reading_rollups (user_id, sensor, field, tier, start,"
    " count, total, scaled, low, high)"
)


def _upsert(user_id, merged):
    """One INSERT .. ON CONFLICT DO UPDATE of the slots, in key order."""
    keys = sorted(merged)
    if paramstyle()[0] == "postgresql":
        _upsert_postgresql(user_id, keys, merged)
        return
    update = _UPDATE.format(
        scaled="reading_rollups.scaled + excluded.scaled", least="min", greatest="max"
    )
    row = f"({marks('?', 10)})"
    for start in range(0, len(keys), _ROWS_PER_STATEMENT):
        chunk = keys[start : start + _ROWS_PER_STATEMENT]
        values = []
        for key in chunk:
            count, total, scaled_total, low, high = merged[key]
            values += [user_id, *key, count, _double(total), scaled_total]
            values += [float(low), float(high)]
        run(f"{_COLUMNS} VALUES {', '.join([row] * len(chunk))}{update}", values)


def _upsert_postgresql(user_id, keys, merged):
    """Arrays, not 10 parameters a slot: one short statement to parse and plan
    (as readings' own INSERT); sums as text, cast to exact numeric."""
    columns = [[] for _ in range(8)]
    for key in keys:
        count, total, scaled_total, low, high = merged[key]
        exact = _exact(total, scaled_total)
        row = (*key, count, str(exact), float(low), float(high))
        for column, value in zip(columns, row):
            column.append(value)
    update = _UPDATE.format(scaled="NULL", least="least", greatest="greatest")
    run(
        f"{_COLUMNS} SELECT %s, s, f, t, st, c, CAST(tot AS numeric), NULL, lo, hi"
        " FROM unnest(%s::text[], %s::text[], %s::smallint[], %s::bigint[],"
        " %s::bigint[], %s::text[], %s::float8[], %s::float8[])"
        f" AS given (s, f, t, st, c, tot, lo, hi){update}",
        [user_id, *columns],
    )


def _exact(total, scaled_total):
    """A slot's sum for PostgreSQL's numeric: an int as it is; a float past a
    double's range from the scaled sum (exact powers of two) times 2**64."""
    if isinstance(total, int) or math.isfinite(total):
        return total
    return decimal.Decimal(scaled_total) * 2**64


def _double(total):
    """A slot's sum for SQLite's double: infinity past its range (scaled holds it)."""
    try:
        return float(total)
    except OverflowError:
        return math.inf if total > 0 else -math.inf


def remove_readings(*, user_id, readings):
    """Recompute the hours that held deleted readings from the readings left.

    readings: (sensor, recorded_at micros, data dict) of what was deleted.
    min and max cannot be subtracted, so each touched UTC hour of a sensor is
    read again (one index range) and its quarters and hour rewritten for the
    touched fields, as uploads build them: a few statements, whatever the
    number of fields.
    """
    if not readings:
        return
    known = rolled_up_fields(user_id, {sensor for sensor, _, _ in readings})
    touched = {}  # (sensor, hour) -> the rolled-up fields its deleted readings had
    for sensor, recorded_at, data in readings:
        fields = {f for f in known[sensor].intersection(data) if numeric(data[f])}
        if fields:
            hour = slot_start(recorded_at, HOUR)
            touched.setdefault((sensor, hour), set()).update(fields)
    for (sensor, hour), fields in sorted(touched.items()):
        _rewrite_hour(user_id, sensor, hour, fields)


def _rewrite_hour(user_id, sensor, hour, fields):
    """Replace one hour's quarters and hour of these fields by the readings left."""
    at = sa.type_coerce(READINGS.c.recorded_at, sa.BigInteger)
    rows = db.session.execute(
        sa.select(at, READINGS.c.data)
        .where(
            READINGS.c.user_id == user_id,
            READINGS.c.sensor == sensor,
            at >= hour,
            at < hour + HOUR,
        )
        .order_by(at)
    ).all()
    quarters = {}
    _quarters_of(sensor, fields, [tuple(row) for row in rows], quarters)
    db.session.execute(
        sa.delete(ROLLUPS).where(
            ROLLUPS.c.user_id == user_id,
            ROLLUPS.c.sensor == sensor,
            ROLLUPS.c.field.in_(sorted(fields)),
            sa.or_(
                sa.and_(
                    ROLLUPS.c.tier == 0,
                    ROLLUPS.c.start >= hour,
                    ROLLUPS.c.start < hour + HOUR,
                ),
                sa.and_(ROLLUPS.c.tier == 1, ROLLUPS.c.start == hour),
            ),
        )
    )
    if quarters:
        _upsert(user_id, _tiers_of(quarters))
