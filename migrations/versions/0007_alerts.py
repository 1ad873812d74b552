"""alerts: rules, their events, and the webhook outbox with its attempts

Times are integer microseconds since 1970-01-01 UTC (EpochMicros), as in
readings. Every table goes with its user (ON DELETE CASCADE, directly or
through its rule); events keep reading_id without a foreign key, so deleting
a reading changes no recorded event. Ids are never reused (AUTOINCREMENT).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:07:30

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("condition", JSON_DOCUMENT, nullable=False),
        sa.Column("webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("state_since", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_alert_rules_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_alert_rules_user_id_sensor", "alert_rules", ["user_id", "sensor", "id"]
    )
    op.create_index("ix_alert_rules_due_at", "alert_rules", ["due_at"])

    op.create_table(
        "alert_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("reading_id", sa.BigInteger(), nullable=True),
        sa.Column("value", JSON_DOCUMENT, nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_events_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_alert_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_events_rule_id_id", "alert_events", ["rule_id", "id"])
    op.create_index("ix_alert_events_user_id_id", "alert_events", ["user_id", "id"])

    op.create_table(
        "alert_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("claimed_until", sa.BigInteger(), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_deliveries_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_alert_deliveries_rule_id_status",
        "alert_deliveries",
        ["rule_id", "status", "id"],
    )
    op.create_index(
        "ix_alert_deliveries_next_attempt_at", "alert_deliveries", ["next_attempt_at"]
    )

    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("delivery_id", BIG_ID, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["alert_deliveries.id"],
            name=op.f("fk_alert_delivery_attempts_delivery_id_alert_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_delivery_attempts_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery_attempts")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_alert_delivery_attempts_delivery_id",
        "alert_delivery_attempts",
        ["delivery_id"],
    )
    op.create_index(
        "ix_alert_delivery_attempts_rule_id_id",
        "alert_delivery_attempts",
        ["rule_id", "id"],
    )


def downgrade():
    op.drop_table("alert_delivery_attempts")
    op.drop_table("alert_deliveries")
    op.drop_table("alert_events")
    op.drop_table("alert_rules")
