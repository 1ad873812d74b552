"""What clients may write about devices, and what they read back."""

from myapp.devices.scope import PATTERN
from myapp.pagination import page_schema
from myapp.timestamps import format_timestamp
from myapp.validation import PATTERN_END, PATTERN_MESSAGE, Schema

GRACE_SECONDS_MAX = 7 * 24 * 3600
SENSORS_MAX = 32

# A label shown in lists: no control characters (C0, DEL, C1). Lone surrogates
# never get this far: the body parser refuses them (myapp/jsonio.py).
NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+" + PATTERN_END,
    PATTERN_MESSAGE: "a name without control characters (such as a line break)",
    "description": "1 to 100 characters, no control characters",
}
SENSORS = {
    "type": ["array", "null"],
    "minItems": 1,
    "maxItems": SENSORS_MAX,
    "uniqueItems": True,
    "items": PATTERN,
    "description": f"1 to {SENSORS_MAX} sensor patterns this device may write, "
    "or null for any sensor",
}

CREATE = Schema(
    "DeviceCreate",
    {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": NAME, "sensors": SENSORS},
    },
)

UPDATE = Schema(
    "DeviceUpdate",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {"name": NAME, "sensors": SENSORS},
    },
)

ROTATE = Schema(
    "DeviceRotate",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "grace_seconds": {
                "type": "integer",
                "minimum": 0,
                "maximum": GRACE_SECONDS_MAX,
                "description": "How long the previous key keeps working (default 0)",
            }
        },
    },
)

_DEVICE_PROPERTIES = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "sensors": {"type": ["array", "null"], "items": {"type": "string"}},
    "key_prefix": {
        "type": "string",
        "description": "The first 12 characters of the current key",
    },
    "created_at": {"type": "string", "format": "date-time"},
    "last_used_at": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "The last upload; may lag by up to a minute",
    },
}

DEVICE = Schema(
    "Device",
    {
        "type": "object",
        "required": list(_DEVICE_PROPERTIES),
        "additionalProperties": False,
        "properties": _DEVICE_PROPERTIES,
    },
)

DEVICE_WITH_KEY = Schema(
    "DeviceWithKey",
    {
        "type": "object",
        "required": [*_DEVICE_PROPERTIES, "key"],
        "additionalProperties": False,
        "properties": {
            **_DEVICE_PROPERTIES,
            "key": {
                "type": "string",
                "description": "The device key, shown only in this answer",
            },
        },
    },
)

DEVICE_PAGE = page_schema("DevicePage", DEVICE)


def device_public(device):
    """The read model of a device: never its key or any hash of it."""
    return {
        "id": device.id,
        "name": device.name,
        "sensors": device.sensors,
        "key_prefix": device.key_prefix,
        "created_at": format_timestamp(device.created_at),
        "last_used_at": format_timestamp(device.last_used_at),
    }


def device_with_key(device, key):
    """The read model of a device just given a key: the one time it is shown."""
    return {**device_public(device), "key": key}
