"""merge the readings and goals branches

Readings (0002) and goals (0003) were built in parallel on top of 0001; this
joins them so `flask db upgrade` has a single head.

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-22 00:30:00

"""

revision = "0004"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
