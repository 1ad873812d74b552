"""Reading rules and queries: deduplicated bulk upload, keyset pages, export."""

from operator import itemgetter
from typing import NamedTuple

import sqlalchemy as sa

from myapp.db import db, utcnow
from myapp.errors import ValidationFailed, conflict, not_found
from myapp.pagination import page_after
from myapp.rawsql import CompiledSelect, paramstyle, run
from myapp.readings.checks import client_id_of, new_reading
from myapp.readings.models import BIG_ID_MAX, Reading, to_micros
from myapp.readings.signals import StoredReading, readings_deleted, readings_stored

TABLE = Reading.__table__
T = TABLE.c
# Plain integers out of the EpochMicros columns: the serializers format them.
RECORDED = sa.type_coerce(T.recorded_at, sa.BigInteger)
CREATED = sa.type_coerce(T.created_at, sa.BigInteger)


class ReadingRow(NamedTuple):
    """A stored reading as the service answers it; times in stored microseconds.

    Pages and export batches are SQLAlchemy Rows of the same fields, in this
    order (_columns builds their SELECT from it): serializers unpack either.
    """

    id: int
    sensor: str
    recorded_at: int
    data: object  # the JSON object; its JSON text in export batches
    client_id: str | None
    created_at: int


def _columns(data=T.data):
    """The SELECT list of a ReadingRow, field by field."""
    special = {"recorded_at": RECORDED, "data": data, "created_at": CREATED}
    return [special.get(name, T[name]).label(name) for name in ReadingRow._fields]


def new_readings(*, items, now_micros, in_batch=True):
    """Every item as a checks.new_reading tuple, or a 400 naming each offending one.

    Pointers are /readings/<index>/<field> in a batch, /<field> for one reading.
    """
    errors = []
    rows = [
        new_reading(item, ["readings", index] if in_batch else [], now_micros, errors)
        for index, item in enumerate(items)
    ]
    if errors:
        raise ValidationFailed(errors, "The request body failed validation.")
    return rows


def store_reading(*, user_id, item):
    """Store one reading: (the ReadingRow, True), or (the one stored first, False).

    A client_id stored before answers the reading stored under it first.
    """
    now = now_micros()
    rows = new_readings(items=[item], now_micros=now, in_batch=False)
    (reading_id,), (created,) = store_readings(
        user_id=user_id, rows=rows, items=[item], now_micros=now
    )
    if not created:
        return get_reading(user_id=user_id, reading_id=reading_id), False
    sensor, recorded_at, _, client_id = rows[0]
    stored = ReadingRow(reading_id, sensor, recorded_at, item["data"], client_id, now)
    return stored, True


def store_batch(*, user_id, items):
    """Store items all or nothing: (id per item in input order, how many are new)."""
    now = now_micros()
    rows = new_readings(items=items, now_micros=now)
    ids, created = store_readings(
        user_id=user_id, rows=rows, items=items, now_micros=now
    )
    return ids, sum(created)


def store_readings(*, user_id, rows, items, now_micros):
    """Store new_readings rows all or nothing; (id, created) each, in input order.

    One INSERT .. ON CONFLICT (user_id, client_id) DO NOTHING stores every new
    row; a client_id it skips (stored before, or by a concurrent request that
    won the race) is then looked up, so it maps to the reading stored first.
    items are the request's readings the rows came from (their parsed data goes
    to readings_stored's receivers, in the same transaction).
    """
    slots = []  # per row: the index of its first occurrence in fresh
    fresh = []
    first_slot = {}
    for row in rows:
        client_id = client_id_of(row)
        if client_id is not None:
            if client_id in first_slot:
                slots.append(first_slot[client_id])
                continue
            first_slot[client_id] = len(fresh)
        slots.append(len(fresh))
        fresh.append(row)
    # Key order: racing batches then wait on each other's keys without deadlock.
    pending = sorted(fresh, key=_by_client_id)
    inserted, existing = {None: []}, {}
    for _ in range(3):
        batch = _insert(user_id, pending, now_micros)
        inserted[None] += batch.pop(None)
        inserted.update(batch)
        skipped = set(map(client_id_of, pending)) - batch.keys() - {None}
        existing.update(_stored_ids(user_id, list(skipped)))
        # A skipped reading deleted before we could read it: store ours after all.
        vanished = skipped - existing.keys()
        pending = [row for row in pending if client_id_of(row) in vanished]
        if not pending:
            break
    else:
        raise conflict("Concurrent changes to these client_ids; retry the request.")
    ids, created = _answers(slots, fresh, inserted, existing)
    if readings_stored.receivers and any(created):
        readings_stored.send(
            user_id=user_id, readings=_stored(rows, items, ids, created, now_micros)
        )
    db.session.commit()
    return ids, created


