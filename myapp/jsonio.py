"""Request bodies are parsed here, once: strict UTF-8 JSON or a 400/415 problem.

Only ``application/json`` (charset, if given, UTF-8) is JSON. The bytes are
decoded as strict UTF-8 before parsing, which refuses invalid UTF-8, surrogates
encoded in bytes (CESU-8), overlong forms and UTF-16/32 (``json.loads(bytes)``
would guess the latter and let encoded surrogates through); NaN/Infinity,
escaped lone surrogates and nesting too deep for the parser are refused after.
"""

import json
import re

from flask import Request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"
_UTF8_NAMES = {"utf-8", "utf8"}
# A \uD800-\uDFFF escape; json.loads pairs valid ones, so any left are lone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONProvider(DefaultJSONProvider):
    """Standard JSON only; bad input is a ValueError, which the request answers 400."""

    compact = True
    sort_keys = False

    def loads(self, s, **kwargs):
        if isinstance(s, (bytes, bytearray)):
            try:
                s = s.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"not UTF-8 ({error.reason} at byte " f"{error.start})"
                ) from None
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if _SURROGATE_ESCAPE.search(s) and _has_lone_surrogate(value):
            raise ValueError("JSON strings must be valid Unicode (lone surrogate)")
        return value


class StrictJSONRequest(Request):
    """A request whose body is JSON only as application/json in UTF-8."""

    @property
    def is_json(self):
        charset = self.mimetype_params.get("charset", "utf-8").lower()
        return self.mimetype == JSON_MEDIA_TYPE and charset in _UTF8_NAMES

    def on_json_loading_failed(self, e):
        if e is None:
            raise UnsupportedMediaType(
                "The body must be sent as Content-Type: application/json "
                "(UTF-8; no other charset or JSON-based media type)."
            )
        raise BadRequest(f"The body is not valid JSON: {e}.")


def _has_lone_surrogate(value):
    """True if any string (key or value) in the parsed document is not valid text."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def init_app(app):
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.request_class = StrictJSONRequest
