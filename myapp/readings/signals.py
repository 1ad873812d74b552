"""What other features hear about readings, inside the transaction that writes them.

Receivers (alerts judge rules, measured goals re-evaluate targets) run SQL on
db.session before the COMMIT, so what they write commits with the readings,
and an exception from one rolls the whole request back. A receiver must cost
next to nothing when the user has nothing watching the request's sensors: one
indexed query per request, not one per reading.
"""

from typing import NamedTuple

from blinker import Namespace

_signals = Namespace()

# readings_stored.send(user_id=..., readings=[StoredReading, ...]): the newly
# stored readings of one upload, in input order (a batch in its item order); a
# repeated client_id is not stored again and not sent. Sent only when at least
# one reading was stored.
readings_stored = _signals.signal("readings-stored")

# readings_deleted.send(user_id=..., sensors={...}, deleted=[(sensor,
# recorded_at micros), ...]): these readings were deleted by their owner.
# Deleting a user cascades in the database, and retention's pruning keeps
# what readings counted: neither sends anything.
readings_deleted = _signals.signal("readings-deleted")

# readings_pruned.send(user_id=..., sensor=..., readings=[PrunedReading, ...]):
# retention is about to delete these raw readings of one sensor, in the same
# transaction; what a feature counted from them must outlive them.
readings_pruned = _signals.signal("readings-pruned")


class StoredReading(NamedTuple):
    """A reading just stored; times in microseconds since 1970-01-01 UTC."""

    id: int
    sensor: str
    recorded_at: int
    data: dict
    created_at: int
    device_id: int | None
    client_id: str | None = None


class PrunedReading(NamedTuple):
    """A reading retention prunes; recorded_at in microseconds since 1970 UTC."""

    id: int
    recorded_at: int
    data: dict
