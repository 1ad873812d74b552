"""Data and database behaviour a client can see over HTTP (uWSGI)."""

import threading

import pytest
import sqlalchemy as sa

from testing.accounts import register_over_http
from testing.http import Http


def test_ids_of_deleted_users_and_goals_are_never_handed_out_again(http, account):
    """SQLite gave the next row max(id) + 1: a new account got a deleted one's id."""
    account()
    newest = account()
    gone = newest.request(
        "DELETE", "/api/v1/users/me", {"current_password": "correct horse battery"}
    )
    assert gone.status == 204
    assert account().id > newest.id
    owner = account()
    first = owner.request("POST", "/api/v1/goals/", {"name": "first"}).json["id"]
    second = owner.request("POST", "/api/v1/goals/", {"name": "second"}).json["id"]
    assert owner.request("DELETE", f"/api/v1/goals/{second}").status == 204
    third = owner.request("POST", "/api/v1/goals/", {"name": "third"}).json["id"]
    assert first < second < third


def test_a_stuck_postgresql_query_is_a_503_not_a_hung_worker(
    uwsgi, in_app, database_url
):
    """statement_timeout cancels it; without it the request waits for the lock."""
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's; SQLite waits busy_timeout")
    from myapp.db import db

    server = uwsgi({"MYAPP_DATABASE_STATEMENT_TIMEOUT": "1"})
    user = register_over_http(Http(server))
    engine = in_app(lambda: db.engine)
    with engine.connect() as locker:
        locker.execute(sa.text("LOCK TABLE auth_sessions IN ACCESS EXCLUSIVE MODE"))
        # Whatever happens, let the request finish after 20 s (then it is a 200).
        release = threading.Timer(20, locker.connection.dbapi_connection.rollback)
        release.start()
        try:
            response = user.request("GET", "/api/v1/users/me")
        finally:
            release.cancel()
            locker.rollback()
    assert response.status == 503, response.body
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.getheader("Retry-After")
