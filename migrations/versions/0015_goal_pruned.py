"""measured goals keep the tallies of pruned readings

goal_pruned: per (user, sensor, field, range) the tally of the readings that
retention pruned, written in each pruning batch's transaction, so periods
recomputed from the readings that remain still count them. Empty at first:
what was pruned before this revision is counted only where the goals' own
tallies kept it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "goal_pruned",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=256), nullable=False),
        sa.Column("start", sa.BigInteger(), autoincrement=False, nullable=False),
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
            name=op.f("fk_goal_pruned_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "sensor", "field", "start", name=op.f("pk_goal_pruned")
        ),
    )


def downgrade():
    op.drop_table("goal_pruned")
