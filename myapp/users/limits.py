"""The users feature's rate limits (myapp.limiter), each a config key's limit string.

- LOGIN_RATE_LIMIT: login attempts per client network and per account, however
  the account is named (username in any case, or email);
- REGISTER_RATE_LIMIT: registrations per client network (each one an Argon2 hash);
- PASSWORD_CHECK_RATE_LIMIT: wrong current_password answers (403) per user on
  PATCH and DELETE /users/me, so a stolen access token cannot guess it;
- VERIFY_EMAIL_RATE_LIMIT: verification messages a user asks for again.
"""

from flask import request
from sqlalchemy.exc import DBAPIError

from myapp.auth import current_caller
from myapp.db import db
from myapp.limiter import configured, limiter
from myapp.users.service import find_user_id_by_login

# Longer names are never accounts (the login schema's limit): no lookup for them.
LOGIN_NAME_MAX = 254


def login_account_key():
    """One bucket per account, whether it is named by username or by email."""
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    if not isinstance(name, str) or not 0 < len(name) <= LOGIN_NAME_MAX:
        return "login-name:"
    if not name.isprintable():  # the schema refuses it; never send it to SQL
        return "login-name:" + name.lower()
    try:
        user_id = find_user_id_by_login(login=name)
    except DBAPIError:
        # Flask-Limiter retries a failing key function without end; the view's
        # own query then meets the outage and answers 503.
        db.session.rollback()
        user_id = None
    return f"login-account:{user_id}" if user_id else "login-name:" + name.lower()


def current_user_key():
    """The authenticated user (use below @authenticated)."""
    return f"user:{current_caller().user_id}"


def _wrong_password(response):
    return response.status_code == 403


login_per_account = limiter.limit(
    configured("LOGIN_RATE_LIMIT"), key_func=login_account_key
)
login_per_network = limiter.limit(configured("LOGIN_RATE_LIMIT"))
register_per_network = limiter.limit(configured("REGISTER_RATE_LIMIT"))
# One bucket per user for PATCH and DELETE /users/me; only wrong passwords count.
wrong_password_per_user = limiter.shared_limit(
    configured("PASSWORD_CHECK_RATE_LIMIT"),
    scope="current-password",
    key_func=current_user_key,
    deduct_when=_wrong_password,
)
# Verification messages a user may ask for again (POST /users/me/verify-email).
verify_email_per_user = limiter.limit(
    configured("VERIFY_EMAIL_RATE_LIMIT"), key_func=current_user_key
)
