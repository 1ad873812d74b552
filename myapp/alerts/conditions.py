"""Rule conditions: the checks beyond JSON Schema, and how a reading is judged."""

import math

from myapp.alerts.models import SILENCE, THRESHOLD
from myapp.errors import ValidationFailed

MEMBERS = {
    THRESHOLD: {"type", "field", "above", "below", "hysteresis"},
    SILENCE: {"type", "seconds"},
}
MICROS = 1_000_000


def checked(condition, *, silence_min_seconds):
    """The condition as stored (hysteresis defaulted), or a 400 under /condition."""
    kind = condition["type"]
    errors = [
        _at(key, f"is not a member of a {kind} condition")
        for key in condition
        if key not in MEMBERS[kind]
    ]
    if kind == THRESHOLD:
        errors += _threshold_errors(condition)
        condition = {**condition, "hysteresis": condition.get("hysteresis", 0)}
    elif "seconds" not in condition:
        errors.append(_at("seconds", "is required for a silence condition"))
    elif condition["seconds"] < silence_min_seconds:
        errors.append(_at("seconds", f"must be at least {silence_min_seconds}"))
    if errors:
        raise ValidationFailed(errors, "The request body failed validation.")
    return condition


def _at(member, message):
    pointer = "/condition/" + member if member else "/condition"
    return {"pointer": pointer, "message": message}


def _threshold_errors(condition):
    errors = []
    if "field" not in condition:
        errors.append(_at("field", "is required for a threshold condition"))
    bounds = [key for key in ("above", "below") if key in condition]
    if not bounds:
        errors.append(_at("", "needs above, below or both"))
    for key in bounds + ["hysteresis"]:
        if key in condition and not _finite(condition[key]):
            errors.append(_at(key, "must be a finite number"))
    if errors or len(bounds) < 2:
        return errors
    hysteresis = condition.get("hysteresis", 0)
    if condition["below"] + hysteresis > condition["above"] - hysteresis:
        errors.append(_at("", "needs below + hysteresis <= above - hysteresis"))
    return errors


def _finite(number):
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer too large for a float
        return False


def limits(condition):
    """A threshold's (fires above, fires below, resolves at most, resolves at least).

    A missing bound is infinite. An ok rule fires on a value > the first or <
    the second; a firing rule resolves on one within the last two, inclusive.
    """
    above, below = condition.get("above"), condition.get("below")
    hysteresis = condition.get("hysteresis", 0)
    top = math.inf if above is None else above
    bottom = -math.inf if below is None else below
    return top, bottom, top - hysteresis, bottom + hysteresis


def memoryless_bound(condition):
    """("above", a) or ("below", b) for a threshold with one bound and no
    hysteresis (its state is whether the last number was past it), else None."""
    if condition.get("hysteresis", 0) != 0:
        return None
    bounds = [
        (side, condition[side]) for side in ("above", "below") if side in condition
    ]
    return bounds[0] if len(bounds) == 1 else None


def silence_micros(condition):
    return condition["seconds"] * MICROS
