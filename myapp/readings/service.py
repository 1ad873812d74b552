"""Reading rules and queries: deduplicated bulk upload, keyset pages, export."""

from operator import itemgetter

import sqlalchemy as sa

from myapp.db import db, utcnow
from myapp.errors import ValidationFailed, conflict, not_found
from myapp.prepared import Prepared, paramstyle, run
from myapp.readings.checks import INT_MAX, prepare
from myapp.readings.models import Reading, to_micros

TABLE = Reading.__table__
T = TABLE.c
# Plain integers out of the EpochMicros columns: the serializers format them.
RECORDED = sa.type_coerce(T.recorded_at, sa.BigInteger)
CREATED = sa.type_coerce(T.created_at, sa.BigInteger)
COLUMNS = (T.id, T.sensor, RECORDED, T.data, T.client_id, CREATED)


def prepare_rows(*, items, now_micros, in_batch=True):
    """Row values of every item, or a 400 naming each offending item and field.

    Pointers are /readings/<index>/<field> in a batch, /<field> for one reading.
    """
    errors = []
    rows = [
        prepare(item, ["readings", index] if in_batch else [], now_micros, errors)
        for index, item in enumerate(items)
    ]
    if errors:
        raise ValidationFailed(errors, "The request body failed validation.")
    return rows


def store_readings(*, user_id, rows, now_micros):
    """Store rows all or nothing; (id per row, created per row) in input order.

    One INSERT .. ON CONFLICT (user_id, client_id) DO NOTHING stores every new
    row; a client_id it skips (stored before, or by a concurrent request that
    won the race) is then looked up, so it maps to the reading stored first.
    """
    slots = []  # per row: the index of its first occurrence in fresh
    fresh = []
    first_slot = {}
    for sensor, micros, text, client_id in rows:
        if client_id is not None:
            if client_id in first_slot:
                slots.append(first_slot[client_id])
                continue
            first_slot[client_id] = len(fresh)
        slots.append(len(fresh))
        fresh.append((sensor, micros, text, client_id))
    # Key order: racing batches then wait on each other's keys without deadlock.
    pending = sorted(fresh, key=lambda row: (row[3] is None, row[3] or ""))
    inserted, existing = {None: []}, {}
    for _ in range(3):
        batch = _insert(user_id, pending, now_micros)
        inserted[None] += batch.pop(None)
        inserted.update(batch)
        skipped = {row[3] for row in pending if row[3] is not None} - batch.keys()
        existing.update(_stored_ids(user_id, list(skipped)))
        # A skipped reading deleted before we could read it: store ours after all.
        vanished = skipped - existing.keys()
        pending = [row for row in pending if row[3] in vanished]
        if not pending:
            break
    else:
        raise conflict("Concurrent changes to these client_ids; retry the request.")
    db.session.commit()
    ids, created = [], []
    seen = set()
    anonymous = iter(inserted[None])
    for slot in slots:
        client_id = fresh[slot][3]
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
_BY_ID = Prepared(
    sa.select(*COLUMNS).where(
        T.id == sa.bindparam("reading_id"), T.user_id == sa.bindparam("user_id")
    )
)
_DELETE_BY_ID = sa.delete(TABLE).where(
    T.id == sa.bindparam("reading_id"), T.user_id == sa.bindparam("user_id")
)


def find_reading(*, user_id, reading_id):
    """The user's reading as a row, or None (another user's reading too)."""
    if not 1 <= reading_id <= INT_MAX:
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
    deleted = 0
    if 1 <= reading_id <= INT_MAX:
        deleted = db.session.execute(
            _DELETE_BY_ID, {"reading_id": reading_id, "user_id": user_id}
        ).rowcount
    db.session.commit()
    if not deleted:
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


def _page_query(*, user_id, sensor, since, until, order, after, limit, columns=COLUMNS):
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
    """A page of rows after the (recorded_at, id) position, and the next position."""
    rows = db.session.execute(
        _page_query(
            user_id=user_id,
            sensor=sensor,
            since=since,
            until=until,
            order=order,
            after=after,
            limit=limit + 1,
        )
    ).all()
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], (last[2], last[0])
    return rows, None


def iter_reading_batches(
    *, engine, user_id, batch_size, sensor=None, since=None, until=None, order="desc"
):
    """Every matching row, in keyset batches, each read on a short-lived connection.

    No transaction or request context outlives a batch, so a slow download holds
    no snapshot, lock or pooled connection while the client reads. data comes
    back as JSON text, ready to be written out without a parse and a dump.
    """
    if engine.dialect.name == "postgresql":
        data = sa.cast(T.data, sa.Text)
    else:
        data = sa.type_coerce(T.data, sa.Text)
    columns = (T.id, T.sensor, RECORDED, data, T.client_id, CREATED)
    after = None
    while True:
        query = _page_query(
            user_id=user_id,
            sensor=sensor,
            since=since,
            until=until,
            order=order,
            after=after,
            limit=batch_size,
            columns=columns,
        )
        with engine.connect() as connection:
            rows = connection.execute(query).all()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after = (rows[-1][2], rows[-1][0])
