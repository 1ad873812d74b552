"""The users feature's part of authentication: whether a token's login session is live.

Handed to myapp.auth at start-up (users.init_app); checked on every request
with an access token, so a logout or password change takes effect at once.
"""

import functools
from typing import NamedTuple

from sqlalchemy import bindparam, select

from myapp.auth import Principal, subject
from myapp.errors import InvalidToken
from myapp.rawsql import CompiledSelect
from myapp.users.models import AuthSession, User


class LiveSession(NamedTuple):
    """What the token check reads of a live login session's user."""

    is_admin: bool
    time_zone: str


@functools.cache
def _live_session_query():
    """Built and compiled once; per request only the parameters change."""
    users, sessions = User.__table__.c, AuthSession.__table__.c
    return CompiledSelect(
        select(users.is_admin, users.time_zone)
        .join_from(AuthSession.__table__, User.__table__, sessions.user_id == users.id)
        .where(
            sessions.id == bindparam("sid"),
            sessions.revoked_at.is_(None),
            users.id == bindparam("user_id"),
        ),
        LiveSession,
    )


def load_principal(claims):
    """The caller, if the token's login session is live and its user exists."""
    user_id = subject(claims)
    row = _live_session_query().first(sid=claims["sid"], user_id=user_id)
    if row is None:
        raise InvalidToken("The token has been revoked.")
    return Principal(
        user_id, bool(row.is_admin), claims["sid"], time_zone=row.time_zone
    )
