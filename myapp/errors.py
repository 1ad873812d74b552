"""Every error, from every layer, becomes an RFC 9457 application/problem+json."""

import logging
import math
import time

from flask import current_app, json
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    HTTPException,
    NotFound,
    Unauthorized,
)
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from myapp.db import db
from myapp.limiter import limiter
from myapp.primary import note_unavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class ValidationFailed(BadRequest):
    """A 400 listing each violation as {"pointer"|"query", "message"}."""

    description = "The request failed validation."

    def __init__(self, errors, description=None):
        super().__init__(description)
        self.errors = errors

    @classmethod
    def at(cls, pointer, message):
        return cls([{"pointer": pointer, "message": message}])

    @classmethod
    def query(cls, name, message):
        return cls([{"query": name, "message": message}])


class InvalidToken(Unauthorized):
    """Any bearer token failure; always a 401 with WWW-Authenticate."""

    def __init__(self, description="The bearer token is missing or invalid."):
        super().__init__(description, www_authenticate=_bearer_challenge())


def _bearer_challenge():
    return WWWAuthenticate("Bearer", {"realm": "api"})


def not_found(what="resource"):
    return NotFound(f"The {what} does not exist.")


def forbidden(detail="You are not allowed to do this."):
    return Forbidden(detail)


def conflict(detail):
    return Conflict(detail)


def problem(code, detail=None, errors=None, headers=None, **extra):
    """A problem+json response; extra members are added to the body."""
    body = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(code, "Error"),
        "status": code,
    }
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(
        json.dumps(body), status=code, mimetype=PROBLEM_JSON, headers=headers
    )


def handle_exception(error):
    """The one place that turns exceptions into problem responses."""
    if isinstance(error, RateLimitExceeded):
        return problem(
            429,
            f"Rate limit exceeded: {error.description}.",
            headers={"Retry-After": str(_retry_after_seconds())},
        )
    if isinstance(error, HTTPException):
        return _http_problem(error)
    if isinstance(error, IntegrityError):
        _rollback()
        return problem(409, "The request conflicts with existing data.")
    if isinstance(error, DBAPIError) and _is_unavailable(error):
        note_unavailable()
        _rollback()
        log.warning("database unavailable: %s", error.orig)
        return problem(
            503, "The database is unavailable.", headers={"Retry-After": "5"}
        )
    _rollback()
    log.exception("unhandled error")
    return problem(500, "An unexpected error occurred.")


def _http_problem(error):
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    errors = getattr(error, "errors", None)
    detail = error.description
    data = getattr(error, "data", None)
    if (
        errors is None
        and isinstance(data, dict)
        and isinstance(data.get("errors"), dict)
    ):
        # flask-restx reqparse reports query-string problems as {name: message}.
        errors = [{"query": k, "message": str(v)} for k, v in data["errors"].items()]
        detail = "The query string failed validation."
    return problem(error.code or 500, detail, errors, headers)


def _is_unavailable(error):
    return error.connection_invalidated or isinstance(
        error, (OperationalError, InterfaceError)
    )


def _retry_after_seconds():
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _rollback():
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the session is reset anyway
        current_app.logger.debug("rollback failed", exc_info=True)


def end_session_quietly(exc):
    """Close the request's session; a database gone mid-request must not cut the reply.

    Flask-SQLAlchemy's own teardown rolls back on close, and when the server
    died after the handler's last query that ROLLBACK raises after the status
    and headers are out, so clients got a 200 with no body. Teardowns run in
    reverse order of registration: this one (registered after db.init_app)
    closes the session first and leaves Flask-SQLAlchemy nothing to do.
    """
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("closing the session failed: %s", error.orig)
        db.session.registry().invalidate()  # drop the connection, no second ROLLBACK
        db.session.registry.clear()


def init_app(app):
    app.register_error_handler(Exception, handle_exception)
    app.teardown_appcontext(end_session_quietly)
