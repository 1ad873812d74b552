"""`goal` events: each goal a commit changed, once, as GET /goals/<id> reads it."""

from datetime import datetime, timedelta, timezone

import pytest

from myapp import committed
from myapp.readings.signals import readings_stored
from testing.goals import goal_url
from testing.readings import BATCH, READINGS, reading

ME = "/api/v1/users/me"
PAST = "2020-01-01T00:00:00Z"
SUM_KM = {"sensor": "pedometer", "field": "km", "aggregate": "sum", "op": ">="}
DAILY_STEPS = {
    "sensor": "steps",
    "field": "n",
    "aggregate": "sum",
    "op": ">=",
    "value": 5,
    "period": "day",
}


@pytest.fixture
def goal_events():
    """Every goal event committed since the test began, in order (user, body)."""
    heard = []

    def hear(sender=None, *, news, **_):
        heard.extend((user, body) for user, name, body in news if name == "goal")

    committed.user_news_committed.connect(hear)
    yield heard
    committed.user_news_committed.disconnect(hear)


def as_read(account, goal_id):
    """The goal as GET /goals/<id> answers it, without children and as_of."""
    body = account.get(goal_url(goal_id)).json
    del body["children"]
    return _without_as_of(body)


def _without_as_of(body):
    if body["measured"] is not None:
        body = {**body, "measured": {**body["measured"], "as_of": None}}
    return body


def heard_ids(events):
    return sorted(body["id"] for _, body in events)


def walk(km, at):
    return reading(sensor="pedometer", data={"km": km}, recorded_at=at)


def test_completing_a_leaf_sends_it_and_each_ancestor_whose_progress_changed(
    alice, new_goal, goal_events
):
    root = new_goal(alice, "root")
    middle = new_goal(alice, "middle", root)
    leaf = new_goal(alice, "leaf", middle)
    sibling = new_goal(alice, "sibling", middle)
    new_goal(alice, "elsewhere")
    goal_events.clear()

    done = alice.patch(goal_url(leaf["id"]), json={"completed": True})
    assert done.status_code == 200
    assert heard_ids(goal_events) == [root["id"], middle["id"], leaf["id"]]
    assert {user for user, _ in goal_events} == {alice.id}
    for _, body in goal_events:
        assert "children" not in body
        assert _without_as_of(body) == as_read(alice, body["id"])
    progress = {body["id"]: body["progress"] for _, body in goal_events}
    assert progress == {root["id"]: 0.5, middle["id"]: 0.5, leaf["id"]: 1.0}
    assert sibling["id"] not in progress


def test_completing_a_parent_sends_each_descendant_it_completed(
    alice, new_goal, goal_events
):
    parent = new_goal(alice, "parent")
    leaves = [new_goal(alice, f"leaf {n}", parent) for n in range(2)]
    alice.patch(goal_url(leaves[0]["id"]), json={"completed": True})
    goal_events.clear()

    alice.patch(goal_url(parent["id"]), json={"completed": True})
    assert heard_ids(goal_events) == [parent["id"], leaves[1]["id"]]
    assert all(body["completed"] for _, body in goal_events)


def test_a_rename_or_a_new_description_sends_nothing(alice, new_goal, goal_events):
    parent = new_goal(alice, "parent")
    leaf = new_goal(alice, "leaf", parent)
    goal_events.clear()
    changes = {"name": "renamed", "description": "why"}
    assert alice.patch(goal_url(leaf["id"]), json=changes).status_code == 200
    assert alice.patch(goal_url(leaf["id"]), json={"parent_id": parent["id"]})
    assert goal_events == []
    # Renamed as it completes: the completion is sent, with the new name.
    changes = {"name": "done", "completed": True}
    assert alice.patch(goal_url(leaf["id"]), json=changes).status_code == 200
    names = {body["id"]: body["name"] for _, body in goal_events}
    assert names == {parent["id"]: "parent", leaf["id"]: "done"}


