"""How many times one upload's numbers change a threshold rule's state, fast.

Only the first and last change of an upload are recorded (flapping is
bounded), so the judge needs the count of changes and where the first and the
last are, not every change. For the common rule, one bound and no
hysteresis, the state after each number is just whether it is past the bound:
the state flips between two consecutive numbers exactly when the bound lies
between them. With the spans between consecutive numbers sorted once per
upload and field, a rule's count is two bisections, and its first and last
changes are found by scanning in from each end (at once when it flaps). Other
rules walk the numbers one by one.
"""

from bisect import bisect_left, bisect_right
from functools import cached_property
from typing import NamedTuple


class Numbers(NamedTuple):
    """The readings of one upload with a number at data[field], and the range."""

    pairs: list  # [(reading, number)] in upload order
    values: list  # the numbers alone, in the same order
    lowest: float
    highest: float


class Spans:
    """The spans between consecutive numbers, their low and high ends sorted."""

    def __init__(self, values):
        lows, highs = [], []
        for before, after in zip(values, values[1:]):
            low, high = (before, after) if before <= after else (after, before)
            lows.append(low)
            highs.append(high)
        lows.sort()
        highs.sort()
        self.lows, self.highs = lows, highs


class Upload:
    """One upload's numbers of one field, and (when asked for) their spans."""

    def __init__(self, numbers):
        self.numbers = numbers

    @cached_property
    def spans(self):
        return Spans(self.numbers.values)


def changes(upload, firing, limits, memoryless_bound):
    """(count, index of the first change, index of the last) of state changes.

    firing: the rule's state before the upload; limits: conditions.limits().
    memoryless_bound: ("above", a) or ("below", b) for a rule with one bound and
    no hysteresis, else None.
    """
    values = upload.numbers.values
    if memoryless_bound is None:
        return _walk(values, firing, limits)
    side, bound = memoryless_bound
    past = (lambda v: v > bound) if side == "above" else (lambda v: v < bound)
    spans = upload.spans
    if side == "above":  # flips between v and w when low <= bound < high
        count = bisect_right(spans.lows, bound) - bisect_right(spans.highs, bound)
    else:  # when low < bound <= high
        count = bisect_left(spans.lows, bound) - bisect_left(spans.highs, bound)
    state = past(values[0])
    count += state != firing
    if not count:
        return 0, None, None
    first = 0 if state != firing else _next_flip(values, past)
    last = _last_flip(values, past) if count > 1 else first
    return count, first, last


def _next_flip(values, past):
    state = past(values[0])
    for index in range(1, len(values)):
        if past(values[index]) != state:
            return index
    raise AssertionError("no flip where the count says one is")


def _last_flip(values, past):
    state = past(values[-1])
    for index in range(len(values) - 1, 0, -1):
        if past(values[index - 1]) != state:
            return index
    return 0  # the only change was against the rule's state before the upload


def _walk(values, firing, limits):
    """The general automaton (two bounds or hysteresis), number by number."""
    fire_above, fire_below, ok_top, ok_bottom = limits
    count, first, last = 0, None, None
    for index, value in enumerate(values):
        if firing:
            if ok_bottom <= value <= ok_top:
                firing, count, last = False, count + 1, index
                if first is None:
                    first = index
        elif value > fire_above or value < fire_below:
            firing, count, last = True, count + 1, index
            if first is None:
                first = index
    return count, first, last
