"""alerts hardening: bounded flapping, superseding, cooldown, fair sending

alert_events.changes (state changes an upload caused, on its last recorded
event); alert_rules.cooldown_seconds and .email; alert_deliveries.user_id (the
worker's round-robin between users), .channel and .delivered_at (cooldowns);
alert_delivery_attempts.channel and .superseded.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert_rules") as table:
        table.add_column(
            sa.Column("email", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        table.add_column(
            sa.Column(
                "cooldown_seconds", sa.Integer(), server_default="0", nullable=False
            )
        )
    with op.batch_alter_table("alert_events") as table:
        table.add_column(
            sa.Column("changes", sa.Integer(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("alert_deliveries") as table:
        table.add_column(
            sa.Column("user_id", sa.Integer(), server_default="0", nullable=False)
        )
        table.add_column(
            sa.Column(
                "channel", sa.String(length=8), server_default="webhook", nullable=False
            )
        )
        table.add_column(sa.Column("delivered_at", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE alert_deliveries SET user_id = (SELECT user_id FROM alert_rules"
        " WHERE alert_rules.id = alert_deliveries.rule_id)"
    )
    op.create_index(
        "ix_alert_deliveries_user_id_next_attempt_at",
        "alert_deliveries",
        ["user_id", "next_attempt_at"],
    )
    with op.batch_alter_table("alert_delivery_attempts") as table:
        table.add_column(
            sa.Column(
                "channel", sa.String(length=8), server_default="webhook", nullable=False
            )
        )
        table.add_column(
            sa.Column(
                "superseded", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("alert_delivery_attempts") as table:
        table.drop_column("superseded")
        table.drop_column("channel")
    op.drop_index(
        "ix_alert_deliveries_user_id_next_attempt_at", table_name="alert_deliveries"
    )
    with op.batch_alter_table("alert_deliveries") as table:
        table.drop_column("delivered_at")
        table.drop_column("channel")
        table.drop_column("user_id")
    with op.batch_alter_table("alert_events") as table:
        table.drop_column("changes")
    with op.batch_alter_table("alert_rules") as table:
        table.drop_column("cooldown_seconds")
        table.drop_column("email")
