"""readings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:30:00.000000

recorded_at and created_at are integer microseconds since 1970-01-01 UTC
(myapp.readings.models.EpochMicros), the same on SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "readings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_readings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint(
            "user_id", "client_id", name="uq_readings_user_id_client_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_readings_user_id_recorded_at",
        "readings",
        ["user_id", "recorded_at", "id"],
    )
    op.create_index(
        "ix_readings_user_id_sensor_recorded_at",
        "readings",
        ["user_id", "sensor", "recorded_at", "id"],
    )


def downgrade():
    op.drop_index("ix_readings_user_id_sensor_recorded_at", table_name="readings")
    op.drop_index("ix_readings_user_id_recorded_at", table_name="readings")
    op.drop_table("readings")
