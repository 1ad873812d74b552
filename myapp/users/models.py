"""Accounts and their login sessions."""

import sqlalchemy as sa

from myapp.columns import UTCDateTime
from myapp.db import db, utcnow


class User(db.Model):
    __tablename__ = "users"

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(32), nullable=False)
    email = sa.Column(sa.String(254), nullable=False, unique=True)  # lower-case
    password_hash = sa.Column(sa.String(255), nullable=False)
    is_admin = sa.Column(sa.Boolean, nullable=False, default=False)
    # An IANA zone name: the local calendar of the user's stats and habits.
    time_zone = sa.Column(sa.String(64), nullable=False, server_default="UTC")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # The address got a verification link and the link was followed.
    email_verified = sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    # In every verification link of the current address until one is used.
    email_verify_nonce = sa.Column(sa.String(32), nullable=True)

    __table_args__ = (
        # Usernames are unique regardless of case.
        sa.Index("uq_users_username_lower", sa.func.lower(username), unique=True),
        # SQLite: a deleted account's id is never given to a new one.
        {"sqlite_autoincrement": True},
    )


class AuthSession(db.Model):
    """One login: its access and refresh tokens carry its id as the `sid` claim.

    Revoking the row revokes every token of the login. A missing row counts as
    revoked, so pruning expired rows never revives a token.
    """

    __tablename__ = "auth_sessions"

    id = sa.Column(sa.String(32), primary_key=True)
    user_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    # The only refresh token of this session that may still be used.
    refresh_jti = sa.Column(sa.String(36), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # After this every token of the session has expired; the row may be pruned.
    expires_at = sa.Column(UTCDateTime, nullable=False, index=True)
    revoked_at = sa.Column(UTCDateTime, nullable=True)
