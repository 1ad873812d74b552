"""Goals: per-user trees stored as an adjacency list."""

import sqlalchemy as sa

from myapp.columns import UTCDateTime
from myapp.db import db, utcnow


class Goal(db.Model):
    """One goal; its parent, if any, is a goal of the same user.

    The parent key is (user_id, parent_id) -> (user_id, id), so the database
    itself refuses a parent of another user. Deleting a goal deletes its subtree
    and deleting a user deletes their goals (ON DELETE CASCADE both ways).
    """

    __tablename__ = "goals"

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    parent_id = sa.Column(sa.Integer, nullable=True)
    name = sa.Column(sa.String(200), nullable=False)
    description = sa.Column(sa.String(2000), nullable=True)
    started_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # NULL while open; completing a subtree gives every goal in it one timestamp.
    completed_at = sa.Column(UTCDateTime, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        # The target of the same-user parent key; also serves "a user's goals by id".
        sa.UniqueConstraint("user_id", "id", name="uq_goals_user_id_id"),
        sa.ForeignKeyConstraint(
            ["user_id", "parent_id"],
            ["goals.user_id", "goals.id"],
            name="fk_goals_user_id_parent_id_goals",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "parent_id IS NULL OR parent_id <> id", name="not_own_parent"
        ),
        # Children of a goal: the recursive step of every tree query and the cascade.
        sa.Index("ix_goals_user_id_parent_id", "user_id", "parent_id"),
        # SQLite: a deleted goal's id is never given to a new one.
        {"sqlite_autoincrement": True},
    )


# What a target may say; the API's enums and the table's CHECKs share them.
AGGREGATES = ("sum", "count", "min", "max", "avg", "last")
OPS = (">=", "<=")
PERIODS = ("day", "week", "month")


def _one_of(column, values):
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


class GoalTarget(db.Model):
    """A goal's target: an aggregate of the user's readings of one sensor.

    since is the goal's started_at in microseconds (readings before it never
    count), since_bucket the period that contains it, and empty_met whether a
    period without readings meets the target (sum or count compared with 0).
    """

    __tablename__ = "goal_targets"

    goal_id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    user_id = sa.Column(sa.Integer, nullable=False)
    sensor = sa.Column(sa.String(64), nullable=False)
    field = sa.Column(sa.String(256), nullable=False)
    aggregate = sa.Column(sa.String(5), nullable=False)
    op = sa.Column(sa.String(2), nullable=False)
    value = sa.Column(sa.Float, nullable=False)
    period = sa.Column(sa.String(5), nullable=True)
    since = sa.Column(sa.BigInteger, nullable=False)
    since_bucket = sa.Column(sa.Integer, nullable=False)
    empty_met = sa.Column(sa.Boolean, nullable=False)

    __table_args__ = (
        # Same user as the goal; the target goes with its goal (and user).
        sa.ForeignKeyConstraint(
            ["user_id", "goal_id"],
            ["goals.user_id", "goals.id"],
            name="fk_goal_targets_user_id_goal_id_goals",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(_one_of("aggregate", AGGREGATES), name="aggregate_known"),
        sa.CheckConstraint(_one_of("op", OPS), name="op_known"),
        sa.CheckConstraint(
            "period IS NULL OR " + _one_of("period", PERIODS), name="period_known"
        ),
        # Which targets does an upload touch: one lookup by (user, its sensors).
        sa.Index("ix_goal_targets_user_id_sensor", "user_id", "sensor"),
    )


class Tally:
    """The running aggregates a measure keeps (myapp/goals/tallies.py)."""

    # Readings of the sensor, and those whose data[field] is a number.
    readings = sa.Column(sa.BigInteger, nullable=False)
    numbers = sa.Column(sa.BigInteger, nullable=False)
    total = sa.Column(sa.Float, nullable=False)
    low = sa.Column(sa.Float, nullable=True)
    high = sa.Column(sa.Float, nullable=True)
    # The newest number by (recorded_at, reading id).
    last_value = sa.Column(sa.Float, nullable=True)
    last_at = sa.Column(sa.BigInteger, nullable=True)
    last_id = sa.Column(sa.BigInteger, nullable=True)


class GoalMeasure(Tally, db.Model):
    """Running aggregates of the readings one target alone counts: its head.

    One row per target: bucket 0 for a target without period (every reading
    since started_at); for a habit, the period that contains started_at
    (since_bucket), counting only its readings from started_at on. Later
    periods are shared by every habit on the series (GoalSeries). Kept up to
    date in the transaction that stores readings; recomputed from the readings
    when some are deleted or the target changes.
    """

    __tablename__ = "goal_measures"

    goal_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("goal_targets.goal_id", ondelete="CASCADE"),
        primary_key=True,
    )
    bucket = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    met = sa.Column(sa.Boolean, nullable=False)


class GoalSeries(Tally, db.Model):
    """Running aggregates of one (sensor, field) of a user over one period of
    its habits, shared by every habit on it; each habit reads the periods
    after the one that contains its started_at (its head, in GoalMeasure).

    Kept in the upload's transaction for the periods after the earliest
    since_bucket of the habits on the series, and only while a habit watches
    it; bucket numbers as in myapp/goals/periods.py, in the user's zone.
    """

    __tablename__ = "goal_series"

    user_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    sensor = sa.Column(sa.String(64), primary_key=True)
    field = sa.Column(sa.String(256), primary_key=True)
    period = sa.Column(sa.String(5), primary_key=True)
    bucket = sa.Column(sa.Integer, primary_key=True, autoincrement=False)


class GoalPruned(Tally, db.Model):
    """What retention pruned, kept for measured goals: per (user, sensor, field)
    the tally of the pruned readings of each range, so periods recomputed from
    the readings that remain (a deletion, a new zone, a new target) still
    count them.

    A range starts at a 15-minute slot (UTC micros) or at a target's since
    inside it, and ends at the next: every zone's periods are whole slots, and
    a target counts the ranges from its since on. Fields: those a target
    watches and the sensor's rolled-up ones (the first 32 numeric).
    """

    __tablename__ = "goal_pruned"

    user_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    sensor = sa.Column(sa.String(64), primary_key=True)
    field = sa.Column(sa.String(256), primary_key=True)
    start = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
