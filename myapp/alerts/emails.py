"""Alert emails: what the worker sends for a delivery on the email channel.

Everything about the recipient is read when the email is sent, not when the
event was recorded: the owner's address, whether it is verified, their time
zone, the rule's email switch. One Message-ID per event (the same on a
retry). Each email carries a signed one-click unsubscribe link (RFC 8058)
that turns email off for its rule without signing in. An email that may not
be sent (not verified, switched off, the daily limit) is recorded with the
reason and not retried; so is a permanent (5xx) refusal by the SMTP server.
"""

import json
from typing import NamedTuple
from email.utils import parseaddr

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer

from myapp import calendars, mail, owners
from myapp.alerts.models import DELIVERED, EMAIL
from myapp.alerts.outbox import DELIVERIES
from myapp.db import db
from myapp.micros import from_micros, to_micros
from myapp.timestamps import parse_timestamp

DAILY_LIMIT = "daily email limit"  # the contract's words
NOT_SET_UP = "not sent: this server is not set up to send email"
SWITCHED_OFF = "not sent: email is off for this rule"
NOT_VERIFIED = "not sent: the email address is not verified"
NO_ACCOUNT = "not sent: the account no longer exists"
UNSUBSCRIBE_SALT = "alert-unsubscribe"


class Outcome(NamedTuple):
    """An email attempt's result; final: not retried (claims.finish reads it)."""

    status_code: int | None  # the SMTP reply code, 250 when accepted
    error: str | None
    final: bool = False

    @property
    def delivered(self):
        return self.status_code is not None and 200 <= self.status_code < 300


def _unsubscribe_serializer(config):
    return URLSafeSerializer(config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(config, rule_id):
    """The signed token of a rule's unsubscribe link (it never expires)."""
    return _unsubscribe_serializer(config).dumps({"r": rule_id})


def rule_of_unsubscribe(config, token):
    """The rule id an unsubscribe token names, or None if it is not one of ours."""
    try:
        claims = _unsubscribe_serializer(config).loads(token)
    except BadSignature:
        return None
    rule_id = claims.get("r") if isinstance(claims, dict) else None
    return rule_id if isinstance(rule_id, int) else None


def unsubscribe_url(config, rule_id):
    token = unsubscribe_token(config, rule_id)
    return f"{config['PUBLIC_URL']}/api/v1/alerts/unsubscribe/{token}"


def attempt(claimed, config, *, now):
    """Send the email of a claimed delivery, if it may go: its Outcome."""
    if not mail.configured(config):
        return Outcome(None, NOT_SET_UP, final=True)
    if not claimed.email:
        return Outcome(None, SWITCHED_OFF, final=True)
    mailbox = owners.mailbox_of(user_id=claimed.user_id)
    if mailbox is None:
        return _read_done(Outcome(None, NO_ACCOUNT, final=True))
    if not mailbox.verified:
        return _read_done(Outcome(None, NOT_VERIFIED, final=True))
    sent_today = _sent_since(claimed, _local_midnight(mailbox.time_zone, now), now)
    if sent_today >= config["ALERT_EMAILS_PER_DAY"]:
        return _read_done(Outcome(None, DAILY_LIMIT, final=True))
    db.session.rollback()  # no transaction held open through the SMTP exchange
    sent = mail.send(config, compose(claimed, mailbox, config))
    return Outcome(sent.status_code, sent.error, final=sent.permanent)


def _read_done(outcome):
    db.session.rollback()
    return outcome


def _local_midnight(time_zone, now):
    """The start of the user's local day containing now, in microseconds."""
    local = from_micros(now).astimezone(calendars.zone(time_zone))
    return to_micros(local.replace(hour=0, minute=0, second=0, microsecond=0))


def _sent_since(claimed, since, now):
    """The user's alert emails delivered since `since`, and others being sent now
    (so two sending threads cannot both take the day's last place)."""
    user = (DELIVERIES.c.user_id == claimed.user_id, DELIVERIES.c.channel == EMAIL)
    return db.session.execute(
        sa.select(sa.func.count()).where(
            *user,
            sa.or_(
                sa.and_(
                    DELIVERIES.c.status == DELIVERED,
                    DELIVERIES.c.delivered_at >= since,
                ),
                sa.and_(
                    DELIVERIES.c.claimed_until >= now,
                    DELIVERIES.c.id != claimed.id,
                ),
            ),
        )
    ).scalar_one()


def local_time(text, time_zone):
    """An RFC 3339 time as the user reads it, in their zone:
    2026-12-07 07:00:00 CET (Europe/Berlin)."""
    moment = parse_timestamp(text).astimezone(calendars.zone(time_zone))
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment:%Z} ({time_zone})"


def compose(claimed, mailbox, config):
    """The email of a delivery to the owner's address as it is now."""
    sent = json.loads(claimed.body)
    event, rule = sent["data"]["event"], sent["data"]["rule"]
    name = mail.one_line(rule["name"])
    state = event["state"]
    rule_link = f"{config['PUBLIC_URL']}/app/#/alerts/{rule['id']}"
    unsubscribe = unsubscribe_url(config, rule["id"])
    value = event["value"]
    if value is None:
        value = "none (no reading came in time)" if state == "firing" else "none"
    lines = [
        f"The alert rule \"{name}\" on {mail.one_line(rule['sensor'])} is {state}.",
        "",
        f"Value: {value}",
        f"Time:  {local_time(event['at'], mailbox.time_zone)}",
        f"Rule:  {rule_link}",
        "",
        "You get this email because email is on for this rule. To stop it,",
        "use your mail program's unsubscribe button, or switch email off on the",
        "rule's page.",
    ]
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    return mail.message(
        config,
        to=mailbox.email,
        subject=f"[{config['APP_NAME']}] {name}: {state}",
        body="\n".join(lines) + "\n",
        headers=[
            ("Message-ID", f"<alert-event-{event['id']}@{domain}>"),
            ("List-Unsubscribe", f"<{unsubscribe}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Auto-Submitted", "auto-generated"),
        ],
    )
