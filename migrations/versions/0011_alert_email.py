"""alert email: verified addresses

users.email_verified (set when a verification link is followed) and
users.email_verify_nonce (carried by every link of the current address until
one is used). Existing accounts start unverified. Alert emails need no new
columns: they are alert_deliveries with channel "email".

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (a batch would rebuild SQLite's users table and drop
    # its AUTOINCREMENT); both columns have a default, so existing rows fit.
    op.add_column(
        "users",
        sa.Column(
            "email_verified", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "users", sa.Column("email_verify_nonce", sa.String(length=32), nullable=True)
    )


def downgrade():
    op.drop_column("users", "email_verify_nonce")
    op.drop_column("users", "email_verified")
