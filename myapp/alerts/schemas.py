"""What clients may write about alert rules, and what they read back."""

from myapp.micros import format_micros
from myapp.pagination import page_schema
from myapp.validation import PATTERN_END, PATTERN_MESSAGE, Schema

# PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded at all.
_TEXT = "^[^\\u0000\\ud800-\\udfff]*" + PATTERN_END
_TEXT_MESSAGE = "text without NUL (U+0000) characters"
SILENCE_MAX_SECONDS = 604800

NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": 100,
    "pattern": _TEXT,
    PATTERN_MESSAGE: _TEXT_MESSAGE,
}
SENSOR = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": _TEXT,
    PATTERN_MESSAGE: _TEXT_MESSAGE,
    "description": "The exact sensor name the rule watches",
}
WEBHOOK_URL = {
    "type": ["string", "null"],
    "maxLength": 2048,
    "pattern": _TEXT,
    PATTERN_MESSAGE: _TEXT_MESSAGE,
    "description": "https:// (http:// where the operator allows it), no user "
    "info, a host whose every address is public (loopback and private ones only "
    "where the operator allows them; link-local never); null: no webhook, and "
    "pending deliveries are cancelled. A refused URL is a 400 at /webhook_url.",
}
EMAIL = {
    "type": "boolean",
    "description": "Also notify your email address; true is a 400 where the "
    "operator configured no email (MYAPP_SMTP_URL) or your address is not verified",
}
COOLDOWN_SECONDS = {
    "type": "integer",
    "minimum": 0,
    "maximum": 86400,
    "description": "After a notification is sent, the next waits at least this "
    "long; events in between supersede each other (default 0)",
}
CONDITION = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "description": "threshold: field, above and/or below, hysteresis (default 0); "
    "with both bounds below + hysteresis <= above - hysteresis. silence: seconds, "
    "at least ALERTS_SILENCE_MIN_SECONDS (60 by default). Members of the other "
    "type are a 400 under /condition.",
    "properties": {
        "type": {"type": "string", "enum": ["threshold", "silence"]},
        "field": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": _TEXT,
            PATTERN_MESSAGE: _TEXT_MESSAGE,
            "description": "threshold: the top-level key of data that is judged",
        },
        "above": {"type": "number", "description": "threshold: fire above this"},
        "below": {"type": "number", "description": "threshold: fire below this"},
        "hysteresis": {
            "type": "number",
            "minimum": 0,
            "description": "threshold: resolve only this far back inside the bounds",
        },
        "seconds": {
            "type": "integer",
            "minimum": 1,
            "maximum": SILENCE_MAX_SECONDS,
            "description": "silence: fire after this long without a new reading",
        },
    },
}

CREATE = Schema(
    "AlertRuleCreate",
    {
        "type": "object",
        "required": ["name", "sensor", "condition"],
        "additionalProperties": False,
        "properties": {
            "name": NAME,
            "sensor": SENSOR,
            "condition": CONDITION,
            "webhook_url": WEBHOOK_URL,
            "email": EMAIL,
            "cooldown_seconds": COOLDOWN_SECONDS,
        },
    },
)

UPDATE = Schema(
    "AlertRuleUpdate",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": NAME,
            "condition": CONDITION,
            "webhook_url": WEBHOOK_URL,
            "email": EMAIL,
            "cooldown_seconds": COOLDOWN_SECONDS,
        },
    },
)

_TIMESTAMP = {"type": "string", "format": "date-time"}
# An event's and an attempt's fields, in order: their tables' columns too.
EVENT_FIELDS = ("id", "rule_id", "state", "at", "reading_id", "value", "changes")
ATTEMPT_FIELDS = (
    "id",
    "event_id",
    "attempt",
    "at",
    "status_code",
    "error",
    "next_attempt_at",
    "channel",
    "superseded",
)
_STATE = {"type": "string", "enum": ["ok", "firing"]}

