"""Strict JSON parsing: no NaN/Infinity, no stack overflow on deep nesting."""

import json

from flask.json.provider import DefaultJSONProvider


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONProvider(DefaultJSONProvider):
    """Standard JSON only; bad input is a ValueError, which Flask answers with 400."""

    compact = True
    sort_keys = False

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def init_app(app):
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
