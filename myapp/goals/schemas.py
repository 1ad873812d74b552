"""What clients may write about goals, and what they read back."""

from myapp.db import ID_MAX
from myapp.errors import ValidationFailed
from myapp.timestamps import RFC3339_PATTERN, parse_timestamp
from myapp.validation import Schema

# PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded at all.
_TEXT = "^[^\\u0000\\ud800-\\udfff]*$"

NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": _TEXT}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 2000, "pattern": _TEXT}
PARENT_ID = {
    "type": ["integer", "null"],
    "minimum": 1,
    "maximum": ID_MAX,
    "description": "One of your goals, or null for a top-level goal",
}

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
                "description": "RFC 3339 with an offset; defaults to now",
            },
        },
    },
)


def create_values(data):
    """A valid CREATE body as create_goal's arguments: started_at parsed."""
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
        },
    },
)

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
                "description": "Leaf: 1 if completed else 0; "
                "otherwise the share of completed leaf descendants",
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
        "created_at": created_at,
        "updated_at": updated_at,
        "children": [],
    }
