"""Timestamps of readings are formatted by arithmetic: the same text as datetime's."""

from hypothesis import given
from hypothesis import strategies as st

from myapp.micros import MAX_MICROS, MIN_MICROS, format_micros, from_micros


@given(st.integers(MIN_MICROS, MAX_MICROS))
def test_format_micros_equals_datetimes_rfc3339_text(micros):
    expected = from_micros(micros).isoformat(timespec="microseconds")[:-6] + "Z"
    assert format_micros(micros) == expected


def test_the_ends_of_the_range_and_the_epoch():
    assert format_micros(MIN_MICROS) == "0001-01-01T00:00:00.000000Z"
    assert format_micros(MAX_MICROS) == "9999-12-31T23:59:59.999999Z"
    assert format_micros(-1) == "1969-12-31T23:59:59.999999Z"
    assert format_micros(0) == "1970-01-01T00:00:00.000000Z"
