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

from myapp.owners import KEY_SHARE, NO_KEY_UPDATE, UPDATE, lock_owner

TREE = NO_KEY_UPDATE
TARGETS = UPDATE
READINGS = KEY_SHARE


def lock_goals(*, user_id, strength=TREE):
    """Take the user's goals lock; False if the transaction held it already (SQLite)."""
    return lock_owner(user_id=user_id, strength=strength)
