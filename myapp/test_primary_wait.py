"""DATABASE_PRIMARY_WAIT: a request the database failed before any COMMIT runs
again (myapp/primary.py); deploy/test_failover.py shows it across a real
switchover."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from myapp.db import db


def lost_connection():
    return OperationalError("SELECT 1", {}, Exception("server closed the connection"))


@pytest.fixture
def flaky(app_with):
    """make(wait, failures, commit_first): an app with POST /flaky, which fails
    `failures` times (after a COMMIT when commit_first), then answers 201 with
    the body it read; calls counts its runs."""

    def make(wait, failures, commit_first=False):
        app = app_with(DATABASE_PRIMARY_WAIT=wait)
        calls = []

        def view():
            from flask import request

            calls.append(request.get_data())
            if commit_first:
                db.session.execute(sa.text("SELECT 1"))
                db.session.commit()
            if len(calls) <= failures:
                raise lost_connection()
            return {"body": request.get_json()}, 201

        app.add_url_rule("/flaky", "flaky", view, methods=["POST"])
        return app, calls

    return make


def test_a_request_failed_before_commit_runs_again_with_its_body(flaky):
    app, calls = flaky(wait=5, failures=2)
    response = app.test_client().post("/flaky", json={"n": 1})
    assert response.status_code == 201
    assert response.json == {"body": {"n": 1}}
    assert calls == [b'{"n": 1}'] * 3


def test_a_request_that_began_a_commit_is_never_run_again(flaky):
    app, calls = flaky(wait=5, failures=1, commit_first=True)
    response = app.test_client().post("/flaky", json={"n": 1})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert len(calls) == 1


def test_past_the_wait_the_503_goes_out(flaky):
    app, calls = flaky(wait=0.8, failures=100)
    response = app.test_client().post("/flaky", json={"n": 1})
    assert response.status_code == 503
    assert len(calls) == 2  # runs 0.5 s apart while another fits in the wait


def test_without_a_wait_the_first_failure_answers_503(flaky):
    app, calls = flaky(wait=0, failures=1)
    response = app.test_client().post("/flaky", json={"n": 1})
    assert response.status_code == 503
    assert len(calls) == 1
