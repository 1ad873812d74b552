"""retention: per-user rules with a grace, and the client_ids of pruned readings

retention_policies holds each user's rules (and the rule lists a grace still
honours); readings_pruned_ids keeps the client_id (16 bytes) and id of every
reading retention pruned, so a late retry is answered as a repeat.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "retention_policies",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rules", _json(), nullable=False),
        sa.Column("baselines", _json(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("prunes_from", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_retention_policies_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_retention_policies")),
    )
    op.create_table(
        "readings_pruned_ids",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("reading_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_readings_pruned_ids_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "client_id", name=op.f("pk_readings_pruned_ids")
        ),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        # Autovacuum after 2% of readings are dead (pruned), not the default 20%:
        # a prune's space is reusable within hours, and bloat stays near 2%.
        op.execute(
            "ALTER TABLE readings SET (autovacuum_vacuum_scale_factor = 0.02,"
            " autovacuum_vacuum_threshold = 10000)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE readings RESET (autovacuum_vacuum_scale_factor,"
            " autovacuum_vacuum_threshold)"
        )
    op.drop_table("readings_pruned_ids")
    op.drop_table("retention_policies")
