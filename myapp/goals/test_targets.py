"""Measured goals: every rule of the contract's Measured goals section, by example."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.accounts import PASSWORD
from testing.goals import GOALS, goal_url, walk
from testing.measured import Stored, evaluate, micros, text
from testing.readings import READINGS, reading

SUM_KM = {
    "sensor": "pedometer",
    "field": "km",
    "aggregate": "sum",
    "op": ">=",
    "value": 100,
}
PAST = "2020-01-01T00:00:00Z"
RESTING_60 = {
    "sensor": "heart",
    "field": "bpm",
    "aggregate": "last",
    "op": "<=",
    "value": 60,
}
SLEEP_7H = {
    "sensor": "sleep",
    "field": "hours",
    "aggregate": "min",
    "op": ">=",
    "value": 7,
    "period": "day",
}


def target(**changes):
    return {**SUM_KM, **changes}


def walks(*km, start="2024-03-01T08:00:00Z", sensor="pedometer"):
    """One pedometer reading per value, a minute apart from start."""
    first = micros(start)
    return [
        reading(
            sensor=sensor, data={"km": value}, recorded_at=text(first + n * 60_000_000)
        )
        for n, value in enumerate(km)
    ]


@pytest.fixture
def measured_goal(alice, new_goal):
    def create(name="walk 100 km", parent=None, started_at=PAST, **changes):
        return new_goal(
            alice, name, parent, started_at=started_at, target=target(**changes)
        )

    return create


def goal(account, goal_id):
    response = account.get(goal_url(goal_id))
    assert response.status_code == 200
    return response.json


def now_utc():
    return datetime.now(timezone.utc)


# --- writing a target --------------------------------------------------------------


def test_a_goal_with_a_target_answers_the_target_and_what_is_measured(alice):
    response = alice.post(GOALS, json={"name": "walk", "target": SUM_KM})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["target"] == {**SUM_KM, "period": None}
    assert body["measured"]["value"] == 0 and body["measured"]["met"] is False
    assert body["measured"]["as_of"] >= body["created_at"]
    assert body["streak"] is None
    assert body["completed"] is False and body["progress"] == 0.0
    assert alice.get(goal_url(body["id"])).json["target"] == body["target"]


def test_a_habit_answers_its_current_period_and_a_streak(alice, post_batch):
    started = (now_utc() - timedelta(days=10)).isoformat()
    habit = SLEEP_7H
    body = alice.post(
        GOALS, json={"name": "sleep 7 h", "started_at": started, "target": habit}
    ).json
    assert body["target"] == habit
    assert body["measured"]["value"] is None and body["measured"]["met"] is False
    assert body["streak"] == 0


def test_a_le_target_with_sum_or_count_is_accepted_with_a_period(alice):
    for aggregate in ("sum", "count"):
        body = target(aggregate=aggregate, op="<=", value=2, period="week")
        response = alice.post(GOALS, json={"name": "at most", "target": body})
        assert response.status_code == 201, response.json
        # No readings this week: 0 <= 2 is met; a habit never completes.
        assert response.json["measured"]["met"] is True
        assert response.json["completed"] is False


INVALID_TARGETS = [
    ("not an object", "x", "/target"),
    ("a list", [SUM_KM], "/target"),
    ("no sensor", {k: v for k, v in SUM_KM.items() if k != "sensor"}, "/target/sensor"),
    ("no field", {k: v for k, v in SUM_KM.items() if k != "field"}, "/target/field"),
    (
        "no aggregate",
        {k: v for k, v in SUM_KM.items() if k != "aggregate"},
        "/target/aggregate",
    ),
    ("no op", {k: v for k, v in SUM_KM.items() if k != "op"}, "/target/op"),
    ("no value", {k: v for k, v in SUM_KM.items() if k != "value"}, "/target/value"),
    ("empty sensor", target(sensor=""), "/target/sensor"),
    ("sensor of 65", target(sensor="s" * 65), "/target/sensor"),
    ("sensor with NUL", target(sensor="a\u0000b"), "/target/sensor"),
    ("sensor not text", target(sensor=5), "/target/sensor"),
    ("empty field", target(field=""), "/target/field"),
    ("field of 257", target(field="f" * 257), "/target/field"),
    ("field with a quote", target(field='a"b'), "/target/field"),
    ("field with a backslash", target(field="a\\b"), "/target/field"),
    ("field with a newline", target(field="a\nb"), "/target/field"),
    ("unknown aggregate", target(aggregate="median"), "/target/aggregate"),
    ("unknown op", target(op=">"), "/target/op"),
    ("op ==", target(op="=="), "/target/op"),
    ("unknown period", target(period="year"), "/target/period"),
    ("value as text", target(value="100"), "/target/value"),
    ("value a boolean", target(value=True), "/target/value"),
    ("value past a double", target(value=10**400), "/target/value"),
    ("a member too many", target(unit="km"), "/target/unit"),
    ("a read-only member", target(measured=5), "/target/measured"),
    ("<= sum without period", target(op="<="), "/target/op"),
    (
        "<= count without period",
        target(aggregate="count", op="<=", value=3),
        "/target/op",
    ),
    ("<= sum with period null", target(op="<=", period=None), "/target/op"),
]


@pytest.mark.parametrize(
    "body, pointer",
    [case[1:] for case in INVALID_TARGETS],
    ids=[c[0] for c in INVALID_TARGETS],
)
def test_an_invalid_target_answers_400_under_target_and_stores_nothing(
    alice, new_goal, body, pointer
):
    response = alice.post(GOALS, json={"name": "x", "target": body})
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert alice.get(GOALS).json["items"] == []
    existing = new_goal(alice, "measured", started_at=PAST, target=target(value=5))
    response = alice.patch(goal_url(existing["id"]), json={"target": body})
    assert response.status_code == 400
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert goal(alice, existing["id"])["target"] == existing["target"]


def test_patching_a_target_replaces_it_and_null_removes_it(
    alice, measured_goal, post_batch
):
    post_batch(alice, walks(3, 4) + [reading(sensor="scale", data={"kg": 80})])
    created = measured_goal()
    assert created["measured"]["value"] == 7
    same = alice.patch(goal_url(created["id"]), json={"target": SUM_KM}).json
    assert same["updated_at"] == created["updated_at"]
    weight = {
        "sensor": "scale",
        "field": "kg",
        "aggregate": "last",
        "op": "<=",
        "value": 75,
    }
    changed = alice.patch(goal_url(created["id"]), json={"target": weight}).json
    assert changed["target"] == {**weight, "period": None}
    assert changed["measured"]["value"] == 80 and changed["measured"]["met"] is False
    assert changed["updated_at"] > created["updated_at"]
    removed = alice.patch(goal_url(created["id"]), json={"target": None}).json
    assert removed["target"] is removed["measured"] is removed["streak"] is None
    assert removed["progress"] == 0.0


# --- completion by readings ----------------------------------------------------------


def test_a_batch_meeting_the_target_at_its_500th_item_completes_at_that_items_time(
    alice, measured_goal, post_batch
):
    created = measured_goal(value=125)
    items = walks(*[0.25] * 1000)  # 0.25 km a minute: 125 km after item 500
    items[10]["data"] = {"km": "lots"}  # not a number: does not count
    items[11]["data"] = {"km": True}  # neither
    items[498]["data"] = {"km": 0.75}  # makes up for both (124.75 after it)
    post_batch(alice, items)
    done = goal(alice, created["id"])
    assert done["completed"] is True
    assert done["completed_at"] == text(micros(items[499]["recorded_at"]))
    assert done["measured"]["value"] == 250
    assert done["progress"] == 1.0


def test_a_target_met_by_the_last_item_before_a_later_one_keeps_the_first_time(
    alice, measured_goal, post_batch
):
    created = measured_goal(value=5)
    post_batch(alice, walks(4, 1, 10, start="2024-05-01T00:00:00Z"))
    assert goal(alice, created["id"])["completed_at"] == "2024-05-01T00:01:00.000000Z"


def test_items_met_out_of_time_order_complete_at_the_first_in_upload_order(
    alice, measured_goal, post_batch
):
    created = measured_goal(value=5)
    items = [
        reading(sensor="pedometer", data={"km": 5}, recorded_at="2024-06-02T00:00:00Z"),
        reading(sensor="pedometer", data={"km": 5}, recorded_at="2024-06-01T00:00:00Z"),
    ]
    post_batch(alice, items)
    assert goal(alice, created["id"])["completed_at"] == "2024-06-02T00:00:00.000000Z"


def test_completed_at_is_never_later_than_now(alice, measured_goal):
    created = measured_goal(value=1)
    future = (now_utc() + timedelta(days=3)).isoformat()
    before = now_utc()
    response = alice.post(
        READINGS, json=reading(sensor="pedometer", data={"km": 2}, recorded_at=future)
    )
    after = now_utc()
    done = goal(alice, created["id"])
    assert done["completed"] is True
    assert done["completed_at"] == response.json["created_at"]
    assert (
        text(micros(before.isoformat()))
        <= done["completed_at"]
        <= text(micros(after.isoformat()))
    )


def test_a_post_whose_target_is_already_met_completes_at_once(alice, post_batch):
    post_batch(alice, walks(60, 50))
    before = text(micros(now_utc().isoformat()))
    response = alice.post(
        GOALS, json={"name": "x", "started_at": PAST, "target": SUM_KM}
    )
    assert response.status_code == 201
    assert response.json["completed"] is True
    assert response.json["completed_at"] == response.json["created_at"] >= before
    assert response.json["measured"] == {
        **response.json["measured"],
        "value": 110,
        "met": True,
    }


def test_a_patch_setting_a_met_target_completes_unless_it_says_completed_false(
    alice, new_goal, post_batch
):
    post_batch(alice, walks(60, 50))
    plain = new_goal(alice, "plain", started_at=PAST)
    child = new_goal(alice, "step", plain)
    done = alice.patch(goal_url(plain["id"]), json={"target": SUM_KM}).json
    assert done["completed"] is True and done["completed_at"] == done["updated_at"]
    assert done["children"][0]["completed_at"] == done["completed_at"]
    other = new_goal(alice, "other", started_at=PAST)
    kept_open = alice.patch(
        goal_url(other["id"]), json={"target": SUM_KM, "completed": False}
    ).json
    assert kept_open["completed"] is False and kept_open["measured"]["met"] is True
    assert child["id"]


def test_a_completed_goal_is_never_reopened_by_readings(alice, new_goal, post_batch):
    created = new_goal(alice, "resting 60", started_at=PAST, target=RESTING_60)
    post_batch(
        alice,
        [reading(sensor="heart", data={"bpm": 58}, recorded_at="2024-01-01T06:00:00Z")],
    )
    done = goal(alice, created["id"])
    assert done["completed_at"] == "2024-01-01T06:00:00.000000Z"
    post_batch(
        alice,
        [reading(sensor="heart", data={"bpm": 75}, recorded_at="2024-01-02T06:00:00Z")],
    )
    later = goal(alice, created["id"])
    assert later["completed"] is True and later["completed_at"] == done["completed_at"]
    assert later["measured"]["value"] == 75 and later["measured"]["met"] is False


def test_a_reopened_goal_still_met_completes_again_at_the_next_reading_of_its_sensor(
    alice, measured_goal, post_batch
):
    created = measured_goal(value=5)
    post_batch(alice, walks(6, start="2024-01-01T00:00:00Z"))
    reopened = alice.patch(goal_url(created["id"]), json={"completed": False}).json
    assert reopened["completed"] is False and reopened["measured"]["met"] is True
    post_batch(alice, [reading(sensor="elsewhere", data={"km": 1})])
    assert goal(alice, created["id"])["completed"] is False
    # Not a number at km: the sum stays met, so this reading completes it.
    post_batch(
        alice,
        [
            reading(
                sensor="pedometer",
                data={"note": "rest day"},
                recorded_at="2024-02-01T00:00:00Z",
            )
        ],
    )
    again = goal(alice, created["id"])
    assert again["completed"] is True
    assert again["completed_at"] == "2024-02-01T00:00:00.000000Z"


def test_completion_by_readings_completes_open_descendants_with_one_timestamp(
    alice, new_goal, measured_goal, post_batch
):
    top = new_goal(alice, "top")
    walk = measured_goal(parent=top, value=3)
    step = new_goal(alice, "step", walk)
    early = new_goal(alice, "early", walk)
    first = alice.patch(goal_url(early["id"]), json={"completed": True}).json
    post_batch(alice, walks(1, 2, 3, start="2024-01-01T00:00:00Z"))
    tree = {node["name"]: node for node in walk_tree(alice)}
    stamp = "2024-01-01T00:01:00.000000Z"
    assert tree["walk 100 km"]["completed_at"] == tree["step"]["completed_at"] == stamp
    assert tree["early"]["completed_at"] == first["completed_at"]
    assert tree["top"]["completed"] is False and tree["top"]["progress"] == 1.0
    assert step["id"]


def walk_tree(account):
    return list(walk(account.get(GOALS).json["items"]))


def test_nested_goals_met_in_one_upload_complete_in_upload_order(
    alice, measured_goal, post_batch
):
    outer = measured_goal("outer", value=4)
    inner = measured_goal("inner", parent=outer, value=2)
    inner_first = [
        reading(sensor="pedometer", data={"km": 2}, recorded_at="2024-01-02T00:00:00Z"),
        reading(sensor="pedometer", data={"km": 2}, recorded_at="2024-01-01T00:00:00Z"),
    ]
    post_batch(alice, inner_first)
    tree = {node["name"]: node for node in walk_tree(alice)}
    # inner met first (its own time); outer met second, at an earlier time.
    assert tree["inner"]["completed_at"] == "2024-01-02T00:00:00.000000Z"
    assert tree["outer"]["completed_at"] == "2024-01-01T00:00:00.000000Z"
    assert inner["id"]


def test_an_outer_goal_met_first_completes_its_measured_child_with_its_time(
    alice, measured_goal, post_batch
):
    outer = measured_goal("outer", value=1)
    measured_goal("inner", parent=outer, value=2)
    post_batch(alice, walks(1, 1, start="2024-01-01T00:00:00Z"))
    tree = {node["name"]: node for node in walk_tree(alice)}
    assert tree["outer"]["completed_at"] == tree["inner"]["completed_at"]
    assert tree["inner"]["completed_at"] == "2024-01-01T00:00:00.000000Z"


def test_habits_never_complete_by_themselves(alice, new_goal, post_batch):
    habit = target(aggregate="count", op=">=", value=1, period="day")
    created = new_goal(alice, "walk daily", started_at=PAST, target=habit)
    post_batch(alice, [reading(sensor="pedometer", data={"km": 1})])
    shown = goal(alice, created["id"])
    assert shown["measured"]["met"] is True and shown["streak"] == 1
    assert shown["completed"] is False


# --- what counts ------------------------------------------------------------------


def test_readings_before_started_at_are_ignored(alice, measured_goal, post_batch):
    created = measured_goal(value=10, started_at="2024-03-01T08:01:00Z")
    post_batch(alice, walks(100, 1, 2))  # 08:00 (before), 08:01, 08:02
    assert goal(alice, created["id"])["measured"]["value"] == 3
    later = measured_goal("later", value=10, started_at="2024-03-01T08:02:00.000001Z")
    assert later["measured"]["value"] == 0 and later["completed"] is False


def test_only_numbers_at_the_top_level_field_count_and_count_counts_every_reading(
    alice, new_goal, post_batch
):
    datas = [
        {"km": 2},
        {"km": 1.5},
        {"km": True},
        {"km": False},
        {"km": "3"},
        {"km": None},
        {"km": [4]},
        {"km": {"value": 5}},
        {"outer": {"km": 6}},
        {},
        {"km": -0.5},
    ]
    post_batch(
        alice,
        [
            reading(sensor="pedometer", data=data, recorded_at="2024-01-01T00:00:00Z")
            for data in datas
        ],
    )
    expected = {
        "sum": 3.0,
        "count": 11,
        "min": -0.5,
        "max": 2.0,
        "avg": 1.0,
        "last": -0.5,
    }
    for aggregate, value in expected.items():
        shown = new_goal(
            alice,
            aggregate,
            started_at=PAST,
            target=target(aggregate=aggregate, value=1e9),
        )
        assert shown["measured"]["value"] == value, aggregate


def test_last_is_the_newest_by_recorded_at_then_id(alice, new_goal, post_batch):
    post_batch(
        alice,
        [
            reading(
                sensor="heart", data={"bpm": 70}, recorded_at="2024-01-03T00:00:00Z"
            ),
            reading(
                sensor="heart", data={"bpm": 61}, recorded_at="2024-01-01T00:00:00Z"
            ),
            reading(
                sensor="heart", data={"bpm": 65}, recorded_at="2024-01-03T00:00:00Z"
            ),
            reading(
                sensor="heart", data={"bpm": "x"}, recorded_at="2024-01-04T00:00:00Z"
            ),
        ],
    )
    created = new_goal(alice, "resting", started_at=PAST, target=RESTING_60)
    assert created["measured"]["value"] == 65
    post_batch(
        alice,
        [reading(sensor="heart", data={"bpm": 59}, recorded_at="2024-01-02T00:00:00Z")],
    )
    assert goal(alice, created["id"])["measured"]["value"] == 65


def test_another_users_readings_never_count(alice, bob, measured_goal, post_batch):
    created = measured_goal(value=1)
    post_batch(bob, walks(5))
    assert goal(alice, created["id"])["measured"]["value"] == 0


def test_deleting_readings_recomputes_measured_and_keeps_completion(
    alice, measured_goal, post_batch
):
    created = measured_goal(value=5)
    ids = post_batch(alice, walks(2, 4, 1))
    done = goal(alice, created["id"])
    assert done["completed"] is True and done["measured"]["value"] == 7
    assert alice.delete(f"{READINGS}{ids[1]}").status_code == 204
    after = goal(alice, created["id"])
    assert after["measured"] == {**after["measured"], "value": 3, "met": False}
    # Completion is an event, not a view: it stays, with its time.
    assert after["completed"] is True and after["completed_at"] == done["completed_at"]
    for reading_id in (ids[0], ids[2]):
        assert alice.delete(f"{READINGS}{reading_id}").status_code == 204
    assert goal(alice, created["id"])["measured"]["value"] == 0


def test_an_open_goal_met_after_a_delete_completes_at_the_next_reading(
    alice, new_goal, post_batch
):
    top = {
        "sensor": "heart",
        "field": "bpm",
        "aggregate": "max",
        "op": "<=",
        "value": 60,
    }
    created = new_goal(alice, "calm", started_at=PAST, target=top)
    ids = post_batch(
        alice,
        [
            reading(
                sensor="heart", data={"bpm": bpm}, recorded_at="2024-01-01T00:00:00Z"
            )
            for bpm in (90, 55)
        ],
    )
    assert goal(alice, created["id"])["completed"] is False
    alice.delete(f"{READINGS}{ids[0]}")
    shown = goal(alice, created["id"])
    assert shown["measured"]["met"] is True and shown["completed"] is False
    post_batch(
        alice,
        [reading(sensor="heart", data={"bpm": 58}, recorded_at="2024-01-05T00:00:00Z")],
    )
    assert goal(alice, created["id"])["completed_at"] == "2024-01-05T00:00:00.000000Z"


def test_deleting_an_account_deletes_its_targets_and_measures(
    alice, bob, measured_goal, new_goal, post_batch, in_app
):
    measured_goal()
    new_goal(bob, "bob's", started_at=PAST, target=SUM_KM)
    post_batch(alice, walks(1))
    post_batch(bob, walks(1))
    assert (
        alice.delete(
            "/api/v1/users/me", json={"current_password": PASSWORD}
        ).status_code
        == 204
    )

    def remaining():
        from myapp.goals.models import GoalMeasure, GoalTarget

        return [
            db.session.execute(
                sa.select(sa.func.count()).select_from(model)
            ).scalar_one()
            for model in (GoalTarget, GoalMeasure)
        ]

    assert in_app(remaining) == [1, 1]


# --- progress ---------------------------------------------------------------------


def test_progress_of_an_open_measured_leaf_and_its_parent(
    alice, new_goal, measured_goal, post_batch
):
    top = new_goal(alice, "top")
    measured_goal("quarter", parent=top, value=100)
    measured_goal("avg", parent=top, aggregate="avg", value=100)
    measured_goal("count", parent=top, aggregate="count", value=8)
    measured_goal("zero", parent=top, value=0, period="day")
    post_batch(alice, walks(10, 15))
    tree = {node["name"]: node for node in walk_tree(alice)}
    assert tree["quarter"]["progress"] == 0.25
    assert tree["avg"]["progress"] == 0.0  # not sum or count
    assert tree["count"]["progress"] == 0.25
    assert tree["zero"]["progress"] == 0.0  # value 0
    assert tree["top"]["progress"] == pytest.approx(0.5 / 4)


# --- periods -----------------------------------------------------------------------


def test_a_streak_ends_with_the_previous_period_while_the_current_one_is_not_met(
    alice, new_goal, post_batch
):
    today = now_utc().replace(hour=12, minute=0, second=0, microsecond=0)
    started = today - timedelta(days=6)
    days = [today - timedelta(days=n) for n in (1, 2, 3, 5)]  # not day 4, not today
    items = [
        reading(sensor="sleep", data={"hours": 8}, recorded_at=day.isoformat())
        for day in days
    ]
    items.append(
        reading(
            sensor="sleep",
            data={"hours": 5},
            recorded_at=today.replace(hour=0).isoformat(),
        )
    )
    post_batch(alice, items)
    habit = SLEEP_7H
    shown = new_goal(alice, "sleep", started_at=started.isoformat(), target=habit)
    stored = [
        Stored(n, "sleep", micros(i["recorded_at"]), i["data"])
        for n, i in enumerate(items)
    ]
    as_of = micros(shown["measured"]["as_of"])
    value, met, streak = evaluate(habit, micros(started.isoformat()), stored, as_of)
    assert (shown["measured"]["value"], shown["measured"]["met"], shown["streak"]) == (
        value,
        met,
        streak,
    )
    if text(as_of)[:10] == text(micros(today.isoformat()))[:10]:  # the day did not turn
        assert (value, met, streak) == (5, False, 3)


def test_a_streak_counts_no_further_back_than_started_ats_period(alice, new_goal):
    started = now_utc() - timedelta(days=2)
    at_most = target(aggregate="count", op="<=", value=0, period="day")
    shown = new_goal(alice, "no walks", started_at=started.isoformat(), target=at_most)
    # Every empty day meets count <= 0: today, yesterday and started_at's day.
    as_of = micros(shown["measured"]["as_of"])
    since = micros(started.isoformat())
    assert shown["measured"]["met"] is True
    assert shown["streak"] == evaluate(at_most, since, [], as_of)[2] == 3
    future = new_goal(
        alice,
        "not yet",
        started_at=(now_utc() + timedelta(days=2)).isoformat(),
        target=at_most,
    )
    assert future["streak"] == 0


BOUNDARIES = [
    "1969-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",
    "1970-01-04T23:59:59.999999Z",  # a Sunday
    "1970-01-05T00:00:00Z",  # the first Monday
    "2023-02-28T23:59:59.999999Z",  # 28 days
    "2023-03-01T00:00:00Z",
    "2024-02-29T23:59:59.999999Z",  # 29 days
    "2024-03-01T00:00:00Z",
    "2024-04-30T23:59:59.999999Z",  # 30 days
    "2024-05-01T00:00:00Z",
    "2024-12-31T23:59:59.999999Z",  # 31 days, and a year
    "2025-01-01T00:00:00Z",
    "2024-12-29T23:59:59.999999Z",  # Sunday
    "2024-12-30T00:00:00Z",  # Monday: its week holds the new year
    "0001-01-01T00:00:00Z",
    "0001-01-31T23:59:59.999999Z",
    "9999-12-31T23:59:59.999999Z",
]


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_periods_at_utc_boundaries_agree_between_uploads_and_recomputing(
    alice, new_goal, post_batch, in_app, period
):
    habit = target(aggregate="count", op=">=", value=1, period=period)
    live = new_goal(alice, "live", started_at="0001-01-01T00:00:00Z", target=habit)
    post_batch(
        alice,
        [
            reading(sensor="pedometer", data={"km": 1}, recorded_at=at)
            for at in BOUNDARIES
        ],
    )

    def buckets(goal_id):
        """The goal's head and its series' periods: (bucket, readings) each."""
        from myapp.goals.models import GoalMeasure, GoalSeries

        head = db.session.execute(
            sa.select(GoalMeasure.bucket, GoalMeasure.readings).where(
                GoalMeasure.goal_id == goal_id
            )
        ).all()
        shared = db.session.execute(
            sa.select(GoalSeries.bucket, GoalSeries.readings).where(
                GoalSeries.sensor == "pedometer", GoalSeries.period == period
            )
        ).all()
        return sorted(map(tuple, head + shared))

    by_upload = in_app(buckets, live["id"])
    # Its only habit gone, the series goes; a new one rebuilds it from readings.
    alice.delete(goal_url(live["id"]))
    assert in_app(buckets, live["id"]) == []
    recomputed = new_goal(
        alice, "later", started_at="0001-01-01T00:00:00Z", target=habit
    )
    assert by_upload == in_app(buckets, recomputed["id"])
    stored = [
        Stored(n, "pedometer", micros(at), {"km": 1}) for n, at in enumerate(BOUNDARIES)
    ]
    assert [count for _, count in by_upload] == _counts_per_period(period, stored)


def _counts_per_period(period, stored):
    from testing.measured import period_of

    counts = {}
    for item in stored:
        name = period_of(period, item.recorded_at)
        counts[name] = counts.get(name, 0) + 1
    return [counts[name] for name in sorted(counts)]


def test_period_numbers_are_consecutive_across_boundaries():
    from myapp.goals.periods import bucket_of, bucket_start

    for period in ("day", "week", "month"):
        numbers = [
            bucket_of(period, micros(at)) for at in sorted(BOUNDARIES, key=micros)
        ]
        assert numbers == sorted(numbers)
    assert bucket_of("day", micros("1970-01-01T00:00:00Z")) == 0
    assert bucket_of("day", micros("1969-12-31T23:59:59.999999Z")) == -1
    assert bucket_of("week", micros("1970-01-05T00:00:00Z")) == 0
    assert bucket_of("week", micros("1970-01-04T23:59:59.999999Z")) == -1
    for start in ("2023-02-01", "2024-02-01", "2024-04-01", "2024-01-01"):
        first = micros(start + "T00:00:00Z")
        month = bucket_of("month", first)
        assert bucket_of("month", first - 1) == month - 1
        assert bucket_start("month", month) == datetime.fromisoformat(
            start + "T00:00:00+00:00"
        )
    assert bucket_start("week", 0).weekday() == 0


# --- the spec ----------------------------------------------------------------------


def test_the_spec_documents_the_target_for_writing_and_reading(client):
    spec = client.get("/api/v1/swagger.json").json
    definitions = spec["definitions"]
    for name in ("GoalCreate", "GoalUpdate"):
        written = definitions[name]["properties"]["target"]
        assert written["x-nullable"] is True
        assert set(written["required"]) == {
            "sensor",
            "field",
            "aggregate",
            "op",
            "value",
        }
        assert written["properties"]["aggregate"]["enum"] == [
            "sum",
            "count",
            "min",
            "max",
            "avg",
            "last",
        ]
        # x-nullable with an enum: null is listed too (as OpenAPI requires).
        assert written["properties"]["period"]["enum"] == ["day", "week", "month", None]
        assert written["properties"]["period"]["x-nullable"] is True
    read = definitions["Goal"]["properties"]
    assert set(read["target"]["required"]) == {
        "sensor",
        "field",
        "aggregate",
        "op",
        "value",
        "period",
    }
    assert read["measured"]["x-nullable"] is True
    assert read["measured"]["properties"]["value"]["x-nullable"] is True
    assert read["streak"]["type"] == "integer" and read["streak"]["x-nullable"] is True
