"""GET /readings/stats: per-bucket count/min/max/avg computed in the database."""

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from testing.readings import STATS, reading

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
WIDTHS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}


def rfc3339(moment):
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def expected_buckets(samples, bucket, since=None, until=None):
    """The answer recomputed in Python from (moment, data) samples."""
    width = timedelta(seconds=WIDTHS[bucket])
    groups = defaultdict(list)
    for moment, data in samples:
        value = data.get("v")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if (since and moment < since) or (until and moment >= until):
            continue
        groups[EPOCH + ((moment - EPOCH) // width) * width].append(value)
    return [
        {
            "start": rfc3339(start),
            "count": len(values),
            "min": float(min(values)),
            "max": float(max(values)),
            "avg": sum(values) / len(values),
        }
        for start, values in sorted(groups.items())
    ]


def assert_same(actual, expected):
    assert [b["start"] for b in actual] == [b["start"] for b in expected]
    for got, want in zip(actual, expected):
        assert got["count"] == want["count"]
        assert got["min"] == want["min"] and got["max"] == want["max"]
        assert got["avg"] == pytest.approx(want["avg"], rel=1e-12)


def random_samples(rng, count, start, span_seconds):
    samples = []
    for _ in range(count):
        moment = start + timedelta(microseconds=rng.randrange(span_seconds * 10**6))
        value = rng.choice(
            [
                rng.uniform(-50, 50),
                rng.randrange(-1000, 1000),
                "12.5",
                True,
                None,
                {"nested": 1},
                [3],
            ]
        )
        samples.append((moment, {"v": value} if rng.random() < 0.95 else {"w": 1}))
    return samples


@pytest.mark.parametrize("bucket", ["1m", "15m", "1h", "1d"])
def test_stats_match_a_python_recomputation(alice, post_batch, bucket):
    rng = random.Random(bucket)
    start = datetime(2024, 2, 28, 22, 13, tzinfo=timezone.utc)
    samples = random_samples(rng, 1500, start, 3 * 86400)
    other = [reading(sensor="other", data={"v": 1e6}) for _ in range(5)]
    post_batch(
        alice,
        [reading(sensor="t", recorded_at=rfc3339(m), data=d) for m, d in samples]
        + other,
    )
    response = alice.get(f"{STATS}?sensor=t&field=v&bucket={bucket}")
    assert response.status_code == 200
    assert response.json["sensor"] == "t" and response.json["field"] == "v"
    assert response.json["bucket"] == bucket
    assert_same(response.json["buckets"], expected_buckets(samples, bucket))


def test_bucket_defaults_to_one_hour_and_since_until_are_half_open(alice, post_batch):
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    samples = [(start + timedelta(minutes=10 * i), {"v": i}) for i in range(30)]
    post_batch(alice, [reading(recorded_at=rfc3339(m), data=d) for m, d in samples])
    since, until = start + timedelta(minutes=50), start + timedelta(hours=3)
    response = alice.client.get(
        STATS,
        query_string={
            "sensor": "kitchen/temp",
            "field": "v",
            "since": rfc3339(since),
            "until": rfc3339(until),
        },
        headers=alice.headers,
    )
    assert response.json["bucket"] == "1h"
    expected = expected_buckets(samples, "1h", since, until)
    assert_same(response.json["buckets"], expected)
    assert response.json["buckets"][0] == {
        "start": "2024-01-01T00:00:00.000000Z",
        "count": 1,
        "sum": 5.0,
        "min": 5.0,
        "max": 5.0,
        "avg": 5.0,
    }


def test_buckets_align_to_utc_whatever_the_input_offset(alice):
    alice.post(
        "/api/v1/readings/",
        json=reading(recorded_at="2024-06-01T01:30:00+05:45", data={"v": 2}),
    )
    buckets = alice.get(f"{STATS}?sensor=kitchen/temp&field=v&bucket=1d").json
    assert buckets["buckets"][0]["start"] == "2024-05-31T00:00:00.000000Z"
    six = alice.get(f"{STATS}?sensor=kitchen/temp&field=v&bucket=6h").json
    assert six["buckets"][0]["start"] == "2024-05-31T18:00:00.000000Z"


def test_times_before_1970_fall_in_the_bucket_that_contains_them(alice, post_batch):
    moments = [
        "1969-12-31T23:59:59.999999Z",
        "1969-12-31T23:00:00Z",
        "0001-01-01T00:00:30Z",
    ]
    post_batch(alice, [reading(recorded_at=m, data={"v": 1}) for m in moments])
    buckets = alice.get(f"{STATS}?sensor=kitchen/temp&field=v&bucket=1h").json
    assert [b["start"] for b in buckets["buckets"]] == [
        "0001-01-01T00:00:00.000000Z",
        "1969-12-31T23:00:00.000000Z",
    ]
    assert buckets["buckets"][1]["count"] == 2


def test_only_numbers_count_and_empty_buckets_are_left_out(alice, post_batch):
    items = [
        reading(recorded_at="2024-01-01T00:10:00Z", data={"v": "7"}),
        reading(recorded_at="2024-01-01T00:20:00Z", data={"v": False}),
        reading(recorded_at="2024-01-01T00:30:00Z", data={"v": True}),
        reading(recorded_at="2024-01-01T00:40:00Z", data={"v": None}),
        reading(recorded_at="2024-01-01T01:10:00Z", data={"v": 0}),
        reading(recorded_at="2024-01-01T01:20:00Z", data={"v": 1}),
        reading(recorded_at="2024-01-01T01:30:00Z", data={"v": True}),
        reading(recorded_at="2024-01-01T02:10:00Z", data={"v": 3}),
        reading(recorded_at="2024-01-01T02:20:00Z", data={"v": 4.5}),
        reading(recorded_at="2024-01-01T02:30:00Z", data={"x": {"v": 100}}),
        reading(recorded_at="2024-01-01T05:00:00Z", data={"v": -(2**63)}),
    ]
    post_batch(alice, items)
    buckets = alice.get(f"{STATS}?sensor=kitchen/temp&field=v").json["buckets"]
    assert buckets == [
        {
            "start": "2024-01-01T01:00:00.000000Z",
            "count": 2,
            "sum": 1.0,
            "min": 0.0,
            "max": 1.0,
            "avg": 0.5,
        },
        {
            "start": "2024-01-01T02:00:00.000000Z",
            "count": 2,
            "sum": 7.5,
            "min": 3.0,
            "max": 4.5,
            "avg": 3.75,
        },
        {
            "start": "2024-01-01T05:00:00.000000Z",
            "count": 1,
            "sum": float(-(2**63)),
            "min": float(-(2**63)),
            "max": float(-(2**63)),
            "avg": float(-(2**63)),
        },
    ]


def test_averages_of_the_largest_numbers_stay_finite(alice, post_batch):
    post_batch(alice, [reading(data={"v": 1.7e308}) for _ in range(3)])
    response = alice.get(f"{STATS}?sensor=kitchen/temp&field=v&bucket=1d")
    assert response.status_code == 200
    assert b"Infinity" not in response.data
    (bucket,) = response.json["buckets"]
    assert bucket["max"] == 1.7e308 and bucket["avg"] == pytest.approx(1.7e308)


def test_fields_with_dots_and_spaces_are_plain_top_level_keys(alice, post_batch):
    post_batch(alice, [reading(data={"a.b c": 2, "a": {"b c": 9}})])
    buckets = alice.client.get(
        STATS,
        query_string={"sensor": "kitchen/temp", "field": "a.b c"},
        headers=alice.headers,
    ).json["buckets"]
    assert [b["max"] for b in buckets] == [2.0]


def test_stats_without_readings_have_no_buckets(alice):
    response = alice.get(f"{STATS}?sensor=none&field=v")
    assert response.status_code == 200 and response.json["buckets"] == []


def test_stats_never_include_another_users_readings(alice, bob, post_batch):
    post_batch(bob, [reading(data={"v": 1})])
    assert alice.get(f"{STATS}?sensor=kitchen/temp&field=v").json["buckets"] == []


@pytest.mark.parametrize(
    "query, names",
    [
        ("", ["field", "sensor"]),
        ("sensor=s", ["field"]),
        ("field=v", ["sensor"]),
        ("sensor=s&field=v&bucket=2h", ["bucket"]),
        ('sensor=s&field=a"b', ["field"]),
        ("sensor=s&field=v&since=yesterday", ["since"]),
    ],
)
def test_missing_or_bad_stats_arguments_answer_400_naming_them(alice, query, names):
    response = alice.get(f"{STATS}?{query}")
    assert response.status_code == 400
    assert sorted(error["query"] for error in response.json["errors"]) == names


def test_more_buckets_than_the_configured_maximum_answer_400(
    app, alice, post_batch, monkeypatch
):
    monkeypatch.setitem(app.config, "READINGS_STATS_MAX_BUCKETS", 3)
    items = [
        reading(recorded_at=f"2024-01-01T00:0{m}:00Z", data={"v": m}) for m in range(4)
    ]
    post_batch(alice, items)
    response = alice.get(f"{STATS}?sensor=kitchen/temp&field=v&bucket=1m")
    assert response.status_code == 400
    assert response.json["errors"][0]["query"] == "bucket"
    fits = alice.get(f"{STATS}?sensor=kitchen/temp&field=v&bucket=5m")
    assert fits.status_code == 200 and fits.json["buckets"][0]["count"] == 4
