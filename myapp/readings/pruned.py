"""The client_ids of readings retention pruned: kept, so a late retry is a repeat.

One row per pruned reading that had a client_id: 16 bytes of UUID and the
reading's id, keyed by (user_id, client_id). A prune records them in the
transaction that deletes the readings; an upload checks its new client_ids
against them after its INSERT (forget_repeats), so nothing is stored or
counted twice.
"""

from typing import NamedTuple

import sqlalchemy as sa

from myapp.db import db
from myapp.errors import not_found
from myapp.rawsql import marks, paramstyle, run, run_many
from myapp.readings.models import PrunedClientId
from myapp.readings.rows import READINGS

PRUNED = PrunedClientId.__table__

# Driver-level: compiling a 1000-row statement in SQLAlchemy cost more than
# running it.
_RECORD = (
    "INSERT INTO readings_pruned_ids (user_id, client_id, reading_id)"
    " VALUES ({marks}) ON CONFLICT DO NOTHING"
)


def record_client_ids(*, user_id, rows):
    """Keep the client_ids (16 bytes each) of rows (id, client_id) a prune is
    deleting; two pruners never take one reading, but a batch retried after a
    lost COMMIT may meet its own."""
    values = [
        (user_id, _key(row.client_id), row.id)
        for row in rows
        if row.client_id is not None
    ]
    if values:
        _, mark = paramstyle()
        run_many(_RECORD.format(marks=marks(mark, 3)), values)


def _key(client_id):
    """A canonical UUID text's 16 bytes (what uuid.UUID(...).bytes gives, faster)."""
    return bytes.fromhex(client_id.replace("-", ""))


_ANY = "SELECT 1 FROM readings_pruned_ids WHERE user_id = {mark} LIMIT 1"
_FIND = (
    "SELECT client_id, reading_id FROM readings_pruned_ids"
    " WHERE user_id = {mark} AND client_id IN ({marks})"
)


def pruned_ids(*, user_id, client_ids):
    """{client_id: reading id} of those client_ids whose readings were pruned.

    Driver-level, and first whether the user has any at all: an upload of a
    user nothing was pruned for pays one index probe, not a 1000-item IN.
    """
    if not client_ids:
        return {}
    _, mark = paramstyle()
    if not run(_ANY.format(mark=mark), (user_id,)):
        return {}
    keys = {_key(c): c for c in client_ids}
    found = run(_FIND.format(mark=mark, marks=marks(mark, len(keys))), (user_id, *keys))
    return {keys[bytes(key)]: reading_id for key, reading_id in found}


class PrunedReading(NamedTuple):
    """What a repeated client_id answers once retention pruned its reading."""

    id: int
    client_id: str
    pruned: bool = True


def pruned_reading(*, user_id, client_id):
    """The PrunedReading of a client_id, or 404 (its reading was deleted)."""
    found = pruned_ids(user_id=user_id, client_ids=[client_id])
    if not found:
        raise not_found("reading")
    return PrunedReading(found[client_id], client_id)


def forget_repeats(*, user_id, inserted, existing):
    """Undo the insert of readings whose client_id a prune recorded: repeats.

    Checked after the INSERT, in its transaction: a prune that committed
    before it is seen here (and one still under way made the INSERT wait), so
    a late retry is never stored or counted again. Moves them from inserted
    ({client_id: id}) to existing. One indexed query per upload with client_ids.
    """
    pruned = pruned_ids(
        user_id=user_id, client_ids=[c for c in inserted if c is not None]
    )
    if not pruned:
        return
    ours = [inserted.pop(client_id) for client_id in pruned]
    db.session.execute(sa.delete(READINGS).where(READINGS.c.id.in_(ours)))
    existing.update(pruned)
