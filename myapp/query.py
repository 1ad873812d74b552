"""Query-string parsing with reqparse: one definition both documents and checks."""

from flask import current_app
from flask_restx import reqparse

from myapp.timestamps import parse_timestamp


class QueryArgument(reqparse.Argument):
    """Query argument whose error message is just the reason (help stays docs-only)."""

    def __init__(self, name, **kwargs):
        kwargs.setdefault("location", "args")
        super().__init__(name, **kwargs)

    def handle_validation_error(self, error, bundle_errors):
        errors = {self.name: str(error)}
        if bundle_errors:
            return ValueError(error), errors
        return super().handle_validation_error(error, bundle_errors)


def query_parser():
    """A parser that reports every bad argument at once as {"query", "message"}."""
    return reqparse.RequestParser(argument_class=QueryArgument, bundle_errors=True)


def integer(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("must be an integer") from None


integer.__schema__ = {"type": "integer"}


def page_size(value):
    """?limit=: 1 to PAGE_LIMIT_MAX."""
    number = integer(value)
    maximum = current_app.config["PAGE_LIMIT_MAX"]
    if not 1 <= number <= maximum:
        raise ValueError(f"must be between 1 and {maximum}")
    return number


page_size.__schema__ = {"type": "integer", "minimum": 1, "maximum": 1000}


def token(value):
    """A non-empty opaque token, e.g. a page cursor (?cursor= is not a cursor)."""
    if not value:
        raise ValueError("must not be empty")
    return value


token.__schema__ = {"type": "string", "minLength": 1}


def timestamp(value):
    """An RFC 3339 timestamp with offset, as aware UTC."""
    return parse_timestamp(value)


timestamp.__schema__ = {"type": "string", "format": "date-time"}


def boolean(value):
    lowered = str(value).lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError("must be true or false")


boolean.__schema__ = {"type": "boolean"}
