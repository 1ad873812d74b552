"""Rollups: stats from them equal a plain recomputation from the raw readings,
through random uploads, zones, buckets and deletes; which fields they keep."""

from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myapp.db import db
from testing.calendar_stats import assert_matches, expected, parse, rfc3339
from testing.readings import READINGS, STATS, reading

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/New_York",
]
BUCKETS = ["1m", "5m", "15m", "1h", "6h", "1d", "1w", "1mo"]
# Days around DST changes of the zones above (Berlin both ways, Lord Howe's
# half hour, New York's spring), and one quiet day.
BASES = [
    parse("2026-03-28T20:00:00Z"),
    parse("2026-10-24T20:00:00Z"),
    parse("2026-04-04T10:00:00Z"),
    parse("2026-03-08T02:00:00Z"),
    parse("2026-06-30T21:00:00Z"),
]
VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([0, 1, True, False, "3", None]),
)
SAMPLE = st.tuples(
    st.integers(0, 36 * 3600 * 10**6), st.sampled_from(["v", "w"]), VALUES
)
CASE = st.fixed_dictionaries(
    {
        "base": st.sampled_from(BASES),
        "samples": st.lists(SAMPLE, min_size=1, max_size=60),
        "deleted": st.lists(st.integers(0, 59), max_size=10),
        "zone": st.sampled_from(ZONES),
        "bucket": st.sampled_from(BUCKETS),
        "since": st.one_of(st.none(), st.integers(0, 12 * 3600 * 10**6)),
        "until": st.one_of(
            st.none(), st.integers(12 * 3600 * 10**6, 36 * 3600 * 10**6)
        ),
    }
)


def forget(user_id):
    from myapp.readings.models import Reading, ReadingField, ReadingRollup

    for model in (Reading, ReadingField, ReadingRollup):
        db.session.execute(sa.delete(model).where(model.user_id == user_id))
    db.session.commit()


def effective(moment, bucket):
    """since or until as the contract applies it: 15-minute floor from 15m on."""
    if moment is None or bucket in ("1m", "5m"):
        return moment
    return moment - timedelta(
        seconds=moment.minute % 15 * 60 + moment.second,
        microseconds=moment.microsecond,
    )


def test_random_uploads_zones_buckets_and_deletes_match_a_plain_recomputation(
    alice, in_app
):
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=CASE)
    def run(case):
        in_app(forget, alice.id)
        base = case["base"]
        samples = [
            (base + timedelta(microseconds=at), {field: value})
            for at, field, value in case["samples"]
        ]
        body = {
            "readings": [
                reading(sensor="s", recorded_at=rfc3339(m), data=d) for m, d in samples
            ]
        }
        ids = alice.post("/api/v1/readings/batch", json=body).json["ids"]
        gone = {n for n in case["deleted"] if n < len(ids)}
        for n in gone:
            assert alice.delete(f"{READINGS}{ids[n]}").status_code == 204
        kept = [sample for n, sample in enumerate(samples) if n not in gone]
        bucket, zone = case["bucket"], case["zone"]
        query = f"sensor=s&field=v&bucket={bucket}&tz={zone}"
        since = until = None
        if case["since"] is not None:
            since = base + timedelta(microseconds=case["since"])
            query += f"&since={rfc3339(since)}"
        if case["until"] is not None:
            until = base + timedelta(microseconds=case["until"])
            query += f"&until={rfc3339(until)}"
        answer = alice.get(f"{STATS}?{query}").json
        since, until = effective(since, bucket), effective(until, bucket)
        assert answer["from_rollups"] == (
            bucket not in ("1m", "5m")
            and any(
                "v" in data
                and isinstance(data["v"], (int, float))
                and not isinstance(data["v"], bool)
                for _, data in samples
            )
        )
        assert_matches(answer, expected(kept, "v", bucket, zone, since, until))

    run()


def test_the_first_32_numeric_fields_are_rolled_up_and_later_ones_still_answer(
    alice, post_batch
):
    first = {f"f{n:02d}": n for n in range(32)}
    post_batch(alice, [reading(sensor="s", data={"label": "x", **first})])
    later = {"late": 7.5, "f00": 1}
    post_batch(alice, [reading(sensor="s", data=later) for _ in range(2)])

    def answer(field):
        return alice.get(f"{STATS}?sensor=s&field={field}&bucket=1d").json

    assert answer("f31")["from_rollups"] is True
    assert answer("f00")["buckets"][0]["count"] == 3
    late = answer("late")
    assert late["from_rollups"] is False
    assert (late["buckets"][0]["count"], late["buckets"][0]["sum"]) == (2, 15.0)
    # Another sensor of the same user has 32 places of its own.
    post_batch(alice, [reading(sensor="t", data={"late": 1})])
    assert alice.get(f"{STATS}?sensor=t&field=late&bucket=1d").json["from_rollups"]


def test_deleting_a_slots_extreme_reading_reads_the_slot_again(alice, post_batch):
    moments = ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z"]
    ids = post_batch(
        alice,
        [
            reading(sensor="s", recorded_at=m, data={"v": v})
            for m, v in zip(moments, [5, -9, 2])
        ],
    )
    assert alice.delete(f"{READINGS}{ids[1]}").status_code == 204
    (bucket,) = alice.get(f"{STATS}?sensor=s&field=v&bucket=15m").json["buckets"]
    assert (bucket["count"], bucket["min"], bucket["max"], bucket["sum"]) == (
        2,
        2.0,
        5.0,
        7.0,
    )
    for reading_id in (ids[0], ids[2]):
        alice.delete(f"{READINGS}{reading_id}")
    assert alice.get(f"{STATS}?sensor=s&field=v&bucket=1h").json["buckets"] == []


def test_a_retried_batch_is_not_rolled_up_twice(alice):
    body = {
        "readings": [
            reading(
                sensor="s",
                data={"v": 2},
                client_id=f"{n:08d}-0000-4000-8000-" + "0" * 12,
            )
            for n in range(3)
        ]
    }
    for _ in range(2):
        assert alice.post("/api/v1/readings/batch", json=body).status_code == 201
    (bucket,) = alice.get(f"{STATS}?sensor=s&field=v&bucket=1d").json["buckets"]
    assert (bucket["count"], bucket["sum"]) == (3, 6.0)


def test_rebuild_rollups_recomputes_what_uploads_kept(app, alice, post_batch, in_app):
    from myapp.readings.models import ReadingRollup

    samples = [
        reading(
            sensor="s",
            recorded_at=f"2026-01-0{1 + n % 3}T0{n % 9}:{n % 60:02d}:00Z",
            data={"v": n * 1.5 - 7, "w": n % 4 == 0, **{f"f{k}": k for k in range(3)}},
        )
        for n in range(40)
    ]
    post_batch(alice, samples)
    query = f"{STATS}?sensor=s&field=v&bucket=1h&tz=Asia/Kolkata"
    before = alice.get(query).json

    def wipe():
        db.session.execute(sa.delete(ReadingRollup))
        db.session.commit()

    in_app(wipe)
    assert alice.get(query).json["buckets"] == []
    result = app.test_cli_runner().invoke(
        args=["readings", "rebuild-rollups", "--username", "alice"]
    )
    assert result.exit_code == 0, result.output
    after = alice.get(query).json
    assert [(b["start"], b["count"], b["min"], b["max"]) for b in after["buckets"]] == [
        (b["start"], b["count"], b["min"], b["max"]) for b in before["buckets"]
    ]
    for old, new in zip(before["buckets"], after["buckets"]):
        assert abs(old["sum"] - new["sum"]) <= 1e-9 * abs(old["sum"]) + 1e-12
