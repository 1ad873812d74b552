"""Habits count the days, weeks and months of the user's time zone."""

import zoneinfo
from datetime import datetime, timedelta, timezone

from testing.goals import goal_url
from testing.readings import BATCH, READINGS, reading

ME = "/api/v1/users/me"
DAILY = {
    "sensor": "steps",
    "field": "n",
    "aggregate": "sum",
    "op": ">=",
    "value": 5,
    "period": "day",
}


def around_local_midnight(zone):
    """One minute before and one after today's local midnight in zone, as text."""
    now = datetime.now(timezone.utc).astimezone(zoneinfo.ZoneInfo(zone))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        (moment.astimezone(timezone.utc)).isoformat()
        for moment in (midnight - timedelta(minutes=1), midnight + timedelta(minutes=1))
    ]


def measured(account, goal):
    return account.get(goal_url(goal["id"])).json["measured"]


def test_a_daily_habit_counts_the_users_local_day_and_follows_a_zone_change(
    alice, new_goal
):
    assert alice.patch(ME, json={"time_zone": "Asia/Tokyo"}).status_code == 200
    habit = new_goal(alice, "walk", target=DAILY, started_at="2000-01-01T00:00:00Z")
    before, after = around_local_midnight("Asia/Tokyo")
    body = {
        "readings": [
            reading(sensor="steps", recorded_at=before, data={"n": 4}),
            reading(sensor="steps", recorded_at=after, data={"n": 3}),
        ]
    }
    assert alice.post(BATCH, json=body).status_code == 201
    # Today in Tokyo holds the reading after its midnight only.
    assert measured(alice, habit)["value"] == 3
    # Both fell on one UTC day (Tokyo's midnight is 15:00 UTC): today or not.
    assert alice.patch(ME, json={"time_zone": "UTC"}).status_code == 200
    assert measured(alice, habit)["value"] in (0, 7)
    assert alice.patch(ME, json={"time_zone": "Asia/Tokyo"}).status_code == 200
    assert measured(alice, habit)["value"] == 3


def test_a_deletion_recomputes_a_habit_in_the_users_zone(alice, new_goal):
    alice.patch(ME, json={"time_zone": "Asia/Kathmandu"})
    habit = new_goal(alice, "walk", target=DAILY, started_at="2000-01-01T00:00:00Z")
    before, after = around_local_midnight("Asia/Kathmandu")
    ids = [
        alice.post(
            READINGS, json=reading(sensor="steps", recorded_at=at, data={"n": n})
        ).json["id"]
        for at, n in ((before, 4), (after, 3), (after, 2))
    ]
    assert measured(alice, habit)["value"] == 5
    assert alice.delete(f"{READINGS}{ids[2]}").status_code == 204
    assert measured(alice, habit)["value"] == 3
