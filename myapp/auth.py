"""Bearer authentication shared by every feature: who is calling, decided here only.

A bearer token is a user's JWT or a key of a kind a feature registered (devices:
"mdk_..."). flask-jwt-extended mints tokens (see users.service); checking one
is one PyJWT decode per distinct token, then the session loader the users
feature hands in at start-up (use_session_loader). A key is checked by the
loader of its kind (add_key_kind), and refused with 403 by operations that do
not take that kind. A new kind of credential is a new loader, not an edit here.
"""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import jwt
from flask import current_app, g, request
from flask_jwt_extended import JWTManager

from myapp.errors import InvalidToken, forbidden

jwt_manager = JWTManager()
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "jti", "type", "sid"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role, and the login session of the token.

    For a key: the key's owner (never an admin), no login session, and what the
    key's loader made of it (key: the devices feature's DeviceCaller, say).
    time_zone: the user's IANA zone where the loader read it (a session's does;
    device keys, which reach only the uploads, leave it None).
    """

    user_id: int
    is_admin: bool
    session_id: str | None
    key: object = None
    time_zone: str | None = None


@dataclass(frozen=True)
class KeyKind:
    """A kind of key: its prefix, its loader (key text -> Principal, or 401),
    and the 403 detail where an operation does not take it."""

    prefix: str
    load: Callable[[str], Principal]
    refusal: str


_loaders = {"session": None}
_key_kinds = {}


def use_session_loader(load):
    """load(claims) -> Principal of a live login session, or 401: the users feature."""
    _loaders["session"] = load


def load_session(claims):
    """The Principal of verified access-token claims whose session is live, or 401."""
    return _loaders["session"](claims)


def add_key_kind(name, *, prefix, load, refusal):
    """Accept keys starting with prefix where an operation names name in keys=."""
    _key_kinds[name] = KeyKind(prefix, load, refusal)


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


def bearer_token():
    """The request's bearer token (a JWT or a device key), or 401."""
    header = request.headers.get("Authorization")
    if not header:
        raise InvalidToken("Missing Authorization: Bearer token.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
    return token


def decode_bearer(expected_type):
    """The verified claims of the request's bearer token of the expected type."""
    return verified_claims(bearer_token(), expected_type)


def verified_claims(token, expected_type):
    """The claims of a JWT of the expected type: signature, expiry, type; or 401."""
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


def subject(claims):
    try:
        return int(claims["sub"])
    except (TypeError, ValueError):
        raise InvalidToken("The token's subject is invalid.") from None


def authenticate(*, admin=False, refresh=False, keys=()):
    """Who is calling, as this operation accepts: credentials are judged here only.

    An access token names a live user session (a Principal); admin=True also
    needs the admin role (else 403). refresh=True accepts a refresh token only,
    whose login session the handler may renew (a RefreshToken). A live key is
    a Principal only where its kind is in keys (devices: the uploads);
    anywhere else it is a 403, and a bad one a 401, like a bad token.
    """
    token = bearer_token()
    if refresh:
        claims = verified_claims(token, "refresh")
        return RefreshToken(subject(claims), claims["sid"], claims["jti"])
    for name, kind in _key_kinds.items():
        if token.startswith(kind.prefix):
            principal = kind.load(token)
            if name not in keys:
                raise forbidden(kind.refusal)
            break
    else:
        principal = _loaders["session"](verified_claims(token, "access"))
        if admin and not principal.is_admin:
            raise forbidden("This operation is for admins only.")
    g.caller = principal
    return principal


def current_caller():
    """The request's authenticated caller, for code that is not handed it (limits)."""
    return g.caller
