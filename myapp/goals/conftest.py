"""Goal fixtures: creating goals over HTTP and inspecting the stored trees."""

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.goals import GOALS


@pytest.fixture
def new_goal():
    """Create a goal over HTTP as account and return its body (asserts 201)."""

    def create(account, name="a goal", parent=None, **fields):
        if parent is not None:
            fields["parent_id"] = parent if isinstance(parent, int) else parent["id"]
        response = account.post(GOALS, json={"name": name, **fields})
        assert response.status_code == 201, response.json
        return response.json

    return create


@pytest.fixture
def stored_goals(in_app):
    """{id: row} of every stored goal of a user, straight from the table."""
    from myapp.goals.models import Goal

    def read(user_id):
        def query():
            table = Goal.__table__
            rows = db.session.execute(
                sa.select(table).where(table.c.user_id == user_id)
            ).all()
            return {row.id: row for row in rows}

        return in_app(query)

    return read
