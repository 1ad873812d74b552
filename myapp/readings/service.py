"""Readings' write path: store uploads (safe to retry), delete, keep latest."""

from operator import itemgetter

import sqlalchemy as sa

from myapp.columns import BIG_ID_MAX
from myapp.db import db, utcnow

# Called, not signalled: a device's scope and last use are part of its upload.
from myapp.devices.uploads import (
    device_id_of,
    has_patterns,
    note_use,
    out_of_scope,
    refuse_if_deleted,
)
from myapp.errors import ValidationFailed, conflict, not_found
from myapp.metrics import count_after_commit
from myapp.readings.metrics import READINGS_STORED, ROLLUP_SECONDS
from myapp.micros import MIN_MICROS, to_micros
from myapp.rawsql import marks, paramstyle, run
from myapp.readings import pruned, rollups
from myapp.readings.checks import client_id_of, new_reading
from myapp.readings.queries import find_reading
from myapp.readings.rows import READINGS, RECORDED, ReadingRow
from myapp.readings.signals import StoredReading, readings_deleted, readings_stored


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


def _pointer(in_batch, index, field):
    return f"/readings/{index}/{field}" if in_batch else f"/{field}"


def store_reading(*, caller, item):
    """Store one reading: (the ReadingRow, True), or (the one stored first, False).

    A client_id stored before answers the reading stored under it first.
    """
    now = now_micros()
    rows = new_readings(items=[item], now_micros=now, in_batch=False)
    (reading_id,), (created,) = store_readings(
        caller=caller, rows=rows, items=[item], now_micros=now, in_batch=False
    )
    if not created:
        found = find_reading(user_id=caller.user_id, reading_id=reading_id)
        if found is None:  # retention pruned it (or it was deleted just now)
            found = pruned.pruned_reading(user_id=caller.user_id, client_id=rows[0][3])
        return found, False
    sensor, recorded_at, _, client_id = rows[0]
    stored = ReadingRow(
        reading_id,
        sensor,
        recorded_at,
        item["data"],
        client_id,
        device_id_of(caller),
        now,
    )
    return stored, True


def store_batch(*, caller, items):
    """Store items all or nothing: (id per item in input order, how many are new)."""
    now = now_micros()
    rows = new_readings(items=items, now_micros=now)
    ids, created = store_readings(caller=caller, rows=rows, items=items, now_micros=now)
    return ids, sum(created)


def store_readings(*, caller, rows, items, now_micros, in_batch=True):
    """Store new_readings rows all or nothing; (id, created) each, in input order.

    One INSERT .. ON CONFLICT (user_id, client_id) DO NOTHING stores every new
    row; a client_id it skips (stored before, or by a concurrent request that
    won the race) is then looked up, so it maps to the reading stored first.
    items are the request's readings the rows came from (their parsed data goes
    to readings_stored's receivers, in the same transaction). A device key may
    write only its sensors, and may not learn of a reading of another sensor
    through its client_id: either is a 403 naming the items, nothing stored.
    """
    user_id, device_id = caller.user_id, device_id_of(caller)
    out_of_scope(
        caller,
        ((row[0], _pointer(in_batch, n, "sensor")) for n, row in enumerate(rows)),
    )
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
        try:
            batch = _insert(user_id, device_id, pending, now_micros)
        except sa.exc.IntegrityError:
            db.session.rollback()
            refuse_if_deleted(caller)  # its device deleted since the key check
            raise
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
    pruned.forget_repeats(user_id=user_id, inserted=inserted, existing=existing)
    if existing and has_patterns(caller):
        _check_scope_of_stored(caller, rows, existing, in_batch)
    ids, created = _answers(slots, fresh, inserted, existing)
    _keep_latest(user_id, rows, ids, created)
    with ROLLUP_SECONDS.time():
        rollups.add_readings(user_id=user_id, readings=_new(rows, items, created))
    note_use(caller, now_micros)
    if readings_stored.receivers and any(created):
        readings_stored.send(
            user_id=user_id,
            readings=_stored(rows, items, ids, created, now_micros, device_id),
        )
    count_after_commit(READINGS_STORED, sum(map(bool, created)))
    db.session.commit()
    return ids, created


def _check_scope_of_stored(caller, rows, existing, in_batch):
    """403 for each item whose client_id names a stored reading out of scope."""
    sensors = dict(
        db.session.execute(
            sa.select(READINGS.c.client_id, READINGS.c.sensor).where(
                READINGS.c.user_id == caller.user_id,
                READINGS.c.client_id.in_(list(existing)),
            )
        ).all()
    )
    out_of_scope(
        caller,
        (
            (sensors.get(client_id_of(row), row[0]), _pointer(in_batch, n, "client_id"))
            for n, row in enumerate(rows)
            if client_id_of(row) in existing
        ),
    )


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


# A newer reading replaces a sensor's row in readings_latest; an older one or a
# tie with a lower id changes nothing, so concurrent uploads settle on the max.
_UPSERT_LATEST = (
    "INSERT INTO readings_latest (user_id, sensor, recorded_at, reading_id)"
    " VALUES {values} ON CONFLICT (user_id, sensor) DO UPDATE SET"
    " recorded_at = excluded.recorded_at, reading_id = excluded.reading_id"
    " WHERE (excluded.recorded_at, excluded.reading_id)"
    " > (readings_latest.recorded_at, readings_latest.reading_id)"
)


