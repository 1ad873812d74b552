"""Alert rules: write (with their checks), delete; list rules, events, attempts."""

import base64
import secrets

import sqlalchemy as sa
from flask import current_app

from myapp.alerts import conditions, judge, outbox, webhooks
from myapp.alerts.models import (
    EMAIL,
    FIRING,
    OK,
    RESOLVED,
    SILENCE,
    AlertDeliveryAttempt,
    AlertEvent,
)
from myapp.alerts.rows import (
    RULE_COLUMNS,
    RULES,
    Change,
    RuleRow,
    rules,
    rules_for_update,
)
from myapp.alerts.schemas import ATTEMPT_FIELDS, EVENT_FIELDS
from myapp import mail, owners
from myapp.db import db, utcnow
from myapp.errors import ValidationFailed, not_found
from myapp.micros import to_micros
from myapp.owners import at_most
from myapp.pagination import page_after

EVENTS = AlertEvent.__table__
ATTEMPTS = AlertDeliveryAttempt.__table__
EMAIL_OFF = "cancelled: email was switched off for this rule"
UNSUBSCRIBED = "cancelled: unsubscribed with the link in an email"


def now_micros():
    return to_micros(utcnow())


def new_secret():
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked_condition(condition):
    minimum = current_app.config["ALERTS_SILENCE_MIN_SECONDS"]
    return conditions.checked(condition, silence_min_seconds=minimum)


def resolving(config, user_id):
    """How a webhook host of user_id's is looked up: their share, the deadline."""
    return webhooks.Resolving(
        owner=user_id,
        share=config["WEBHOOK_RESOLVES_PER_USER"],
        deadline=config["WEBHOOK_RESOLVE_TIMEOUT"],
    )


def _check_webhook_url(url, user_id):
    """400 at /webhook_url unless webhooks may go to url now."""
    config = current_app.config
    try:
        webhooks.check_url(
            url,
            allow_http=config["WEBHOOK_ALLOW_HTTP"],
            allow_private=config["WEBHOOK_ALLOW_PRIVATE"],
            resolving=resolving(config, user_id),
        )
    except webhooks.Refused as refused:
        raise ValidationFailed.at("/webhook_url", str(refused)) from None


def _check_email(email, user_id):
    """400 at /email for true without SMTP set up, or with an unverified address."""
    if not email:
        return
    if not mail.configured(current_app.config):
        raise ValidationFailed.at(
            "/email", "cannot be true: this server is not set up to send email"
        )
    mailbox = owners.mailbox_of(user_id=user_id)
    if mailbox is None or not mailbox.verified:
        raise ValidationFailed.at(
            "/email",
            "cannot be true until your email address is verified: follow the "
            "link in the message we sent, or ask for a new one",
        )


def _armed(condition, now):
    """The columns a (new or changed) condition starts with at now."""
    silence = condition["type"] == SILENCE
    due_at = now + conditions.silence_micros(condition) if silence else None
    return {"kind": condition["type"], "condition": condition, "due_at": due_at}


def create_rule(
    *,
    user_id,
    name,
    sensor,
    condition,
    webhook_url=None,
    email=False,
    cooldown_seconds=0,
):
    """A new rule in state ok: (RuleRow, webhook secret or None); 409 past the limit."""
    condition = _checked_condition(condition)
    _check_email(email, user_id)
    if webhook_url is not None:
        _check_webhook_url(webhook_url, user_id)
    limit = current_app.config["ALERT_RULES_MAX_PER_USER"]
    at_most(
        RULES,
        user_id=user_id,
        limit=limit,
        message=f"You have {limit} alert rules, the most allowed.",
    )
    now = now_micros()
    secret = new_secret() if webhook_url else None
    values = {
        "user_id": user_id,
        "name": name,
        "sensor": sensor,
        **_armed(condition, now),
        "webhook_url": webhook_url,
        "webhook_secret": secret,
        "email": email,
        "cooldown_seconds": cooldown_seconds,
        "state": OK,
        "state_since": now,
        "event_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    rule_id = db.session.execute(
        sa.insert(RULES).values(values).returning(RULES.c.id)
    ).scalar_one()
    db.session.commit()
    return RuleRow(id=rule_id, **values), secret


def get_rule(*, user_id, rule_id):
    """The user's rule, or 404 (another user's rule too)."""
    found = rules(RULES.c.id == rule_id, RULES.c.user_id == user_id)
    if not found:
        raise not_found("alert rule")
    return found[0]


