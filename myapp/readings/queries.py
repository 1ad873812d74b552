"""Readings' queries: by id, keyset pages, export batches, the latest per sensor."""

import sqlalchemy as sa

from myapp.columns import BIG_ID_MAX
from myapp.db import ID_MAX, db
from myapp.errors import not_found
from myapp.micros import to_micros
from myapp.pagination import page_after
from myapp.rawsql import CompiledSelect
from myapp.readings.rows import READINGS, RECORDED, ReadingRow, reading_columns

# ?device_id=none: the readings uploaded with a user's token.
NO_DEVICE = "none"

# Built once: per request only the parameters change.
_BY_ID = CompiledSelect(
    sa.select(*reading_columns()).where(
        READINGS.c.id == sa.bindparam("reading_id"),
        READINGS.c.user_id == sa.bindparam("user_id"),
    ),
    ReadingRow,
)


def find_reading(*, user_id, reading_id):
    """The user's reading as a ReadingRow, or None (another user's reading too)."""
    if not 1 <= reading_id <= BIG_ID_MAX:
        return None
    return _BY_ID.first(reading_id=reading_id, user_id=user_id)


def get_reading(*, user_id, reading_id):
    """The user's reading, or 404 with the same body whoever owns it."""
    row = find_reading(user_id=user_id, reading_id=reading_id)
    if row is None:
        raise not_found("reading")
    return row


def filtered(query, *, user_id, sensor=None, since=None, until=None, device_id=None):
    """query restricted to the user's readings matching the list filters.

    device_id is a device's id (another user's or an unknown one matches
    nothing) or NO_DEVICE for the readings uploaded with a user's token.
    """
    query = query.where(READINGS.c.user_id == user_id)
    if device_id == NO_DEVICE:
        query = query.where(READINGS.c.device_id.is_(None))
    elif device_id is not None:
        # Beyond a 32-bit key no device exists (and PostgreSQL would refuse it).
        query = query.where(
            READINGS.c.device_id == device_id if device_id <= ID_MAX else False
        )
    if sensor is not None:
        query = query.where(READINGS.c.sensor == sensor)
    if since is not None:
        query = query.where(RECORDED >= to_micros(since))
    if until is not None:
        query = query.where(RECORDED < to_micros(until))
    return query


def _page_query(*, user_id, after, limit, columns, order="desc", **filters):
    since, until = filters.get("since"), filters.get("until")
    if after is not None:
        # A cursor inside the range already bounds that side; keeping the looser
        # bound too makes SQLite range-scan from it, re-reading every earlier page.
        if order == "desc" and until is not None and after[0] < to_micros(until):
            filters["until"] = None
        if order == "asc" and since is not None and after[0] >= to_micros(since):
            filters["since"] = None
    query = filtered(sa.select(*columns), user_id=user_id, **filters)
    position = sa.tuple_(RECORDED, READINGS.c.id)
    if order == "asc":
        if after is not None:
            query = query.where(position > sa.tuple_(*after))
        query = query.order_by(RECORDED.asc(), READINGS.c.id.asc())
    else:
        if after is not None:
            query = query.where(position < sa.tuple_(*after))
        query = query.order_by(RECORDED.desc(), READINGS.c.id.desc())
    return query.limit(limit)


def list_readings(*, user_id, limit, order="desc", after=None, **filters):
    """Rows (as ReadingRow) after the (recorded_at, id) position, and the next one.

    filters are filtered()'s: sensor, since, until, device_id.
    """
    query = _page_query(
        user_id=user_id,
        order=order,
        after=after,
        limit=limit + 1,
        columns=reading_columns(),
        **filters,
    )
    return page_after(db.session.execute(query).all(), limit, _position)


def _position(row):
    """Where a row stands in every reading order: (recorded_at, id)."""
    return row.recorded_at, row.id


def export_extent(*, user_id, order=None, **filters):
    """(how many readings match, the largest id among them) as an export starts."""
    query = filtered(
        sa.select(sa.func.count(), sa.func.max(READINGS.c.id)),
        user_id=user_id,
        **filters,
    )
    return tuple(db.session.execute(query).one())


def iter_reading_batches(*, engine, user_id, batch_size, last_id, **filters):
    """Every matching row up to last_id (as ReadingRow), in keyset batches.

    filters are list_readings' (sensor, since, until, device_id, order). Readings stored
    after the export began (ids above last_id) are left out, so the file holds
    what export_extent counted, unless some are deleted meanwhile. No
    transaction or request context outlives a batch, so a slow download holds no
    snapshot, lock or pooled connection while the client reads. data comes back
    as JSON text, ready to be written out without a parse and a dump.
    """
    if engine.dialect.name == "postgresql":
        data = sa.cast(READINGS.c.data, sa.Text)
    else:
        data = sa.type_coerce(READINGS.c.data, sa.Text)
    columns = reading_columns(data)
    after = None
    while last_id is not None:
        query = _page_query(
            user_id=user_id, after=after, limit=batch_size, columns=columns, **filters
        ).where(READINGS.c.id <= last_id)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after = _position(rows[-1])


# data as its stored JSON text (schemas.reading_json splices it in as it is).
_LATEST_COLUMNS = [sa.column(name) for name in ReadingRow._fields]
_LATEST_SELECT = (
    "SELECT r.id, r.sensor, r.recorded_at, CAST(r.data AS TEXT) AS data,"
    " r.client_id, r.device_id, r.created_at FROM readings_latest l"
    " JOIN readings r ON r.id = l.reading_id WHERE l.user_id = :user_id AND {where}"
    " ORDER BY l.sensor LIMIT :count"
)
# One row a sensor, read in order off readings_latest's primary key.
_LATEST = CompiledSelect(
    sa.text(_LATEST_SELECT.format(where="l.sensor > :after")).columns(*_LATEST_COLUMNS),
    ReadingRow,
)
_LATEST_OF_ONE = CompiledSelect(
    sa.text(_LATEST_SELECT.format(where="l.sensor = :sensor")).columns(
        *_LATEST_COLUMNS
    ),
    ReadingRow,
)


def latest_readings(*, user_id, limit, sensor=None, after=None):
    """The newest reading of each sensor (ReadingRow fields, data as JSON text), by
    sensor in code-point order after the (sensor,) position, and the next one.

    Sensor names compare byte by byte on both databases (models.SensorName), and
    "" sorts before every name (a sensor has at least one character).
    """
    after = after[0] if after else ""
    if sensor is not None:
        # One sensor: its newest reading, if it comes after the cursor (Python's
        # str order is code-point order).
        rows = []
        if sensor > after:
            rows = _LATEST_OF_ONE.tuples(user_id=user_id, sensor=sensor, count=1)
    else:
        rows = _LATEST.tuples(user_id=user_id, after=after, count=limit + 1)
    return page_after(rows, limit, lambda row: (row[1],))
