"""SQL over stored JSON documents that both databases agree on."""

import sqlalchemy as sa


def sqlite_is_number(value, data, path):
    """SQL: value, json_extract(data, path), came from a JSON number.

    json_extract gives JSON true and false as 1 and 0: only for those does
    json_type parse the document again, to tell them from numbers.
    """
    kind = sa.func.typeof(value)
    return sa.or_(
        kind == "real",
        sa.and_(
            kind == "integer",
            sa.or_(value.not_in([0, 1]), sa.func.json_type(data, path) == "integer"),
        ),
    )