def _keep_latest(user_id, rows, ids, created):
    """Put each sensor's newest new reading into readings_latest (one statement).

    Sensors in sorted order: concurrent uploads lock their rows in one order.
    """
    newest = {}
    for (sensor, recorded_at, _, _), reading_id, new in zip(rows, ids, created):
        if new and (recorded_at, reading_id) > newest.get(sensor, (MIN_MICROS, 0)):
            newest[sensor] = (recorded_at, reading_id)
    if not newest:
        return
    _, mark = paramstyle()
    args = []
    for sensor in sorted(newest):
        args += (user_id, sensor, *newest[sensor])
    values = ", ".join([f"({marks(mark, 4)})"] * len(newest))
    run(_UPSERT_LATEST.format(values=values), args)


def _new(rows, items, created):
    """(sensor, recorded_at, data) of each newly stored reading, in input order."""
    return [
        (row[0], row[1], item["data"])
        for row, item, new in zip(rows, items, created)
        if new
    ]


def _stored(rows, items, ids, created, now_micros, device_id):
    """The newly stored readings, in input order, as readings_stored sends them."""
    return [
        StoredReading(
            reading_id,
            row[0],
            row[1],
            item["data"],
            now_micros,
            device_id,
            row[3],
        )
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
        sa.select(READINGS.c.client_id, READINGS.c.id).where(
            READINGS.c.user_id == user_id, READINGS.c.client_id.in_(client_ids)
        )
    )
    return dict(found.all())


def _insert(user_id, device_id, rows, now_micros):
    """One multi-row INSERT .. ON CONFLICT DO NOTHING; {client_id: id, None: [ids]}.

    Rows without a client_id get their ids in the order given: an autoincrement
    key grows in VALUES order within one statement (as SQLAlchemy's own
    insertmanyvalues sentinel logic assumes), so sorting the ids restores it.
    """
    inserted = {None: []}
    if not rows:
        return inserted
    dialect, mark = paramstyle()
    columns = (
        "INSERT INTO readings (user_id, sensor, recorded_at, data, client_id,"
        " created_at, device_id)"
    )
    conflict = " ON CONFLICT (user_id, client_id) DO NOTHING RETURNING id, client_id"
    if dialect == "postgresql":
        # Four arrays, not 7 parameters a row: PostgreSQL parses and plans one
        # short statement (a 1000-row VALUES list cost more than the insert),
        # and data (checked JSON text) is parsed into JSONB once. ORDER BY the
        # ordinality: ids are drawn in input order, as SQLAlchemy's
        # insertmanyvalues relies on, whatever order RETURNING gives them in.
        returned = run(
            columns + " SELECT %s, s, r, CAST(d AS JSONB), c, %s, %s"
            " FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[])"
            " WITH ORDINALITY AS given (s, r, d, c, n) ORDER BY n" + conflict,
            (user_id, now_micros, device_id, *map(list, zip(*rows))),
        )
    else:
        row_sql = f"({marks(mark, 7)})"
        args = []
        for sensor, micros, text, client_id in rows:
            args += (user_id, sensor, micros, text, client_id, now_micros, device_id)
        returned = run(
            columns + " VALUES " + ", ".join([row_sql] * len(rows)) + conflict, args
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


_DELETE_BY_ID = (
    sa.delete(READINGS)
    .where(
        READINGS.c.id == sa.bindparam("reading_id"),
        READINGS.c.user_id == sa.bindparam("user_id"),
    )
    .returning(READINGS.c.sensor, RECORDED, READINGS.c.data)
)
# After a sensor's newest reading is deleted (its readings_latest row went with
# it, by the foreign key), the next newest takes its place; else nothing.
_REFILL_LATEST = sa.text(
    "INSERT INTO readings_latest (user_id, sensor, recorded_at, reading_id)"
    " SELECT user_id, sensor, recorded_at, id FROM readings"
    " WHERE user_id = :user_id AND sensor = :sensor"
    " ORDER BY recorded_at DESC, id DESC LIMIT 1"
    " ON CONFLICT (user_id, sensor) DO NOTHING"
)


def delete_reading(*, user_id, reading_id):
    """Delete the user's reading, or 404."""
    deleted = []
    if 1 <= reading_id <= BIG_ID_MAX:
        deleted = db.session.execute(
            _DELETE_BY_ID, {"reading_id": reading_id, "user_id": user_id}
        ).all()
    sensors = {sensor for sensor, _, _ in deleted}
    rollups.remove_readings(user_id=user_id, readings=deleted)
    for sensor in sensors:
        db.session.execute(_REFILL_LATEST, {"user_id": user_id, "sensor": sensor})
    if sensors and readings_deleted.receivers:
        readings_deleted.send(
            user_id=user_id,
            sensors=sensors,
            deleted=[(sensor, at) for sensor, at, _ in deleted],
        )
    db.session.commit()
    if not sensors:
        raise not_found("reading")
