"""Device rules: provisioning, keys (rotation with grace), changes, deletion."""

import secrets

import sqlalchemy as sa
from flask import current_app

from myapp.db import db, lock_rows, utcnow
from myapp.devices.credentials import DEVICE_KEY_PREFIX, device_key_hash
from myapp.devices.models import KEY_PREFIX_LENGTH, Device, DeviceKey
from myapp.errors import not_found
from myapp.micros import to_micros
from myapp.owners import at_most
from myapp.pagination import page_after

DEVICES = Device.__table__
KEYS = DeviceKey.__table__


def new_key():
    """A fresh key: "mdk_" and 43 base64url characters (32 random bytes)."""
    return DEVICE_KEY_PREFIX + secrets.token_urlsafe(32)


def _give_key(device):
    """Store a new current key for device (flushed); its text, shown once."""
    key = new_key()
    device.key_prefix = key[:KEY_PREFIX_LENGTH]
    db.session.add(DeviceKey(key_hash=device_key_hash(key), device_id=device.id))
    return key


def create_device(*, user_id, name, sensors=None):
    """A new device of the user and its first key; 409 past the per-user limit."""
    limit = current_app.config["DEVICES_MAX_PER_USER"]
    at_most(
        DEVICES,
        user_id=user_id,
        limit=limit,
        message=f"You have reached the limit of {limit} devices.",
    )
    device = Device(
        user_id=user_id, name=name, sensors=sensors, key_prefix="", created_at=utcnow()
    )
    db.session.add(device)
    db.session.flush()
    key = _give_key(device)
    db.session.commit()
    return device, key


def get_device(*, user_id, device_id):
    """The user's device, or 404 with the same body whoever owns it."""
    device = db.session.execute(
        sa.select(Device).where(Device.id == device_id, Device.user_id == user_id)
    ).scalar_one_or_none()
    if device is None:
        raise not_found("device")
    return device


def _locked_device(*, user_id, device_id):
    """The user's device, locked for this transaction's changes to it; or 404."""
    device = lock_rows(
        sa.select(Device).where(Device.id == device_id, Device.user_id == user_id)
    ).scalar_one_or_none()
    if device is None:
        raise not_found("device")
    return device


def list_devices(*, user_id, limit, after=None):
    """A page of the user's devices by id after the (id,) position, and the next."""
    query = (
        sa.select(Device)
        .where(Device.user_id == user_id)
        .order_by(Device.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Device.id > after[0])
    devices = list(db.session.execute(query).scalars())
    return page_after(devices, limit, lambda device: (device.id,))


def update_device(*, user_id, device_id, changes):
    """Change name and/or sensors (null: any sensor); the next request sees them."""
    device = _locked_device(user_id=user_id, device_id=device_id)
    for name, value in changes.items():
        setattr(device, name, value)
    db.session.commit()
    return device


def rotate_key(*, user_id, device_id, grace_seconds=0):
    """A new current key; the old one lives grace_seconds more, any older one ends.

    So a device has at most two live keys. The device's row is locked first, so
    two concurrent rotations cannot leave three.
    """
    device = _locked_device(user_id=user_id, device_id=device_id)
    keys = KEYS.c
    of_device = keys.device_id == device_id
    db.session.execute(sa.delete(KEYS).where(of_device, keys.expires_at.isnot(None)))
    if grace_seconds:
        until = to_micros(utcnow()) + grace_seconds * 1_000_000
        db.session.execute(sa.update(KEYS).where(of_device).values(expires_at=until))
    else:
        db.session.execute(sa.delete(KEYS).where(of_device))
    key = _give_key(device)
    db.session.commit()
    return device, key


def delete_device(*, user_id, device_id):
    """Delete a device: its keys go with it; its readings stay, with no device."""
    deleted = db.session.execute(
        sa.delete(DEVICES).where(
            DEVICES.c.id == device_id, DEVICES.c.user_id == user_id
        )
    ).rowcount
    db.session.commit()
    if not deleted:
        raise not_found("device")
