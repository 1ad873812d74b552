"""Query-string parsing with reqparse: one definition both documents and checks.

Each type below is a reqparse type: it returns the parsed value or raises
ValueError with the reason, and its __schema__ is what the spec shows.
"""

from flask import current_app
from flask_restx import reqparse

from myapp.calendars import is_zone
from myapp.db import ID_MAX
from myapp.timestamps import parse_timestamp
from myapp.validation import REQUIRED, ascii_digits


class QueryArgument(reqparse.Argument):
    """Query argument whose error message is just the reason (help stays docs-only)."""

    def __init__(self, name, **kwargs):
        kwargs.setdefault("location", "args")
        super().__init__(name, **kwargs)

    def handle_validation_error(self, error, bundle_errors):
        # reqparse says "Missing required parameter in the query string".
        if str(error).startswith("Missing required parameter"):
            error = REQUIRED
        errors = {self.name: str(error)}
        if bundle_errors:
            return ValueError(error), errors
        return super().handle_validation_error(error, bundle_errors)


def query_parser():
    """A parser that reports every bad argument at once as {"query", "message"}."""
    return reqparse.RequestParser(argument_class=QueryArgument, bundle_errors=True)


def integer(value):
    """An optional minus and ASCII digits only: int() also takes "１", "1_0", " 1"."""
    text = str(value)
    digits = text[1:] if text.startswith("-") else text
    if not (ascii_digits(digits) and len(digits) <= 19):
        raise ValueError("must be an integer")
    return int(text)


integer.__schema__ = {"type": "integer"}


class PageSize:
    """?limit=: 1 to PAGE_LIMIT_MAX, which the spec shows from each app's config."""

    def __call__(self, value):
        number = integer(value)
        maximum = current_app.config["PAGE_LIMIT_MAX"]
        if not 1 <= number <= maximum:
            raise ValueError(f"must be between 1 and {maximum}")
        return number

    @property
    def __schema__(self):
        """Read when the spec is built, in a request to this app."""
        maximum = current_app.config["PAGE_LIMIT_MAX"]
        return {"type": "integer", "minimum": 1, "maximum": maximum}


page_size = PageSize()


def id_number(value):
    """An id of a 32-bit key (a user, a goal): 1 to ID_MAX."""
    number = integer(value)
    if not 1 <= number <= ID_MAX:
        raise ValueError(f"must be between 1 and {ID_MAX}")
    return number


id_number.__schema__ = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


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


def one_of(*choices):
    """A type accepting exactly one of choices."""

    def choice(value):
        if value not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return value

    choice.__schema__ = {"type": "string", "enum": list(choices)}
    return choice


def time_zone(value):
    """An IANA time zone name of the pinned tzdata."""
    if not is_zone(value):
        raise ValueError("must be an IANA time zone name, e.g. Europe/Berlin")
    return value


time_zone.__schema__ = {"type": "string", "maxLength": 64, "example": "Europe/Berlin"}


def text(max_length, also_forbidden=""):
    """A type for 1 to max_length characters without NUL (nor also_forbidden)."""
    forbidden = "\x00" + also_forbidden
    names = " or ".join(["NUL", *also_forbidden])
    message = f"must be 1 to {max_length} characters without {names}"

    def check(value):
        if not 1 <= len(value) <= max_length or any(c in value for c in forbidden):
            raise ValueError(message)
        return value

    check.__schema__ = {"type": "string", "minLength": 1, "maxLength": max_length}
    return check


def device_filter(value):
    """?device_id=: a device's id (any number of up to 19 digits) or "none"."""
    if value == "none":
        return value
    if not (ascii_digits(value) and len(value) <= 19):
        raise ValueError("must be a device id or none")
    return int(value)


device_filter.__schema__ = {"type": "string", "pattern": "^(none|[0-9]{1,19})$"}
