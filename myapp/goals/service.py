"""Goal tree rules: reading forests and subtrees, creating, moving, completing.

Invariant kept by every write: a completed goal never has an open descendant.
Trees are read with recursive CTEs (SQLite and PostgreSQL alike), one statement
per read, and assembled in Python in one pass over the rows.
"""

from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.ext.compiler import compiles

from myapp.columns import UTCDateTime
from myapp.db import db, utcnow
from myapp.errors import ValidationFailed, conflict, forbidden, not_found
from myapp.goals.locks import TARGETS, TREE, lock_goals
from myapp.goals.measured import measured_goals
from myapp.goals.models import Goal
from myapp.goals.schemas import goal_node
from myapp.goals.targets import set_target
from myapp.owners import at_most, owner_exists
from myapp.rawsql import CompiledSelect

GOALS = Goal.__table__


class utc_text(sa.sql.functions.GenericFunction):
    """A UTCDateTime column as the API's text (UTC, microseconds, Z), in SQL.

    Formatting thousands of timestamps in the database instead of in Python
    keeps a 5,000-goal forest fast; test_goals checks it equals format_timestamp.
    """

    type = sa.String()
    inherit_cache = True


@compiles(utc_text, "sqlite")
def _utc_text_sqlite(element, compiler, **kw):
    # Stored as naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's format).
    return "replace(%s, ' ', 'T') || 'Z'" % compiler.process(element.clauses, **kw)


@compiles(utc_text, "postgresql")
def _utc_text_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# Deeper than any tree can be (a user has far fewer goals): only a cycle, which
# the write lock prevents, would reach it, and then the walk ends instead of
# running forever.
_WALK_LIMIT = 100_000


class GoalRow(NamedTuple):
    """One goal as every tree read selects it, timestamps already API text.

    Tree reads answer plain tuples in this order, which goal_node unpacks.
    """

    id: int
    parent_id: int | None
    name: str
    description: str | None
    started_at: str
    completed_at: str | None
    created_at: str
    updated_at: str


# Timestamps are formatted by the database: thousands of goals come per read.
_NODE_COLUMNS = [
    utc_text(GOALS.c[name]).label(name) if name.endswith("_at") else GOALS.c[name]
    for name in GoalRow._fields
]


# --- reading -----------------------------------------------------------------


def _tree_select(top):
    """Rows of a user's forest or of one subtree (top picks them), deepest first.

    Ordered by (depth desc, id): when a goal's row comes, all its children have
    been seen, in creation order, so one pass builds nodes and their progress.
    The recursive CTE walks ids only; the goal columns are joined once at the end.
    """
    user_id = sa.bindparam("user_id")
    tree = (
        sa.select(GOALS.c.id, sa.literal(0).label("depth"))
        .where(GOALS.c.user_id == user_id, top)
        .cte("tree", recursive=True)
    )
    child = GOALS.alias("child")
    tree = tree.union_all(
        sa.select(child.c.id, tree.c.depth + 1).where(
            child.c.user_id == user_id,
            child.c.parent_id == tree.c.id,
            tree.c.depth < _WALK_LIMIT,
        )
    )
    query = (
        sa.select(*_NODE_COLUMNS)
        .join_from(tree, GOALS, GOALS.c.id == tree.c.id)
        .order_by(tree.c.depth.desc(), tree.c.id)
    )
    # Thousands of rows: plain tuples from the driver, not SQLAlchemy Rows.
    return CompiledSelect(query, GoalRow)


_FOREST = _tree_select(GOALS.c.parent_id.is_(None))
_SUBTREE = _tree_select(GOALS.c.id == sa.bindparam("root_id"))


def _assemble(rows, measured):
    """Nest GoalRow tuples (deepest first) into nodes with progress, in one pass.

    measured is {goal id: rows.Measured}. Returns (every node in row order,
    {parent_id: [nodes]}) where what is left in the mapping is the top level:
    the forest's roots, or the subtree's root. A parent's progress is the mean
    of its leaves' progress: the share of completed leaves, where an open
    measured leaf counts by how near its target is.
    """
    children = {}  # goal id -> its child nodes so far, in id order
    tally = {}  # goal id -> [leaf descendants, their progress summed] so far
    nodes = []
    for row in rows:
        node = goal_node(row)
        found = measured.get(node["id"]) if measured else None
        if found is not None:
            node["target"], node["measured"], node["streak"], _ = found
        kids = children.pop(node["id"], None)
        if kids is None:
            leaves = 1
            if node["completed"]:
                done = 1
            else:
                done = found.progress if found is not None else 0
        else:
            node["children"] = kids
            leaves, done = tally.pop(node["id"])
        node["progress"] = done / leaves
        nodes.append(node)
        parent = node["parent_id"]
        siblings = children.get(parent)
        if siblings is None:
            children[parent] = [node]
            tally[parent] = [leaves, done]
        else:
            siblings.append(node)
            counts = tally[parent]
            counts[0] += leaves
            counts[1] += done
    return nodes, children


def _measured(*, user_id, rows):
    """The user's measured goals (one query whatever their number), if any goals."""
    return measured_goals(user_id=user_id, now=utcnow()) if rows else {}


def _check_listed_user(*, user_id):
    """An admin listing an empty forest learns whether the user exists (404)."""
    if not owner_exists(user_id=user_id):
        raise not_found("user")


def goal_forest(*, user_id, flat=False, check_user=False):
    """The user's top-level goals with nested children, or every goal by id.

    One SQL statement, plus one to tell an unknown user (404) from an empty forest
    when check_user is set and nothing was found.
    """
    rows = _FOREST.tuples(user_id=user_id)
    if not rows and check_user:
        _check_listed_user(user_id=user_id)
    nodes, top = _assemble(rows, _measured(user_id=user_id, rows=rows))
    if not flat:
        return top.get(None, [])
    for node in nodes:
        del node["children"]
    nodes.sort(key=lambda node: node["id"])
    return nodes


def listed_goals(*, caller, user_id=None, flat=False):
    """The caller's goals; with user_id (admins only, else 403) that user's goals."""
    if user_id is None:
        return goal_forest(user_id=caller.user_id, flat=flat)
    if not caller.is_admin:
        raise forbidden("Only admins may list another user's goals.")
    check_user = user_id != caller.user_id
    return goal_forest(user_id=user_id, flat=flat, check_user=check_user)


def goal_tree(*, user_id, goal_id):
    """One of the user's goals with its whole subtree; 404 if it is not theirs."""
    rows = _SUBTREE.tuples(user_id=user_id, root_id=goal_id)
    if not rows:
        raise not_found("goal")
    nodes, _ = _assemble(rows, _measured(user_id=user_id, rows=rows))
    return nodes[-1]  # the root has depth 0, so it comes last


# --- writing -----------------------------------------------------------------


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
    deleted = db.session.execute(
        sa.delete(GOALS).where(GOALS.c.user_id == user_id, GOALS.c.id == goal_id)
    ).rowcount
    if not deleted:
        db.session.rollback()
        raise not_found("goal")
    db.session.commit()
