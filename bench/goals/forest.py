"""The goal trees of the goals benchmark (issue 4), seeded straight into the table.

User `forest` has 5,000 goals, a spine 50 deep and the rest under random
earlier goals; user `mover` has one 1,000-goal subtree and two top-level
targets to move it between.
"""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from myapp.db import db
from myapp.goals.models import Goal
from myapp.users import service as users

FOREST_GOALS, FOREST_DEPTH = 5000, 50
SUBTREE_GOALS, SUBTREE_ROOT, TARGETS = 1000, 100_001, (200_001, 200_002)
PASSWORD = "correct horse battery"


def random_tree(rng, user_id, first_id, count, max_depth, top_level_share):
    """count goal rows: a spine max_depth deep, then random parents (ids ascend).

    About 40% are completed, leaves first, so no completed goal has an open child.
    """
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows, depth = [], {}
    for n in range(count):
        goal_id = first_id + n
        if n < max_depth:
            parent = goal_id - 1 if n else None
        elif rng.random() < top_level_share:
            parent = None
        else:
            parent = rng.randrange(first_id, goal_id)
            while depth[parent] >= max_depth:
                parent = rng.randrange(first_id, goal_id)
        depth[goal_id] = 1 if parent is None else depth[parent] + 1
        stamp = base + timedelta(seconds=n)
        rows.append(
            {
                "id": goal_id,
                "user_id": user_id,
                "parent_id": parent,
                "name": f"goal {n}: write the next chapter of the plan",
                "description": "Some words about it." if n % 3 else None,
                "started_at": stamp,
                "completed_at": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    children = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    for row in reversed(rows):
        kids = children.get(row["id"], [])
        if all(kid["completed_at"] for kid in kids) and rng.random() < 0.4:
            row["completed_at"] = row["created_at"] + timedelta(days=1)
    return rows, max(depth.values())


def seed(app, rng):
    """forest: 5,000 goals 50 deep; mover: one 1,000-goal subtree and two targets."""
    with app.app_context():
        forest_user = users.register(
            username="forest", email="forest@example.com", password=PASSWORD
        )
        mover = users.register(
            username="mover", email="mover@example.com", password=PASSWORD
        )
        forest, depth = random_tree(
            rng, forest_user.id, 1, FOREST_GOALS, FOREST_DEPTH, 0.02
        )
        subtree, _ = random_tree(rng, mover.id, SUBTREE_ROOT, SUBTREE_GOALS, 30, 0.0)
        for row in subtree:
            row["completed_at"] = None
        targets = [
            dict(subtree[0], id=target, name=f"target {target}") for target in TARGETS
        ]
        db.session.execute(sa.insert(Goal.__table__), forest + subtree + targets)
        db.session.commit()
        tokens = {
            name: users.start_session(user=user)["access_token"]
            for name, user in (("forest", forest_user), ("mover", mover))
        }
    return tokens, depth


def continue_ids(app):
    """Let new goals follow the seeded ids: PostgreSQL's sequence does not see
    ids inserted by hand (SQLite's AUTOINCREMENT does)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('goals', 'id'),"
                    " (SELECT max(id) FROM goals))"
                )
            )
            db.session.commit()


def reopen_subtree(app):
    """Undo a completion outside the timing, so every complete does 1,000 rows."""
    table = Goal.__table__
    with app.app_context():
        db.session.execute(
            sa.update(table)
            .where(table.c.id.between(SUBTREE_ROOT, SUBTREE_ROOT + SUBTREE_GOALS - 1))
            .values(completed_at=None)
        )
        db.session.commit()
