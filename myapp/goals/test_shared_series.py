"""Habits on one series share its periods: an upload writes one row per touched
period however many habits watch it, and each habit still counts only its
readings from started_at on (its first period is its own head)."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from myapp.db import db
from testing.goals import goal_url
from testing.measured import Stored, evaluate, micros
from testing.readings import BATCH, reading

HABITS = 20
DAYS = 50


def daily(value):
    return {
        "sensor": "steps",
        "field": "n",
        "aggregate": "sum",
        "op": ">=",
        "value": value,
        "period": "day",
    }


def goal_rows(in_app):
    """Rows kept for measured goals: heads and shared periods."""

    def count():
        heads = db.session.execute(sa.text("SELECT count(*) FROM goal_measures"))
        shared = db.session.execute(sa.text("SELECT count(*) FROM goal_series"))
        return heads.scalar_one(), shared.scalar_one()

    return in_app(count)


def test_many_habits_on_a_series_share_its_periods_and_keep_their_own_start(
    alice, new_goal, in_app
):
    now = datetime.now(timezone.utc)
    habits = [
        new_goal(
            alice,
            f"walk {n}",
            # Started mid-day: the head counts the readings from started_at on.
            started_at=(now - timedelta(days=DAYS - 2 * n, hours=1)).isoformat(),
            target=daily(1 + n % 3),
        )
        for n in range(HABITS)
    ]
    items = [
        reading(
            sensor="steps",
            data={"n": 1 + day % 4},
            recorded_at=(now - timedelta(days=day, hours=hours)).isoformat(),
        )
        for day in range(DAYS)
        for hours in (0.5, 2)
    ]
    response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 201
    heads, shared = goal_rows(in_app)
    # One row per day after the earliest habit's first, one head per habit:
    # not one row per habit and day (20 x 50 = 1,000).
    assert shared <= DAYS and heads <= HABITS
    stored = [
        Stored(reading_id, "steps", micros(item["recorded_at"]), item["data"])
        for reading_id, item in zip(response.json["ids"], items)
    ]
    for habit in habits:
        shown = alice.get(goal_url(habit["id"])).json
        as_of = micros(shown["measured"]["as_of"])
        since = micros(habit["started_at"])
        value, met, streak = evaluate(
            daily(habit["target"]["value"]), since, stored, as_of
        )
        assert (shown["measured"]["value"], shown["measured"]["met"]) == (value, met)
        assert shown["streak"] == streak, habit["name"]


def test_a_series_goes_with_its_last_habit(alice, new_goal, in_app):
    first = new_goal(alice, "one", target=daily(1), started_at="2020-01-01T00:00:00Z")
    second = new_goal(alice, "two", target=daily(2), started_at="2021-01-01T00:00:00Z")
    body = {"readings": [reading(sensor="steps", data={"n": 1}) for _ in range(3)]}
    assert alice.post(BATCH, json=body).status_code == 201
    assert goal_rows(in_app)[1] == 1
    alice.patch(goal_url(first["id"]), json={"target": None})
    assert goal_rows(in_app)[1] == 1
    alice.delete(goal_url(second["id"]))
    assert goal_rows(in_app) == (0, 0)


def test_a_deletion_recomputes_only_its_periods_so_pruned_readings_keep_counting(
    alice, new_goal, in_app
):
    now = datetime.now(timezone.utc)
    habit = new_goal(
        alice,
        "walk every day",
        started_at=(now - timedelta(days=5)).isoformat(),
        target={**daily(1), "aggregate": "count"},
    )
    times = [now - timedelta(days=days) for days in (4, 3, 2, 1, 0, 0)]
    body = {
        "readings": [
            reading(sensor="steps", data={"n": 1}, recorded_at=at.isoformat())
            for at in times
        ]
    }
    ids = alice.post(BATCH, json=body).json["ids"]
    assert alice.get(goal_url(habit["id"])).json["streak"] == 5

    def prune(reading_id):
        # What retention does to an old raw reading: gone, nothing told.
        db.session.execute(
            sa.text("DELETE FROM readings WHERE id = :id"), {"id": reading_id}
        )
        db.session.commit()

    in_app(prune, ids[1])
    # Deleting one of today's two readings recomputes today alone.
    assert alice.delete(f"/api/v1/readings/{ids[5]}").status_code == 204
    shown = alice.get(goal_url(habit["id"])).json
    assert shown["measured"]["value"] == 1
    assert shown["streak"] == 5