def _answers(slots, fresh, inserted, existing):
    """(id, created) per input row, from what the INSERTs and lookups found."""
    ids, created = [], []
    seen = set()
    anonymous = iter(inserted[None])
    for slot in slots:
        client_id = client_id_of(fresh[slot])
        if client_id is None:
            ids.append(next(anonymous))
            created.append(True)
        elif client_id in existing:
            ids.append(existing[client_id])
            created.append(False)
        else:
            ids.append(inserted[client_id])
            created.append(client_id not in seen)
            seen.add(client_id)
    return ids, created


def _stored(rows, items, ids, created, now_micros):
    """The newly stored readings, in input order, as readings_stored sends them."""
    return [
        StoredReading(reading_id, row[0], row[1], item["data"], now_micros, None)
        for row, item, reading_id, new in zip(rows, items, ids, created)
        if new
    ]


def _by_client_id(row):
    client_id = client_id_of(row)
    return client_id is None, client_id or ""


def _stored_ids(user_id, client_ids):
    if not client_ids:
        return {}
    found = db.session.execute(
        sa.select(T.client_id, T.id).where(
            T.user_id == user_id, T.client_id.in_(client_ids)
        )
    )
    return dict(found.all())


def _insert(user_id, rows, now_micros):
    """One multi-row INSERT .. ON CONFLICT DO NOTHING; {client_id: id, None: [ids]}.

    Rows without a client_id get their ids in the order given: an autoincrement
    key grows in VALUES order within one statement (as SQLAlchemy's own
    insertmanyvalues sentinel logic assumes), so sorting the ids restores it.
    """
    inserted = {None: []}
    if not rows:
        return inserted
    dialect, mark = paramstyle()
    columns = "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
    conflict = " ON CONFLICT (user_id, client_id) DO NOTHING RETURNING id, client_id"
    if dialect == "postgresql":
        # Four arrays, not 6 parameters a row: PostgreSQL parses and plans one
        # short statement (a 1000-row VALUES list cost more than the insert),
        # unnest yields the rows in array order, and data (checked JSON text)
        # is parsed into JSONB once.
        returned = run(
            columns + " created_at) SELECT %s, s, r, CAST(d AS JSONB), c, %s"
            " FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[])"
            " AS given (s, r, d, c)" + conflict,
            (user_id, now_micros, *map(list, zip(*rows))),
        )
    else:
        row_sql = f"({mark}, {mark}, {mark}, {mark}, {mark}, {mark})"
        args = []
        for sensor, micros, text, client_id in rows:
            args += (user_id, sensor, micros, text, client_id, now_micros)
        returned = run(
            columns
            + " created_at) VALUES "
            + ", ".join([row_sql] * len(rows))
            + conflict,
            args,
        )
    for reading_id, client_id in sorted(returned, key=itemgetter(0)):
        if client_id is None:
            inserted[None].append(reading_id)
        else:
            inserted[client_id] = reading_id
    return inserted


def now_micros():
    """The server's time as stored: microseconds since 1970-01-01 UTC."""
    return to_micros(utcnow())


