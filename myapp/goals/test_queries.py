"""Reading trees costs a fixed number of SQL statements, and writes stay consistent
under concurrency."""

import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.goals import GOALS, goal_url


@pytest.fixture
def count_statements(app):
    """Run a GET and return (response, statements seen by SQLAlchemy, by SQLite).

    SQLAlchemy's before_cursor_execute sees every statement it executes; SQLite's
    trace callback also sees driver-level ones (the prepared token check), so on
    SQLite the second count is every statement the database ran. On PostgreSQL it
    is None.
    """

    def run(account, url):
        with app.app_context():
            engine = db.engine
        seen, traced = [], []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        def trace(dbapi_connection, record, proxy):
            if hasattr(dbapi_connection, "set_trace_callback"):
                dbapi_connection.set_trace_callback(traced.append)

        def untrace(dbapi_connection, record):
            if hasattr(dbapi_connection, "set_trace_callback"):
                dbapi_connection.set_trace_callback(None)

        hooks = [
            ("before_cursor_execute", record),
            ("checkout", trace),
            ("checkin", untrace),
        ]
        for name, hook in hooks:
            sa.event.listen(engine, name, hook)
        try:
            response = account.get(url)
        finally:
            for name, hook in hooks:
                sa.event.remove(engine, name, hook)
        assert response.status_code == 200, response.json
        driver = len(traced) if engine.dialect.name == "sqlite" else None
        return response, len(seen), driver

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
    assert small_all == big_all
    assert big_all is None or big_all <= 3
    assert len(big.data) > 100 * len(small.data)


def test_an_admin_listing_another_user_takes_at_most_three_statements(
    admin, alice, in_app, count_statements
):
    insert_tree(in_app, alice.id, 200, 40)
    response, statements, every = count_statements(admin, f"{GOALS}?user_id={alice.id}")
    assert len(response.json["items"]) == 1
    assert statements <= 3 and (every is None or every <= 3)
    _, statements, every = count_statements(admin, f"{GOALS}?user_id={admin.id}")
    assert statements <= 3 and (every is None or every <= 3)


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
