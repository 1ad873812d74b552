"""goals: per-user trees (adjacency list, same-user parent key, cascades)

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 01:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "parent_id IS NULL OR parent_id <> id",
            name=op.f("ck_goals_not_own_parent"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_goals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id", "parent_id"],
            ["goals.user_id", "goals.id"],
            name="fk_goals_user_id_parent_id_goals",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
        sa.UniqueConstraint("user_id", "id", name="uq_goals_user_id_id"),
    )
    op.create_index(
        "ix_goals_user_id_parent_id", "goals", ["user_id", "parent_id"], unique=False
    )


def downgrade():
    op.drop_index("ix_goals_user_id_parent_id", table_name="goals")
    op.drop_table("goals")
