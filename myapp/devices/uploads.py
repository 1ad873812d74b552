"""What an upload with a device key must respect: its sensors, and its last use.

Readings' write path calls these inside its transaction. This module reads no
models (only the devices table by name), so readings can import it while the
devices package itself is still loading.
"""

import sqlalchemy as sa

from myapp.db import db
from myapp.devices.scope import allowed
from myapp.errors import forbidden

# last_used_at is written at most this often per device (microseconds).
LAST_USED_GRANULARITY = 60 * 1_000_000
_DEVICES = sa.table("devices", sa.column("id"), sa.column("last_used_at"))


def out_of_scope(caller, sensors_at):
    """403 naming every pointer whose sensor the calling device may not write.

    sensors_at yields (sensor, pointer) pairs, read only for a device with
    patterns: a user's token, or a device for any sensor, may write them all.
    """
    if caller.sensors is None:
        return
    may_write = allowed(caller.sensors)
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


def note_use(caller, now_micros):
    """Record a device's upload in its last_used_at, at most once a minute.

    The first upload sets it at once. The UPDATE is conditional, so of racing
    workers one writes and the others change nothing.
    """
    last = caller.last_used_at
    if caller.device_id is None or (
        last is not None and now_micros - last < LAST_USED_GRANULARITY
    ):
        return
    column = _DEVICES.c.last_used_at
    db.session.execute(
        sa.update(_DEVICES)
        .where(
            _DEVICES.c.id == caller.device_id,
            sa.or_(column.is_(None), column <= now_micros - LAST_USED_GRANULARITY),
        )
        .values(last_used_at=now_micros)
    )
