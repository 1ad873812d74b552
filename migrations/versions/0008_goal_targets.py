"""goal targets: measured goals and their running aggregates per period

goal_targets holds a goal's optional target (one per goal, gone with it);
goal_measures the running aggregates of each target, one row per bucket (the
whole time, or one UTC day, week or month of a habit), kept up to date in the
transactions that write readings.

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-26 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "goal_targets",
        sa.Column("goal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=256), nullable=False),
        sa.Column("aggregate", sa.String(length=5), nullable=False),
        sa.Column("op", sa.String(length=2), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("period", sa.String(length=5), nullable=True),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("since_bucket", sa.Integer(), nullable=False),
        sa.Column("empty_met", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "aggregate IN ('sum', 'count', 'min', 'max', 'avg', 'last')",
            name=op.f("ck_goal_targets_aggregate_known"),
        ),
        sa.CheckConstraint("op IN ('>=', '<=')", name=op.f("ck_goal_targets_op_known")),
        sa.CheckConstraint(
            "period IS NULL OR period IN ('day', 'week', 'month')",
            name=op.f("ck_goal_targets_period_known"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id", "goal_id"],
            ["goals.user_id", "goals.id"],
            name="fk_goal_targets_user_id_goal_id_goals",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("goal_id", name=op.f("pk_goal_targets")),
    )
    op.create_index(
        "ix_goal_targets_user_id_sensor",
        "goal_targets",
        ["user_id", "sensor"],
        unique=False,
    )
    op.create_table(
        "goal_measures",
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("readings", sa.BigInteger(), nullable=False),
        sa.Column("numbers", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_at", sa.BigInteger(), nullable=True),
        sa.Column("last_id", sa.BigInteger(), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["goal_targets.goal_id"],
            name=op.f("fk_goal_measures_goal_id_goal_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("goal_id", "bucket", name=op.f("pk_goal_measures")),
    )


def downgrade():
    op.drop_table("goal_measures")
    op.drop_index("ix_goal_targets_user_id_sensor", table_name="goal_targets")
    op.drop_table("goal_targets")
