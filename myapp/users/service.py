"""Account rules: registration, login sessions, token rotation, profile changes."""

import secrets
import uuid

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from myapp import owners
from myapp.calendars import is_zone
from myapp.db import db, utcnow
from myapp.errors import InvalidToken, ValidationFailed, conflict, forbidden, not_found
from myapp.pagination import page_after
from myapp.users.models import AuthSession, User
from myapp.users import verification
from myapp.users.passwords import hash_password, needs_rehash, verify_password


def find_user(*, user_id):
    return db.session.get(User, user_id)


def get_user(*, user_id):
    """The user, or 404."""
    user = find_user(user_id=user_id)
    if user is None:
        raise not_found("user")
    return user


def _check_password_rules(username, password):
    if password.casefold() == username.casefold():
        raise ValidationFailed.at("/password", "must not be the same as the username")


def _ensure_available(*, username=None, email=None, exclude_id=None):
    clauses = []
    if username is not None:
        clauses.append(sa.func.lower(User.username) == username.lower())
    if email is not None:
        clauses.append(User.email == email.lower())
    query = sa.select(User.id).where(sa.or_(*clauses))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    if db.session.execute(query.limit(1)).first() is not None:
        raise conflict("That username or email is already registered.")


def _check_time_zone(time_zone):
    if not is_zone(time_zone):
        raise ValidationFailed(
            [{"pointer": "/time_zone", "message": "is not an IANA time zone name"}],
            "The request body failed validation.",
        )


def register(*, username, email, password, is_admin=False, time_zone="UTC"):
    """Create an account; 409 if the username or email is taken (any case)."""
    _check_password_rules(username, password)
    _check_time_zone(time_zone)
    _ensure_available(username=username, email=email)
    user = User(
        username=username,
        email=email.lower(),
        password_hash=hash_password(password),
        is_admin=is_admin,
        time_zone=time_zone,
    )
    verification.start(user)
    db.session.add(user)
    db.session.commit()
    verification.send(user)
    return user


def _named(login):
    """Rows whose username (any case) or email is login."""
    key = login.lower()
    return sa.or_(sa.func.lower(User.username) == key, User.email == key)


def find_user_id_by_login(*, login):
    """The id of the account a username-or-email names, or None."""
    return db.session.execute(
        sa.select(User.id).where(_named(login))
    ).scalar_one_or_none()


def check_credentials(*, login, password):
    """The user for a username-or-email and password; 401 alike for every failure."""
    user = db.session.execute(sa.select(User).where(_named(login))).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password):
        raise InvalidToken("The username or password is incorrect.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def _issue_tokens(user_id, session_id, refresh_jti):
    identity = str(user_id)
    access = create_access_token(
        identity=identity,
        additional_claims={"sid": session_id, "jti": uuid.uuid4().hex},
    )
    refresh = create_refresh_token(
        identity=identity, additional_claims={"sid": session_id, "jti": refresh_jti}
    )
    expires = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(expires.total_seconds()),
    }


def _session_expiry():
    config = current_app.config
    lifetime = max(
        config["JWT_ACCESS_TOKEN_EXPIRES"], config["JWT_REFRESH_TOKEN_EXPIRES"]
    )
    return utcnow() + lifetime


def start_session(*, user):
    """A new login session and its first token pair."""
    session = AuthSession(
        id=secrets.token_hex(16),
        user_id=user.id,
        refresh_jti=uuid.uuid4().hex,
        expires_at=_session_expiry(),
    )
    db.session.add(session)
    db.session.commit()
    return _issue_tokens(user.id, session.id, session.refresh_jti)


def rotate_session(*, token):
    """Trade a refresh token for a new pair; reuse of an old one revokes the session."""
    new_jti = uuid.uuid4().hex
    # Compare-and-swap: of two racing uses of one token, exactly one wins.
    swapped = db.session.execute(
        sa.update(AuthSession)
        .where(
            AuthSession.id == token.session_id,
            AuthSession.user_id == token.user_id,
            AuthSession.refresh_jti == token.jti,
            AuthSession.revoked_at.is_(None),
        )
        .values(refresh_jti=new_jti, expires_at=_session_expiry())
    ).rowcount
    if swapped != 1:
        revoke_sessions(session_id=token.session_id)
        db.session.commit()
        raise InvalidToken("The refresh token has been used or revoked.")
    db.session.commit()
    return _issue_tokens(token.user_id, token.session_id, new_jti)


def revoke_sessions(*, session_id=None, user_id=None, keep_session_id=None):
    """Revoke one login session, or every session of a user except one."""
    query = sa.update(AuthSession).where(AuthSession.revoked_at.is_(None))
    if session_id is not None:
        query = query.where(AuthSession.id == session_id)
    if user_id is not None:
        query = query.where(AuthSession.user_id == user_id)
    if keep_session_id is not None:
        query = query.where(AuthSession.id != keep_session_id)
    db.session.execute(query.values(revoked_at=utcnow()))


def end_session(*, session_id):
    """Logout: every token of this login session stops working."""
    revoke_sessions(session_id=session_id)
    db.session.commit()


def _require_current_password(user, password):
    if not verify_password(user.password_hash, password):
        raise forbidden("The current password is incorrect.")


def update_user(
    *,
    user,
    current_session_id,
    current_password=None,
    email=None,
    password=None,
    time_zone=None,
):
    """Change email, password or time zone; a new password ends other sessions.

    current_password is required with email or password, and checked when given.
    """
    if current_password is None and (email is not None or password is not None):
        raise ValidationFailed(
            [
                {
                    "pointer": "/current_password",
                    "message": "is required to change email or password",
                }
            ],
            "The request body failed validation.",
        )
    if current_password is not None:
        _require_current_password(user, current_password)
    if time_zone is not None and time_zone != user.time_zone:
        _check_time_zone(time_zone)  # the stored one is valid: only a change is
        previous, user.time_zone = user.time_zone, time_zone
        db.session.flush()
        owners.time_zone_changed.send(
            user_id=user.id, time_zone=time_zone, previous=previous
        )
    new_address = email is not None and email.lower() != user.email
    if new_address:
        _ensure_available(email=email, exclude_id=user.id)
        user.email = email.lower()
        verification.start(user)
    if password is not None:
        _check_password_rules(user.username, password)
        user.password_hash = hash_password(password)
        revoke_sessions(user_id=user.id, keep_session_id=current_session_id)
    db.session.commit()
    if new_address:
        verification.send(user)
    return user


def delete_user(*, user_id):
    """Delete an account; the database cascades to its sessions, readings, goals."""
    deleted = db.session.execute(sa.delete(User).where(User.id == user_id)).rowcount
    db.session.commit()
    if not deleted:
        raise not_found("user")


def delete_own_account(*, user, current_password):
    _require_current_password(user, current_password)
    delete_user(user_id=user.id)


def list_users(*, limit, after=None):
    """A page of users by id after the (id,) position, and the next position."""
    query = sa.select(User).order_by(User.id).limit(limit + 1)
    if after is not None:
        query = query.where(User.id > after[0])
    users = list(db.session.execute(query).scalars())
    return page_after(users, limit, lambda user: (user.id,))


def prune_expired_sessions(*, now=None):
    """Delete login sessions whose every token has expired; returns the count."""
    result = db.session.execute(
        sa.delete(AuthSession).where(AuthSession.expires_at < (now or utcnow()))
    )
    db.session.commit()
    return result.rowcount
