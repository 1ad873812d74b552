"""Goal tree rules: creating, moving, completing, reopening and deleting goals.

Invariant kept by every write: a completed goal never has an open descendant.
"""

import sqlalchemy as sa
from flask import current_app

from myapp.columns import UTCDateTime
from myapp.db import db, utcnow
from myapp.errors import ValidationFailed, conflict, not_found
from myapp.goals import news
from myapp.goals.locks import TARGETS, TREE, lock_goals
from myapp.goals.models import Goal
from myapp.goals.rows import GOALS
from myapp.goals.recompute import drop_unwatched_series
from myapp.goals.targets import set_target
from myapp.owners import at_most


def _find_goal(*, user_id, goal_id):
    return db.session.execute(
        sa.select(Goal).where(Goal.user_id == user_id, Goal.id == goal_id)
    ).scalar_one_or_none()


def _path_to_top(*, user_id, goal_id):
    """Ids of the goal and all its ancestors; empty if it is not the user's goal.

    UNION (not UNION ALL) in this and the other walks: they end even on a cycle,
    should one ever exist, instead of running forever.
    """
    path = (
        sa.select(GOALS.c.id, GOALS.c.parent_id)
        .where(GOALS.c.user_id == user_id, GOALS.c.id == goal_id)
        .cte("path", recursive=True)
    )
    parent = GOALS.alias("parent")
    path = path.union(
        sa.select(parent.c.id, parent.c.parent_id).where(
            parent.c.id == path.c.parent_id
        )
    )
    return set(db.session.execute(sa.select(path.c.id)).scalars())


def _subtree_height(*, goal_id, limit):
    """Levels in the goal's subtree (the goal is one), counted up to limit + 1."""
    sub = (
        sa.select(GOALS.c.id, sa.literal(1).label("level"))
        .where(GOALS.c.id == goal_id)
        .cte("sub", recursive=True)
    )
    child = GOALS.alias("child")
    sub = sub.union_all(
        sa.select(child.c.id, sub.c.level + 1).where(
            child.c.parent_id == sub.c.id, sub.c.level <= limit
        )
    )
    return db.session.execute(sa.select(sa.func.max(sub.c.level))).scalar_one()


def _parent_path(*, user_id, parent_id):
    """The would-be parent and its ancestors; 400 at /parent_id unless it is theirs."""
    if parent_id is None:
        return set()
    path = _path_to_top(user_id=user_id, goal_id=parent_id)
    if not path:
        raise ValidationFailed.at("/parent_id", "is not one of your goals")
    return path


def _check_depth(*, parent_path, height):
    limit = current_app.config["GOALS_MAX_DEPTH"]
    if len(parent_path) + height > limit:
        raise ValidationFailed.at(
            "/parent_id", f"would nest goals deeper than {limit} levels"
        )


def _reopen_upward(*, goal_id, now):
    """Reopen the goal and the unbroken run of completed goals above it.

    Above an open goal everything is open already (the invariant), so the walk
    stops at the first open one.
    """
    chain = (
        sa.select(GOALS.c.id, GOALS.c.parent_id)
        .where(GOALS.c.id == goal_id, GOALS.c.completed_at.is_not(None))
        .cte("chain", recursive=True)
    )
    parent = GOALS.alias("parent")
    chain = chain.union(
        sa.select(parent.c.id, parent.c.parent_id).where(
            parent.c.id == chain.c.parent_id, parent.c.completed_at.is_not(None)
        )
    )
    db.session.execute(
        sa.update(GOALS)
        .where(GOALS.c.id.in_(sa.select(chain.c.id)))
        .values(completed_at=None, updated_at=now)
    )


def _complete_downward(*, goal_id, now):
    """Complete the goal and every open descendant with one timestamp.

    Below a completed goal everything is completed already, so the walk only
    descends through open goals.
    """
    sub = (
        sa.select(GOALS.c.id)
        .where(GOALS.c.id == goal_id, GOALS.c.completed_at.is_(None))
        .cte("sub", recursive=True)
    )
    child = GOALS.alias("child")
    sub = sub.union(
        sa.select(child.c.id).where(
            child.c.parent_id == sub.c.id, child.c.completed_at.is_(None)
        )
    )
    db.session.execute(
        sa.update(GOALS)
        .where(GOALS.c.id.in_(sa.select(sub.c.id)))
        .values(completed_at=now, updated_at=now)
    )


def complete_goals(*, completions, now):
    """Complete goals met by readings, each with its open descendants: one statement.

    completions is {goal id: (position in the upload, completed_at)}. A goal
    reached from several (itself and met ancestors) takes the stamp of the one
    earliest in the upload, as if each had been completed in upload order.
    """
    seeds = (
        sa.values(
            sa.column("id", sa.Integer),
            sa.column("position", sa.Integer),
            sa.column("at", UTCDateTime),
            name="seeds",
        )
        .data([(goal_id, *met_by) for goal_id, met_by in sorted(completions.items())])
        .cte("seeds")
    )
    sub = (
        sa.select(GOALS.c.id, seeds.c.position, seeds.c.at)
        .join_from(GOALS, seeds, GOALS.c.id == seeds.c.id)
        .where(GOALS.c.completed_at.is_(None))
        .cte("sub", recursive=True)
    )
    child = GOALS.alias("child")
    sub = sub.union(
        sa.select(child.c.id, sub.c.position, sub.c.at).where(
            child.c.parent_id == sub.c.id, child.c.completed_at.is_(None)
        )
    )
    earliest = (
        sa.select(sub.c.at)
        .where(sub.c.id == GOALS.c.id)
        .order_by(sub.c.position)
        .limit(1)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(GOALS)
        .where(GOALS.c.id.in_(sa.select(sub.c.id)))
        .values(completed_at=earliest, updated_at=now)
    )


