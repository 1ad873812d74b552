"""Rules a JSON Schema cannot express, applied to schema-valid readings.

The common case costs one C-speed json.dumps and a few C string scans per item;
only an item that looks suspicious is walked in Python to name the exact spot.
"""

import json
import math
import re
from datetime import datetime
from operator import itemgetter

from myapp.micros import MAX_MICROS, MIN_MICROS, to_micros
from myapp.timestamps import parse_timestamp
from myapp.validation import pointer

DATA_MAX_BYTES = 16 * 1024
DATA_MAX_DEPTH = 16
# One documented rule on both databases: integers must fit in signed 64 bits.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
).encode
# Integers of up to 18 digits always fit in 64 bits; longer runs get a closer look.
_LONG_DIGITS = re.compile("[0-9]{19}")


# A new reading is a plain (sensor, recorded_at, data, client_id) tuple, unpacked
# by name: a batch holds 1000, and the garbage collector never untracks a
# NamedTuple the way it does a tuple of strings and numbers (about 2% a batch).
client_id_of = itemgetter(3)


def new_reading(item, base, now_micros, errors):
    """(sensor, recorded_at, data as JSON text, client_id) of a valid item, or None."""
    before = len(errors)
    sensor = item["sensor"]
    if not sensor.isascii() or "\x00" in sensor:
        _check_text(sensor, [*base, "sensor"], errors)
    recorded_at = item.get("recorded_at")
    if recorded_at is None:
        micros = now_micros
    else:
        micros = _timestamp_micros(recorded_at, base, errors)
    client_id = item.get("client_id")
    if client_id is not None:
        client_id = client_id.lower()
    text = _data_text(item["data"], base, errors)
    if len(errors) > before:
        return None
    return sensor, micros, text, client_id


def _timestamp_micros(value, base, errors):
    # The schema already matched RFC 3339 with an offset, which fromisoformat reads
    # at C speed; anything it refuses gets parse_timestamp's exact message.
    try:
        micros = to_micros(datetime.fromisoformat(value))
    except ValueError:
        try:
            micros = to_micros(parse_timestamp(value))
        except ValueError as error:
            errors.append(
                {"pointer": pointer([*base, "recorded_at"]), "message": str(error)}
            )
            return None
    if not MIN_MICROS <= micros <= MAX_MICROS:
        errors.append(
            {
                "pointer": pointer([*base, "recorded_at"]),
                "message": "is out of range: years 1 to 9999 in UTC",
            }
        )
    return micros


def _data_text(data, base, errors):
    """Compact JSON text of data if it passes every rule; else None."""
    try:
        text = _encode(data)
    except (ValueError, RecursionError):
        text = None
    # Text with few brackets cannot nest deeply; otherwise count levels exactly.
    if (
        text is None
        or (
            text.count("{") + text.count("[") > DATA_MAX_DEPTH and _nests_too_deep(data)
        )
        or _looks_risky(text)
    ):
        found = len(errors)
        _walk(data, [*base, "data"], 1, errors)
        if len(errors) > found:
            return None
        text = text or _encode(data)
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if size > DATA_MAX_BYTES:
        errors.append(
            {
                "pointer": pointer([*base, "data"]),
                "message": f"is {size} bytes as JSON; at most {DATA_MAX_BYTES} "
                "are allowed",
            }
        )
        return None
    return text


def _nests_too_deep(data):
    """True if data nests more than DATA_MAX_DEPTH levels (data itself is level 1)."""
    stack = [(data, 1)]
    while stack:
        node, level = stack.pop()
        if level > DATA_MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend(
            (child, level + 1) for child in children if isinstance(child, (dict, list))
        )
    return False


def _looks_risky(text):
    """Cheap C-speed scans of the JSON text for anything the walk would reject."""
    if "\\u0000" in text or _LONG_DIGITS.search(text):
        return True
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _walk(value, path, depth, errors):
    """Name every spot of data that breaks a rule (bounded by the depth limit)."""
    if depth > DATA_MAX_DEPTH:
        errors.append(
            {
                "pointer": pointer(path),
                "message": f"nests deeper than {DATA_MAX_DEPTH} levels",
            }
        )
        return
    if isinstance(value, dict):
        for key, child in value.items():
            _check_text(key, path + [key], errors, what="key")
            if isinstance(child, (dict, list)):
                _walk(child, path + [key], depth + 1, errors)
            else:
                _check_scalar(child, path + [key], errors)
    else:
        for index, child in enumerate(value):
            if isinstance(child, (dict, list)):
                _walk(child, path + [index], depth + 1, errors)
            else:
                _check_scalar(child, path + [index], errors)


def _check_scalar(value, path, errors):
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            errors.append(
                {
                    "pointer": pointer(path),
                    "message": "is an integer outside the signed 64-bit range",
                }
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            errors.append(
                {"pointer": pointer(path), "message": "is a number out of range"}
            )
    elif isinstance(value, str):
        _check_text(value, path, errors)


def _check_text(text, path, errors, what="text"):
    if "\x00" in text:
        errors.append(
            {
                "pointer": pointer(path),
                "message": f"{what} must not contain the NUL character (\\u0000)",
            }
        )
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        errors.append(
            {
                "pointer": pointer(path),
                "message": f"{what} contains an unpaired UTF-16 surrogate",
            }
        )
