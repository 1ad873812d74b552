"""What clients may write about accounts, and what they read back."""

from flask import current_app

from myapp import mail
from myapp.pagination import page_schema
from myapp.timestamps import format_timestamp
from myapp.validation import PATTERN_END, PATTERN_MESSAGE, Schema

USERNAME = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_.-]{3,32}" + PATTERN_END,
    PATTERN_MESSAGE: "3 to 32 letters, digits, dots, dashes or underscores",
    "description": "3 to 32 of A-Z a-z 0-9 _ . -",
}
# The pattern is the rule, spelled the same in every regex dialect (no \s), so the
# server and spec-driven clients agree; "format": "email" is left out because
# validators disagree on what it means.
EMAIL = {
    "type": "string",
    "maxLength": 254,
    "pattern": r"^[^@\u0000-\u0020\u007f-\u009f]+@[^@\u0000-\u0020\u007f-\u009f]+"
    r"\.[^@\u0000-\u0020\u007f-\u009f]+" + PATTERN_END,
    PATTERN_MESSAGE: "an email address, such as name@example.com, without spaces",
    "description": "An email address; stored lower-case",
}
PASSWORD = {"type": "string", "minLength": 8, "maxLength": 128}
TIME_ZONE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "An IANA time zone name, e.g. Europe/Berlin (default UTC)",
}
# Checking a password someone already has never reveals the length rules.
ANY_PASSWORD = {"type": "string", "minLength": 1, "maxLength": 1024}

REGISTER = Schema(
    "UserRegister",
    {
        "type": "object",
        "required": ["username", "email", "password"],
        "additionalProperties": False,
        "properties": {
            "username": USERNAME,
            "email": EMAIL,
            "password": PASSWORD,
            "time_zone": TIME_ZONE,
        },
    },
)

LOGIN = Schema(
    "Login",
    {
        "type": "object",
        "required": ["username", "password"],
        "additionalProperties": False,
        "properties": {
            "username": {
                "type": "string",
                "minLength": 1,
                "maxLength": 254,
                # No control characters: no username or email has one, and
                # PostgreSQL cannot even compare text holding a NUL.
                "pattern": "^[^\\u0000-\\u001f\\u007f]+" + PATTERN_END,
                PATTERN_MESSAGE: "a username or email address, without control "
                "characters",
                "description": "Username or email",
            },
            "password": ANY_PASSWORD,
        },
    },
)

UPDATE_ME = Schema(
    "UserUpdate",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "email": EMAIL,
            "password": PASSWORD,
            "time_zone": TIME_ZONE,
            "current_password": ANY_PASSWORD,
        },
    },
)

DELETE_ME = Schema(
    "UserDelete",
    {
        "type": "object",
        "required": ["current_password"],
        "additionalProperties": False,
        "properties": {"current_password": ANY_PASSWORD},
    },
)

VERIFY_EMAIL = Schema(
    "VerifyEmail",
    {
        "type": "object",
        "required": ["token"],
        "additionalProperties": False,
        "properties": {
            "token": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1000,
                "description": "The token of the link in the verification message",
            }
        },
    },
)

USER = Schema(
    "User",
    {
        "type": "object",
        "required": [
            "id",
            "username",
            "email",
            "email_verified",
            "is_admin",
            "time_zone",
            "created_at",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "username": {"type": "string"},
            "email": {"type": "string"},
            "email_verified": {
                "type": "boolean",
                "description": "A verification link sent to this address was "
                "followed; always false where the operator configured no email",
            },
            "is_admin": {"type": "boolean"},
            "time_zone": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
)

USER_PAGE = page_schema("UserPage", USER)

TOKENS = Schema(
    "Tokens",
    {
        "type": "object",
        "required": ["access_token", "refresh_token", "token_type", "expires_in"],
        "additionalProperties": False,
        "properties": {
            "access_token": {"type": "string"},
            "refresh_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "description": "Access token seconds"},
        },
    },
)


def user_public(user):
    """The read model of a user: never any password material."""
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "email_verified": bool(user.email_verified)
        and mail.configured(current_app.config),
        "is_admin": bool(user.is_admin),
        "time_zone": user.time_zone,
        "created_at": format_timestamp(user.created_at),
    }
