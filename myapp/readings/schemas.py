"""What clients may write as readings, and what they read back."""

import json

from flask import Response

from myapp.micros import format_micros
from myapp.pagination import page_schema
from myapp.timestamps import RFC3339_PATTERN
from myapp.validation import PATTERN_END, Schema

BATCH_MAX = 1000
SENSOR = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "1 to 64 characters (no NUL), e.g. accelerometer or kitchen/temp",
}
UUID_PATTERN = (
    "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    + PATTERN_END
)

READING_FIELDS = {
    "sensor": SENSOR,
    "recorded_at": {
        "type": ["string", "null"],
        "pattern": RFC3339_PATTERN,
        "description": "RFC 3339 with offset, years 1 to 9999 in UTC; "
        "the server's time if left out or null",
    },
    "data": {
        "type": "object",
        "description": "Any JSON object: at most 16 KiB as compact UTF-8 JSON, "
        "nesting at most 16 deep (data itself is level 1), no NUL characters, "
        "integers within 64 bits and finite numbers",
    },
    "client_id": {
        "type": ["string", "null"],
        "pattern": UUID_PATTERN,
        "description": "A UUID chosen by the client; repeating it never stores "
        "a second reading",
    },
}

READING = Schema(
    "ReadingCreate",
    {
        "type": "object",
        "required": ["sensor", "data"],
        "additionalProperties": False,
        "properties": READING_FIELDS,
    },
    fast=True,
)

BATCH = Schema(
    "ReadingBatch",
    {
        "type": "object",
        "required": ["readings"],
        "additionalProperties": False,
        "properties": {
            "readings": {
                "type": "array",
                "minItems": 1,
                "maxItems": BATCH_MAX,
                "items": READING.schema,
            }
        },
    },
    fast=True,
)

READING_PUBLIC = Schema(
    "Reading",
    {
        "type": "object",
        "required": [
            "id",
            "sensor",
            "recorded_at",
            "data",
            "client_id",
            "device_id",
            "created_at",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "sensor": {"type": "string"},
            "recorded_at": {"type": "string", "format": "date-time"},
            "data": {"type": "object"},
            "client_id": {"type": ["string", "null"], "format": "uuid"},
            "device_id": {
                "type": ["integer", "null"],
                "description": "The device whose key uploaded it; null for a "
                "user's token, and once that device is deleted",
            },
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
)

# A repeated client_id: the reading first stored, or only its id once pruned.
READING_REPEAT = Schema(
    "ReadingRepeat",
    {
        "type": "object",
        "required": ["id", "client_id"],
        "additionalProperties": False,
        "properties": {
            **READING_PUBLIC.schema["properties"],
            "pruned": {
                "type": "boolean",
                "description": "true (and only id and client_id) when retention "
                "pruned the reading first stored",
            },
        },
    },
)

READING_PAGE = page_schema("ReadingPage", READING_PUBLIC)
LATEST_PAGE = page_schema("LatestReadingPage", READING_PUBLIC)

BATCH_RESULT = Schema(
    "ReadingBatchResult",
    {
        "type": "object",
        "required": ["ids", "created"],
        "additionalProperties": False,
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "One id per input item, in input order",
            },
            "created": {
                "type": "integer",
                "description": "How many readings were newly stored",
            },
        },
    },
)

STATS = Schema(
    "ReadingStats",
    {
        "type": "object",
        "required": [
            "sensor",
            "field",
            "bucket",
            "tz",
            "since",
            "until",
            "from_rollups",
            "buckets",
        ],
        "additionalProperties": False,
        "properties": {
            "sensor": {"type": "string"},
            "field": {"type": "string"},
            "bucket": {"type": "string"},
            "tz": {"type": "string", "description": "The zone of the buckets"},
            "since": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "since as applied (15-minute floor from 15m on)",
            },
            "until": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "until as applied (15-minute floor from 15m on)",
            },
            "from_rollups": {
                "type": "boolean",
                "description": "From rollups (15m and longer, a rolled-up field)",
            },
            "buckets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "count", "sum", "min", "max", "avg"],
                    "additionalProperties": False,
                    "properties": {
                        "start": {"type": "string", "format": "date-time"},
                        "count": {"type": "integer"},
                        "sum": {"type": "number"},
                        "min": {"type": "number"},
                        "max": {"type": "number"},
                        "avg": {"type": "number"},
                    },
                },
            },
        },
    },
)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# A str as a JSON string (UTF-8, not escaped to ASCII), at C speed.
_quoted = json.encoder.encode_basestring


def reading_json(reading):
    """reading_public as JSON text, from a row whose data is its stored JSON text.

    No parse and re-encode of data: it was checked when it was stored.
    """
    reading_id, sensor, recorded_at, data, client_id, device_id, created_at = reading
    # A client_id is a canonical UUID and a device_id an integer: nothing to escape.
    client = "null" if client_id is None else f'"{client_id}"'
    device = "null" if device_id is None else device_id
    return (
        f'{{"id":{reading_id},"sensor":{_quoted(sensor)},'
        f'"recorded_at":"{format_micros(recorded_at)}","data":{data},'
        f'"client_id":{client},"device_id":{device},'
        f'"created_at":"{format_micros(created_at)}"}}'
    )


def json_page(page):
    """A keyset page whose items are JSON texts, as an application/json response."""
    body = '{"items":[%s],"next_cursor":%s}' % (
        ",".join(page["items"]),
        _dumps(page["next_cursor"]),
    )
    return Response(body, mimetype="application/json")


def reading_public(reading):
    """The read model of a rows.ReadingRow (times as stored microseconds)."""
    # Unpacked, not read by attribute: a SQLAlchemy Row's attributes are slow.
    reading_id, sensor, recorded_at, data, client_id, device_id, created_at = reading
    return {
        "id": reading_id,
        "sensor": sensor,
        "recorded_at": format_micros(recorded_at),
        "data": data,
        "client_id": client_id,
        "device_id": device_id,
        "created_at": format_micros(created_at),
    }


def repeat_public(reading):
    """The read model of a repeated client_id: the reading, or a pruned one's id."""
    if getattr(reading, "pruned", False):
        return {"id": reading.id, "client_id": reading.client_id, "pruned": True}
    return reading_public(reading)


def stats_public(args, answer):
    """The read model of a stats answer: what was asked, as applied, and buckets."""
    since, until = answer.since, answer.until
    return {
        "sensor": args["sensor"],
        "field": args["field"],
        "bucket": args["bucket"],
        "tz": args["tz"],
        "since": None if since is None else format_micros(since),
        "until": None if until is None else format_micros(until),
        "from_rollups": answer.from_rollups,
        "buckets": [
            {
                "start": format_micros(bucket.start),
                "count": bucket.count,
                "sum": bucket.sum,
                "min": bucket.min,
                "max": bucket.max,
                "avg": bucket.avg,
            }
            for bucket in answer.buckets
        ],
    }
