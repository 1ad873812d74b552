"""Alert email from the worker process, and the SMTP connection's TLS and login."""

import pytest

from myapp.alerts.service import now_micros
from myapp.db import db
from testing.alerts import ALERTS, EVENTS, attempt_due, rule, threshold
from testing.mail import MailServer, verified_account
from testing.readings import READINGS, reading
from testing.servers import wait_until
from testing.tls import localhost_certificate


def mail_env(mail_server, **extra):
    """What a worker process needs to send to mail_server."""
    return {
        "MYAPP_SMTP_URL": mail_server.url(),
        "MYAPP_MAIL_FROM": "alerts@myapp.example",
        "MYAPP_PUBLIC_URL": "https://myapp.example",
        "MYAPP_SMTP_TIMEOUT": "3",
        **extra,
    }


def alert_ids(mail_server):
    """The Message-IDs of accepted alert emails, in arrival order."""
    return [
        r.message["Message-ID"]
        for r in mail_server.accepted()
        if "alert-event-" in (r.message["Message-ID"] or "")
    ]


def test_a_worker_killed_mid_email_loses_nothing(dora, mail_server, start_worker, rows):
    mail_server.delay = 0.3  # each DATA answered after 0.3 s: some are in flight
    rules = []
    for n in range(12):
        made = dora.post(ALERTS, json=rule(email=True, condition=threshold(above=n)))
        assert made.status_code == 201, made.json
        rules.append(made.json)
    posted = dora.post(READINGS, json=reading(data={"celsius": 20}))  # all fire
    assert posted.status_code == 201
    first = start_worker(MYAPP_ALERTS_WORKER_THREADS="4", **mail_env(mail_server))
    wait_until(lambda: len(alert_ids(mail_server)) >= 4, 30, 0.05, "4 emails")
    first.kill()  # SIGKILL: no cleanup, claims held until their lease ends
    start_worker(MYAPP_ALERTS_WORKER_THREADS="4", **mail_env(mail_server))
    wait_until(
        lambda: {d["status"] for d in rows("alert_deliveries")} == {"delivered"},
        60,
        0.1,
        "every delivery delivered",
    )
    events = [
        e["id"]
        for made in rules
        for e in dora.get(f"{EVENTS}?rule_id={made['id']}").json["items"]
    ]
    expected = {f"<alert-event-{event}@myapp.example>" for event in events}
    received = alert_ids(mail_server)
    assert set(received) == expected
    # Only the emails in flight when it died may have gone out twice.
    assert len(received) - len(expected) <= 4


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for the name localhost only (and its key)."""
    return localhost_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def relay(certificate):
    """An SMTP server that offers STARTTLS and wants a login after it."""
    server = MailServer(certificate=certificate, login=("relay", "s3cret/!"))
    yield server
    server.stop()


def relay_app(app_with, relay, certificate, login):
    return app_with(
        SMTP_URL=relay.url(host="localhost", login=login),
        SMTP_CA_FILE=certificate[0],
        MAIL_FROM="alerts@myapp.example",
        PUBLIC_URL="https://myapp.example",
        SMTP_TIMEOUT=5,
    )


def test_starttls_is_used_where_offered_and_the_urls_login_after_it(
    app_with, relay, certificate
):
    app = relay_app(app_with, relay, certificate, "relay:s3cret%2F%21@")
    dora = verified_account(app.test_client(), relay, "dora")  # over TLS, logged in
    made = dora.post(ALERTS, json=rule(email=True))
    assert made.status_code == 201, made.json
    dora.post(READINGS, json=reading(data={"celsius": 35}))
    with app.app_context():
        _, outcome = attempt_due(now_micros() + 1_000_000)
        db.session.remove()
    assert outcome.status_code == 250
    assert [(r.tls, r.login) for r in relay.received] == [(True, "relay")] * 2


def test_a_refused_login_is_a_permanent_failure(app_with, relay, certificate):
    app = relay_app(app_with, relay, certificate, "relay:wrong@")
    with app.app_context():
        from myapp import mail

        sent = mail.send(
            app.config,
            mail.message(app.config, to="x@example.com", subject="s", body="b"),
        )
    assert sent.status_code == 535 and sent.permanent
    assert relay.received == []
