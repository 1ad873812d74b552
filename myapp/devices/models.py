"""Devices and their keys: a key is stored only as the SHA-256 of its text."""

import sqlalchemy as sa

from myapp.columns import EpochMicros
from myapp.db import db

KEY_PREFIX_LENGTH = 12


class Device(db.Model):
    __tablename__ = "devices"

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    name = sa.Column(sa.String(100), nullable=False)
    # A list of sensor patterns, or NULL for any sensor.
    sensors = sa.Column(sa.JSON(none_as_null=True), nullable=True)
    # The first characters of the current key, to tell keys apart in lists.
    key_prefix = sa.Column(sa.String(KEY_PREFIX_LENGTH), nullable=False)
    created_at = sa.Column(EpochMicros, nullable=False)
    # Written at most once a minute (see devices.service.note_use).
    last_used_at = sa.Column(EpochMicros, nullable=True)

    __table_args__ = (
        # The user's devices in id order (pages), and the cascade from users.
        sa.Index("ix_devices_user_id_id", "user_id", "id"),
        # SQLite: a deleted device's id is never given to a new one.
        {"sqlite_autoincrement": True},
    )


class DeviceKey(db.Model):
    """A live key of a device: its current one, or its predecessor in a grace period.

    A device has at most two: the current key (expires_at NULL) and the key it
    replaced, until expires_at. A missing row is an unknown key.
    """

    __tablename__ = "device_keys"

    # SHA-256 hex of the whole key: high-entropy keys need no salt or slow hash.
    key_hash = sa.Column(sa.String(64), primary_key=True)
    device_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("devices.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    expires_at = sa.Column(EpochMicros, nullable=True)
