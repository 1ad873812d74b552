"""Alert rows as the package passes them around, and how rules are read and locked.

Judging is serialized per rule: whoever changes a rule's state (an upload, a
PATCH, the silence check) first locks its row for the rest of the transaction.
PostgreSQL: SELECT ... FOR NO KEY UPDATE, in id order so two lockers never
deadlock; rows that only reference a rule (the worker's attempts) go on.
SQLite has one writer: a transaction that has written holds the database's
write lock, so a transaction that has not yet written starts with a write.
"""

from typing import NamedTuple

import sqlalchemy as sa

from myapp.alerts.models import AlertRule
from myapp.db import db
from myapp.rawsql import marks, paramstyle, run

RULES = AlertRule.__table__


class RuleRow(NamedTuple):
    id: int
    user_id: int
    name: str
    sensor: str
    kind: str
    condition: dict
    webhook_url: str | None
    webhook_secret: str | None
    email: bool
    cooldown_seconds: int
    state: str
    state_since: int
    due_at: int | None
    event_count: int
    created_at: int
    updated_at: int


class Change(NamedTuple):
    """A state change to record as an event: FIRING or RESOLVED at a time.

    changes: how many state changes it stands for (an upload's last recorded
    event carries all that upload caused).
    """

    state: str
    at: int
    reading_id: int | None
    value: object
    changes: int = 1


RULE_COLUMNS = [RULES.c[name] for name in RuleRow._fields]


def rules(*where, order=True):
    """The rules matching where, as RuleRows (in id order)."""
    query = sa.select(*RULE_COLUMNS).where(*where)
    if order:
        query = query.order_by(RULES.c.id)
    return [RuleRow._make(row) for row in db.session.execute(query)]


def any_rule_on(*, user_id, sensors):
    """Whether the user has a rule on any of these sensors: one indexed probe on
    the driver's cursor (most uploads are watched by none; SQLAlchemy's
    execution of the full rule query cost them a third of their CPU)."""
    _, mark = paramstyle()
    sql = (
        f"SELECT 1 FROM alert_rules WHERE user_id = {mark}"
        f" AND sensor IN ({marks(mark, len(sensors))}) LIMIT 1"
    )
    return bool(run(sql, [user_id, *sensors]))


def rules_for_update(*where, skip_locked=False):
    """The rules matching where, in id order, locked until the transaction ends.

    skip_locked (PostgreSQL): leave out rules another transaction holds.
    """
    query = sa.select(*RULE_COLUMNS).where(*where).order_by(RULES.c.id)
    if _dialect() == "sqlite":
        if not _writing():
            # Takes the write lock before the read (no row needs to change).
            db.session.execute(sa.update(RULES).where(*where).values(id=RULES.c.id))
    else:
        query = query.with_for_update(skip_locked=skip_locked, key_share=True)
    return [RuleRow._make(row) for row in db.session.execute(query)]


def _dialect():
    return db.session.get_bind().dialect.name


def _writing():
    """SQLite: this session's transaction has written (so it holds the lock)."""
    return db.session.connection().connection.dbapi_connection.in_transaction
