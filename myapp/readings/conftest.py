"""Fixtures for readings: URLs, payload builders and direct inspection of rows."""

import uuid

import pytest
import sqlalchemy as sa

from myapp.db import db
from myapp.readings.models import Reading

READINGS = "/api/v1/readings/"
BATCH = "/api/v1/readings/batch"
STATS = "/api/v1/readings/stats"
EXPORT = "/api/v1/readings/export"


def reading(sensor="kitchen/temp", data=None, **fields):
    """A reading body as a client would post it."""
    body = {"sensor": sensor, "data": {"celsius": 21.5} if data is None else data}
    body.update(fields)
    return body


def new_client_id():
    return str(uuid.uuid4())


@pytest.fixture(scope="session", autouse=True)
def pooled_connections_enforce_foreign_keys(app):
    """Root conftest's drop_everything pools a foreign_keys=OFF connection: drop it."""
    with app.app_context():
        db.engine.dispose()


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
