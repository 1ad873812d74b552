"""RFC 3339 timestamps: offset required on input, UTC with 'Z' on output."""

import re
from datetime import datetime, timezone

from myapp.validation import PATTERN_END

# Date, time, optional fraction, and a mandatory offset; JSON Schemas reuse it.
# Fields are range-checked so that strings matching it are nearly always real
# times (only dates like 02-30 and offsets past year 1 or 9999 still fail parsing).
RFC3339_PATTERN = (
    r"^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
    r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])" + PATTERN_END
)
RFC3339_MESSAGE = (
    "a date and time with an offset (RFC 3339), such as 2026-12-07T09:30:00Z "
    "or 2026-12-07T10:30:00+01:00"
)
_RFC3339 = re.compile(RFC3339_PATTERN)
_FRACTION = re.compile(r"\.([0-9]+)")


def parse_timestamp(text):
    """Parse an RFC 3339 timestamp with offset into aware UTC; ValueError if not."""
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. Z")
    # Python keeps microseconds: cut longer fractions instead of rejecting them.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    text = text[:-1] + "+00:00" if text[-1] in "Zz" else text
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError("is not a valid date and time in range") from None


def format_timestamp(value):
    """UTC, microseconds kept, 'Z' suffix."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    # strftime's %Y drops the zero padding of years below 1000 on glibc.
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.%fZ")
