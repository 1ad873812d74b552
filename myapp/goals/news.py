"""Goal events for the live stream: each goal a transaction changed, once, at COMMIT.

A write that may change goals calls watch() first with the goals it touches:
the trees that hold them are read as GET /goals/<id> answers each goal, and
the properties the contract watches (completed, progress, measured.value,
measured.met, streak) are kept. Just before the COMMIT (the session's
before_commit hook) the same trees are read again, and each goal whose watched
properties differ is noted (myapp.committed) without its children: at most one
event per goal per commit, none after a rollback, none for a goal created or
deleted in the transaction.
"""

import sqlalchemy as sa
from sqlalchemy import event

from myapp import committed
from myapp.db import db, utcnow
from myapp.goals.measured import measured_goals
from myapp.goals.queries import assemble, tree_query
from myapp.goals.rows import GOALS
from myapp.owners import time_zone_of

_WATCHED = "goal_news"


def _trees_holding_seeds():
    """Every goal of the trees that hold any seed, deepest first: one statement."""
    up = (
        sa.select(GOALS.c.id, GOALS.c.parent_id)
        .where(
            GOALS.c.user_id == sa.bindparam("user_id"),
            GOALS.c.id.in_(sa.bindparam("seeds", expanding=True)),
        )
        .cte("up", recursive=True)
    )
    parent = GOALS.alias("parent")
    # UNION, as the tree walks: it ends even on a cycle.
    up = up.union(
        sa.select(parent.c.id, parent.c.parent_id).where(parent.c.id == up.c.parent_id)
    )
    roots = sa.select(up.c.id).where(up.c.parent_id.is_(None))
    return tree_query(GOALS.c.id.in_(roots))


_TREES = _trees_holding_seeds()


def rendered(*, user_id, goal_ids, tz=None, streaks=True):
    """{goal id: the goal as GET /goals/<id> answers it, without children} of
    every goal in the trees holding goal_ids: two queries (tree, targets).
    streaks=False: every streak None, without the walks that count them."""
    rows = db.session.execute(
        _TREES, {"user_id": user_id, "seeds": sorted(goal_ids)}
    ).all()
    if not rows:
        return {}
    tz = tz or time_zone_of(user_id=user_id)
    found = measured_goals(user_id=user_id, now=utcnow(), tz=tz, streaks=streaks)
    nodes, _ = assemble(rows, found)
    for node in nodes:
        del node["children"]
    return {node["id"]: node for node in nodes}


# A streak not read before: the write cannot change it (see watch).
_SAME_STREAK = object()


def _watched(node, streak=None):
    measured = node["measured"] or {}
    return (
        node["completed"],
        node["progress"],
        measured.get("value"),
        measured.get("met"),
        node["streak"] if streak is None else streak,
    )


def _changed(before, node):
    if before[4] is _SAME_STREAK:
        return before != _watched(node, _SAME_STREAK)
    return before != _watched(node)


def watch(*, user_id, goal_ids, tz=None, streaks=True):
    """Before a write that may change these goals (and so their trees): keep
    their trees' watched properties, read in the zone tz (default the user's),
    for the COMMIT to compare with. The first state seen in a transaction wins.

    streaks=False: the caller knows no habit's streak changes (an upload that
    turns no period met or unmet), so streaks are not counted before."""
    seeds = {goal_id for goal_id in goal_ids if goal_id is not None}
    if not seeds:
        return
    nodes = rendered(user_id=user_id, goal_ids=seeds, tz=tz, streaks=streaks)
    streak = None if streaks else _SAME_STREAK
    watching = db.session.info.setdefault(_WATCHED, {})
    seen_seeds, before = watching.setdefault(user_id, (set(), {}))
    # A tree's root outlives a deletion below it: it finds the tree again.
    seen_seeds |= seeds | {i for i, node in nodes.items() if node["parent_id"] is None}
    for goal_id, node in nodes.items():
        before.setdefault(goal_id, _watched(node, streak))


def init_app(app):
    if not event.contains(db.session, "before_commit", _note_changed):
        event.listen(db.session, "before_commit", _note_changed)
        event.listen(db.session, "after_rollback", _forget)


def _note_changed(session):
    # Every commit comes here: one lookup when no goal was watched. A
    # savepoint's release waits for the COMMIT that publishes.
    if _WATCHED not in session.info or session.in_nested_transaction():
        return
    for user_id, (seeds, before) in sorted(session.info.pop(_WATCHED).items()):
        after = rendered(user_id=user_id, goal_ids=seeds)
        for goal_id, node in sorted(after.items()):
            if goal_id in before and _changed(before[goal_id], node):
                committed.note(user_id, "goal", node)


def _forget(session):
    session.info.pop(_WATCHED, None)
