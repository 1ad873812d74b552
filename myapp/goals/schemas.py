"""What clients may write about goals, and what they read back."""

from myapp.timestamps import RFC3339_PATTERN
from myapp.validation import PATTERN_END, Schema

# Ids are 32-bit on every database; larger numbers can name no goal.
ID_MAX = 2**31 - 1
# PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded at all.
_TEXT = "^[^\\u0000\\ud800-\\udfff]*" + PATTERN_END

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


def goal_node(row, progress, children):
    """The read model of one goal from a tree row, its children already built.

    Row: id, parent_id, name, description, then started_at, completed_at,
    created_at, updated_at already formatted as API timestamps by the query.
    Plain dicts, no framework marshalling: thousands are built per request.
    """
    return {
        "id": row[0],
        "name": row[2],
        "description": row[3],
        "parent_id": row[1],
        "started_at": row[4],
        "completed_at": row[5],
        "completed": row[5] is not None,
        "progress": progress,
        "created_at": row[6],
        "updated_at": row[7],
        "children": children,
    }
