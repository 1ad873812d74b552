"""Goals: per-user trees stored as an adjacency list."""

import sqlalchemy as sa

from myapp.db import UTCDateTime, db, utcnow


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
