"""One decorator per concern: each documents an operation and enforces it too.

    @ns.route("/")
    class ReadingList(Resource):
        @response(ns, 200, "A page of readings", schemas.READING_PAGE)
        @authenticated(ns)
        @query(ns, LIST_ARGS)
        def get(self, caller, args):
            ...

@authenticated goes above @body and @query (checked when they are applied), so
a caller without a valid token gets a 401 before the body or query is read.
Each hands the handler its value by keyword: caller=, data=, args=. What a
wrapper enforces is recorded in its ENFORCED attribute; test_decorators checks
the published spec against it for every operation.
"""

import functools

from flask import request

from myapp import auth
from myapp.validation import Schema

ENFORCED = "__enforced__"

PROBLEM_SCHEMA = Schema(
    "Problem",
    {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string"},
                        "query": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    },
)

ERROR_DESCRIPTIONS = {
    400: "Invalid request (validation errors listed)",
    401: "Missing, invalid, expired or revoked token or device key",
    403: "Not allowed (a device key may only upload readings, to its sensors)",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Body is not application/json",
    429: "Rate limit exceeded",
    503: "Database unavailable",
}


def enforced(func):
    """What func's decorators enforce: {"auth": rules, "body": schema, "query": ...}."""
    return getattr(func, ENFORCED, {})


def _enforcing(func, wrapper, concern, value):
    """Record on wrapper what it enforces, on top of what func already does."""
    wrapper.__dict__[ENFORCED] = {**enforced(func), concern: value}
    return wrapper


def _below_auth(func, decorator):
    if "auth" in enforced(func):
        raise TypeError(
            f"{func.__qualname__}: put @authenticated above {decorator}, "
            "so the token is checked before the request is read"
        )


def response(ns, code, description, schema=None):
    """Document a success response and its body's schema."""
    return ns.response(code, description, schema.model(ns) if schema else None)


def errors(ns, *codes):
    """Document the problem responses an operation can give."""

    def decorate(func):
        model = PROBLEM_SCHEMA.model(ns)
        for code in codes:
            func = ns.response(code, ERROR_DESCRIPTIONS[code], model)(func)
        return func

    return decorate


def authenticated(ns, *codes, admin=False, refresh=False, keys=()):
    """Require a bearer token and hand the handler caller= (see auth.authenticate).

    Documents Bearer security, 401, 503 (checking a token reads its login
    session from the database), 403 (a device key outside the uploads, or a
    non-admin where admin=True; not where refresh=True, which answers any
    other token 401), and any other codes. keys names the kinds of key that
    are accepted besides a user's token (keys=("device",): the two uploads).
    """
    declared = (401, 503) if refresh else (401, 403, 503)
    rules = {"admin": admin, "refresh": refresh, "keys": tuple(keys)}

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*positional, **kwargs):
            caller = auth.authenticate(**rules)
            return func(*positional, caller=caller, **kwargs)

        wrapper = _enforcing(func, wrapper, "auth", rules)
        wrapper = errors(ns, *declared, *codes)(wrapper)
        return ns.doc(security="Bearer")(wrapper)

    return decorate


def body(ns, schema):
    """Document schema as the JSON body and hand the handler the valid data=.

    Declares 400 (invalid), 413 (too large) and 415 (not application/json).
    """

    def decorate(func):
        _below_auth(func, "@body")

        @functools.wraps(func)
        def wrapper(*positional, **kwargs):
            data = schema.validate(request.get_json())
            return func(*positional, data=data, **kwargs)

        wrapper = _enforcing(func, wrapper, "body", schema)
        wrapper = errors(ns, 400, 413, 415)(wrapper)
        return ns.expect(schema.model(ns))(wrapper)

    return decorate


def query(ns, parser):
    """Document parser's query arguments and hand the handler the parsed args=.

    Declares 400, answered with every bad argument listed.
    """

    def decorate(func):
        _below_auth(func, "@query")

        @functools.wraps(func)
        def wrapper(*positional, **kwargs):
            return func(*positional, args=parser.parse_args(), **kwargs)

        wrapper = _enforcing(func, wrapper, "query", parser)
        wrapper = errors(ns, 400)(wrapper)
        return ns.expect(parser)(wrapper)

    return decorate
