"""Alert email: to verified addresses only, through a real SMTP server on
loopback, stepped at chosen times (step(now)) as the worker would send it."""

from myapp.alerts.service import now_micros
from myapp.db import db
from testing.accounts import PASSWORD, bearer
from testing.alerts import ALERTS, EVENTS, attempt_due, rule, threshold
from testing.mail import verified_account
from testing.readings import READINGS, reading

MICROS = 1_000_000
MINUTE = 60 * MICROS


def deliveries_of(account, rule_id):
    page = account.get(f"{ALERTS}{rule_id}/deliveries?limit=1000").json
    return list(reversed(page["items"]))


def events_of(account, rule_id):
    page = account.get(f"{EVENTS}?rule_id={rule_id}&limit=1000").json
    return list(reversed(page["items"]))


def emailed_rule(account, **fields):
    body = rule(email=True, **fields)
    created = account.post(ALERTS, json=body)
    assert created.status_code == 201, created.json
    assert created.json["email"] is True
    return created.json


def upload(account, celsius):
    posted = account.post(READINGS, json=reading(data={"celsius": celsius}))
    assert posted.status_code == 201, posted.json


def alerts_to(mail_server, address="dora@example.com"):
    """Accepted alert emails to address (not the verification message)."""
    return [
        r
        for r in mail_server.accepted(address)
        if "Confirm your email" not in r.message["Subject"]
    ]


def test_an_alert_email_says_what_happened_in_the_users_time_zone(
    dora, mail_server, step
):
    made = emailed_rule(dora, name="too warm")
    upload(dora, 35)
    claimed, outcome = step(now_micros() + MICROS)
    assert (claimed.channel, outcome.status_code, outcome.error) == ("email", 250, None)
    (sent,) = alerts_to(mail_server)
    (event,) = events_of(dora, made["id"])
    message = sent.message
    assert sent.recipients == ["dora@example.com"]
    assert message["Subject"] == "[myapp] too warm: firing"
    assert message["Message-ID"] == f"<alert-event-{event['id']}@myapp.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://myapp.example/api/v1/alerts/unsubscribe/")
    text = sent.text
    assert "Value: 35" in text
    assert f"https://myapp.example/app/#/alerts/{made['id']}" in text
    assert "(Europe/Berlin)" in text and (" CET " in text or " CEST " in text)
    (attempt,) = deliveries_of(dora, made["id"])
    assert (attempt["channel"], attempt["status_code"], attempt["error"]) == (
        "email",
        250,
        None,
    )
    assert attempt["next_attempt_at"] is None


def test_a_retry_carries_the_same_message_id(dora, mail_server, step):
    mail_server.answer = lambda count: "451 4.3.0 try again later"
    emailed_rule(dora)
    upload(dora, 35)
    now = now_micros() + MICROS
    first, outcome = step(now)
    assert (outcome.status_code, outcome.final) == (451, False)
    mail_server.answer = lambda count: "250 OK"
    assert step(now + 20 * MICROS) is None  # the first retry waits 30 s or more
    again, outcome = step(now + 2 * MINUTE)
    assert again.id == first.id and outcome.status_code == 250
    refused, accepted = mail_server.received[-2:]
    assert refused.message["Message-ID"] == accepted.message["Message-ID"]


def test_control_characters_in_a_rule_name_become_spaces_in_the_subject(
    dora, mail_server, step
):
    emailed_rule(dora, name="hot\r\nBcc: eve@example.com\x85\u2028x")
    upload(dora, 35)
    step(now_micros() + MICROS)
    (sent,) = alerts_to(mail_server)
    assert sent.recipients == ["dora@example.com"]
    assert sent.message["Bcc"] is None
    assert sent.message["Subject"] == "[myapp] hot  Bcc: eve@example.com  x: firing"