def test_deleting_a_goal_sends_its_parent_with_the_progress_left(
    alice, new_goal, goal_events
):
    parent = new_goal(alice, "parent")
    done = new_goal(alice, "done", parent)
    still_open = new_goal(alice, "open", parent)
    alice.patch(goal_url(done["id"]), json={"completed": True})
    goal_events.clear()

    assert alice.delete(goal_url(still_open["id"])).status_code == 204
    ((user, body),) = goal_events
    assert (user, body["id"], body["progress"]) == (alice.id, parent["id"], 1.0)


def test_moving_a_goal_sends_both_parents_whose_progress_changed(
    alice, new_goal, goal_events
):
    old, new = new_goal(alice, "old"), new_goal(alice, "new")
    moving = new_goal(alice, "moving", old)
    new_goal(alice, "stays", old)
    new_goal(alice, "waits", new)
    alice.patch(goal_url(moving["id"]), json={"completed": True})
    goal_events.clear()

    alice.patch(goal_url(moving["id"]), json={"parent_id": new["id"]})
    progress = {body["id"]: body["progress"] for _, body in goal_events}
    assert progress == {old["id"]: 0.0, new["id"]: 0.5}


def test_an_upload_that_adds_to_a_measured_goal_sends_its_new_value_once(
    alice, new_goal, goal_events
):
    parent = new_goal(alice, "parent")
    measured = new_goal(
        alice, "walk", parent, started_at=PAST, target={**SUM_KM, "value": 100}
    )
    goal_events.clear()

    body = {"readings": [walk(20, "2024-03-01T08:00:00Z"), walk(10.5, PAST)]}
    assert alice.post(BATCH, json=body).status_code == 201
    events = {body["id"]: body for _, body in goal_events}
    assert heard_ids(goal_events) == [parent["id"], measured["id"]]
    assert events[measured["id"]]["measured"]["value"] == 30.5
    assert events[measured["id"]]["progress"] == 0.305
    assert _without_as_of(events[measured["id"]]) == as_read(alice, measured["id"])
    assert events[parent["id"]]["progress"] == 0.305


def test_an_upload_on_a_sensor_no_goal_watches_sends_no_goal(
    alice, new_goal, goal_events
):
    new_goal(alice, "walk", started_at=PAST, target={**SUM_KM, "value": 100})
    goal_events.clear()
    other = reading(sensor="kitchen/temp")
    assert alice.post(READINGS, json=other).status_code == 201
    assert goal_events == []
    assert alice.post(READINGS, json=walk(1, PAST)).status_code == 201
    assert len(goal_events) == 1


def test_an_upload_meeting_a_target_sends_the_goal_and_its_parents_once_each(
    alice, new_goal, goal_events
):
    top = new_goal(alice, "top")
    parent = new_goal(alice, "parent", top)
    measured = new_goal(
        alice, "walk", parent, started_at=PAST, target={**SUM_KM, "value": 10}
    )
    new_goal(alice, "other leaf", top)
    goal_events.clear()

    items = [walk(km, f"2024-03-01T08:0{n}:00Z") for n, km in enumerate([6, 6, 6])]
    assert alice.post(BATCH, json={"readings": items}).status_code == 201
    assert heard_ids(goal_events) == [top["id"], parent["id"], measured["id"]]
    events = {body["id"]: body for _, body in goal_events}
    assert events[measured["id"]]["completed"] is True
    assert events[measured["id"]]["completed_at"] == "2024-03-01T08:01:00.000000Z"
    assert events[parent["id"]]["progress"] == 1.0  # its only leaf completed
    assert events[top["id"]]["progress"] == 0.5


def test_a_habits_streak_change_is_sent(alice, new_goal, goal_events):
    habit = new_goal(alice, "walk", started_at=PAST, target=DAILY_STEPS)
    assert habit["streak"] == 0
    goal_events.clear()

    now = datetime.now(timezone.utc).isoformat()
    today = reading(sensor="steps", data={"n": 5}, recorded_at=now)
    assert alice.post(READINGS, json=today).status_code == 201
    ((_, body),) = goal_events
    assert (body["id"], body["streak"], body["measured"]["met"]) == (
        habit["id"],
        1,
        True,
    )


