"""Rollups rebuilt from the raw readings, one user at a time, in SQL.

For readings that reached the table without the app (a bulk load, a restore,
uploads by an old release during a deploy): each user's fields and rollups are
recomputed in one transaction under that user's lock, so their uploads wait
for it and none is counted twice or lost. Migration 0009 holds its own copy of
these statements, as a migration must: it may not import the app.
"""

import sqlalchemy as sa

from myapp.db import db
from myapp.owners import lock_owner
from myapp.readings.rollups import FIELDS, FIELDS_PER_SENSOR, ROLLUPS, SCALE, TIERS

DOUBLE_MAX = "1.7976931348623157e308"


def _members(dialect):
    """FROM readings joined to its numeric top-level members, and key, value."""
    if dialect == "postgresql":
        return (
            "readings r CROSS JOIN LATERAL jsonb_each(r.data) m"
            " WHERE jsonb_typeof(m.value) = 'number'"
            f" AND abs((m.value #>> '{{}}')::numeric) <= {DOUBLE_MAX}",
            "m.key",
            "(m.value #>> '{}')::numeric",
        )
    return (
        "readings r, json_each(r.data) m WHERE m.type IN ('integer', 'real')"
        f" AND abs(m.value) <= {DOUBLE_MAX}",
        "m.key",
        "m.value",
    )


def _statements(dialect):
    """The fields and the rollups INSERTs for one user (:user_id)."""
    source, key, value = _members(dialect)
    fields = (
        "INSERT INTO reading_fields (user_id, sensor, field)"
        " SELECT user_id, sensor, field FROM ("
        " SELECT user_id, sensor, field, row_number() OVER ("
        "  PARTITION BY user_id, sensor ORDER BY first_id) AS position FROM ("
        f"  SELECT r.user_id, r.sensor, {key} AS field, min(r.id) AS first_id"
        f"  FROM {source} AND r.user_id = :user_id AND length({key}) <= 256"
        f"  AND replace({key}, '\"', '') = {key}"
        f"  GROUP BY r.user_id, r.sensor, {key}) seen) ranked"
        f" WHERE position <= {FIELDS_PER_SENSOR}"
    )
    scaled = "NULL" if dialect == "postgresql" else f"sum({value} * {SCALE!r})"
    (_, quarter), (_, hour) = TIERS
    slot = f"(r.recorded_at - (((r.recorded_at % {quarter}) + {quarter}) % {quarter}))"
    quarters = (
        "INSERT INTO reading_rollups (user_id, sensor, field, tier, start,"
        " count, total, scaled, low, high)"
        f" SELECT r.user_id, r.sensor, {key}, 0, {slot}, count(*),"
        f" sum({value}), {scaled}, min({value}), max({value})"
        f" FROM {source} AND r.user_id = :user_id"
        " AND EXISTS (SELECT 1 FROM reading_fields f"
        "  WHERE f.user_id = r.user_id AND f.sensor = r.sensor"
        f"  AND f.field = {key})"
        f" GROUP BY r.user_id, r.sensor, {key}, {slot}"
    )
    # Hours from their quarters: one pass over the readings, not two.
    start = f"(start - (((start % {hour}) + {hour}) % {hour}))"
    hours = (
        "INSERT INTO reading_rollups (user_id, sensor, field, tier, start,"
        " count, total, scaled, low, high)"
        f" SELECT user_id, sensor, field, 1, {start}, sum(count), sum(total),"
        " sum(scaled), min(low), max(high) FROM reading_rollups"
        " WHERE user_id = :user_id AND tier = 0"
        f" GROUP BY user_id, sensor, field, {start}"
    )
    return fields, [quarters, hours]


def rebuild_user(*, user_id):
    """Recompute one user's rolled-up fields and rollups; commits."""
    dialect = db.session.get_bind().dialect.name
    fields, rollups = _statements(dialect)
    lock_owner(user_id=user_id)
    if dialect == "postgresql":  # a user's whole history may take minutes
        db.session.execute(sa.text("SET LOCAL statement_timeout = 0"))
    for table in (ROLLUPS, FIELDS):
        db.session.execute(sa.delete(table).where(table.c.user_id == user_id))
    for statement in [fields, *rollups]:
        db.session.execute(sa.text(statement), {"user_id": user_id})
    db.session.commit()


def users_with_readings():
    """Ids of every user that has readings, in order."""
    found = db.session.execute(sa.text("SELECT DISTINCT user_id FROM readings"))
    return sorted(found.scalars())