def update_rule(*, user_id, rule_id, **changes):
    """Apply a PATCH: (RuleRow, a new webhook secret or None).

    A changed condition restarts the rule at ok, recording a resolved event
    first if it was firing. A removed webhook cancels pending deliveries.
    """
    if "condition" in changes:
        changes["condition"] = _checked_condition(changes["condition"])
    if changes.get("webhook_url") is not None:
        _check_webhook_url(changes["webhook_url"], user_id)
    _check_email(changes.get("email"), user_id)
    locked = rules_for_update(RULES.c.id == rule_id, RULES.c.user_id == user_id)
    if not locked:
        raise not_found("alert rule")
    rule, now = locked[0], now_micros()
    values = {"updated_at": now}
    for name in ("name", "email", "cooldown_seconds"):
        if name in changes:
            values[name] = changes[name]
    if changes.get("email") is False and rule.email:
        outbox.cancel(rule_id=rule.id, channel=EMAIL, why=EMAIL_OFF)
    secret = None
    if "webhook_url" in changes:
        values["webhook_url"] = url = changes["webhook_url"]
        if url is None:
            outbox.cancel(rule_id=rule.id)
            values["webhook_secret"] = None
        elif rule.webhook_url is None:
            values["webhook_secret"] = secret = new_secret()
    condition = changes.get("condition")
    events = []
    if condition is not None and condition != rule.condition:
        values.update(_armed(condition, now), state=OK, state_since=now)
        if rule.state == FIRING:
            events.append(Change(RESOLVED, now, None, None))
    rule = rule._replace(**values)
    judge.record(rule, events, **values)
    db.session.commit()
    return rule, secret


def unsubscribe(*, rule_id):
    """A one-click unsubscribe: email off for the rule, its pending one cancelled.

    No sign-in: the signed link names the rule. A rule deleted since is fine.
    """
    locked = rules_for_update(RULES.c.id == rule_id)
    if locked and locked[0].email:
        db.session.execute(
            sa.update(RULES)
            .where(RULES.c.id == rule_id)
            .values(email=False, updated_at=now_micros())
        )
        outbox.cancel(rule_id=rule_id, channel=EMAIL, why=UNSUBSCRIBED)
    db.session.commit()


def delete_rule(*, user_id, rule_id):
    """Delete the user's rule with its events and deliveries (cascade), or 404."""
    deleted = db.session.execute(
        sa.delete(RULES).where(RULES.c.id == rule_id, RULES.c.user_id == user_id)
    ).rowcount
    db.session.commit()
    if not deleted:
        raise not_found("alert rule")


def list_rules(*, user_id, limit, after=None):
    """A page of the user's rules in id order, and the next position."""
    query = sa.select(*RULE_COLUMNS).where(RULES.c.user_id == user_id)
    if after is not None:
        query = query.where(RULES.c.id > after[0])
    found = db.session.execute(query.order_by(RULES.c.id).limit(limit + 1))
    return page_after([RuleRow._make(row) for row in found], limit, _by_id)


def _by_id(row):
    return (row.id,)


def _newest_first(table, names, *where, limit, after):
    """A page of table's rows (the named columns) matching where, by id descending."""
    query = sa.select(*(table.c[name] for name in names)).where(*where)
    if after is not None:
        query = query.where(table.c.id < after[0])
    found = db.session.execute(query.order_by(table.c.id.desc()).limit(limit + 1))
    return page_after(found.all(), limit, _by_id)


def list_events(*, user_id, limit, after=None, rule_id=None, since=None):
    """A page of the user's events, newest first; another user's rule_id is a 404."""
    where = [EVENTS.c.user_id == user_id]
    if rule_id is not None:
        get_rule(user_id=user_id, rule_id=rule_id)
        where.append(EVENTS.c.rule_id == rule_id)
    if since is not None:
        where.append(EVENTS.c.at >= to_micros(since))
    return _newest_first(EVENTS, EVENT_FIELDS, *where, limit=limit, after=after)


def list_attempts(*, user_id, rule_id, limit, after=None):
    """A page of the rule's delivery attempts, newest first; 404 for another's rule."""
    get_rule(user_id=user_id, rule_id=rule_id)
    where = ATTEMPTS.c.rule_id == rule_id
    return _newest_first(ATTEMPTS, ATTEMPT_FIELDS, where, limit=limit, after=after)
