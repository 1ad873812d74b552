"""Keyset pages: the shared ?limit=&cursor= arguments, signed cursors, one helper.

A list operation parses page_parser() (plus its own filters) with @query and
answers keyset_page(service.list_things, args, ...). The service function reads
limit + 1 rows after a position and answers page_after(rows, limit, position).
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from myapp.errors import ValidationFailed
from myapp.query import page_size, query_parser, token
from myapp.validation import Schema

PAGE_ARGUMENTS = ("limit", "cursor")


def default_page_size():
    """PAGE_LIMIT_DEFAULT, read per request: each app may configure its own."""
    return current_app.config["PAGE_LIMIT_DEFAULT"]


def page_parser():
    """A query parser with the shared limit and cursor arguments."""
    parser = query_parser()
    parser.add_argument(
        "limit", type=page_size, default=default_page_size, help="Page size"
    )
    parser.add_argument("cursor", type=token, help="next_cursor from the previous page")
    return parser


def keyset_page(list_rows, args, *, scope, serialize, **filters):
    """One page of a keyset list: {"items": [...], "next_cursor": ... or None}.

    list_rows(after=, limit=, **filters) gets the cursor's position (None on the
    first page), the page size and every other query argument, and answers
    page_after's (rows, next position). scope keeps cursors of one list (and
    order) from being used on another.
    """
    query = {k: v for k, v in args.items() if k not in PAGE_ARGUMENTS}
    rows, position = list_rows(
        after=decode_cursor(scope, args["cursor"]),
        limit=args["limit"],
        **query,
        **filters,
    )
    return {
        "items": [serialize(row) for row in rows],
        "next_cursor": encode_cursor(scope, position) if position else None,
    }


def page_after(rows, limit, position):
    """Up to limit + 1 rows read: (the first limit, position(last) if more follow)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, position(rows[-1])
    return rows, None


def _serializer(scope):
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"cursor:{scope}")


def encode_cursor(scope, position):
    """An opaque token for a position (a tuple of the sort key's values)."""
    return _serializer(scope).dumps(list(position))


def decode_cursor(scope, token):
    """The position (a tuple) a cursor stands for; 400 if we did not issue it."""
    if token is None:
        return None
    try:
        return tuple(_serializer(scope).loads(token))
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