def test_a_late_reading_that_meets_a_past_day_sends_the_longer_streak_only(
    alice, new_goal, goal_events
):
    habit = new_goal(alice, "walk", started_at=PAST, target=DAILY_STEPS)
    now = datetime.now(timezone.utc)
    today = reading(sensor="steps", data={"n": 5}, recorded_at=now.isoformat())
    assert alice.post(READINGS, json=today).status_code == 201
    goal_events.clear()

    yesterday = (now - timedelta(days=1)).isoformat()
    late = reading(sensor="steps", data={"n": 5}, recorded_at=yesterday)
    assert alice.post(READINGS, json=late).status_code == 201
    ((_, body),) = goal_events
    assert (body["id"], body["streak"], body["measured"]["value"]) == (
        habit["id"],
        2,
        5,
    )
    # Yesterday stays met and today's value is the same: nothing to send.
    more = reading(sensor="steps", data={"n": 1}, recorded_at=yesterday)
    assert alice.post(READINGS, json=more).status_code == 201
    assert len(goal_events) == 1


def test_a_rolled_back_upload_sends_no_goal(alice, new_goal, goal_events):
    def fail(sender=None, **_):
        raise RuntimeError("a receiver after the goals' fails the upload")

    measured = new_goal(alice, "walk", started_at=PAST, target={**SUM_KM, "value": 9})
    goal_events.clear()
    readings_stored.connect(fail)
    try:
        failed = alice.post(READINGS, json=walk(10, PAST))
    finally:
        readings_stored.disconnect(fail)
    assert failed.status_code == 500
    assert goal_events == []
    assert as_read(alice, measured["id"])["measured"]["value"] == 0

    assert alice.post(READINGS, json=walk(3, PAST)).status_code == 201
    ((_, body),) = goal_events
    assert (body["measured"]["value"], body["completed"]) == (3, False)


def test_deleting_a_reading_sends_the_lowered_value(alice, new_goal, goal_events):
    measured = new_goal(alice, "walk", started_at=PAST, target={**SUM_KM, "value": 99})
    kept = alice.post(READINGS, json=walk(4, PAST))
    gone = alice.post(READINGS, json=walk(7, PAST))
    assert kept.status_code == gone.status_code == 201
    goal_events.clear()

    response = alice.delete(f"{READINGS}{gone.json['id']}")
    assert response.status_code == 204
    ((_, body),) = goal_events
    assert (body["id"], body["measured"]["value"]) == (measured["id"], 4)


def around_tokyo_midnight():
    """A minute before and a minute after today's midnight in Tokyo (UTC+9)."""
    tokyo = timezone(timedelta(hours=9))
    midnight = datetime.now(tokyo).replace(hour=0, minute=0, second=0, microsecond=0)
    return [(midnight + timedelta(minutes=m)).isoformat() for m in (-1, 1)]


def test_a_time_zone_change_sends_the_habits_it_recounted(alice, new_goal, goal_events):
    assert alice.patch(ME, json={"time_zone": "Asia/Tokyo"}).status_code == 200
    habit = new_goal(alice, "walk", started_at=PAST, target=DAILY_STEPS)
    once = new_goal(
        alice, "once", started_at=PAST, target={**DAILY_STEPS, "period": None}
    )
    before, after = around_tokyo_midnight()
    items = [
        reading(sensor="steps", recorded_at=before, data={"n": 4}),
        reading(sensor="steps", recorded_at=after, data={"n": 3}),
    ]
    assert alice.post(BATCH, json={"readings": items}).status_code == 201
    assert as_read(alice, habit["id"])["measured"]["value"] == 3
    goal_events.clear()

    # Both fall on one UTC day (Tokyo's midnight is 15:00 UTC): today or not.
    assert alice.patch(ME, json={"time_zone": "UTC"}).status_code == 200
    ((_, body),) = goal_events
    assert body["id"] == habit["id"]
    assert body["measured"]["value"] in (0, 7)
    assert _without_as_of(body) == as_read(alice, habit["id"])
    assert once["id"] != body["id"]
