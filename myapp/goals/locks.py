"""The per-user goals lock: what tree writes, target changes and uploads to
watched sensors hold, so each sees one tree and one set of targets.

SQLite has one writer: the lock is its write lock, taken at once (BEGIN
IMMEDIATE) unless the transaction already writes. PostgreSQL locks the user's
row, in one of three strengths:

- TREE (FOR NO KEY UPDATE): tree writes and uploads adding to targets; inserts
  elsewhere that only reference the user (readings, sessions) go on.
- TARGETS (FOR UPDATE): setting or removing a target. It also waits for the
  user's uploads in flight (their INSERT holds the row KEY SHARE) and holds
  new ones back, so the target's recompute counts exactly the committed
  readings and every later upload finds the target.
- READINGS (FOR KEY SHARE): a deletion of readings, before it looks for
  targets, so a target being set waits for it (or it for the target).
"""

import sqlalchemy as sa

from myapp.db import db
from myapp.users.models import User

TREE = {"key_share": True}
TARGETS = {}
READINGS = {"read": True, "key_share": True}


def lock_goals(*, user_id, strength=TREE):
    """Take the user's goals lock; False if the transaction held it already (SQLite)."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw.in_transaction:
            return False
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return True
    db.session.execute(
        sa.select(User.id).where(User.id == user_id).with_for_update(**strength)
    )
    return True