def create_goal(
    *,
    user_id,
    name,
    description=None,
    parent_id=None,
    started_at=None,
    target=None,
):
    """Create a goal; an open goal under a completed parent reopens that chain.

    A target already met completes the new goal at once.
    """
    limit = current_app.config["GOALS_MAX_PER_USER"]
    at_most(
        GOALS,
        user_id=user_id,
        limit=limit,
        message=f"You have reached the limit of {limit} goals.",
        strength=TARGETS if target else TREE,
    )
    path = _parent_path(user_id=user_id, parent_id=parent_id)
    _check_depth(parent_path=path, height=1)
    # The new goal has no before; its parent's tree may change (progress, reopening).
    news.watch(user_id=user_id, goal_ids=[parent_id])
    now = utcnow()
    goal = Goal(
        user_id=user_id,
        parent_id=parent_id,
        name=name,
        description=description,
        started_at=started_at or now,
        created_at=now,
        updated_at=now,
    )
    db.session.add(goal)
    db.session.flush()
    if parent_id is not None:
        _reopen_upward(goal_id=parent_id, now=now)
    if target is not None:
        _, met = set_target(
            user_id=user_id, goal_id=goal.id, started_at=goal.started_at, target=target
        )
        if met:
            _complete_downward(goal_id=goal.id, now=now)
    db.session.commit()
    return goal.id


_UNSET = object()


def update_goal(
    *,
    user_id,
    goal_id,
    name=None,
    description=_UNSET,
    parent_id=_UNSET,
    completed=None,
    target=_UNSET,
):
    """Rename, re-describe, move, set a target and/or complete or reopen one goal.

    A move comes first: an open goal moved under a completed one reopens the new
    parent chain; a completed goal stays completed wherever it goes. Then the
    target is set (None removes it). Then completed=true completes the goal's
    subtree and completed=false reopens the goal and its completed ancestors;
    without completed, a target set here that is already met completes the goal.
    """
    lock_goals(user_id=user_id, strength=TREE if target is _UNSET else TARGETS)
    goal = _find_goal(user_id=user_id, goal_id=goal_id)
    if goal is None:
        raise not_found("goal")
    if completed is not None or parent_id is not _UNSET or target is not _UNSET:
        # Name and description are not watched: a rename alone reads nothing more.
        moved_to = None if parent_id is _UNSET else parent_id
        news.watch(user_id=user_id, goal_ids=[goal.id, goal.parent_id, moved_to])
    now = utcnow()
    changed = False
    if name is not None and name != goal.name:
        goal.name, changed = name, True
    if description is not _UNSET and description != goal.description:
        goal.description, changed = description, True
    moved = parent_id is not _UNSET and parent_id != goal.parent_id
    if moved:
        path = _parent_path(user_id=user_id, parent_id=parent_id)
        if goal.id in path:
            raise conflict("A goal cannot move under itself or its own descendant.")
        height = _subtree_height(
            goal_id=goal.id, limit=current_app.config["GOALS_MAX_DEPTH"]
        )
        _check_depth(parent_path=path, height=height)
        goal.parent_id, changed = parent_id, True
    met = False
    if target is not _UNSET:
        target_changed, met = set_target(
            user_id=user_id, goal_id=goal.id, started_at=goal.started_at, target=target
        )
        changed = changed or target_changed
    was_open = goal.completed_at is None
    if changed:
        goal.updated_at = now
    db.session.flush()
    if completed is None and met:
        completed = True
    if completed is True and was_open:
        _complete_downward(goal_id=goal.id, now=now)
    elif completed is False and not was_open:
        _reopen_upward(goal_id=goal.id, now=now)
    elif moved and was_open and parent_id is not None:
        _reopen_upward(goal_id=parent_id, now=now)
    db.session.commit()


def delete_goal(*, user_id, goal_id):
    """Delete one of the user's goals; the database cascades to its subtree.

    Under the tree lock: an upload adding to the subtree's targets never finds
    them gone between reading and writing their measures.
    """
    lock_goals(user_id=user_id)
    news.watch(user_id=user_id, goal_ids=[goal_id])  # its ancestors' progress
    deleted = db.session.execute(
        sa.delete(GOALS).where(GOALS.c.user_id == user_id, GOALS.c.id == goal_id)
    ).rowcount
    if not deleted:
        db.session.rollback()
        raise not_found("goal")
    drop_unwatched_series(user_id=user_id)
    db.session.commit()
