"""Fixtures for readings: direct inspection of rows, batch uploads."""

import pytest
import sqlalchemy as sa

from myapp.db import db
from myapp.readings.models import Reading
from testing.readings import BATCH


@pytest.fixture
def count_rows(in_app):
    """How many readings the database holds (optionally for one client_id)."""

    def count(**where):
        def run():
            query = sa.select(sa.func.count()).select_from(Reading)
            for name, value in where.items():
                query = query.where(getattr(Reading, name) == value)
            return db.session.execute(query).scalar_one()

        return in_app(run)

    return count


@pytest.fixture
def post_batch():
    """Post readings in batches of up to 1000; returns every id in order."""

    def post(account, items):
        ids = []
        for start in range(0, len(items), 1000):
            response = account.post(
                BATCH, json={"readings": items[start : start + 1000]}
            )
            assert response.status_code == 201, response.json
            ids.extend(response.json["ids"])
        return ids

    return post
