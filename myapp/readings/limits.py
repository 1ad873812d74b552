"""The readings feature's rate limit (myapp.limiter), read from the config.

- UPLOAD_RATE_LIMIT: POST /readings/ and /readings/batch per user with the
  user's own token (a batch counts once), a limit string such as
  "600 per minute"; unset (the default) means none. Device keys have their
  own limit per device (devices.uploads.per_device). Unset by default: the
  contract promises no limit on a user's uploads, and one upload's work is
  bounded already (1000 readings, bounded alert events); an operator of a
  public deployment sets it to keep one account from taking every worker.
"""

from flask import current_app

from myapp.auth import current_caller
from myapp.devices.uploads import device_id_of
from myapp.limiter import limiter

# Parsed while the limit is unset, and never counted then (_exempt).
_UNSET = "1 per second"


def _limit():
    return current_app.config["UPLOAD_RATE_LIMIT"] or _UNSET


def _user_key():
    """The authenticated user (use below @authenticated)."""
    return f"user:{current_caller().user_id}"


def _exempt():
    """No limit set, or a device's upload (limited per device instead)."""
    if not current_app.config["UPLOAD_RATE_LIMIT"]:
        return True
    return device_id_of(current_caller()) is not None


# Checked in the same pass as per_device's limit, which every upload runs.
per_user_upload = limiter.shared_limit(
    _limit, scope="user-uploads", key_func=_user_key, exempt_when=_exempt
)
