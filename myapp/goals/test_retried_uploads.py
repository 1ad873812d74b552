"""A retried upload (the same client_ids) is never counted twice by a measured goal.

Found by breaking the code on purpose: counting a repeated batch again was
noticed only by signal-level tests, none in the goals suite.
"""

import pytest

from testing.goals import GOALS, goal_url
from testing.readings import BATCH, READINGS, new_client_id, reading

PAST = "2020-01-01T00:00:00Z"


def goal_with(account, aggregate, period=None):
    target = {
        "sensor": "pedometer",
        "field": "km",
        "aggregate": aggregate,
        "op": ">=",
        "value": 1000,
        "period": period,
    }
    body = {"name": f"walk ({aggregate})", "started_at": PAST, "target": target}
    response = account.post(GOALS, json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def measured(account, goal_id):
    return account.get(goal_url(goal_id)).json["measured"]["value"]


def walk(km, client_id=None):
    return reading(sensor="pedometer", data={"km": km}, client_id=client_id)


@pytest.mark.parametrize(
    "aggregate, period, after_first",
    [("sum", None, 6), ("count", None, 3), ("sum", "day", 6), ("avg", None, 2)],
)
def test_a_batch_retried_with_the_same_client_ids_counts_once(
    alice, aggregate, period, after_first
):
    goal = goal_with(alice, aggregate, period)
    batch = {"readings": [walk(km, new_client_id()) for km in (1, 2, 3)]}
    first = alice.post(BATCH, json=batch)
    assert first.status_code == 201 and first.json["created"] == 3
    assert measured(alice, goal) == after_first
    again = alice.post(BATCH, json=batch)
    assert again.status_code == 201 and again.json["created"] == 0
    assert again.json["ids"] == first.json["ids"]
    assert measured(alice, goal) == after_first


def test_a_partly_repeated_batch_counts_only_its_new_readings(alice):
    goal = goal_with(alice, "sum")
    old = [walk(km, new_client_id()) for km in (1, 2)]
    assert alice.post(BATCH, json={"readings": old}).status_code == 201
    mixed = old + [walk(10, new_client_id()), old[0]]  # a repeat inside it too
    response = alice.post(BATCH, json={"readings": mixed})
    assert response.status_code == 201 and response.json["created"] == 1
    assert measured(alice, goal) == 13


def test_a_single_reading_retried_counts_once(alice):
    goal = goal_with(alice, "count")
    item = walk(5, new_client_id())
    assert alice.post(READINGS, json=item).status_code == 201
    assert alice.post(READINGS, json=item).status_code == 200
    assert measured(alice, goal) == 1
