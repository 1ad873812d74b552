"""alert rules' and delivery attempts' ids never handed out again (SQLite)

0010 added columns to alert_rules and alert_delivery_attempts in batch mode,
which on SQLite rebuilt both tables from reflection and dropped AUTOINCREMENT:
deleting the newest rule let the next one take its id. They are rebuilt with
it (env.py turns foreign keys off around migrations, so nothing cascades);
each table's sequence starts at its highest id. PostgreSQL's sequences never
reuse a value: no-op.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:00:00

"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("alert_rules", "alert_delivery_attempts")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TABLES:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def downgrade():
    # AUTOINCREMENT is what the models have always said: nothing to undo.
    pass
