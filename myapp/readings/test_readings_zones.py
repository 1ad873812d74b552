"""Stats buckets on local calendars: DST days, odd offsets, the user's zone."""

import zoneinfo
from datetime import datetime, timedelta, timezone

import pytest

from testing.calendar_stats import assert_matches, expected, parse, rfc3339
from testing.readings import STATS, reading

UTC = timezone.utc


def hourly(first, hours, value=1):
    """(moment, data) every 15 minutes from first for the given hours."""
    return [
        (first + timedelta(minutes=15 * n), {"v": value + n}) for n in range(4 * hours)
    ]


def upload(account, post_batch, samples, sensor="home"):
    post_batch(
        account,
        [reading(sensor=sensor, recorded_at=rfc3339(m), data=d) for m, d in samples],
    )


def stats(account, query):
    response = account.get(f"{STATS}?sensor=home&field=v&{query}")
    assert response.status_code == 200, response.json
    return response.json


@pytest.mark.parametrize(
    "day, hours",
    [("2026-03-29", 23), ("2026-10-25", 25)],
    ids=["spring-forward", "fall-back"],
)
def test_a_berlin_day_across_a_dst_change_is_23_or_25_hours(
    alice, post_batch, day, hours
):
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    start = datetime.fromisoformat(day).replace(tzinfo=berlin).astimezone(UTC)
    samples = hourly(start - timedelta(hours=2), 30)
    upload(alice, post_batch, samples)
    answer = stats(alice, "bucket=1d&tz=Europe/Berlin")
    days = {b["start"]: b["count"] for b in answer["buckets"]}
    assert days[rfc3339(start)] == 4 * hours
    assert answer["tz"] == "Europe/Berlin" and answer["from_rollups"] is True
    assert_matches(answer, expected(samples, "v", "1d", "Europe/Berlin"))


def test_the_repeated_hour_of_a_fall_back_is_two_buckets(alice, post_batch):
    samples = hourly(parse("2026-10-24T23:00:00Z"), 4)
    upload(alice, post_batch, samples)
    answer = stats(alice, "bucket=1h&tz=Europe/Berlin")
    starts = [b["start"] for b in answer["buckets"]]
    # 01:00, 02:00 (CEST), 02:00 (CET), 03:00 local
    assert starts == [
        "2026-10-24T23:00:00.000000Z",
        "2026-10-25T00:00:00.000000Z",
        "2026-10-25T01:00:00.000000Z",
        "2026-10-25T02:00:00.000000Z",
    ]
    assert_matches(answer, expected(samples, "v", "1h", "Europe/Berlin"))


@pytest.mark.parametrize(
    "zone, bucket",
    [
        ("Asia/Kolkata", "1h"),
        ("Asia/Kolkata", "1d"),
        ("Asia/Kathmandu", "1h"),
        ("Asia/Kathmandu", "6h"),
        ("Australia/Lord_Howe", "1h"),
        ("Australia/Lord_Howe", "1d"),
        ("America/St_Johns", "1w"),
        ("Pacific/Chatham", "1mo"),
    ],
)
def test_odd_offsets_put_boundaries_on_local_hours_and_days(
    alice, post_batch, zone, bucket
):
    # Lord Howe falls back half an hour on 2026-04-05 (02:00 +11 -> 01:30 +10:30).
    samples = hourly(parse("2026-04-03T00:00:00Z"), 72, value=0.5)
    upload(alice, post_batch, samples)
    answer = stats(alice, f"bucket={bucket}&tz={zone}")
    assert_matches(answer, expected(samples, "v", bucket, zone))


def test_kathmandu_days_start_at_quarter_past_six_the_evening_before(alice, post_batch):
    upload(alice, post_batch, hourly(parse("2026-01-01T00:00:00Z"), 24))
    starts = [
        b["start"] for b in stats(alice, "bucket=1d&tz=Asia/Kathmandu")["buckets"]
    ]
    assert starts == ["2025-12-31T18:15:00.000000Z", "2026-01-01T18:15:00.000000Z"]


def test_lord_howes_last_summer_hour_lasts_ninety_minutes(alice, post_batch):
    samples = hourly(parse("2026-04-04T14:00:00Z"), 3)
    upload(alice, post_batch, samples)
    buckets = stats(alice, "bucket=1h&tz=Australia/Lord_Howe")["buckets"]
    assert [(b["start"], b["count"]) for b in buckets] == [
        ("2026-04-04T14:00:00.000000Z", 6),  # 01:00 +11:00 until 02:00 +10:30
        ("2026-04-04T15:30:00.000000Z", 4),
        ("2026-04-04T16:30:00.000000Z", 2),
    ]


def test_stats_default_to_the_users_time_zone(alice, post_batch):
    assert alice.patch("/api/v1/users/me", json={"time_zone": "Asia/Tokyo"}).json[
        "time_zone"
    ] == ("Asia/Tokyo")
    upload(alice, post_batch, hourly(parse("2026-05-01T00:00:00Z"), 2))
    answer = stats(alice, "bucket=1d")
    assert answer["tz"] == "Asia/Tokyo"
    assert [b["start"] for b in answer["buckets"]] == ["2026-04-30T15:00:00.000000Z"]


def test_an_unknown_zone_is_a_400_at_tz(alice):
    response = alice.get(f"{STATS}?sensor=home&field=v&tz=Mars/Olympus")
    assert response.status_code == 400
    assert response.json["errors"][0]["query"] == "tz"


def test_from_15m_on_since_and_until_round_down_to_15_minutes_and_are_echoed(
    alice, post_batch
):
    samples = hourly(parse("2026-02-01T00:00:00Z"), 3)
    upload(alice, post_batch, samples)
    since, until = "2026-02-01T00:20:00Z", "2026-02-01T02:07:59Z"
    answer = stats(alice, f"bucket=15m&since={since}&until={until}")
    assert (answer["since"], answer["until"]) == (
        "2026-02-01T00:15:00.000000Z",
        "2026-02-01T02:00:00.000000Z",
    )
    effective = parse(answer["since"]), parse(answer["until"])
    assert_matches(answer, expected(samples, "v", "15m", "UTC", *effective))
    fine = stats(alice, f"bucket=1m&since={since}&until={until}")
    assert (fine["since"], fine["until"]) == (
        "2026-02-01T00:20:00.000000Z",
        "2026-02-01T02:07:59.000000Z",
    )
    assert fine["from_rollups"] is False
    assert_matches(
        fine, expected(samples, "v", "1m", "UTC", parse(since), parse(until))
    )
    assert stats(alice, "bucket=1h")["since"] is None
