"""Swagger helpers shared by every namespace: the problem model, declared errors."""

from myapp.validation import Schema

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
    401: "Missing, invalid, expired or revoked token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Body is not application/json",
    429: "Rate limit exceeded",
    503: "Database unavailable",
}


def errors(ns, *codes):
    """Declare the problem responses an operation can give."""

    def decorate(func):
        model = PROBLEM_SCHEMA.model(ns)
        for code in codes:
            func = ns.response(code, ERROR_DESCRIPTIONS[code], model)(func)
        return func

    return decorate


def secured(ns, *codes):
    """Mark an operation as needing a bearer token and declare its errors.

    Checking the token reads its login session from the database, so every
    secured operation can also answer 503 when the database is unreachable.
    """

    def decorate(func):
        func = errors(ns, 401, 503, *codes)(func)
        return ns.doc(security="Bearer")(func)

    return decorate
