"""What an upload with a device key must respect: its sensors, its rate, its last use.

Readings' write path calls these inside its transaction, and its upload views
carry per_device: scope, rate and use are part of an upload by a device.
"""

import sqlalchemy as sa

from myapp.auth import current_caller
from myapp.db import db
from myapp.devices.credentials import BAD_DEVICE_KEY, device_of
from myapp.devices.models import Device
from myapp.devices.scope import allowed
from myapp.errors import InvalidToken, forbidden
from myapp.limiter import configured, limiter

# last_used_at is written at most this often per device (microseconds).
LAST_USED_GRANULARITY = 60 * 1_000_000
_DEVICES = Device.__table__


def device_id_of(caller):
    """The id of the device whose key the caller used, or None for a user's token."""
    device = device_of(caller)
    return None if device is None else device.device_id


def out_of_scope(caller, sensors_at):
    """403 naming every pointer whose sensor the calling device may not write.

    sensors_at yields (sensor, pointer) pairs, read only for a device with
    patterns: a user's token, or a device for any sensor, may write them all.
    """
    device = device_of(caller)
    if device is None or device.sensors is None:
        return
    may_write = allowed(device.sensors)
    errors = [
        {"pointer": pointer, "message": "is a sensor this device may not write"}
        for sensor, pointer in sensors_at
        if not may_write(sensor)
    ]
    if errors:
        db.session.rollback()
        problem = forbidden("This device key may not write these sensors.")
        problem.errors = errors
        raise problem


def refuse_if_deleted(caller):
    """After a failed insert (rolled back): a 401 if the calling device is gone.

    A device deleted between its key check and the upload's insert fails the
    readings' foreign key: for the client that is a dead key, as a moment later.
    """
    device = device_of(caller)
    if device is None:
        return
    found = db.session.execute(
        sa.select(_DEVICES.c.id).where(_DEVICES.c.id == device.device_id)
    ).first()
    db.session.rollback()
    if found is None:
        raise InvalidToken(BAD_DEVICE_KEY)


def has_patterns(caller):
    """Whether the caller is a device limited to some sensors."""
    device = device_of(caller)
    return device is not None and device.sensors is not None


def note_use(caller, now_micros):
    """Record a device's upload in its last_used_at, at most once a minute.

    The first upload sets it at once. The UPDATE is conditional, so of racing
    workers one writes and the others change nothing.
    """
    device = device_of(caller)
    if device is None:
        return
    last = device.last_used_at
    if last is not None and now_micros - last < LAST_USED_GRANULARITY:
        return
    column = _DEVICES.c.last_used_at
    db.session.execute(
        sa.update(_DEVICES)
        .where(
            _DEVICES.c.id == device.device_id,
            sa.or_(column.is_(None), column <= now_micros - LAST_USED_GRANULARITY),
        )
        .values(last_used_at=now_micros)
    )


def _device_key():
    """The calling device, whichever of its keys it used (use below @authenticated)."""
    return f"device:{device_id_of(current_caller())}"


def _not_a_device():
    return device_of(current_caller()) is None


# DEVICE_RATE_LIMIT: one bucket per device for POST /readings/ and POST
# /readings/batch, all its keys together (a batch counts once); tokens are free.
per_device = limiter.shared_limit(
    configured("DEVICE_RATE_LIMIT"),
    scope="device-uploads",
    key_func=_device_key,
    exempt_when=_not_a_device,
)
