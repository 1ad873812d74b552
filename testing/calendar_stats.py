"""Statistics recomputed in plain Python from raw readings: the oracle for stats.

Buckets are found from each reading's own local time (zoneinfo, the pinned
tzdata), independently of myapp.calendars, which draws boundaries forwards.
"""

import math
import zoneinfo
from collections import defaultdict
from datetime import datetime, timedelta, timezone

FIXED_SECONDS = {"1m": 60, "5m": 300, "15m": 900}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def rfc3339(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def floor_quarter(moment):
    seconds = (moment - EPOCH) // timedelta(seconds=1)
    return EPOCH + timedelta(seconds=seconds - seconds % 900)


def bucket_start(moment, bucket, zone_name):
    """The UTC start of the bucket holding moment, from its local wall time."""
    if bucket in FIXED_SECONDS:
        width = timedelta(seconds=FIXED_SECONDS[bucket])
        return EPOCH + ((moment - EPOCH) // width) * width
    local = moment.astimezone(zoneinfo.ZoneInfo(zone_name))
    if bucket in ("1h", "6h"):
        hour = local.hour - local.hour % (1 if bucket == "1h" else 6)
        wall = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    else:
        wall = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
        if bucket == "1w":
            wall = (wall - timedelta(days=wall.weekday())).replace(fold=0)
        elif bucket == "1mo":
            wall = wall.replace(day=1, fold=0)
    return floor_quarter(wall.astimezone(timezone.utc))


def is_number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float))


def expected(samples, field, bucket, zone_name, since=None, until=None):
    """{start text: (count, sum, min, max, sum of |v|)} from (moment, data) pairs."""
    groups = defaultdict(list)
    for moment, data in samples:
        value = data.get(field)
        if not is_number(value):
            continue
        if (since and moment < since) or (until and moment >= until):
            continue
        groups[rfc3339(bucket_start(moment, bucket, zone_name))].append(value)
    return {
        start: (
            len(values),
            math.fsum(values),
            float(min(values)),
            float(max(values)),
            math.fsum(abs(v) for v in values),
        )
        for start, values in groups.items()
    }


def assert_matches(answer, want):
    """count, min and max exact; sum and avg within 1e-9 of the sum of |v|."""
    got = {b["start"]: b for b in answer["buckets"]}
    assert sorted(got) == sorted(want), (sorted(got), sorted(want))
    for start, (count, total, low, high, magnitude) in want.items():
        bucket = got[start]
        assert (bucket["count"], bucket["min"], bucket["max"]) == (count, low, high)
        tolerance = 1e-9 * magnitude + 1e-300
        assert abs(bucket["sum"] - total) <= tolerance, (start, bucket, total)
        assert abs(bucket["avg"] * count - total) <= tolerance * 2, (start, bucket)
