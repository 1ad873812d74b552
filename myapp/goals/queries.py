"""Reading goal trees: a user's forest or one subtree, with progress and measures.

Trees are read with recursive CTEs (SQLite and PostgreSQL alike), one statement
per read, and assembled in Python in one pass over the rows.
"""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from myapp.db import utcnow
from myapp.errors import forbidden, not_found
from myapp.goals.measured import measured_goals
from myapp.goals.rows import GOALS, GoalRow
from myapp.goals.schemas import goal_node
from myapp.owners import owner_exists, time_zone_of
from myapp.rawsql import CompiledSelect


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


# Timestamps are formatted by the database: thousands of goals come per read.
_NODE_COLUMNS = [
    utc_text(GOALS.c[name]).label(name) if name.endswith("_at") else GOALS.c[name]
    for name in GoalRow._fields
]


def tree_query(top):
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
    return (
        sa.select(*_NODE_COLUMNS)
        .join_from(tree, GOALS, GOALS.c.id == tree.c.id)
        .order_by(tree.c.depth.desc(), tree.c.id)
    )


# Thousands of rows: plain tuples from the driver, not SQLAlchemy Rows.
_FOREST = CompiledSelect(tree_query(GOALS.c.parent_id.is_(None)), GoalRow)
_SUBTREE = CompiledSelect(tree_query(GOALS.c.id == sa.bindparam("root_id")), GoalRow)


def assemble(rows, measured):
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


def _measured(*, user_id, rows, tz):
    """The user's measured goals (one query whatever their number), if any goals.

    tz: the user's time zone if the caller knows it (a token's user), else read.
    """
    if not rows:
        return {}
    tz = tz or time_zone_of(user_id=user_id)
    return measured_goals(user_id=user_id, now=utcnow(), tz=tz)


def _check_listed_user(*, user_id):
    """An admin listing an empty forest learns whether the user exists (404)."""
    if not owner_exists(user_id=user_id):
        raise not_found("user")


def goal_forest(*, user_id, flat=False, check_user=False, tz=None):
    """The user's top-level goals with nested children, or every goal by id.

    One SQL statement, plus one to tell an unknown user (404) from an empty forest
    when check_user is set and nothing was found.
    """
    rows = _FOREST.tuples(user_id=user_id)
    if not rows and check_user:
        _check_listed_user(user_id=user_id)
    nodes, top = assemble(rows, _measured(user_id=user_id, rows=rows, tz=tz))
    if not flat:
        return top.get(None, [])
    for node in nodes:
        del node["children"]
    nodes.sort(key=lambda node: node["id"])
    return nodes


def listed_goals(*, caller, user_id=None, flat=False):
    """The caller's goals; with user_id (admins only, else 403) that user's goals."""
    if user_id is None:
        return goal_forest(user_id=caller.user_id, flat=flat, tz=caller.time_zone)
    if not caller.is_admin:
        raise forbidden("Only admins may list another user's goals.")
    if user_id == caller.user_id:
        return goal_forest(user_id=user_id, flat=flat, tz=caller.time_zone)
    return goal_forest(user_id=user_id, flat=flat, check_user=True)


def goal_tree(*, user_id, goal_id, tz=None):
    """One of the user's goals with its whole subtree; 404 if it is not theirs."""
    rows = _SUBTREE.tuples(user_id=user_id, root_id=goal_id)
    if not rows:
        raise not_found("goal")
    nodes, _ = assemble(rows, _measured(user_id=user_id, rows=rows, tz=tz))
    return nodes[-1]  # the root has depth 0, so it comes last
