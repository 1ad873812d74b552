"""Running aggregates of a target's readings, in plain Python: the incremental half.

A tally is (readings, numbers, total, low, high, last_value, last_at, last_id):
how many readings of the sensor, how many of them have a number at
data[field], their sum, min, max, and the newest number by (recorded_at, id).
Every aggregate of the contract follows from it: avg is total / numbers.
"""

EMPTY = (0, 0, 0.0, None, None, None, None, None)


def number_in(data, field):
    """data[field] as a float if it is a JSON number (not a boolean), else None."""
    value = data.get(field)
    kind = type(value)
    if kind is float or kind is int:
        return float(value)
    return None


def aggregate_of(aggregate, tally):
    """The aggregate of a tally: sum and count are 0 when empty, the rest None."""
    readings, numbers, total, low, high, last_value, _, _ = tally
    if aggregate == "count":
        return readings
    if aggregate == "sum":
        return total
    if aggregate == "min":
        return low
    if aggregate == "max":
        return high
    if aggregate == "avg":
        return total / numbers if numbers else None
    return last_value


def is_met(op, target, value):
    """aggregate op value; no value (no numbers yet) is never met."""
    if value is None:
        return False
    return value >= target if op == ">=" else value <= target


def empty_met(aggregate, op, target):
    """Whether a period without readings meets the target (sum and count are 0)."""
    return aggregate in ("sum", "count") and is_met(op, target, 0)


def added(tally, recorded_at, reading_id, number):
    """The tally with one more reading (number None: not a number at field)."""
    readings, numbers, total, low, high, last_value, last_at, last_id = tally
    readings += 1
    if number is not None:
        numbers += 1
        total += number
        if low is None or number < low:
            low = number
        if high is None or number > high:
            high = number
        if last_at is None or (recorded_at, reading_id) > (last_at, last_id):
            last_value, last_at, last_id = number, recorded_at, reading_id
    return readings, numbers, total, low, high, last_value, last_at, last_id


def merged(tally, series):
    """The tally with every (recorded_at, id, number, ...) of series added, in bulk."""
    readings, numbers, total, low, high, last_value, last_at, last_id = tally
    found = [item for item in series if item[2] is not None]
    readings += len(series)
    if found:
        values = [item[2] for item in found]
        numbers += len(values)
        total += sum(values)
        smallest, largest = min(values), max(values)
        low = smallest if low is None else min(low, smallest)
        high = largest if high is None else max(high, largest)
        newest = max(found)
        if last_at is None or newest[:2] > (last_at, last_id):
            last_at, last_id, last_value = newest[:3]
    return readings, numbers, total, low, high, last_value, last_at, last_id


def could_meet(aggregate, op, target, tally, series):
    """False only if no prefix of series, added to tally, can meet the target.

    An optimistic bound per aggregate, from the tally and the series' numbers:
    when it fails, an open goal's readings are added in bulk instead of one by
    one (most uploads meet nothing). When it holds, the caller walks the items.
    """
    readings, numbers, total, low, high, last_value, _, _ = tally
    values = [item[2] for item in series if item[2] is not None]
    if aggregate == "count":
        # Only grows: highest at the end, lowest after the first item.
        best = readings + (len(series) if op == ">=" else min(len(series), 1))
    elif aggregate == "sum":
        if op == ">=":
            best = total + sum(value for value in values if value > 0)
        else:
            best = total + sum(value for value in values if value < 0)
    else:
        seen = list(values)
        if aggregate == "avg" and numbers:
            seen.append(total / numbers)
        elif aggregate == "last" and last_value is not None:
            seen.append(last_value)
        elif aggregate == "min" and low is not None:
            seen.append(low)
        elif aggregate == "max" and high is not None:
            seen.append(high)
        if not seen:
            return False
        # A running avg or last is always one of, or between, these; a running
        # min or max is too, and it moves one way only.
        best = max(seen) if op == ">=" else min(seen)
    return is_met(op, target, best)
