"""Workers' side of the outbox: claim a due delivery, record its attempt.

A worker claims a due one with a lease (claimed_until) and a token, one user
after another (round-robin, so no user's backlog or slow receiver takes every
thread); a delivery waits while an older one of its rule on its channel is
being sent, so a rule's events go out one at a time, in order. The claim is
one UPDATE .. RETURNING: on PostgreSQL its candidates are picked FOR UPDATE
SKIP LOCKED (racing workers take different rows without waiting), on SQLite
the single writer makes it atomic. A worker that dies mid-send holds nothing:
once the lease runs out another worker sends the attempt again.
"""

import random
import secrets
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from myapp.alerts.models import (
    DELIVERED,
    FAILED,
    PENDING,
    SUPERSEDED,
    AlertRule,
)
from myapp.alerts.outbox import ATTEMPTS, DELIVERIES, MICROS
from myapp.alerts.rows import rules_for_update
from myapp.db import db

RULES = AlertRule.__table__


class Claimed(NamedTuple):
    """A delivery a worker holds: what to send, where, and its claim token."""

    id: int
    rule_id: int
    event_id: int
    user_id: int
    channel: str
    body: str
    attempts: int
    claim: str
    webhook_url: str | None
    webhook_secret: str | None
    cooldown_seconds: int
    email: bool  # the rule's email switch as it is now


def message_id(event_id):
    """The webhook-id of an event: the same on every attempt."""
    return f"msg_alert_event_{event_id}"


def claim(*, now, lease_seconds, after_user=0):
    """Claim a due delivery (the oldest pending of its rule, none of whose older
    ones is still being sent) of the first user after after_user, round-robin:
    [Claimed], or [] if none is due."""
    claimed = _claim(now, lease_seconds, DELIVERIES.c.user_id > after_user)
    if not claimed and after_user:
        claimed = _claim(now, lease_seconds, DELIVERIES.c.user_id <= after_user)
    return claimed


def _claim(now, lease_seconds, users):
    older = sa.alias(DELIVERIES, "older")
    candidates = (
        sa.select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.next_attempt_at <= now,
            DELIVERIES.c.claimed_until < now,
            users,
            ~sa.exists().where(
                older.c.rule_id == DELIVERIES.c.rule_id,
                older.c.channel == DELIVERIES.c.channel,
                older.c.id < DELIVERIES.c.id,
                sa.or_(older.c.status == PENDING, older.c.claimed_until >= now),
            ),
        )
        .order_by(DELIVERIES.c.user_id, DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
        .limit(1)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=DELIVERIES)
    token = secrets.token_hex(16)
    claimed = db.session.execute(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.id.in_(candidates.scalar_subquery()),
            DELIVERIES.c.claimed_until < now,
        )
        .values(claimed_until=now + int(lease_seconds * MICROS), claim=token)
        .returning(
            DELIVERIES.c.id,
            DELIVERIES.c.rule_id,
            DELIVERIES.c.event_id,
            DELIVERIES.c.user_id,
            DELIVERIES.c.channel,
            DELIVERIES.c.body,
            DELIVERIES.c.attempts,
        )
    ).all()
    if not claimed:
        db.session.rollback()
        return []
    hooks = dict(
        (row[0], row[1:])
        for row in db.session.execute(
            sa.select(
                RULES.c.id,
                RULES.c.webhook_url,
                RULES.c.webhook_secret,
                RULES.c.cooldown_seconds,
                RULES.c.email,
            ).where(RULES.c.id.in_({row.rule_id for row in claimed}))
        )
    )
    db.session.commit()
    return [
        Claimed(*row, token, *hooks.get(row.rule_id, (None, None, 0, False)))
        for row in sorted(claimed)
    ]


def finish(claimed, outcome, *, at, now):
    """Record the attempt made at `at`: delivered, retried later, or given up.

    Nothing changes if the claim was lost (the rule was deleted meanwhile); a
    delivery cancelled or superseded meanwhile keeps its status (unless this
    attempt delivered it) and the attempt is recorded. A delivered one starts
    the rule's cooldown: its pending delivery waits until it ends.
    """
    attempt = claimed.attempts + 1
    status, next_at = _after(attempt, outcome, now)
    if outcome.delivered and claimed.cooldown_seconds:
        # The rule first, as an upload locks it: then its deliveries, in that order.
        rules_for_update(RULES.c.id == claimed.rule_id)
    pending = DELIVERIES.c.status == PENDING
    if outcome.delivered:
        new_status = sa.case(
            (DELIVERIES.c.status.in_([PENDING, SUPERSEDED]), DELIVERED),
            else_=DELIVERIES.c.status,
        )
    else:
        new_status = sa.case((pending, status), else_=DELIVERIES.c.status)
    updated = db.session.execute(
        sa.update(DELIVERIES)
        .where(DELIVERIES.c.id == claimed.id, DELIVERIES.c.claim == claimed.claim)
        .values(
            attempts=attempt,
            status=new_status,
            next_attempt_at=sa.case(
                (pending, sa.cast(sa.literal(next_at), sa.BigInteger)), else_=sa.null()
            ),
            delivered_at=now if outcome.delivered else None,
            claimed_until=0,
            claim=None,
        )
        .returning(DELIVERIES.c.next_attempt_at, DELIVERIES.c.status)
    ).first()
    if updated is not None:
        db.session.execute(
            sa.insert(ATTEMPTS),
            {
                "delivery_id": claimed.id,
                "rule_id": claimed.rule_id,
                "event_id": claimed.event_id,
                "attempt": attempt,
                "at": at,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "next_attempt_at": updated.next_attempt_at,
                "channel": claimed.channel,
                "superseded": updated.status == SUPERSEDED,
            },
        )
        if outcome.delivered and claimed.cooldown_seconds:
            until = now + claimed.cooldown_seconds * MICROS
            _cool_down(claimed.rule_id, claimed.channel, until)
    db.session.commit()
    return updated is not None


def _cool_down(rule_id, channel, until):
    """The rule's waiting delivery on channel goes out no earlier than until."""
    due = DELIVERIES.c.next_attempt_at
    db.session.execute(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.rule_id == rule_id,
            DELIVERIES.c.channel == channel,
            DELIVERIES.c.status == PENDING,
            due < until,
        )
        .values(next_attempt_at=until)
    )


def _after(attempt, outcome, now):
    """(status, next_attempt_at) after attempt number `attempt`: a final
    outcome (a permanent SMTP failure, an email that may not be sent) is not
    retried."""
    if outcome.delivered:
        return DELIVERED, None
    delays = current_app.config["ALERTS_RETRY_DELAYS"]
    # An email's outcome may be final (emails.Outcome); a webhook's never is.
    if getattr(outcome, "final", False) or attempt > len(delays):
        return FAILED, None
    # Jitter only lengthens a delay, so the schedule's total stays a floor.
    delay = delays[attempt - 1] * random.uniform(1.0, 1.25)
    return PENDING, now + int(delay * MICROS)
