"""Local calendars: IANA zones from the pinned tzdata, and bucket boundaries in them.

Zones load from the tzdata package the app pins, never the host's zone files,
so every host and both databases draw the same boundaries. A boundary is a
local wall time (an hour, a midnight, a Monday, a first of the month) as an
instant in UTC microseconds, rounded down to 15 minutes: every offset since
1972 is a multiple of 15 minutes, so that changes nothing after 1972.
"""

import functools
import importlib.resources
import zoneinfo
from datetime import datetime, timedelta, timezone

from myapp.micros import MAX_MICROS, MIN_MICROS, from_micros, to_micros

QUARTER = 900 * 1_000_000  # 15 minutes, in microseconds
HOUR = 3600 * 1_000_000
# Buckets of a fixed width, the same instants in every zone.
FIXED = {"1m": 60 * 1_000_000, "5m": 300 * 1_000_000, "15m": QUARTER}
# Buckets at local wall-clock boundaries: local hours, midnights, Mondays, firsts.
LOCAL = ("1h", "6h", "1d", "1w", "1mo")


@functools.cache
def zone_names():
    """Every zone name the pinned tzdata holds (links such as Asia/Calcutta too)."""
    root = importlib.resources.files("tzdata").joinpath("zoneinfo")
    names = set()

    def walk(folder, prefix):
        for entry in folder.iterdir():
            if entry.name.startswith("_") or entry.name.endswith(".py"):
                continue
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            else:
                names.add(prefix + entry.name)

    walk(root, "")
    return frozenset(names)


def is_zone(name):
    """Whether name is an IANA zone of the pinned tzdata."""
    return isinstance(name, str) and name in zone_names()


@functools.lru_cache(maxsize=1024)
def zone(name):
    """The ZoneInfo of a zone name, read from the pinned tzdata."""
    if not is_zone(name):
        raise ValueError(f"unknown time zone {name!r}")
    path = importlib.resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))
    with path.open("rb") as data:
        return zoneinfo.ZoneInfo.from_file(data, key=name)


def floor_quarter(micros):
    """micros rounded down to a 15-minute boundary (also before 1970)."""
    return micros - micros % QUARTER


def _instant(wall, tz, fold=0):
    """The UTC micros of a local wall time (fold=1: its second occurrence)."""
    local = wall.replace(tzinfo=tz, fold=fold)
    return floor_quarter(to_micros(local.astimezone(timezone.utc)))


def _local(micros, tz):
    return from_micros(micros).astimezone(tz)


def _first_wall(lo, tz, back):
    """A local time at or before lo (back if it can), in datetime's years."""
    for margin in (back, timedelta(0)):
        try:
            return _local(lo, tz) - margin
        except OverflowError:  # year 0 or 10000 in the zone
            continue
    return _local(max(MIN_MICROS + 86400 * 1_000_000, min(lo, MAX_MICROS)), tz)


def _walls(unit, first):
    """Local wall times from the bucket containing first on, in order."""
    if unit in ("1h", "6h"):
        step = 1 if unit == "1h" else 6
        wall = first.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        wall -= timedelta(hours=wall.hour % step)
        while True:
            yield wall
            wall += timedelta(hours=step)
    day = first.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if unit == "1d":
        while True:
            yield day
            day += timedelta(days=1)
    if unit == "1w":
        day -= timedelta(days=day.weekday())
        while True:
            yield day
            day += timedelta(days=7)
    month = day.replace(day=1)
    while True:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def boundaries(unit, tz_name, lo, hi):
    """Sorted UTC micros b0 <= lo < ... < bn >= hi of unit's buckets in the zone.

    Bucket i is [b_i, b_i+1). Hours take both occurrences of a repeated local
    hour (a DST fall-back makes two buckets of it) and a missing hour collapses
    into the next; days, weeks and months start at the first occurrence of
    their local midnight (at the transition, where midnight is skipped).
    """
    tz = zone(tz_name)
    hourly = unit in ("1h", "6h")
    # A day back: the first wall may fall after lo in a long DST day.
    start = _first_wall(lo, tz, timedelta(days=1))
    step = (1 if unit == "1h" else 6) * HOUR
    found, previous = [], None
    for wall in _walls(unit, start):
        if wall.year > 9998:
            break
        instant = _instant(wall, tz)
        # More than a step since the last local hour: that hour was repeated
        # (a fall-back), and its second occurrence starts a bucket of its own.
        if hourly and found and instant - found[-1] > step:
            found.append(_instant(previous, tz, fold=1))
        found.append(instant)
        previous = wall
        if instant >= hi and len(found) > 1:
            break
    # Never before year 1: a bucket there starts at the first time there is.
    edges = sorted({max(edge, MIN_MICROS) for edge in found})
    if edges[0] > lo:
        edges.insert(0, MIN_MICROS)
    # Keep the last boundary at or before lo, and the first at or after hi.
    first = max(i for i, b in enumerate(edges) if b <= lo) if edges[0] <= lo else 0
    last = next((i for i, b in enumerate(edges) if b >= hi), len(edges) - 1)
    return edges[first : last + 1]


def clamp_to_times(micros):
    """micros kept inside the stored range of times (years 1 to 9999 UTC)."""
    return min(max(micros, MIN_MICROS), MAX_MICROS)


DAY = 86400 * 1_000_000


def _offset_at(micros, tz):
    """The zone's UTC offset at an instant, rounded up to 15 minutes (micros)."""
    offset = from_micros(micros).astimezone(tz).utcoffset()
    offset = offset // timedelta(microseconds=1)
    return -(-offset // QUARTER) * QUARTER


@functools.lru_cache(maxsize=4096)
def _year_segments(tz_name, year):
    """[(start, offset)] through one UTC year: where each offset begins.

    Read from the zone a day at a time, each change narrowed to the 15-minute
    boundary where the new offset holds (exact after 1972; before, odd-second
    changes round to 15 minutes, as the contract's boundaries do).
    """
    tz = zone(tz_name)
    year = min(max(year, 2), 9998)  # datetime's own range, with a zone's offset
    start = to_micros(datetime(year, 1, 1, tzinfo=timezone.utc))
    end = to_micros(datetime(year + 1, 1, 1, tzinfo=timezone.utc))
    segments = [(start, _offset_at(start, tz))]
    moment = start
    while moment < end:
        following = min(moment + DAY, end - QUARTER)
        if _offset_at(following, tz) != segments[-1][1]:
            low, high = moment, following
            while high - low > QUARTER:
                middle = low + (high - low) // QUARTER // 2 * QUARTER
                if _offset_at(middle, tz) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high, _offset_at(high, tz)))
        moment += DAY
    return segments


def offsets(tz_name, lo, hi):
    """[(start, offset)] of the zone from lo to hi: the first start is lo or before."""
    first, last = from_micros(lo).year, from_micros(hi).year
    found = []
    for year in range(first, last + 1):
        for start, offset in _year_segments(tz_name, year):
            if not found or offset != found[-1][1]:
                found.append((start, offset))
    return found


def local_micros(tz_name):
    """micros -> the same instant's local wall time as micros (for calendars)."""
    if tz_name == "UTC":
        return lambda micros: micros
    cache = {}
    tz = zone(tz_name)

    def local(micros):
        slot = micros // QUARTER  # offsets change on 15-minute boundaries
        offset = cache.get(slot)
        if offset is None:
            offset = cache[slot] = _offset_at(clamp_to_times(micros), tz)
        return micros + offset

    return local
