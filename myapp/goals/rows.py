"""Measured goals' tables and row types: targets, their tallies, what goals show."""

from collections import namedtuple
from typing import NamedTuple

from myapp.goals.models import Goal, GoalMeasure, GoalSeries, GoalTarget

GOALS = Goal.__table__
TARGETS = GoalTarget.__table__
MEASURES = GoalMeasure.__table__
SERIES = GoalSeries.__table__
# The stored columns of a tally, in tallies' order.
TALLY_COLUMNS = (
    "readings",
    "numbers",
    "total",
    "low",
    "high",
    "last_value",
    "last_at",
    "last_id",
)


class Target(NamedTuple):
    """A target as an upload judges it; open: its goal is not completed."""

    goal_id: int
    sensor: str
    field: str
    aggregate: str
    op: str
    value: float
    period: str | None
    since: int
    since_bucket: int
    open: bool


# A target with the tallies of its head (the period of started_at, or all of
# a target without period) and of the series' current period, then what its
# streak needs: the measured read's row, in this order.
MeasuredRow = namedtuple(
    "MeasuredRow",
    [
        *("goal_id", "sensor", "field", "aggregate", "op", "value", "period"),
        *("since_bucket", "empty_met", "current"),
        *[f"head_{name}" for name in TALLY_COLUMNS],
        *[f"shared_{name}" for name in TALLY_COLUMNS],
        *("previous_met", "boundary"),
    ],
)


class Measured(NamedTuple):
    """What a goal's node shows of its target; progress for an open leaf."""

    target: dict
    measured: dict
    streak: int | None
    progress: float


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