# Built once: per request only the parameters change.
_BY_ID = CompiledSelect(
    sa.select(*_columns()).where(
        T.id == sa.bindparam("reading_id"), T.user_id == sa.bindparam("user_id")
    ),
    ReadingRow,
)
_DELETE_BY_ID = (
    sa.delete(TABLE)
    .where(T.id == sa.bindparam("reading_id"), T.user_id == sa.bindparam("user_id"))
    .returning(T.sensor)
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


def delete_reading(*, user_id, reading_id):
    """Delete the user's reading, or 404."""
    sensors = set()
    if 1 <= reading_id <= BIG_ID_MAX:
        sensors = set(
            db.session.execute(
                _DELETE_BY_ID, {"reading_id": reading_id, "user_id": user_id}
            ).scalars()
        )
    if sensors and readings_deleted.receivers:
        readings_deleted.send(user_id=user_id, sensors=sensors)
    db.session.commit()
    if not sensors:
        raise not_found("reading")


def filtered(query, *, user_id, sensor=None, since=None, until=None):
    """query restricted to the user's readings matching the list filters."""
    query = query.where(T.user_id == user_id)
    if sensor is not None:
        query = query.where(T.sensor == sensor)
    if since is not None:
        query = query.where(RECORDED >= to_micros(since))
    if until is not None:
        query = query.where(RECORDED < to_micros(until))
    return query


def _page_query(
    *, user_id, after, limit, columns, sensor=None, since=None, until=None, order="desc"
):
    if after is not None:
        # A cursor inside the range already bounds that side; keeping the looser
        # bound too makes SQLite range-scan from it, re-reading every earlier page.
        if order == "desc" and until is not None and after[0] < to_micros(until):
            until = None
        if order == "asc" and since is not None and after[0] >= to_micros(since):
            since = None
    query = filtered(
        sa.select(*columns), user_id=user_id, sensor=sensor, since=since, until=until
    )
    position = sa.tuple_(RECORDED, T.id)
    if order == "asc":
        if after is not None:
            query = query.where(position > sa.tuple_(*after))
        query = query.order_by(RECORDED.asc(), T.id.asc())
    else:
        if after is not None:
            query = query.where(position < sa.tuple_(*after))
        query = query.order_by(RECORDED.desc(), T.id.desc())
    return query.limit(limit)


def list_readings(
    *, user_id, limit, sensor=None, since=None, until=None, order="desc", after=None
):
    """Rows (as ReadingRow) after the (recorded_at, id) position, and the next one."""
    query = _page_query(
        user_id=user_id,
        sensor=sensor,
        since=since,
        until=until,
        order=order,
        after=after,
        limit=limit + 1,
        columns=_columns(),
    )
    return page_after(db.session.execute(query).all(), limit, _position)


def _position(row):
    """Where a row stands in every reading order: (recorded_at, id)."""
    return row.recorded_at, row.id


def export_extent(*, user_id, sensor=None, since=None, until=None, order=None):
    """(how many readings match, the largest id among them) as an export starts."""
    query = filtered(
        sa.select(sa.func.count(), sa.func.max(T.id)),
        user_id=user_id,
        sensor=sensor,
        since=since,
        until=until,
    )
    return tuple(db.session.execute(query).one())


def iter_reading_batches(*, engine, user_id, batch_size, last_id, **filters):
    """Every matching row up to last_id (as ReadingRow), in keyset batches.

    filters are list_readings' (sensor, since, until, order). Readings stored
    after the export began (ids above last_id) are left out, so the file holds
    what export_extent counted, unless some are deleted meanwhile. No
    transaction or request context outlives a batch, so a slow download holds no
    snapshot, lock or pooled connection while the client reads. data comes back
    as JSON text, ready to be written out without a parse and a dump.
    """
    if engine.dialect.name == "postgresql":
        data = sa.cast(T.data, sa.Text)
    else:
        data = sa.type_coerce(T.data, sa.Text)
    columns = _columns(data)
    after = None
    while last_id is not None:
        query = _page_query(
            user_id=user_id, after=after, limit=batch_size, columns=columns, **filters
        ).where(T.id <= last_id)
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after = _position(rows[-1])
