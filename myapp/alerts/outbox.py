"""The webhook outbox: deliveries written with their events, claimed by workers.

A delivery is pending while next_attempt_at is set. A worker claims a due one
with a lease (claimed_until) and a token; only the oldest pending delivery of
a rule can be claimed, so a rule's events go out one at a time, in order. The
claim is one UPDATE .. RETURNING: on PostgreSQL its candidates are picked FOR
UPDATE SKIP LOCKED (racing workers take different rows without waiting), on
SQLite the single writer makes it atomic. A worker that dies mid-send holds
nothing: once the lease runs out another worker sends the attempt again.
"""

import json
import random
import secrets
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from myapp.alerts import schemas
from myapp.alerts.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    FIRING,
    OK,
    PENDING,
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertRule,
)
from myapp.db import db

DELIVERIES = AlertDelivery.__table__
ATTEMPTS = AlertDeliveryAttempt.__table__

RULES = AlertRule.__table__
MICROS = 1_000_000


class Claimed(NamedTuple):
    """A delivery a worker holds: what to send, where, and its claim token."""

    id: int
    rule_id: int
    event_id: int
    body: str
    attempts: int
    claim: str
    webhook_url: str | None
    webhook_secret: str | None


def message_id(event_id):
    """The webhook-id of an event: the same on every attempt."""
    return f"msg_alert_event_{event_id}"


def payload(rule, event_id, change):
    """The JSON text of an event's webhook, with the rule as the event left it."""
    event = schemas.event_public(
        (event_id, rule.id, change.state, change.at, change.reading_id, change.value)
    )
    after = rule._replace(
        state=FIRING if change.state == FIRING else OK, state_since=change.at
    )
    body = {
        "type": f"alert.{change.state}",
        "timestamp": event["at"],
        "data": {"event": event, "rule": schemas.rule_public(after)},
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def enqueue(events):
    """Deliveries (due at once) for [(rule, event_id, Change)]: rules with webhooks."""
    rows = [
        {
            "rule_id": rule.id,
            "event_id": event_id,
            "body": payload(rule, event_id, change),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": change.at,
            "claimed_until": 0,
            "claim": None,
            "created_at": change.at,
        }
        for rule, event_id, change in events
        if rule.webhook_url
    ]
    if rows:
        db.session.execute(sa.insert(DELIVERIES), rows)


def cancel(*, rule_id):
    """Pending deliveries of the rule will not be sent (its webhook was removed)."""
    db.session.execute(
        sa.update(DELIVERIES)
        .where(DELIVERIES.c.rule_id == rule_id, DELIVERIES.c.status == PENDING)
        .values(status=CANCELLED, next_attempt_at=None)
    )


def prune(*, rule_id, through_event_id):
    """Forget finished deliveries (and their attempts) of pruned events."""
    db.session.execute(
        sa.delete(DELIVERIES).where(
            DELIVERIES.c.rule_id == rule_id,
            DELIVERIES.c.event_id <= through_event_id,
            DELIVERIES.c.status != PENDING,
        )
    )


def claim(*, now, lease_seconds, limit=1):
    """Claim up to limit due deliveries (each the oldest pending of its rule)."""
    older = sa.alias(DELIVERIES, "older")
    candidates = (
        sa.select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.next_attempt_at <= now,
            DELIVERIES.c.claimed_until < now,
            ~sa.exists().where(
                older.c.rule_id == DELIVERIES.c.rule_id,
                older.c.status == PENDING,
                older.c.id < DELIVERIES.c.id,
            ),
        )
        .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
        .limit(limit)
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
            sa.select(RULES.c.id, RULES.c.webhook_url, RULES.c.webhook_secret).where(
                RULES.c.id.in_({row.rule_id for row in claimed})
            )
        )
    )
    db.session.commit()
    return [
        Claimed(*row, token, *hooks.get(row.rule_id, (None, None)))
        for row in sorted(claimed)
    ]


def finish(claimed, outcome, *, at, now):
    """Record the attempt made at `at`: delivered, retried later, or given up.

    Nothing changes if the claim was lost (the rule was deleted meanwhile); a
    delivery cancelled meanwhile keeps its status and the attempt is recorded.
    """
    attempt = claimed.attempts + 1
    status, next_at = _after(attempt, outcome.delivered, now)
    pending = DELIVERIES.c.status == PENDING
    updated = db.session.execute(
        sa.update(DELIVERIES)
        .where(DELIVERIES.c.id == claimed.id, DELIVERIES.c.claim == claimed.claim)
        .values(
            attempts=attempt,
            status=sa.case((pending, status), else_=DELIVERIES.c.status),
            next_attempt_at=sa.case(
                (pending, sa.cast(sa.literal(next_at), sa.BigInteger)), else_=sa.null()
            ),
            claimed_until=0,
            claim=None,
        )
        .returning(DELIVERIES.c.next_attempt_at)
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
            },
        )
    db.session.commit()
    return updated is not None


def _after(attempt, delivered, now):
    """(status, next_attempt_at) after attempt number `attempt`."""
    if delivered:
        return DELIVERED, None
    delays = current_app.config["ALERTS_RETRY_DELAYS"]
    if attempt > len(delays):
        return FAILED, None
    # Jitter only lengthens a delay, so the schedule's total stays a floor.
    delay = delays[attempt - 1] * random.uniform(1.0, 1.25)
    return PENDING, now + int(delay * MICROS)


def due_at_the_earliest():
    """When the next pending delivery is due (None if none is pending)."""
    return db.session.execute(
        sa.select(sa.func.min(DELIVERIES.c.next_attempt_at))
    ).scalar()