RULE = Schema(
    "AlertRule",
    {
        "type": "object",
        "required": [
            "id",
            "name",
            "sensor",
            "condition",
            "webhook_url",
            "email",
            "cooldown_seconds",
            "state",
            "state_since",
            "created_at",
            "updated_at",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "sensor": {"type": "string"},
            "condition": {"type": "object"},
            "webhook_url": {"type": ["string", "null"]},
            "email": {"type": "boolean"},
            "cooldown_seconds": {"type": "integer"},
            "webhook_secret": {
                "type": "string",
                "description": "whsec_...: only in the answer that sets a webhook "
                "URL where there was none; never shown again",
            },
            "state": _STATE,
            "state_since": _TIMESTAMP,
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
        },
    },
)

EVENT = Schema(
    "AlertEvent",
    {
        "type": "object",
        "required": list(EVENT_FIELDS),
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "rule_id": {"type": "integer"},
            "state": {"type": "string", "enum": ["firing", "resolved"]},
            "at": _TIMESTAMP,
            "reading_id": {
                "type": ["integer", "null"],
                "description": "The reading that caused it (kept if it is deleted)",
            },
            "value": {
                "type": ["number", "null"],
                "description": "data[field] of that reading; null for silence",
            },
            "changes": {
                "type": "integer",
                "description": "1, except on an upload's last recorded event of "
                "the rule: the state changes that upload caused (at most two "
                "events are recorded per rule and upload)",
            },
        },
    },
)

ATTEMPT = Schema(
    "AlertDeliveryAttempt",
    {
        "type": "object",
        "required": list(ATTEMPT_FIELDS),
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "event_id": {"type": "integer"},
            "attempt": {"type": "integer", "description": "1 for the first try"},
            "at": _TIMESTAMP,
            "status_code": {
                "type": ["integer", "null"],
                "description": "The receiver's HTTP status; null if none came",
            },
            "error": {
                "type": ["string", "null"],
                "description": "Why no status came (refused address, timeout...)",
            },
            "next_attempt_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "When it is tried again; null after the last attempt",
            },
            "channel": {"type": "string", "enum": ["webhook", "email"]},
            "superseded": {
                "type": "boolean",
                "description": "A newer event of the rule was recorded before "
                "this one was delivered: no attempt follows (attempt 0: it was "
                "never tried)",
            },
        },
    },
)

RULE_PAGE = page_schema("AlertRulePage", RULE)
EVENT_PAGE = page_schema("AlertEventPage", EVENT)
ATTEMPT_PAGE = page_schema("AlertDeliveryAttemptPage", ATTEMPT)


def rule_public(rule, secret=None):
    """The read model of a service.RuleRow; secret only when just made."""
    body = {
        "id": rule.id,
        "name": rule.name,
        "sensor": rule.sensor,
        "condition": rule.condition,
        "webhook_url": rule.webhook_url,
        "email": rule.email,
        "cooldown_seconds": rule.cooldown_seconds,
        "state": rule.state,
        "state_since": format_micros(rule.state_since),
        "created_at": format_micros(rule.created_at),
        "updated_at": format_micros(rule.updated_at),
    }
    if secret is not None:
        body["webhook_secret"] = secret
    return body


def event_public(event):
    """The read model of a service.EventRow."""
    event_id, rule_id, state, at, reading_id, value, changes = event
    return {
        "id": event_id,
        "rule_id": rule_id,
        "state": state,
        "at": format_micros(at),
        "reading_id": reading_id,
        "value": value,
        "changes": changes,
    }


def attempt_public(attempt):
    """The read model of a service.AttemptRow."""
    (
        attempt_id,
        event_id,
        number,
        at,
        status_code,
        error,
        next_attempt_at,
        channel,
        superseded,
    ) = attempt
    return {
        "id": attempt_id,
        "event_id": event_id,
        "attempt": number,
        "at": format_micros(at),
        "status_code": status_code,
        "error": error,
        "next_attempt_at": (
            None if next_attempt_at is None else format_micros(next_attempt_at)
        ),
        "channel": channel,
        "superseded": bool(superseded),
    }
