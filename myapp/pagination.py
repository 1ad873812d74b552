"""Opaque, signed keyset cursors and the shared ?limit=&cursor= arguments."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from myapp.errors import ValidationFailed
from myapp.query import page_size, query_parser, token
from myapp.validation import Schema


def page_parser():
    """A query parser with the shared limit and cursor arguments."""
    parser = query_parser()
    parser.add_argument(
        "limit", type=page_size, help="Page size, 1 to 1000 (default 100)"
    )
    parser.add_argument("cursor", type=token, help="next_cursor from the previous page")
    return parser


def page_limit(value):
    """The effective limit: the given one (already checked) or the default."""
    return value if value is not None else current_app.config["PAGE_LIMIT_DEFAULT"]


def _serializer(scope):
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"cursor:{scope}")


def encode_cursor(scope, values):
    """An opaque token for the position after values."""
    return _serializer(scope).dumps(list(values))


def decode_cursor(scope, token):
    """The position a cursor stands for; 400 if it was not issued by us."""
    if token is None:
        return None
    try:
        return _serializer(scope).loads(token)
    except BadSignature:
        raise ValidationFailed.query("cursor", "is not a valid cursor") from None


def page_schema(name, item):
    """The read model of one keyset page of item (a Schema)."""
    return Schema(
        name,
        {
            "type": "object",
            "required": ["items", "next_cursor"],
            "additionalProperties": False,
            "properties": {
                "items": {"type": "array", "items": item.schema},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
    )
