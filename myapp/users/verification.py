"""Verified email addresses: the message with a signed link, and following it.

A link carries the user's id and a nonce stored with the address, signed with
SECRET_KEY and dated: it works for 48 hours, once. Every message sent for one
address carries the same nonce, so any of them works until one is used;
following it (or changing the address) forgets the nonce, so no link of an
earlier one works again. Messages go out after the transaction that needs
them commits, from the request itself (one SMTP conversation, SMTP_TIMEOUT
at most); a failure is logged and the person can ask again.
"""

import logging
import secrets

import sqlalchemy as sa
from flask import current_app
from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeTimedSerializer,
)

from myapp import mail
from myapp.db import db
from myapp.errors import ValidationFailed, conflict
from myapp.users.models import User

VALID_SECONDS = 48 * 3600
SALT = "verify-email"
log = logging.getLogger(__name__)


def _serializer(issued_at=None):
    secret = current_app.config["SECRET_KEY"]
    if issued_at is None:
        return URLSafeTimedSerializer(secret, salt=SALT)

    class Dated(TimestampSigner):
        def get_timestamp(self):
            return int(issued_at)

    return URLSafeTimedSerializer(secret, salt=SALT, signer=Dated)


def make_token(*, user_id, nonce, issued_at=None):
    """The signed token of a verification link (issued_at: seconds, for tests)."""
    return _serializer(issued_at).dumps({"u": user_id, "n": nonce})


def link(token):
    """Where the message sends the person: the web client, which posts the token."""
    return f"{current_app.config['PUBLIC_URL']}/app/#/verify-email?token={token}"


def start(user):
    """The user's address is new: not verified, and a nonce for its links."""
    user.email_verified = False
    configured = mail.configured(current_app.config)
    user.email_verify_nonce = secrets.token_hex(16) if configured else None


def send(user):
    """Send the verification message (after the commit); its Sent, or None."""
    config = current_app.config
    if not mail.configured(config) or user.email_verified:
        return None
    if not user.email_verify_nonce:
        return None
    token = make_token(user_id=user.id, nonce=user.email_verify_nonce)
    hours = VALID_SECONDS // 3600
    body = (
        f"Hello {user.username},\n\n"
        f"please confirm that {user.email} is your email address by opening\n"
        f"this link within {hours} hours:\n\n"
        f"{link(token)}\n\n"
        f"Until you do, {config['APP_NAME']} sends no alert email to it.\n"
        "If you did not ask for this, you can ignore this message.\n"
    )
    built = mail.message(
        config,
        to=user.email,
        subject=f"[{config['APP_NAME']}] Confirm your email address",
        body=body,
        headers=[("Auto-Submitted", "auto-generated")],
    )
    sent = mail.send(config, built)
    if not sent.delivered:
        log.warning(
            "verification message for user %d not sent: %s",
            user.id,
            sent.error or sent.status_code,
        )
    return sent


def send_again(*, user):
    """POST /users/me/verify-email: 409 when there is nothing to verify."""
    if not mail.configured(current_app.config):
        raise conflict("This server is not set up to send email.")
    if user.email_verified:
        raise conflict("Your email address is already verified.")
    if not user.email_verify_nonce:  # an account from before email was set up
        user.email_verify_nonce = secrets.token_hex(16)
        db.session.commit()
    send(user)


def verify(*, token):
    """Follow a link: the address is verified; a bad or used token is a 400."""
    try:
        claims = _serializer().loads(token, max_age=VALID_SECONDS)
    except SignatureExpired:
        raise ValidationFailed.at(
            "/token", "has expired: ask for a new message"
        ) from None
    except BadSignature:
        claims = None
    valid = (
        isinstance(claims, dict)
        and isinstance(claims.get("u"), int)
        and isinstance(claims.get("n"), str)
    )
    # Compare-and-swap: of two racing uses of one link, one wins.
    used = (
        valid
        and db.session.execute(
            sa.update(User)
            .where(User.id == claims["u"], User.email_verify_nonce == claims["n"])
            .values(email_verified=True, email_verify_nonce=None)
        ).rowcount
    )
    db.session.commit()
    if not used:
        raise ValidationFailed.at(
            "/token", "is not a valid link, or it was already used"
        )
