"""Readings: one measurement from one sensor of one user."""

import sqlalchemy as sa

from myapp.columns import BigId, EpochMicros, JSONDocument
from myapp.db import db

# Sensor names compare byte by byte on both databases (SQLite's BINARY, "C" on
# PostgreSQL): code-point order, which GET /readings/latest pages by, on the index.
SensorName = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


class Reading(db.Model):
    __tablename__ = "readings"

    id = sa.Column(BigId, primary_key=True)
    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    sensor = sa.Column(SensorName, nullable=False)
    recorded_at = sa.Column(EpochMicros, nullable=False)
    data = sa.Column(JSONDocument, nullable=False)
    # Lower-case canonical UUID text, or NULL; NULLs never collide.
    client_id = sa.Column(sa.String(36), nullable=True)
    created_at = sa.Column(EpochMicros, nullable=False)
    # The device whose key uploaded it; NULL for a user's token (or once deleted).
    device_id = sa.Column(
        sa.Integer, sa.ForeignKey("devices.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (
        # A retried upload finds its first copy instead of storing a second one.
        sa.UniqueConstraint(
            "user_id", "client_id", name="uq_readings_user_id_client_id"
        ),
        # Keyset pages, stats and export, without and with a sensor filter.
        sa.Index("ix_readings_user_id_recorded_at", "user_id", "recorded_at", "id"),
        sa.Index(
            "ix_readings_user_id_sensor_recorded_at",
            "user_id",
            "sensor",
            "recorded_at",
            "id",
        ),
        # ?device_id=<id> and ?device_id=none pages (device_id first: deleting a
        # device finds its readings through it to set them to NULL).
        sa.Index(
            "ix_readings_device_id_user_id_recorded_at",
            "device_id",
            "user_id",
            "recorded_at",
            "id",
        ),
        # Ids are never reused, even after the newest reading is deleted.
        {"sqlite_autoincrement": True},
    )


class LatestReading(db.Model):
    """The newest reading (by recorded_at, then id) of each sensor of each user.

    Kept in the transaction that stores or deletes readings (readings.service),
    so GET /readings/latest reads one row a sensor in sensor order. Deleting
    the reading a row names deletes the row (the service then puts in the next
    newest), so it never names a reading that is gone.
    """

    __tablename__ = "readings_latest"

    user_id = sa.Column(sa.Integer, primary_key=True)
    sensor = sa.Column(SensorName, primary_key=True)
    recorded_at = sa.Column(EpochMicros, nullable=False)
    reading_id = sa.Column(
        BigId,
        sa.ForeignKey("readings.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )

    # SQLite: rows stored in key order, so a page is one range of the table.
    __table_args__ = ({"sqlite_with_rowid": False},)


# Field names a stats query can name (query.text(256) without '"' or NUL).
FIELD_NAME_MAX = 256


class ReadingField(db.Model):
    """The first FIELDS_PER_SENSOR top-level numeric fields seen per (user, sensor).

    Those are rolled up (readings.rollups); later fields are not, and their
    statistics come from the raw readings.
    """

    __tablename__ = "reading_fields"

    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sensor = sa.Column(SensorName, primary_key=True)
    field = sa.Column(sa.String(FIELD_NAME_MAX), primary_key=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


class ReadingRollup(db.Model):
    """count, sum, min and max of one field of one sensor over one time slot.

    Two tiers: 15-minute slots (tier 0: every zone's boundaries since 1972 fall
    on them) and UTC hours (tier 1: a long bucket reads its whole hours here and
    only its edges from tier 0). Kept in the transaction that stores or deletes
    the readings. total is numeric on PostgreSQL (exact, never overflows);
    SQLite keeps doubles, and scaled (the sum of value * 2**-64) for when total
    overflows.
    """

    __tablename__ = "reading_rollups"

    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sensor = sa.Column(SensorName, primary_key=True)
    field = sa.Column(sa.String(FIELD_NAME_MAX), primary_key=True)
    tier = sa.Column(sa.SmallInteger, primary_key=True)
    start = sa.Column(sa.BigInteger, primary_key=True)  # microseconds, UTC
    count = sa.Column(sa.BigInteger, nullable=False)
    total = sa.Column(
        sa.Float().with_variant(sa.Numeric(), "postgresql"), nullable=False
    )
    scaled = sa.Column(sa.Float, nullable=True)
    low = sa.Column(sa.Float, nullable=False)
    high = sa.Column(sa.Float, nullable=False)

    __table_args__ = ({"sqlite_with_rowid": False},)


class RetentionPolicy(db.Model):
    """A user's retention rules, and what the rules before a grace still keep.

    rules: [{"sensors", "keep_days"}] as the user gave them. baselines: the rule
    lists in force before the current grace (until prunes_from nothing they
    kept is pruned); empty when the rules apply in full.
    """

    __tablename__ = "retention_policies"

    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    rules = sa.Column(JSONDocument, nullable=False)
    baselines = sa.Column(JSONDocument, nullable=False)
    updated_at = sa.Column(EpochMicros, nullable=False)
    # When pruning follows the current rules in full (the grace's end).
    prunes_from = sa.Column(EpochMicros, nullable=True)


class PrunedClientId(db.Model):
    """The client_id of a reading retention pruned, so a late retry is a repeat.

    16 bytes of UUID and the reading's id: the compact record of what was
    stored once, kept as long as the user (docs/decisions.md: its cost).
    """

    __tablename__ = "readings_pruned_ids"

    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    client_id = sa.Column(sa.LargeBinary(16), primary_key=True)
    reading_id = sa.Column(sa.BigInteger, nullable=False)

    __table_args__ = ({"sqlite_with_rowid": False},)
