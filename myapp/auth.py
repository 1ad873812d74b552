"""Bearer authentication shared by every feature: who is calling, decided here only.

A bearer token is a user's JWT or a device key ("mdk_..."). flask-jwt-extended
mints tokens (see users.service); checking one is one PyJWT decode per distinct
token and one query that its login session is live. Checking a device key is
one query by its hash (devices.keys), so deleting or rotating a device takes
effect at once in every worker; a device key may only upload readings.
"""

import functools
import hashlib
import re
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

import jwt
from flask import current_app, g, request
from flask_jwt_extended import JWTManager
from sqlalchemy import BigInteger, bindparam, or_, select, type_coerce

from myapp.errors import InvalidToken, forbidden
from myapp.rawsql import CompiledSelect

jwt_manager = JWTManager()
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "jti", "type", "sid"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role, and the login session of the token.

    For a device key: the device's owner (never an admin), no login session,
    the device, its sensor patterns (None: any) and when it was last used
    (microseconds, or None).
    """

    user_id: int
    is_admin: bool
    session_id: str | None
    device_id: int | None = None
    sensors: tuple | None = None
    last_used_at: int | None = None


@dataclass(frozen=True)
class RefreshToken:
    """A verified refresh token: the login session it may renew, and its jti."""

    user_id: int
    session_id: str
    jti: str


def init_app(app):
    jwt_manager.init_app(app)


# A device key: "mdk_" and 43 base64url characters (32 random bytes). The prefix
# tells a key from a JWT (and lets secret scanners find leaked ones).
DEVICE_KEY_PREFIX = "mdk_"
DEVICE_KEY_FORMAT = re.compile(r"mdk_[A-Za-z0-9_-]{43}")


def device_key_hash(key):
    """What the database stores of a device key: SHA-256 in 64 hex digits.

    A key holds 256 random bits, so a fast unsalted hash is right: a password
    hash would cost milliseconds on every upload and protect nothing more.
    """
    return hashlib.sha256(key.encode()).hexdigest()


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


class LiveDeviceKey(NamedTuple):
    """What the key check reads of a live key's device."""

    device_id: int
    user_id: int
    sensors: object  # the list of patterns, or None
    last_used_at: int | None


@functools.cache
def _live_key_query():
    """Built and compiled once: the key's device, if the key has not expired."""
    from myapp.devices.models import Device, DeviceKey

    devices, device_keys = Device.__table__.c, DeviceKey.__table__.c
    now = bindparam("now")
    return CompiledSelect(
        select(
            devices.id.label("device_id"),
            devices.user_id,
            devices.sensors,
            type_coerce(devices.last_used_at, BigInteger).label("last_used_at"),
        )
        .join_from(DeviceKey.__table__, Device.__table__)
        .where(
            device_keys.key_hash == bindparam("key_hash"),
            or_(device_keys.expires_at.is_(None), device_keys.expires_at > now),
        ),
        LiveDeviceKey,
    )


# One answer for every bad key, so none tells a deleted key from a made-up one.
BAD_DEVICE_KEY = "The device key is unknown, revoked or expired."


def load_device(token):
    """The caller behind a device key, if the key is well formed and live."""
    if DEVICE_KEY_FORMAT.fullmatch(token) is None:
        raise InvalidToken(BAD_DEVICE_KEY)
    row = _live_key_query().first(
        key_hash=device_key_hash(token), now=int(time.time() * 1_000_000)
    )
    if row is None:
        raise InvalidToken(BAD_DEVICE_KEY)
    sensors = tuple(row.sensors) if row.sensors is not None else None
    return Principal(row.user_id, False, None, row.device_id, sensors, row.last_used_at)


def authenticate(*, admin=False, refresh=False, devices=False):
    """Who is calling, as this operation accepts: credentials are judged here only.

    An access token names a live user session (a Principal); admin=True also
    needs the admin role (else 403). refresh=True accepts a refresh token only,
    whose login session the handler may renew (a RefreshToken). A live device
    key is a Principal with its device only where devices=True (the uploads);
    anywhere else it is a 403, and a bad one a 401, like a bad token.
    """
    token = bearer_token()
    if refresh:
        claims = verified_claims(token, "refresh")
        return RefreshToken(_subject(claims), claims["sid"], claims["jti"])
    if token.startswith(DEVICE_KEY_PREFIX):
        principal = load_device(token)
        if not devices:
            raise forbidden(
                "A device key may only upload readings "
                "(POST /readings/ and POST /readings/batch)."
            )
    else:
        principal = load_principal(verified_claims(token, "access"))
        if admin and not principal.is_admin:
            raise forbidden("This operation is for admins only.")
    g.caller = principal
    return principal


def current_caller():
    """The request's authenticated caller, for code that is not handed it (limits)."""
    return g.caller
