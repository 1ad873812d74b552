"""Alert fixtures: an app that may send webhooks to loopback, receivers, rows."""

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.accounts import Account
from testing.alerts import ALERTS, Receiver, WorkerProcess, worker_env
from testing.mail import verified_account


@pytest.fixture
def loopback_app(app_with):
    """The app as the tests run it: webhooks over http to loopback, short silences."""
    return app_with(
        WEBHOOK_ALLOW_HTTP=True,
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_TIMEOUT=2,
        ALERTS_SILENCE_MIN_SECONDS=1,
        ALERTS_RETRY_DELAYS=[0.2, 0.2],
    )


@pytest.fixture
def carol(loopback_app, make_account):
    """A user of loopback_app."""
    account = make_account("carol")
    tokens = {"access_token": account.access_token, "refresh_token": ""}
    return Account(loopback_app.test_client(), account.user, tokens)


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture
def new_rule():
    """Create a rule as account (asserts 201); its body, with the secret if any."""

    def create(account, body):
        response = account.post(ALERTS, json=body)
        assert response.status_code == 201, response.json
        return response.json

    return create


@pytest.fixture
def rows(in_app):
    """rows(table, **where): a table's rows (as dicts) in id order."""

    def read(table, **where):
        def run():
            found = db.metadata.tables[table]
            query = sa.select(found).order_by(found.c.id)
            for name, value in where.items():
                query = query.where(found.c[name] == value)
            return [dict(row._mapping) for row in db.session.execute(query)]

        return in_app(run)

    return read


@pytest.fixture
def start_worker(database_url):
    """start(**env): a worker process; each must stop cleanly (exit 0) at the end."""
    started = []

    def start(**env):
        started.append(WorkerProcess(worker_env(database_url, **env)))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.returncode is None:
            assert worker.stop() == 0, worker.log()[-3000:]
            assert "stopped" in worker.log()


@pytest.fixture
def mail_alerts_app(app_with, mail_config):
    """loopback_app that also sends email, to mail_server."""
    return app_with(
        WEBHOOK_ALLOW_HTTP=True,
        WEBHOOK_ALLOW_PRIVATE=True,
        WEBHOOK_TIMEOUT=2,
        ALERTS_RETRY_DELAYS=[30, 120],
        **mail_config,
    )


@pytest.fixture
def dora(mail_alerts_app, mail_server):
    """A user of mail_alerts_app in Europe/Berlin whose address is verified."""
    return verified_account(
        mail_alerts_app.test_client(), mail_server, "dora", "Europe/Berlin"
    )


@pytest.fixture
def step(mail_alerts_app):
    """step(now): the worker's step at a chosen time (microseconds) in
    mail_alerts_app, emails sent for real: (claimed, outcome), or None."""
    from testing.alerts import attempt_due

    def run(now):
        with mail_alerts_app.app_context():
            try:
                return attempt_due(now)
            finally:
                db.session.remove()

    return run
