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
