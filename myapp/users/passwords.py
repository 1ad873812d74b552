"""Argon2id password hashing with the app's configured cost."""

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_EXTENSION = "myapp.password_hasher"


def _hasher():
    state = current_app.extensions.get(_EXTENSION)
    if state is None:
        config = current_app.config
        hasher = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        # Unknown users are checked against this so both paths cost the same.
        state = (hasher, hasher.hash("timing-equalizer"))
        current_app.extensions[_EXTENSION] = state
    return state


def hash_password(password):
    return _hasher()[0].hash(password)


def verify_password(password_hash, password):
    """True if password matches; an unknown user (None) costs one full verify."""
    hasher, dummy = _hasher()
    try:
        return hasher.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return _hasher()[0].check_needs_rehash(password_hash)
