"""devices: per-device write keys (hashed), readings.device_id, sensor order

Devices belong to a user (deleted with them); a device has at most two live
keys, each stored only as the SHA-256 hex of its text. readings.device_id names
the device that uploaded a reading (NULL for a user's token, and once the
device is deleted). readings.sensor compares in code-point order on PostgreSQL
too (COLLATE "C", as SQLite's BINARY), the order GET /readings/latest answers in;
readings_latest holds each sensor's newest reading, filled here from readings
(bench/readings/latest_choice.py measured it against walking the index).

SQLite rebuilds readings to add the named foreign key (ALTER TABLE ADD COLUMN
could add it in place, but unnamed and with an ON DELETE that SQLAlchemy does
not reflect, so models and migrations would disagree); the rebuild keeps
AUTOINCREMENT, the highest id ever used, and every index (env.py turns foreign
keys off around it), and copies every row: minutes on tens of millions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:30:00

"""

import contextlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def readings_table():
    """readings as 0002 made it (SQLite: its definition for the batch rebuild)."""
    table = sa.Table(
        "readings",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
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
            name="fk_readings_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_readings"),
        sa.UniqueConstraint(
            "user_id", "client_id", name="uq_readings_user_id_client_id"
        ),
    )
    c = table.c
    sa.Index("ix_readings_user_id_recorded_at", c.user_id, c.recorded_at, c.id)
    sa.Index(
        "ix_readings_user_id_sensor_recorded_at",
        c.user_id,
        c.sensor,
        c.recorded_at,
        c.id,
    )
    return table


@contextlib.contextmanager
def readings_batch(table):
    """readings altered in place (PostgreSQL) or rebuilt from table (SQLite).

    SQLite's rebuild would restart the id sequence at the largest id left (a
    deleted newest reading's id would be handed out again): it is carried over.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        with op.batch_alter_table("readings") as batch:
            yield batch
        return
    sequence = "SELECT seq FROM sqlite_sequence WHERE name = 'readings'"
    highest = bind.exec_driver_sql(sequence).scalar() or 0
    with op.batch_alter_table(
        "readings",
        copy_from=table,
        recreate="always",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        yield batch
    bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'readings'")
    bind.exec_driver_sql(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'readings',"
        f" max({int(highest)}, coalesce(max(id), 0)) FROM readings"
    )


def upgrade():
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sensors", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_devices_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_devices_user_id_id", "devices", ["user_id", "id"])
    op.create_table(
        "device_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_device_keys_device_id_devices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_hash", name="pk_device_keys"),
    )
    op.create_index("ix_device_keys_device_id", "device_keys", ["device_id"])
    with readings_batch(readings_table()) as batch:
        batch.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_readings_device_id_devices",
            "devices",
            ["device_id"],
            ["id"],
            ondelete="SET NULL",
        )
        if op.get_bind().dialect.name == "postgresql":
            batch.alter_column(
                "sensor",
                type_=sa.String(length=64, collation="C"),
                existing_nullable=False,
            )
    op.create_index(
        "ix_readings_device_id_user_id_recorded_at",
        "readings",
        ["device_id", "user_id", "recorded_at", "id"],
    )
    create_readings_latest()


def create_readings_latest():
    """The newest reading of each sensor of each user, filled from readings."""
    sensor = sa.String(length=64).with_variant(
        sa.String(length=64, collation="C"), "postgresql"
    )
    op.create_table(
        "readings_latest",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sensor", sensor, nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "reading_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["reading_id"],
            ["readings.id"],
            name="fk_readings_latest_reading_id_readings",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "sensor", name="pk_readings_latest"),
        sa.UniqueConstraint("reading_id", name="uq_readings_latest_reading_id"),
        sqlite_with_rowid=False,
    )
    # Each (user, sensor) once, then its newest reading by a seek of the index.
    op.execute(
        "INSERT INTO readings_latest (user_id, sensor, recorded_at, reading_id)"
        " SELECT r.user_id, r.sensor, r.recorded_at, r.id"
        " FROM (SELECT DISTINCT user_id, sensor FROM readings) s"
        " JOIN readings r ON r.id = (SELECT n.id FROM readings n"
        " WHERE n.user_id = s.user_id AND n.sensor = s.sensor"
        " ORDER BY n.recorded_at DESC, n.id DESC LIMIT 1)"
    )


def downgrade():
    op.drop_table("readings_latest")
    op.drop_index("ix_readings_device_id_user_id_recorded_at", table_name="readings")
    with_device = readings_table()
    with_device.append_column(sa.Column("device_id", sa.Integer(), nullable=True))
    with_device.append_constraint(
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name="fk_readings_device_id_devices",
            ondelete="SET NULL",
        )
    )
    with readings_batch(with_device) as batch:
        batch.drop_constraint("fk_readings_device_id_devices", type_="foreignkey")
        batch.drop_column("device_id")
        if op.get_bind().dialect.name == "postgresql":
            batch.alter_column(
                "sensor", type_=sa.String(length=64), existing_nullable=False
            )
    op.drop_index("ix_device_keys_device_id", table_name="device_keys")
    op.drop_table("device_keys")
    op.drop_index("ix_devices_user_id_id", table_name="devices")
    op.drop_table("devices")
