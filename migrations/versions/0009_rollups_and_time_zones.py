"""rollups and time zones: users.time_zone, reading_fields, reading_rollups

users.time_zone (an IANA name, "UTC" for every existing account) sets the
local calendar of stats and habits. reading_fields records the first 32
top-level numeric fields seen per (user, sensor); reading_rollups holds their
count, sum, min and max per 15-minute slot (tier 0) and per UTC hour (tier 1).

Existing readings are rolled up here, in batches of BATCH ids, each committed
on its own with a progress line, so uploads never wait for more than one
batch's row locks. Killed halfway, the next `flask db upgrade` goes on from
the last committed batch (reading_rollups_backfill keeps the place).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:00:00

"""

import os
import sys
import time

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Readings per committed batch (MYAPP_ROLLUP_BACKFILL_BATCH to tune it).
BATCH = int(os.environ.get("MYAPP_ROLLUP_BACKFILL_BATCH", "20000"))
FIELDS_PER_SENSOR = 32
TIERS = ((0, 900 * 1_000_000), (1, 3600 * 1_000_000))


def upgrade():
    bind = op.get_bind()
    tables = set(sa.inspect(bind).get_table_names())
    if "reading_rollups_backfill" not in tables:
        _create_tables()
    _fill_fields(bind)
    with op.get_context().autocommit_block():
        _backfill(bind)
    op.drop_table("reading_rollups_backfill")


def _create_tables():
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "time_zone", sa.String(length=64), nullable=False, server_default="UTC"
            )
        )
    op.create_table(
        "reading_fields",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", _sensor(), nullable=False),
        sa.Column("field", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reading_fields_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "sensor", "field", name=op.f("pk_reading_fields")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reading_rollups",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", _sensor(), nullable=False),
        sa.Column("field", sa.String(length=256), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column(
            "total",
            sa.Float().with_variant(sa.Numeric(), "postgresql"),
            nullable=False,
        ),
        sa.Column("scaled", sa.Float(), nullable=True),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reading_rollups_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id",
            "sensor",
            "field",
            "tier",
            "start",
            name=op.f("pk_reading_rollups"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reading_rollups_backfill",
        sa.Column("last_id", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO reading_rollups_backfill (last_id) VALUES (0)")


def _run(bind, sql):
    """sql as it is: psycopg reads % as a placeholder, so it is doubled there."""
    if bind.dialect.name == "postgresql":
        sql = sql.replace("%", "%%")
    return bind.exec_driver_sql(sql)


def _sensor():
    return sa.String(length=64).with_variant(
        sa.String(length=64, collation="C"), "postgresql"
    )


def _numeric_members(dialect):
    """FROM readings r joined to its numeric top-level members (key, value)."""
    if dialect == "postgresql":
        # Numbers past a double's range are not rolled up (as in readings.rollups).
        return (
            "readings r CROSS JOIN LATERAL jsonb_each(r.data) m"
            " WHERE jsonb_typeof(m.value) = 'number'"
            " AND abs((m.value #>> '{}')::numeric) <= 1.7976931348623157e308",
            "m.key",
            "(m.value #>> '{}')::numeric",
        )
    return (
        "readings r, json_each(r.data) m WHERE m.type IN ('integer', 'real')"
        " AND abs(m.value) <= 1.7976931348623157e308",
        "m.key",
        "m.value",
    )


def _fill_fields(bind):
    """The first 32 numeric fields per (user, sensor), by the id that showed each."""
    source, key, _ = _numeric_members(bind.dialect.name)
    _run(
        bind,
        "INSERT INTO reading_fields (user_id, sensor, field)"
        " SELECT user_id, sensor, field FROM ("
        "  SELECT user_id, sensor, field, row_number() OVER ("
        "   PARTITION BY user_id, sensor ORDER BY first_id) AS position FROM ("
        f"   SELECT r.user_id, r.sensor, {key} AS field, min(r.id) AS first_id"
        f"   FROM {source} AND length({key}) <= 256"
        f"   AND replace({key}, '\"', '') = {key}"
        f"   GROUP BY r.user_id, r.sensor, {key}) seen"
        " ) ranked"
        f" WHERE position <= {FIELDS_PER_SENSOR}"
        " ON CONFLICT DO NOTHING",
    )


def _backfill(bind):
    dialect = bind.dialect.name
    source, key, value = _numeric_members(dialect)
    least, greatest = (
        ("least", "greatest") if dialect == "postgresql" else ("min", "max")
    )
    scaled = (
        "NULL" if dialect == "postgresql" else f"sum({value} * 5.421010862427522e-20)"
    )
    scaled_add = (
        "NULL"
        if dialect == "postgresql"
        else "reading_rollups.scaled + excluded.scaled"
    )
    last_id = _run(bind, "SELECT last_id FROM reading_rollups_backfill").scalar_one()
    top = _run(bind, "SELECT coalesce(max(id), 0) FROM readings").scalar()
    started = time.monotonic()
    while True:
        # The id BATCH readings on (ids may have gaps), or the last one.
        upper = _run(
            bind,
            f"SELECT coalesce((SELECT id FROM readings WHERE id > {last_id}"
            f" ORDER BY id LIMIT 1 OFFSET {BATCH - 1}),"
            f" (SELECT max(id) FROM readings), {last_id})",
        ).scalar()
        if upper <= last_id:
            return
        # Each batch is one transaction of its own (the block autocommits):
        # its rollups and its place commit together, or neither.
        _run(bind, "BEGIN")
        for tier, width in TIERS:
            slot = (
                f"(r.recorded_at - (((r.recorded_at % {width}) + {width})"
                f" % {width}))"
            )
            _run(
                bind,
                "INSERT INTO reading_rollups (user_id, sensor, field, tier,"
                " start, count, total, scaled, low, high)"
                f" SELECT r.user_id, r.sensor, {key}, {tier}, {slot}, count(*),"
                f" sum({value}), {scaled}, min({value}), max({value})"
                f" FROM {source} AND r.id > {last_id} AND r.id <= {upper}"
                " AND EXISTS (SELECT 1 FROM reading_fields f"
                "  WHERE f.user_id = r.user_id AND f.sensor = r.sensor"
                f"  AND f.field = {key})"
                f" GROUP BY r.user_id, r.sensor, {key}, {slot}"
                " ON CONFLICT (user_id, sensor, field, tier, start) DO UPDATE SET"
                " count = reading_rollups.count + excluded.count,"
                " total = reading_rollups.total + excluded.total,"
                f" scaled = {scaled_add},"
                f" low = {least}(reading_rollups.low, excluded.low),"
                f" high = {greatest}(reading_rollups.high, excluded.high)",
            )
        _run(bind, f"UPDATE reading_rollups_backfill SET last_id = {upper}")
        _run(bind, "COMMIT")
        last_id = upper
        print(
            f"rollups: readings up to id {last_id} of {max(top, last_id)} rolled up"
            f" ({time.monotonic() - started:.1f} s)",
            file=sys.stderr,
        )


def downgrade():
    op.drop_table("reading_rollups")
    op.drop_table("reading_fields")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
