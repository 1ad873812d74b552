"""Every feature's rows belong to a user, whose row serialises that user's writes.

The users feature hands in its table and its name lookup at start-up
(users.init_app), so the core knows no feature. Features lock a user's writes
with lock_owner, and cap their rows per user with at_most, under that lock.
"""

from typing import NamedTuple

import sqlalchemy as sa
from blinker import Namespace

from myapp.db import db
from myapp.errors import conflict

# PostgreSQL row-lock strengths on the user's row (with_for_update arguments).
UPDATE = {}  # FOR UPDATE: also waits for inserts that reference the user
NO_KEY_UPDATE = {"key_share": True}  # inserts elsewhere that reference the user go on
KEY_SHARE = {"read": True, "key_share": True}  # only against the two above

_owners = {"table": None, "find": None}
# time_zone_changed.send(user_id=..., time_zone=..., previous=...): inside the
# transaction that changes it (previous: the zone before), so what features
# recompute commits with it.
time_zone_changed = Namespace().signal("time-zone-changed")


def use(*, table, find):
    """The owners' table (an id column), and find(login=) -> a user's id or None."""
    _owners.update(table=table, find=find)


def time_zone_of(*, user_id):
    """The user's IANA time zone (UTC for a user that no longer exists)."""
    owners = _owners["table"]
    found = db.session.execute(
        sa.select(owners.c.time_zone).where(owners.c.id == user_id)
    ).scalar_one_or_none()
    return found or "UTC"


class Mailbox(NamedTuple):
    """Where a user's email goes: the address, whether it is verified, the zone."""

    email: str
    verified: bool
    time_zone: str


def mailbox_of(*, user_id):
    """The user's Mailbox as it is now, or None for a user that no longer exists."""
    owners = _owners["table"]
    found = db.session.execute(
        sa.select(owners.c.email, owners.c.email_verified, owners.c.time_zone).where(
            owners.c.id == user_id
        )
    ).first()
    return None if found is None else Mailbox(found[0], bool(found[1]), found[2])


def find_owner(*, login):
    """The id of the user a login name names, or None."""
    return _owners["find"](login=login)


def owner_exists(*, user_id):
    """Whether the user exists (an admin asking after another user)."""
    owners = _owners["table"]
    found = db.session.execute(sa.select(owners.c.id).where(owners.c.id == user_id))
    return found.first() is not None


def lock_owner(*, user_id, strength=NO_KEY_UPDATE):
    """Serialise with the user's other writers; False if already held (SQLite).

    SQLite has one writer: its write lock, taken at once (BEGIN IMMEDIATE)
    unless this transaction already writes. PostgreSQL locks the user's row.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        if connection.connection.dbapi_connection.in_transaction:
            return False
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return True
    owners = _owners["table"]
    db.session.execute(
        sa.select(owners.c.id).where(owners.c.id == user_id).with_for_update(**strength)
    )
    return True


def at_most(table, *, user_id, limit, message, strength=NO_KEY_UPDATE):
    """409 with message if the user has limit rows in table already.

    Counted under the user's lock, taken here and held to the commit, so of
    racing creates exactly as many pass as the limit leaves room for.
    """
    lock_owner(user_id=user_id, strength=strength)
    count = db.session.execute(
        sa.select(sa.func.count()).select_from(table).where(table.c.user_id == user_id)
    ).scalar_one()
    if count >= limit:
        raise conflict(message)
