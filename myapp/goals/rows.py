"""Measured goals' tables and row types: targets, their tallies, what goals show."""

from typing import NamedTuple

from myapp.goals.models import Goal, GoalMeasure, GoalTarget

GOALS = Goal.__table__
TARGETS = GoalTarget.__table__
MEASURES = GoalMeasure.__table__
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
    open: bool


class MeasuredRow(NamedTuple):
    """A target with its current bucket's tally and what its streak needs."""

    goal_id: int
    sensor: str
    field: str
    aggregate: str
    op: str
    value: float
    period: str | None
    since_bucket: int
    empty_met: bool
    current: int
    readings: int | None
    numbers: int | None
    total: float | None
    low: float | None
    high: float | None
    last_value: float | None
    last_at: int | None
    last_id: int | None
    previous_met: bool | None
    boundary: int | None


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
