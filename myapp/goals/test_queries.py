"""Reading trees costs a fixed number of SQL statements, and writes stay consistent
under concurrency."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.goals import GOALS, goal_url, walk
from testing.readings import BATCH, reading
from testing.statements import traced_request


@pytest.fixture
def count_statements(traced):
    """Run a GET and return (response, statements seen by SQLAlchemy, by the driver)."""

    def run(account, url):
        response, seen, driver = traced(account, "GET", url)
        assert response.status_code == 200, response.json
        return response, len(seen), driver.count()

    return run


@pytest.fixture
def traced(app):
    """Run a request: (response, SQL seen by SQLAlchemy, DriverTrace)."""

    def run(account, method, url, body=None):
        return traced_request(app, account, method, url, body)

    return run


def insert_tree(in_app, user_id, count, depth):
    """count goals for the user: a chain depth deep, the rest spread under it."""
    from myapp.goals.models import Goal

    def insert():
        now = datetime.now(timezone.utc)
        chain = []
        for n in range(count):
            parent = chain[-1] if n < depth and chain else None
            if n >= depth:
                parent = chain[(n * 7) % depth]
            row = {"user_id": user_id, "parent_id": parent, "name": f"goal {n}"}
            row.update(started_at=now, created_at=now, updated_at=now)
            insert = sa.insert(Goal.__table__).values(**row)
            goal_id = db.session.execute(insert).inserted_primary_key[0]
            if n < depth:
                chain.append(goal_id)
        db.session.commit()
        return chain[0]

    return in_app(insert)


@pytest.mark.parametrize(
    "url", [GOALS, GOALS + "?flat=true", "{root}"], ids=["forest", "flat", "subtree"]
)
def test_reading_goals_takes_the_same_statements_for_one_goal_and_hundreds(
    alice, bob, in_app, count_statements, url
):
    small_root = insert_tree(in_app, alice.id, 1, 1)
    big_root = insert_tree(in_app, bob.id, 400, 60)
    small, small_count, small_all = count_statements(
        alice, url.format(root=goal_url(small_root))
    )
    big, big_count, big_all = count_statements(bob, url.format(root=goal_url(big_root)))
    assert small_count == big_count <= 3
    assert small_all == big_all <= 3
    assert len(big.data) > 100 * len(small.data)


def test_an_admin_listing_another_user_takes_at_most_four_statements(
    admin, alice, in_app, count_statements
):
    insert_tree(in_app, alice.id, 200, 40)
    response, statements, every = count_statements(admin, f"{GOALS}?user_id={alice.id}")
    assert len(response.json["items"]) == 1
    # The fourth reads that user's time zone, in which their habits count periods.
    assert statements <= every <= 4
    _, statements, every = count_statements(admin, f"{GOALS}?user_id={admin.id}")
    assert statements <= every <= 3


def test_concurrent_opposite_moves_never_make_a_cycle(app, alice, new_goal):
    """Two clients moving a under b and b under a at once: one wins, one gets 409."""
    pairs = [(new_goal(alice, f"a{n}"), new_goal(alice, f"b{n}")) for n in range(8)]
    statuses = []

    def move(first, second):
        client = app.test_client()
        response = client.patch(
            goal_url(first["id"]),
            json={"parent_id": second["id"]},
            headers=alice.headers,
        )
        statuses.append(response.status_code)

    for a, b in pairs:
        threads = [
            threading.Thread(target=move, args=(a, b)),
            threading.Thread(target=move, args=(b, a)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [200] * len(pairs) + [409] * len(pairs)
    assert len(alice.get(GOALS).json["items"]) == len(pairs)


def test_a_tree_at_the_default_depth_limit_is_served(app, alice, in_app):
    depth = app.config["GOALS_MAX_DEPTH"]
    root = insert_tree(in_app, alice.id, depth, depth)
    response = alice.get(GOALS)
    assert response.status_code == 200
    node, levels = response.json["items"][0], 1
    while node["children"]:
        node, levels = node["children"][0], levels + 1
    assert levels == depth
    assert alice.get(goal_url(root)).status_code == 200
    too_deep = alice.post(GOALS, json={"name": "x", "parent_id": node["id"]})
    assert too_deep.status_code == 400


# --- measured goals ------------------------------------------------------------------

HABITS = [
    {"aggregate": "sum", "op": ">=", "value": 1e9, "period": None},
    {"aggregate": "count", "op": "<=", "value": 5, "period": "day"},
    {"aggregate": "min", "op": ">=", "value": 0, "period": "week"},
    {"aggregate": "last", "op": "<=", "value": 50, "period": "month"},
    {"aggregate": "avg", "op": ">=", "value": 1e9, "period": None},
]


def measure(account, goal_ids, sensor="steps"):
    """Give each goal a target (cycling through HABITS) on sensor, over HTTP."""
    for n, goal_id in enumerate(goal_ids):
        target = {"sensor": sensor, "field": "km", **HABITS[n % len(HABITS)]}
        response = account.patch(goal_url(goal_id), json={"target": target})
        assert response.status_code == 200, response.json


def walked(days, per_day, sensor="steps"):
    """Readings of sensor over the last days, per_day a day."""
    now = datetime.now(timezone.utc)
    return [
        reading(
            sensor=sensor,
            data={"km": n % 7},
            recorded_at=(now - timedelta(days=day, minutes=n)).isoformat(),
        )
        for day in range(days)
        for n in range(per_day)
    ]


@pytest.mark.parametrize(
    "url", [GOALS, GOALS + "?flat=true", "{root}"], ids=["forest", "flat", "subtree"]
)
def test_reading_goals_takes_the_same_statements_for_one_measured_goal_and_a_hundred(
    alice, bob, in_app, count_statements, post_batch, url
):
    small_root = insert_tree(in_app, alice.id, 1, 1)
    measure(alice, [small_root])
    big_root = insert_tree(in_app, bob.id, 300, 40)
    bobs = goal_ids_of(in_app, bob.id)
    measure(bob, bobs[::3][:100])
    post_batch(bob, walked(days=40, per_day=10))
    small, small_count, small_all = count_statements(
        alice, url.format(root=goal_url(small_root))
    )
    big, big_count, big_all = count_statements(bob, url.format(root=goal_url(big_root)))
    assert small_count == big_count <= 3
    assert small_all == big_all <= 3
    measured = [
        node for node in walk(big.json.get("items", [big.json])) if node["target"]
    ]
    assert len(measured) == 100
    assert any(node["streak"] for node in measured)


def goal_ids_of(in_app, user_id):
    from myapp.goals.models import Goal

    def ids():
        return sorted(
            db.session.execute(
                sa.select(Goal.id).where(Goal.user_id == user_id)
            ).scalars()
        )

    return in_app(ids)


def test_an_upload_costs_one_more_statement_when_no_target_watches_its_sensors(
    alice, new_goal, traced
):
    from myapp.goals import receivers
    from myapp.readings.signals import readings_stored

    new_goal(alice, "elsewhere", target={"sensor": "other", "field": "km", **HABITS[0]})
    body = {"readings": walked(days=2, per_day=50)}

    def statements():
        response, _, driver = traced(alice, "POST", BATCH, body)
        assert response.status_code == 201, response.json
        return driver.count()

    statements()  # the sensor's first numeric fields are recorded for rollups once
    watched = statements()
    readings_stored.disconnect(receivers.on_readings_stored)
    try:
        unwatched = statements()
    finally:
        readings_stored.connect(receivers.on_readings_stored)
    assert watched == unwatched + 1


def test_an_upload_costs_the_same_statements_for_one_target_and_ten_and_any_size(
    alice, bob, new_goal, traced, in_app
):
    new_goal(alice, "one", target={"sensor": "steps", "field": "km", **HABITS[0]})
    for n in range(10):
        new_goal(
            bob, f"goal {n}", target={"sensor": "steps", "field": "km", **HABITS[n % 5]}
        )

    def statements(account, days):
        response, _, driver = traced(
            account, "POST", BATCH, {"readings": walked(days, 20)}
        )
        assert response.status_code == 201, response.json
        return driver.count()

    statements(alice, 1), statements(bob, 1)  # rollups record the fields once
    counts = {statements(alice, 1), statements(bob, 1), statements(bob, 40)}
    assert len(counts) == 1, counts
