"""Device keys as credentials: their format, what is stored of them, their loader.

Handed to myapp.auth at start-up (devices.init_app). Checking a key is one
query by its hash, so deleting or rotating a device takes effect at once in
every worker; operations that do not take device keys answer them 403.
"""

import functools
import hashlib
import re
import time
from typing import NamedTuple

from sqlalchemy import BigInteger, bindparam, or_, select, type_coerce

from myapp.auth import Principal
from myapp.devices.models import Device, DeviceKey
from myapp.errors import InvalidToken
from myapp.rawsql import CompiledSelect

# A device key: "mdk_" and 43 base64url characters (32 random bytes). The prefix
# tells a key from a JWT (and lets secret scanners find leaked ones).
DEVICE_KEY_PREFIX = "mdk_"
DEVICE_KEY_FORMAT = re.compile(r"mdk_[A-Za-z0-9_-]{43}")
# One answer for every bad key, so none tells a deleted key from a made-up one.
BAD_DEVICE_KEY = "The device key is unknown, revoked or expired."
REFUSAL = (
    "A device key may only upload readings "
    "(POST /readings/ and POST /readings/batch)."
)


class DeviceCaller(NamedTuple):
    """What a live key tells of its device: a Principal's key."""

    device_id: int
    sensors: tuple | None  # the patterns it may write, or None: any sensor
    last_used_at: int | None  # microseconds, or None


def device_key_hash(key):
    """What the database stores of a device key: SHA-256 in 64 hex digits.

    A key holds 256 random bits, so a fast unsalted hash is right: a password
    hash would cost milliseconds on every upload and protect nothing more.
    """
    return hashlib.sha256(key.encode()).hexdigest()


class LiveDeviceKey(NamedTuple):
    """What the key check reads of a live key's device."""

    device_id: int
    user_id: int
    sensors: object  # the list of patterns, or None
    last_used_at: int | None


@functools.cache
def _live_key_query():
    """Built and compiled once: the key's device, if the key has not expired."""
    devices, device_keys = Device.__table__.c, DeviceKey.__table__.c
    now = bindparam("now")
    return CompiledSelect(
        select(
            devices.id.label("device_id"),
            devices.user_id,
            devices.sensors,
            type_coerce(devices.last_used_at, BigInteger).label("last_used_at"),
        )
        .join_from(DeviceKey.__table__, Device.__table__)
        .where(
            device_keys.key_hash == bindparam("key_hash"),
            or_(device_keys.expires_at.is_(None), device_keys.expires_at > now),
        ),
        LiveDeviceKey,
    )


def load_device(token):
    """The caller behind a device key, if the key is well formed and live."""
    if DEVICE_KEY_FORMAT.fullmatch(token) is None:
        raise InvalidToken(BAD_DEVICE_KEY)
    row = _live_key_query().first(
        key_hash=device_key_hash(token), now=int(time.time() * 1_000_000)
    )
    if row is None:
        raise InvalidToken(BAD_DEVICE_KEY)
    sensors = tuple(row.sensors) if row.sensors is not None else None
    device = DeviceCaller(row.device_id, sensors, row.last_used_at)
    return Principal(row.user_id, False, None, device)


def device_of(caller):
    """The calling device's DeviceCaller, or None for a user's token."""
    return caller.key if isinstance(caller.key, DeviceCaller) else None
