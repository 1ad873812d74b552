"""Bearer-token authentication shared by every feature.

flask-jwt-extended mints tokens (see users.service); checking them is one PyJWT
decode per distinct token and one query that the token's login session is live.
"""

import functools
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import jwt
from flask import current_app, request
from flask_jwt_extended import JWTManager
from sqlalchemy import bindparam, select

from myapp.errors import InvalidToken, forbidden
from myapp.rawsql import CompiledSelect

jwt_manager = JWTManager()
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "jti", "type", "sid"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role, and the login session of the token."""

    user_id: int
    is_admin: bool
    session_id: str


@dataclass(frozen=True)
class RefreshToken:
    """A verified refresh token: the login session it may renew, and its jti."""

    user_id: int
    session_id: str
    jti: str


def init_app(app):
    jwt_manager.init_app(app)


# Expiry and not-before are checked on every request, outside the cache.
_DECODE_OPTIONS = {"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_nbf": False}


@functools.lru_cache(maxsize=4096)
def _verified_claims(token, key, algorithms):
    """Signature-checked claims; cached because the same bytes verify the same way.

    Read-only: every request with this token is handed the same mapping.
    """
    claims = jwt.decode(
        token, key, algorithms=list(algorithms), options=_DECODE_OPTIONS
    )
    return MappingProxyType(claims)


def decode_bearer(expected_type):
    """The verified claims of the request's bearer token of the expected type."""
    header = request.headers.get("Authorization")
    if not header:
        raise InvalidToken("Missing Authorization: Bearer token.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
    config = current_app.config
    try:
        claims = _verified_claims(
            token, config["JWT_SECRET_KEY"], tuple(config["JWT_DECODE_ALGORITHMS"])
        )
    except jwt.PyJWTError:
        raise InvalidToken("The token is malformed or its signature is invalid.")
    now = time.time()
    # Expiry is checked on every request (no leeway), outside the signature cache.
    if claims["exp"] <= now:
        raise InvalidToken("The token has expired.")
    if claims["nbf"] > now:
        raise InvalidToken("The token is not valid yet.")
    if claims["type"] != expected_type:
        raise InvalidToken(f"An {expected_type} token is required.")
    return claims


class LiveSession(NamedTuple):
    """What the token check reads of a live login session's user."""

    is_admin: bool


@functools.cache
def _live_session_query():
    """Built and compiled once; per request only the parameters change."""
    # Imported here: the users package imports this module (through its views).
    from myapp.users.models import AuthSession, User

    users, sessions = User.__table__.c, AuthSession.__table__.c
    return CompiledSelect(
        select(users.is_admin)
        .join_from(AuthSession.__table__, User.__table__, sessions.user_id == users.id)
        .where(
            sessions.id == bindparam("sid"),
            sessions.revoked_at.is_(None),
            users.id == bindparam("user_id"),
        ),
        LiveSession,
    )


def _subject(claims):
    try:
        return int(claims["sub"])
    except (TypeError, ValueError):
        raise InvalidToken("The token's subject is invalid.") from None


def load_principal(claims):
    """The caller, if the token's login session is live and its user exists."""
    user_id = _subject(claims)
    row = _live_session_query().first(sid=claims["sid"], user_id=user_id)
    if row is None:
        raise InvalidToken("The token has been revoked.")
    return Principal(user_id, bool(row.is_admin), claims["sid"])


def authenticate(*, admin=False, refresh=False):
    """Who is calling, as this operation accepts: credentials are judged here only.

    An access token names a live user session (a Principal); admin=True also
    needs the admin role (else 403). refresh=True accepts a refresh token only,
    whose login session the handler may renew (a RefreshToken).
    """
    if refresh:
        claims = decode_bearer("refresh")
        return RefreshToken(_subject(claims), claims["sid"], claims["jti"])
    principal = load_principal(decode_bearer("access"))
    if admin and not principal.is_admin:
        raise forbidden("This operation is for admins only.")
    return principal
