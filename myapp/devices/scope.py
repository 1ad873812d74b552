"""Which sensors a device may write: its patterns, as one cached predicate each."""

import functools

from myapp.validation import PATTERN_END, PATTERN_MESSAGE

# A pattern ending in this is a prefix: "kitchen/*" matches "kitchen/temp".
PREFIX_MARK = "/*"
# The JSON Schema of one pattern (device scopes, retention rules): the rules
# of the sensor names it matches, 1 to 64 characters, no NUL.
PATTERN = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "pattern": "^[^\\u0000]+" + PATTERN_END,
    PATTERN_MESSAGE: "a sensor name without NUL (U+0000) characters",
    "description": "An exact sensor name, or a prefix ending in /* "
    "(kitchen/* matches kitchen/temp and kitchen/door/open, not kitchen); "
    "any other * is a literal character",
}


@functools.lru_cache(maxsize=1024)
def allowed(patterns):
    """A predicate sensor -> bool for a tuple of patterns (None: any sensor).

    An exact name matches itself; "prefix/*" matches every sensor that starts
    with "prefix/"; any other "*" is a literal character. Cached by value, so a
    PATCH of a device's patterns can never leave a stale predicate behind.
    """
    if patterns is None:
        return lambda sensor: True
    exact = frozenset(p for p in patterns if not p.endswith(PREFIX_MARK))
    prefixes = tuple(p[:-1] for p in patterns if p.endswith(PREFIX_MARK))
    return lambda sensor: sensor in exact or sensor.startswith(prefixes)
