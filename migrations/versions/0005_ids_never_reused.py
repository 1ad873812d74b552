"""ids of deleted users and goals are never handed out again

SQLite gives a new row max(id) + 1, so deleting the newest account or goal let
the next one take its id. AUTOINCREMENT makes SQLite remember the highest id
ever used (readings have it since 0002). SQLite cannot add it to a table: the
two tables are rebuilt (env.py turns foreign keys off around migrations, so the
rebuild cascades nothing). PostgreSQL's sequences never reuse a value: no-op.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def users_table(metadata):
    table = sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    sa.Index("uq_users_username_lower", sa.func.lower(table.c.username), unique=True)
    return table


def goals_table(metadata):
    table = sa.Table(
        "goals",
        metadata,
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
            "parent_id IS NULL OR parent_id <> id", name="ck_goals_not_own_parent"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_goals_user_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id", "parent_id"],
            ["goals.user_id", "goals.id"],
            name="fk_goals_user_id_parent_id_goals",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_goals"),
        sa.UniqueConstraint("user_id", "id", name="uq_goals_user_id_id"),
    )
    sa.Index("ix_goals_user_id_parent_id", table.c.user_id, table.c.parent_id)
    return table


def rebuild(autoincrement):
    if op.get_bind().dialect.name != "sqlite":
        return
    for make in (users_table, goals_table):
        table = make(sa.MetaData())
        with op.batch_alter_table(
            table.name,
            copy_from=table,
            recreate="always",
            table_kwargs={"sqlite_autoincrement": autoincrement},
        ):
            pass
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def upgrade():
    rebuild(autoincrement=True)


def downgrade():
    rebuild(autoincrement=False)
