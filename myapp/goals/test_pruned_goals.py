"""Readings that retention pruned keep counting in measured goals, also where
a period is recomputed from the readings that remain: a deletion beside them,
a new time zone, a new target reaching back (goal_pruned)."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.goals import goal_url
from testing.readings import READINGS, reading
from testing.retention import grace_passes, now, prune_at, put_rules, rule

USERS_ME = "/api/v1/users/me"


def target(aggregate, period=None, value=10**9, op=">="):
    return {
        "sensor": "steps",
        "field": "n",
        "aggregate": aggregate,
        "op": op,
        "value": value,
        "period": period,
    }


def days_ago(days, hours=0):
    return datetime.now(timezone.utc) - timedelta(days=days, hours=hours)


def upload(account, post_batch, points):
    """points: (datetime, n); the ids in order."""
    items = [
        reading(sensor="steps", data={"n": n}, recorded_at=at.isoformat())
        for at, n in points
    ]
    return post_batch(account, items)


def prune_keeping(account, in_app, days=2):
    """Keep days of raw readings, the grace already over; how many went."""
    put_rules(account, rule(days))
    in_app(grace_passes, account.id)
    return in_app(prune_at, now())[account.id]


def measured(account, goal):
    shown = account.get(goal_url(goal["id"])).json
    return shown["measured"]["value"], shown["streak"]


def raw_count(in_app):
    def count():
        return db.session.execute(sa.text("SELECT count(*) FROM readings")).scalar()

    return in_app(count)


def test_deleting_kept_readings_leaves_pruned_ones_in_every_aggregate(
    alice, new_goal, in_app, post_batch
):
    started = days_ago(6).isoformat()
    goals = {
        aggregate: new_goal(
            alice, aggregate, started_at=started, target=target(aggregate)
        )
        for aggregate in ("sum", "count", "min", "max", "avg", "last")
    }
    old = [(days_ago(5), 1), (days_ago(4), 2)]
    ids = upload(alice, post_batch, old + [(days_ago(0, 2), 9), (days_ago(0, 1), 5)])
    assert prune_keeping(alice, in_app) == 2
    assert raw_count(in_app) == 2

    assert alice.delete(f"{READINGS}{ids[3]}").status_code == 204
    values = {name: measured(alice, goal)[0] for name, goal in goals.items()}
    assert values == {"sum": 12, "count": 3, "min": 1, "max": 9, "avg": 4, "last": 9}
    # With every kept reading gone, the newest pruned number is the last.
    assert alice.delete(f"{READINGS}{ids[2]}").status_code == 204
    values = {name: measured(alice, goal)[0] for name, goal in goals.items()}
    assert values == {"sum": 3, "count": 2, "min": 1, "max": 2, "avg": 1.5, "last": 2}


def set_zone(account, zone):
    response = account.client.patch(
        USERS_ME, json={"time_zone": zone}, headers=account.headers
    )
    assert response.status_code == 200, response.json


def test_a_deletion_beside_pruned_readings_in_one_period_keeps_them(
    alice, new_goal, in_app, post_batch
):
    # A zone where it is about noon now: yesterday holds a reading pruned (6 in
    # the morning) and one kept (6 in the evening) with one day kept.
    offset = 12 - datetime.now(timezone.utc).hour
    set_zone(alice, f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT")
    habit = new_goal(
        alice,
        "daily",
        started_at=days_ago(3).isoformat(),
        target=target("sum", period="day", value=1),
    )
    points = [(days_ago(1, 6), 1), (days_ago(1, -6), 1), (days_ago(0), 1)]
    ids = upload(alice, post_batch, points)
    assert measured(alice, habit) == (1, 2)
    assert prune_keeping(alice, in_app, days=1) == 1
    assert alice.delete(f"{READINGS}{ids[1]}").status_code == 204
    assert measured(alice, habit) == (1, 2)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns"])
def test_a_new_time_zone_recounts_pruned_days(
    alice, bob, new_goal, in_app, post_batch, zone
):
    """Alice's raw readings are pruned, Bob's kept: in a new zone both habits
    count the same."""
    # Two readings a day 12 hours apart, a day without any, and a reading each
    # of the last 4 days: zones then disagree on days, the streak breaks.
    hours = [d * 24 + h for d in range(5, 9) for h in (2, 14)] + [0, 24, 48, 72]
    habits = {}
    for account in (alice, bob):
        habits[account.id] = new_goal(
            account,
            "daily",
            started_at=days_ago(10).isoformat(),
            target=target("count", period="day", value=1),
        )
        upload(account, post_batch, [(days_ago(0, h), 1) for h in hours])
    assert prune_keeping(alice, in_app) > 0
    for account in (alice, bob):
        set_zone(account, zone)
    shown = [measured(account, habits[account.id]) for account in (alice, bob)]
    assert shown[0] == shown[1]
    assert shown[0][1] >= 3  # the pruned days 2 and 3 among them


def test_a_target_set_after_a_prune_counts_the_pruned_readings(
    alice, new_goal, in_app, post_batch
):
    upload(alice, post_batch, [(days_ago(days), 3) for days in range(6)])
    assert prune_keeping(alice, in_app) == 3
    started = days_ago(5, 1).isoformat()
    total = new_goal(alice, "total", started_at=started, target=target("sum"))
    habit = new_goal(
        alice,
        "daily",
        started_at=started,
        target=target("count", period="day", value=1),
    )
    assert measured(alice, total)[0] == 18
    assert measured(alice, habit) == (1, 6)
