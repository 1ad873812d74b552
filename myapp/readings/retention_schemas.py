"""What clients may write as retention rules, and what they read back."""

from myapp.devices.scope import PATTERN
from myapp.micros import format_micros
from myapp.validation import Schema

RULES_MAX = 100
PATTERNS_MAX = 32
KEEP_DAYS_MAX = 36500

RULE = {
    "type": "object",
    "required": ["sensors", "keep_days"],
    "additionalProperties": False,
    "properties": {
        "sensors": {
            "type": ["array", "null"],
            "minItems": 1,
            "maxItems": PATTERNS_MAX,
            "uniqueItems": True,
            "items": PATTERN,
            "description": f"1 to {PATTERNS_MAX} sensor patterns, or null for any "
            "sensor",
        },
        "keep_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": KEEP_DAYS_MAX,
            "description": f"Days raw readings are kept: 1 to {KEEP_DAYS_MAX}",
        },
    },
}
RULES = {
    "type": "array",
    "maxItems": RULES_MAX,
    "items": RULE,
    "description": f"0 to {RULES_MAX} rules; a reading falls under the first that "
    "matches its sensor, and is kept forever if none does",
}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}

RETENTION_PUT = Schema(
    "RetentionRulesPut",
    {
        "type": "object",
        "required": ["rules"],
        "additionalProperties": False,
        "properties": {"rules": RULES},
    },
)

RETENTION = Schema(
    "RetentionRules",
    {
        "type": "object",
        "required": ["rules", "updated_at", "prunes_from"],
        "additionalProperties": False,
        "properties": {
            "rules": RULES,
            "updated_at": {
                **TIME_OR_NULL,
                "description": "When the rules were last set (null: never)",
            },
            "prunes_from": {
                **TIME_OR_NULL,
                "description": "When pruning follows these rules in full: the end "
                "of the grace after a change that prunes more, the change itself "
                "after one that only keeps longer; null without rules",
            },
        },
    },
)

PREVIEW = Schema(
    "RetentionPreview",
    {
        "type": "object",
        "required": ["as_of", "total", "sensors"],
        "additionalProperties": False,
        "properties": {
            "as_of": {"type": "string", "format": "date-time"},
            "total": {"type": "integer", "description": "Readings to be removed"},
            "sensors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["sensor", "readings", "oldest", "newest", "from"],
                    "additionalProperties": False,
                    "properties": {
                        "sensor": {"type": "string"},
                        "readings": {"type": "integer"},
                        "oldest": {"type": "string", "format": "date-time"},
                        "newest": {"type": "string", "format": "date-time"},
                        "from": {
                            "type": "string",
                            "format": "date-time",
                            "description": "When pruning of this sensor starts",
                        },
                    },
                },
            },
        },
    },
)


def _time(micros):
    return None if micros is None else format_micros(micros)


def retention_public(policy):
    """The read model of a retention.Policy."""
    return {
        "rules": policy.rules,
        "updated_at": _time(policy.updated_at),
        "prunes_from": _time(policy.prunes_from),
    }


def preview_public(now, rows):
    """The read model of retention.preview's rows at now."""
    return {
        "as_of": format_micros(now),
        "total": sum(row.readings for row in rows),
        "sensors": [
            {
                "sensor": row.sensor,
                "readings": row.readings,
                "oldest": format_micros(row.oldest),
                "newest": format_micros(row.newest),
                "from": format_micros(row.starts),
            }
            for row in rows
        ],
    }
