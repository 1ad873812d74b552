"""Strict JSON parsing: no NaN/Infinity, no stack overflow on deep nesting."""

import json
import re

from flask.json.provider import DefaultJSONProvider

# A \uD800-\uDFFF escape; json.loads pairs valid ones, so any left are lone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONProvider(DefaultJSONProvider):
    """Standard JSON only; bad input is a ValueError, which Flask answers with 400."""

    compact = True
    sort_keys = False

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        text = s.decode("utf-8", "replace") if isinstance(s, bytes) else s
        if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
            raise ValueError("JSON strings must be valid Unicode (lone surrogate)")
        return value


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
