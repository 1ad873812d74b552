"""measured goals share one aggregate per series and period

goal_series: per (user, sensor, field, period) the tally of each period after
the earliest habit's first one, shared by every habit on it. goal_measures
keeps one row per target: its head (all of a target without period, or a
habit's first period from started_at on). Existing rows move: a habit's
periods after its first are its series' periods (every habit on a series has
the same tally there, so any one of them gives it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TALLY = "readings, numbers, total, low, high, last_value, last_at, last_id"


def upgrade():
    op.create_table(
        "goal_series",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=256), nullable=False),
        sa.Column("period", sa.String(length=5), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("readings", sa.BigInteger(), nullable=False),
        sa.Column("numbers", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_at", sa.BigInteger(), nullable=True),
        sa.Column("last_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_goal_series_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id",
            "sensor",
            "field",
            "period",
            "bucket",
            name=op.f("pk_goal_series"),
        ),
    )
    # The habit with the greatest goal id on each series gives its periods.
    op.execute(
        "INSERT INTO goal_series (user_id, sensor, field, period, bucket, "
        + TALLY
        + ") SELECT t.user_id, t.sensor, t.field, t.period, m.bucket, "
        + ", ".join(f"m.{name}" for name in TALLY.split(", "))
        + " FROM goal_measures m JOIN goal_targets t ON t.goal_id = m.goal_id"
        " WHERE t.period IS NOT NULL AND m.bucket > t.since_bucket"
        " AND t.goal_id = (SELECT max(o.goal_id) FROM goal_targets o"
        " JOIN goal_measures om ON om.goal_id = o.goal_id AND om.bucket = m.bucket"
        " WHERE o.user_id = t.user_id AND o.sensor = t.sensor"
        " AND o.field = t.field AND o.period = t.period"
        " AND om.bucket > o.since_bucket)"
    )
    op.execute(
        "DELETE FROM goal_measures WHERE bucket <> (SELECT CASE WHEN t.period IS NULL"
        " THEN 0 ELSE t.since_bucket END FROM goal_targets t"
        " WHERE t.goal_id = goal_measures.goal_id)"
    )


def _met(row):
    """SQL: whether a goal_series row meets its target t."""
    value = (
        f"CASE t.aggregate WHEN 'count' THEN {row}.readings"
        f" WHEN 'sum' THEN {row}.total WHEN 'min' THEN {row}.low"
        f" WHEN 'max' THEN {row}.high"
        f" WHEN 'avg' THEN {row}.total / NULLIF({row}.numbers, 0)"
        f" ELSE {row}.last_value END"
    )
    false = sa.false().compile(dialect=op.get_bind().dialect)
    return (
        f"COALESCE(CASE WHEN t.op = '>=' THEN {value} >= t.value"
        f" ELSE {value} <= t.value END, {false})"
    )


def downgrade():
    op.execute(
        "INSERT INTO goal_measures (goal_id, bucket, "
        + TALLY
        + ", met) SELECT t.goal_id, s.bucket, "
        + ", ".join(f"s.{name}" for name in TALLY.split(", "))
        + f", {_met('s')} FROM goal_series s JOIN goal_targets t"
        " ON t.user_id = s.user_id AND t.sensor = s.sensor AND t.field = s.field"
        " AND t.period = s.period AND s.bucket > t.since_bucket"
    )
    op.drop_table("goal_series")
