"""Retention rules: GET/PUT, the grace and when it starts again, the preview."""

import pytest

from myapp.micros import format_micros
from testing.readings import reading
from testing.retention import (
    DAY,
    HOUR,
    PREVIEW,
    RETENTION,
    grace_passes,
    now,
    put_rules,
    rule,
)
from testing.measured import micros


def test_no_rules_at_first_keeps_everything(alice):
    response = alice.get(RETENTION)
    assert response.status_code == 200
    assert response.json == {"rules": [], "updated_at": None, "prunes_from": None}


def test_put_answers_the_rules_exactly_as_given_and_get_reads_them(alice):
    rules = [rule(7, ["kitchen/*", "door"]), rule(30)]
    body = put_rules(alice, *rules)
    assert body["rules"] == rules
    assert alice.get(RETENTION).json == body


def test_the_first_rules_wait_for_the_grace(alice):
    body = put_rules(alice, rule(7))
    assert micros(body["prunes_from"]) - micros(body["updated_at"]) == 24 * HOUR


def test_the_grace_is_configured_in_hours(app_with, make_account):
    from testing.accounts import Account

    user = make_account()
    tokens = {"access_token": user.access_token, "refresh_token": ""}
    other = app_with(RETENTION_GRACE_HOURS=2)
    account = Account(other.test_client(), user.user, tokens)
    body = put_rules(account, rule(7))
    assert micros(body["prunes_from"]) - micros(body["updated_at"]) == 2 * HOUR


def test_a_put_that_only_lengthens_applies_at_once(alice, in_app):
    put_rules(alice, rule(7, ["a"]), rule(30))
    in_app(grace_passes, alice.id)
    body = put_rules(alice, rule(8, ["a"]), rule(30), rule(5, ["never-matched"]))
    assert body["prunes_from"] == body["updated_at"]


def test_a_put_that_shortens_one_sensor_waits(alice, in_app):
    put_rules(alice, rule(7, ["kitchen/*"]), rule(30))
    in_app(grace_passes, alice.id)
    # kitchen/ stays 7 but kitchen/door goes from 7 to 3: shorter somewhere.
    body = put_rules(alice, rule(3, ["kitchen/door"]), rule(7, ["kitchen/*"]))
    assert micros(body["prunes_from"]) - micros(body["updated_at"]) == 24 * HOUR


def test_a_put_during_a_grace_starts_it_again(alice):
    first = put_rules(alice, rule(7))
    second = put_rules(alice, rule(5))
    assert micros(second["prunes_from"]) > micros(first["prunes_from"])
    assert micros(second["prunes_from"]) - micros(second["updated_at"]) == 24 * HOUR


def test_during_a_grace_pruning_keeps_what_any_earlier_rules_kept(alice, in_app):
    from myapp.readings.retention import effective_keep_days, get_policy

    put_rules(alice, rule(30))
    in_app(grace_passes, alice.id)
    put_rules(alice, rule(10))  # grace: still 30
    put_rules(alice, rule(20, ["a"]), rule(5))  # grace again: 30 everywhere

    def keeps(sensor, at):
        return effective_keep_days(get_policy(user_id=alice.id), sensor, at)

    assert in_app(keeps, "a", now()) == 30
    assert in_app(keeps, "b", now()) == 30
    assert in_app(keeps, "a", now() + 25 * HOUR) == 20
    assert in_app(keeps, "b", now() + 25 * HOUR) == 5


def test_removing_every_rule_applies_at_once_and_keeps_everything(alice):
    put_rules(alice, rule(7))
    body = put_rules(alice)
    assert body["rules"] == [] and body["prunes_from"] is None


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({}, "/rules"),
        ({"rules": [rule(0)]}, "/rules/0/keep_days"),
        ({"rules": [rule(36501)]}, "/rules/0/keep_days"),
        ({"rules": [rule(1.5)]}, "/rules/0/keep_days"),
        ({"rules": [rule(1, [])]}, "/rules/0/sensors"),
        ({"rules": [rule(1, ["a", "a"])]}, "/rules/0/sensors"),
        ({"rules": [rule(1, ["x" * 65])]}, "/rules/0/sensors/0"),
        ({"rules": [rule(1, [f"s{n}" for n in range(33)])]}, "/rules/0/sensors"),
        ({"rules": [{"keep_days": 1}]}, "/rules/0/sensors"),
        ({"rules": [dict(rule(1), extra=1)]}, "/rules/0/extra"),
        ({"rules": [rule(1)] * 101}, "/rules"),
        ({"rules": [], "updated_at": None}, "/updated_at"),
    ],
)
def test_bad_rules_are_a_400_naming_them(alice, body, pointer):
    response = alice.client.put(RETENTION, json=body, headers=alice.headers)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    pointers = {error["pointer"] for error in response.json["errors"]}
    assert pointer in pointers


def test_retention_needs_a_token(client):
    assert client.get(RETENTION).status_code == 401
    assert client.put(RETENTION, json={"rules": []}).status_code == 401
    assert client.get(PREVIEW).status_code == 401


def test_preview_counts_whole_buckets_per_sensor_and_spares_the_newest(
    alice, bob, post_batch
):
    day = 86400 * 1_000_000
    old = now() - 10 * day
    at = [old - old % (900 * 1_000_000) + n * 60 * 1_000_000 for n in range(5)]
    post_batch(
        alice,
        [reading("a", recorded_at=format_micros(t)) for t in at]
        + [reading("b", recorded_at=format_micros(at[0]))]  # b's newest: kept
        + [reading("c", recorded_at=format_micros(now() - DAY // 2))],
    )
    post_batch(bob, [reading("a", recorded_at=format_micros(at[0]))] * 2)
    assert alice.get(PREVIEW).json["total"] == 0  # no rules, nothing goes
    body = put_rules(alice, rule(3))
    preview = alice.get(PREVIEW).json
    assert preview["total"] == 4
    assert preview["sensors"] == [
        {
            "sensor": "a",
            "readings": 4,
            "oldest": format_micros(at[0]),
            "newest": format_micros(at[3]),
            "from": body["prunes_from"],
        }
    ]
    assert micros(preview["as_of"]) <= now()


def test_preview_counts_at_prunes_from_what_will_be_old_enough_by_then(
    alice, post_batch
):
    # 2.5 days old now, 3.5 days old when the grace ends: in a 3-day rule's way.
    recorded = format_micros(now() - 5 * DAY // 2)
    post_batch(alice, [reading("a", recorded_at=recorded), reading("a")])
    put_rules(alice, rule(3))
    assert alice.get(PREVIEW).json["total"] == 1


def test_preview_after_the_grace_says_pruning_starts_now(alice, in_app, post_batch):
    post_batch(alice, [reading("a", recorded_at="2020-01-01T00:00:00Z"), reading("a")])
    put_rules(alice, rule(3))
    in_app(grace_passes, alice.id)
    preview = alice.get(PREVIEW).json
    assert preview["total"] == 1
    assert preview["sensors"][0]["from"] == preview["as_of"]


def test_a_whole_number_written_with_a_point_is_kept_as_given_and_counts(
    alice, post_batch
):
    post_batch(alice, [reading("a", recorded_at="2020-01-01T00:00:00Z"), reading("a")])
    body = put_rules(alice, rule(3.0))
    assert body["rules"] == [rule(3.0)]
    assert alice.get(PREVIEW).json["total"] == 1
