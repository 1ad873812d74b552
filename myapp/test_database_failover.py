"""What the app does when PostgreSQL's primary moves (deploy/test_failover.py
fails it over for real; these pin the settings it relies on)."""

import pytest
import sqlalchemy as sa

from myapp.config import dead_connection_args
from myapp.db import db


@pytest.fixture
def postgres_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no primary to lose")
    return database_url


def test_a_write_on_a_node_in_recovery_answers_503_and_drops_the_connection(
    app_with, postgres_url
):
    # A demoted primary refuses writes as a read-only node does.
    read_only = {"options": "-c default_transaction_read_only=on"}
    app = app_with(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": read_only})
    with app.app_context():
        connects = []
        sa.event.listen(db.engine, "connect", lambda *_: connects.append(1))
    client = app.test_client()
    for name in ("carol", "dave"):
        response = client.post(
            "/api/v1/auth/register",
            json={
                "username": name,
                "email": f"{name}@example.com",
                "password": "pw1234567",
            },
        )
        assert response.status_code == 503
        assert response.content_type == "application/problem+json"
        assert response.headers["Retry-After"].isdigit()
    # Each request connected afresh: the next one may find the new primary.
    assert len(connects) == 2


def test_postgres_connections_notice_a_silent_server_within_seconds(
    app_with, postgres_url
):
    app = app_with(DATABASE_DEAD_AFTER=4)
    with app.app_context():
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            settings = conn.connection.driver_connection.info.get_parameters()
    assert settings["tcp_user_timeout"] == "4000"
    assert settings["keepalives_idle"] == "1"
    assert settings["keepalives_count"] == "3"


def test_dead_after_seconds_become_probes_and_a_user_timeout():
    assert dead_connection_args(5) == {
        "keepalives": 1,
        "keepalives_idle": 1,
        "keepalives_interval": 1,
        "keepalives_count": 4,
        "tcp_user_timeout": 5000,
    }


def test_an_upload_on_a_node_in_recovery_answers_503_from_the_raw_sql_path(
    app_with, postgres_url, alice
):
    # Readings are inserted on the driver's cursor (myapp/rawsql.py), which
    # turns driver errors into SQLAlchemy's itself.
    read_only = {"options": "-c default_transaction_read_only=on"}
    app = app_with(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": read_only})
    response = app.test_client().post(
        "/api/v1/readings/batch",
        json={"readings": [{"sensor": "s", "data": {"v": 1}}]},
        headers=alice.headers,
    )
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"].isdigit()