def test_email_true_is_a_400_at_email_before_the_address_is_verified(
    mail_alerts_app, mail_server
):
    client = mail_alerts_app.test_client()
    body = {"username": "fay", "email": "fay@example.com", "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    login = {"username": "fay", "password": PASSWORD}
    headers = bearer(client.post("/api/v1/auth/login", json=login).json["access_token"])
    refused = client.post(ALERTS, json=rule(email=True), headers=headers)
    assert refused.status_code == 400
    (error,) = refused.json["errors"]
    assert error["pointer"] == "/email" and "verified" in error["message"]
    made = client.post(ALERTS, json=rule(), headers=headers).json
    patched = client.patch(
        f"{ALERTS}{made['id']}", json={"email": True}, headers=headers
    )
    assert patched.status_code == 400


def test_email_true_is_a_400_at_email_without_smtp(carol):
    refused = carol.post(ALERTS, json=rule(email=True))
    assert refused.status_code == 400
    assert refused.json["errors"][0]["pointer"] == "/email"
    assert "not set up to send email" in refused.json["errors"][0]["message"]


def test_one_click_unsubscribe_by_post_without_a_token_turns_email_off(
    dora, mail_server, step, mail_alerts_app
):
    made = emailed_rule(dora)
    upload(dora, 35)
    now = now_micros() + MICROS
    step(now)
    (sent,) = alerts_to(mail_server)
    url = sent.message["List-Unsubscribe"].strip("<>")
    path = url[len("https://myapp.example") :]
    upload(dora, 20)  # resolved: an email waits
    anonymous = mail_alerts_app.test_client()  # no Authorization header at all
    answer = anonymous.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 204
    assert dora.get(f"{ALERTS}{made['id']}").json["email"] is False
    assert step(now + MINUTE) is None  # the waiting one was cancelled
    last = deliveries_of(dora, made["id"])[-1]
    assert last["error"] == "cancelled: unsubscribed with the link in an email"
    assert (last["attempt"], last["next_attempt_at"]) == (0, None)
    # Again: still off, still 204 (a mail program may post twice).
    assert anonymous.post(path, data="List-Unsubscribe=One-Click").status_code == 204
    assert len(alerts_to(mail_server)) == 1


def test_an_unsubscribe_link_that_is_not_ours_is_a_404(mail_alerts_app, dora):
    emailed_rule(dora)
    client = mail_alerts_app.test_client()
    answer = client.post(f"{ALERTS}unsubscribe/eyJyIjoxfQ.forged-signature")
    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"


def test_opening_an_unsubscribe_link_with_get_changes_nothing(
    mail_alerts_app, dora, mail_config
):
    """RFC 8058: link scanners fetch with GET; only the one-click POST counts."""
    from myapp.alerts.emails import unsubscribe_url

    made = emailed_rule(dora)
    url = unsubscribe_url({**mail_alerts_app.config}, made["id"])
    answer = mail_alerts_app.test_client().get(url[len(mail_config["PUBLIC_URL"]) :])
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    assert dora.get(f"{ALERTS}{made['id']}").json["email"] is True


def test_a_permanent_5xx_is_recorded_and_not_retried(dora, mail_server, step, rows):
    mail_server.answer = lambda count: "550 5.1.1 mailbox unavailable"
    made = emailed_rule(dora)
    upload(dora, 35)
    now = now_micros() + MICROS
    _, outcome = step(now)
    assert (outcome.status_code, outcome.final) == (550, True)
    for later in (1, 60, 24 * 60):
        assert step(now + later * MINUTE) is None
    (attempt,) = deliveries_of(dora, made["id"])
    assert attempt["status_code"] == 550
    assert attempt["error"] == "550 5.1.1 mailbox unavailable"
    assert attempt["next_attempt_at"] is None
    assert [d["status"] for d in rows("alert_deliveries")] == ["failed"]


def test_a_temporary_4xx_is_retried_on_the_workers_schedule(
    dora, mail_server, step, rows
):
    """The app's delays are 30 s, then 120 s (+ up to 25%), then it gives up."""
    mail_server.answer = lambda count: "451 4.7.1 greylisted, try later"
    made = emailed_rule(dora)
    upload(dora, 35)
    now = now_micros() + MICROS
    assert step(now)[1].status_code == 451
    assert step(now + 29 * MICROS) is None
    assert step(now + 38 * MICROS)[1].status_code == 451
    second = now + 38 * MICROS
    assert step(second + 119 * MICROS) is None
    assert step(second + 151 * MICROS)[1].status_code == 451
    assert step(second + 24 * 60 * MINUTE) is None  # given up after the last delay
    attempts = deliveries_of(dora, made["id"])
    assert [a["status_code"] for a in attempts] == [451, 451, 451]
    assert [a["next_attempt_at"] is None for a in attempts] == [False, False, True]
    assert len(mail_server.received) == 1 + 3  # the verification message, 3 tries
    assert [d["status"] for d in rows("alert_deliveries")] == ["failed"]


def test_no_connection_is_retried(dora, mail_server, step):
    emailed_rule(dora)
    upload(dora, 35)
    mail_server.stop()  # nothing listens on its port now
    _, outcome = step(now_micros() + MICROS)
    assert outcome.status_code is None and not outcome.final
    assert outcome.error.startswith("no answer from the mail server")


def test_past_the_daily_limit_a_delivery_is_recorded_and_not_sent(
    app_with, mail_config, mail_server
):
    limited = app_with(**mail_config, ALERT_EMAILS_PER_DAY=2)
    dora = verified_account(limited.test_client(), mail_server, "dora")

    def step(now):
        with limited.app_context():
            try:
                return attempt_due(now)
            finally:
                db.session.remove()

    made = [emailed_rule(dora, condition=threshold(above=n)) for n in (10, 20, 30)]
    upload(dora, 35)  # all three fire
    now = now_micros() + MICROS
    outcomes = [step(now)[1] for _ in made]
    assert [o.status_code for o in outcomes] == [250, 250, None]
    assert outcomes[2].error == "daily email limit"
    capped = [a for r in made for a in deliveries_of(dora, r["id"]) if a["error"]]
    assert [(a["error"], a["next_attempt_at"]) for a in capped] == [
        ("daily email limit", None)
    ]
    assert len(alerts_to(mail_server)) == 2
    assert step(now + MINUTE) is None  # not retried
    # The next day (UTC, dora's zone) there is room again.
    upload(dora, 5)  # all three resolve
    tomorrow = now + 24 * 60 * MINUTE
    assert [step(tomorrow)[1].status_code for _ in made] == [250, 250, None]


def test_an_unverified_address_gets_nothing_and_the_delivery_says_why(
    dora, mail_server, step
):
    made = emailed_rule(dora)
    changed = dora.patch(
        "/api/v1/users/me",
        json={"email": "dora@new.example", "current_password": PASSWORD},
    )
    assert changed.json["email_verified"] is False
    upload(dora, 35)
    _, outcome = step(now_micros() + MICROS)
    assert outcome.error == "not sent: the email address is not verified"
    (attempt,) = deliveries_of(dora, made["id"])
    assert (attempt["status_code"], attempt["next_attempt_at"]) == (None, None)
    assert alerts_to(mail_server, "dora@new.example") == []


def test_switching_email_off_cancels_the_waiting_email_and_says_so(dora, step):
    made = emailed_rule(dora)
    upload(dora, 35)
    patched = dora.patch(f"{ALERTS}{made['id']}", json={"email": False})
    assert patched.json["email"] is False
    assert step(now_micros() + MICROS) is None
    (entry,) = deliveries_of(dora, made["id"])
    assert entry["error"] == "cancelled: email was switched off for this rule"


def test_email_is_superseded_and_cooled_down_like_webhooks(dora, mail_server, step):
    made = emailed_rule(dora, cooldown_seconds=600)
    for celsius in (35, 20, 36):  # three events before anything is sent
        upload(dora, celsius)
    now = now_micros() + MICROS
    assert step(now) is not None
    assert step(now) is None  # only the newest email waited
    (email,) = alerts_to(mail_server)
    latest = events_of(dora, made["id"])[-1]
    assert email.message["Message-ID"] == f"<alert-event-{latest['id']}@myapp.example>"
    assert email.message["Subject"] == "[myapp] too warm: firing"
    entries = deliveries_of(dora, made["id"])
    assert [(a["attempt"], a["superseded"]) for a in entries] == [
        (0, True),
        (0, True),
        (1, False),
    ]
    # Cooldown: the next email waits 600 s from the last one's 250.
    upload(dora, 20)
    assert step(now + 5 * MINUTE) is None
    assert step(now + 11 * MINUTE) is not None
    assert len(alerts_to(mail_server)) == 2
