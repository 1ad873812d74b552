"""RFC 3339 in and out."""

from datetime import datetime, timedelta, timezone

import pytest

from myapp.timestamps import format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
        ("2024-05-01T14:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=timezone.utc)),
        (
            "2024-05-01t12:00:00.1234567z",
            datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc),
        ),
    ],
)
def test_parse_converts_to_utc(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00",
        "2024-05-01",
        "2024-13-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "not a time",
    ],
)
def test_parse_rejects_naive_invalid_and_out_of_range(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_is_utc_with_microseconds_and_z():
    value = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(value) == "2024-05-01T12:00:00.000000Z"


def test_format_pads_years_below_1000():
    value = datetime(5, 1, 1, tzinfo=timezone.utc)
    assert format_timestamp(value) == "0005-01-01T00:00:00.000000Z"
