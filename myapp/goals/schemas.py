"""What clients may write about goals, and what they read back."""

from myapp.db import ID_MAX
from myapp.errors import ValidationFailed
from myapp.goals.models import AGGREGATES, OPS, PERIODS
from myapp.timestamps import RFC3339_MESSAGE, RFC3339_PATTERN, parse_timestamp
from myapp.validation import PATTERN_END, PATTERN_MESSAGE, Schema

# PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded at all.
_TEXT = "^[^\\u0000\\ud800-\\udfff]*" + PATTERN_END
_TEXT_MESSAGE = "text without NUL (U+0000) characters"

NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": _TEXT,
    PATTERN_MESSAGE: _TEXT_MESSAGE,
}
DESCRIPTION = {
    "type": ["string", "null"],
    "maxLength": 2000,
    "pattern": _TEXT,
    PATTERN_MESSAGE: _TEXT_MESSAGE,
}
PARENT_ID = {
    "type": ["integer", "null"],
    "minimum": 1,
    "maximum": ID_MAX,
    "description": "One of your goals, or null for a top-level goal",
}

# The largest finite double: a larger JSON number has no value to compare with.
NUMBER_MAX = 1.7976931348623157e308
# A key of data as JSON text holds it unescaped, so SQL's JSON paths find the
# same key Python does: no '"', no backslash, no control characters.
_FIELD = '^[^"\\\\\\u0000-\\u001f\\ud800-\\udfff]*' + PATTERN_END
TARGET_FIELDS = {
    "sensor": {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "pattern": _TEXT,
        PATTERN_MESSAGE: _TEXT_MESSAGE,
        "description": "The sensor's exact name, as readings give it",
    },
    "field": {
        "type": "string",
        "minLength": 1,
        "maxLength": 256,
        "pattern": _FIELD,
        PATTERN_MESSAGE: "a key of data, without double quotes, backslashes or "
        "control characters",
        "description": "A top-level key of data (no double quote, backslash or control "
        "characters); count counts every reading and ignores it",
    },
    "aggregate": {
        "type": "string",
        "enum": list(AGGREGATES),
        "description": "Of the numbers at data[field] (booleans are not numbers) "
        "of readings recorded from started_at on; count: readings of the sensor",
    },
    "op": {
        "type": "string",
        "enum": list(OPS),
        "description": "Met when aggregate op value; <= with sum or count needs "
        "a period",
    },
    "value": {"type": "number", "minimum": -NUMBER_MAX, "maximum": NUMBER_MAX},
    "period": {
        "type": ["string", "null"],
        "enum": [*PERIODS, None],
        "description": "null: once, then the goal completes by itself; day, week "
        "(from Monday) or month, in UTC: a habit, met per period",
    },
}
TARGET = {
    "type": ["object", "null"],
    "required": ["sensor", "field", "aggregate", "op", "value"],
    "additionalProperties": False,
    "properties": TARGET_FIELDS,
    "description": "Readings that fulfil the goal; null: none (removes it on PATCH)",
}


def _check_target(target):
    """The rule a JSON Schema here cannot say: <= with sum or count needs a period."""
    if (
        target
        and target["op"] == "<="
        and target["aggregate"] in ("sum", "count")
        and target.get("period") is None
    ):
        raise ValidationFailed.at(
            "/target/op",
            "<= with sum or count needs a period: without one it is met "
            "before any reading, and readings only make them grow",
        )


CREATE = Schema(
    "GoalCreate",
    {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": NAME,
            "description": DESCRIPTION,
            "parent_id": PARENT_ID,
            "started_at": {
                "type": "string",
                "format": "date-time",
                "pattern": RFC3339_PATTERN,
                PATTERN_MESSAGE: RFC3339_MESSAGE,
                "description": "RFC 3339 with an offset; defaults to now",
            },
            "target": TARGET,
        },
    },
)


def create_values(data):
    """A valid CREATE body as create_goal's arguments: started_at parsed."""
    _check_target(data.get("target"))
    if "started_at" not in data:
        return data
    try:
        return {**data, "started_at": parse_timestamp(data["started_at"])}
    except ValueError as error:
        raise ValidationFailed.at("/started_at", str(error)) from None


UPDATE = Schema(
    "GoalUpdate",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": NAME,
            "description": DESCRIPTION,
            "parent_id": PARENT_ID,
            "completed": {
                "type": "boolean",
                "description": "true completes the subtree; "
                "false reopens the goal and its completed ancestors",
            },
            "target": TARGET,
        },
    },
)


def update_values(data):
    """A valid UPDATE body as update_goal's arguments."""
    _check_target(data.get("target"))
    return data


_TIMESTAMP = {"type": "string", "format": "date-time"}

GOAL = Schema(
    "Goal",
    {
        "type": "object",
        "required": [
            "id",
            "name",
            "description",
            "parent_id",
            "started_at",
            "completed_at",
            "completed",
            "progress",
            "target",
            "measured",
            "streak",
            "created_at",
            "updated_at",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "parent_id": {"type": ["integer", "null"]},
            "started_at": _TIMESTAMP,
            "completed_at": {"type": ["string", "null"], "format": "date-time"},
            "completed": {"type": "boolean"},
            "progress": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "Leaf: 1 if completed, else 0, or for an open "
                "measured leaf with >= sum or count and a value above 0, how far "
                "it is: current / value up to 1; otherwise the mean of its leaf "
                "descendants' progress (the share completed, without measures)",
            },
            "target": {
                "type": ["object", "null"],
                "required": list(TARGET_FIELDS),
                "additionalProperties": False,
                "properties": TARGET_FIELDS,
                "description": "null: not measured",
            },
            "measured": {
                "type": ["object", "null"],
                "required": ["value", "met", "as_of"],
                "additionalProperties": False,
                "properties": {
                    "value": {
                        "type": ["number", "null"],
                        "description": "The aggregate now (of the current period "
                        "for a habit); null: no numbers yet (sum and count are 0)",
                    },
                    "met": {"type": "boolean"},
                    "as_of": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When this answer was computed: every "
                        "reading stored before counts",
                    },
                },
                "description": "null without a target",
            },
            "streak": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "Habits: consecutive met periods up to the current "
                "one if met, else the previous one, from started_at's period on; "
                "null for other goals",
            },
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "children": {
                "type": "array",
                "items": {"$ref": "#/definitions/Goal"},
                "description": "Subgoals in creation order, nested the same way; "
                "absent from flat lists",
            },
        },
    },
)

GOAL_LIST = Schema(
    "GoalList",
    {
        "type": "object",
        "required": ["items"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/definitions/Goal"}},
        },
    },
)


def goal_node(row):
    """The read model of one service.GoalRow; the tree fills progress and children.

    The row's timestamps are already API text (the query formats them).
    Plain dicts, no framework marshalling: thousands are built per request.
    """
    (
        goal_id,
        parent_id,
        name,
        description,
        started_at,
        completed_at,
        created_at,
        updated_at,
    ) = row
    return {
        "id": goal_id,
        "name": name,
        "description": description,
        "parent_id": parent_id,
        "started_at": started_at,
        "completed_at": completed_at,
        "completed": completed_at is not None,
        "progress": 0.0,
        "target": None,
        "measured": None,
        "streak": None,
        "created_at": created_at,
        "updated_at": updated_at,
        "children": [],
    }
