"""The webhook outbox: deliveries written with their events, claimed by workers.

A delivery is pending while next_attempt_at is set; a rule has at most one
pending delivery per channel (a newer event supersedes it). A worker claims a
due one with a lease (claimed_until) and a token, one user after another
(round-robin, so no user's backlog or slow receiver takes every thread); a
delivery waits while an older one of its rule is being sent, so a rule's
events go out one at a time, in order. The
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
    SUPERSEDED,
    WEBHOOK,
    AlertDelivery,
    AlertDeliveryAttempt,
    AlertRule,
)
from myapp.alerts.rows import rules_for_update
from myapp.db import db, utcnow
from myapp.rawsql import insert_ids
from myapp.micros import to_micros

DELIVERIES = AlertDelivery.__table__
ATTEMPTS = AlertDeliveryAttempt.__table__

RULES = AlertRule.__table__
MICROS = 1_000_000


class Claimed(NamedTuple):
    """A delivery a worker holds: what to send, where, and its claim token."""

    id: int
    rule_id: int
    event_id: int
    user_id: int
    body: str
    attempts: int
    claim: str
    webhook_url: str | None
    webhook_secret: str | None
    cooldown_seconds: int


def message_id(event_id):
    """The webhook-id of an event: the same on every attempt."""
    return f"msg_alert_event_{event_id}"


def payload(rule, event_id, change):
    """The JSON text of an event's webhook, with the rule as the event left it."""
    event = schemas.event_public(
        (event_id, rule.id, change.state, change.at)
        + (change.reading_id, change.value, change.changes)
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
    """Deliveries for [(rule, event_id, Change)] of rules with webhooks, superseding.

    A rule never has more than one delivery waiting: its older pending ones,
    and all but its newest event here, are superseded (an entry of their own
    in the deliveries list when never tried). The newest waits out the rule's
    cooldown, counted from its last delivered notification.
    """
    hooked = [
        (rule, event_id, change)
        for rule, event_id, change in events
        if rule.webhook_url
    ]
    if not hooked:
        return
    now = to_micros(utcnow())
    rule_ids = sorted({rule.id for rule, _, _ in hooked})
    superseded = db.session.execute(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.rule_id.in_(rule_ids),
            DELIVERIES.c.channel == WEBHOOK,
            DELIVERIES.c.status == PENDING,
        )
        .values(status=SUPERSEDED, next_attempt_at=None)
        .returning(
            DELIVERIES.c.id,
            DELIVERIES.c.attempts,
            DELIVERIES.c.rule_id,
            DELIVERIES.c.event_id,
            DELIVERIES.c.claimed_until,
        )
    ).all()
    tried = [row.id for row in superseded if row.attempts]
    if tried:  # their last attempt said when the next would be: none will be
        db.session.execute(
            sa.update(ATTEMPTS)
            .where(
                ATTEMPTS.c.delivery_id.in_(tried),
                ATTEMPTS.c.next_attempt_at.is_not(None),
            )
            .values(superseded=True, next_attempt_at=None)
        )
    newest = {rule.id: event_id for rule, event_id, _ in hooked}
    quiet_until = _cooldowns([rule for rule, _, _ in hooked])
    rows = []
    for rule, event_id, change in hooked:
        waits = newest[rule.id] == event_id
        rows.append(
            {
                "rule_id": rule.id,
                "event_id": event_id,
                "user_id": rule.user_id,
                "channel": WEBHOOK,
                "body": payload(rule, event_id, change) if waits else "",
                "status": PENDING if waits else SUPERSEDED,
                "attempts": 0,
                "next_attempt_at": (
                    max(change.at, quiet_until.get(rule.id, 0)) if waits else None
                ),
                "claimed_until": 0,
                "claim": None,
                "created_at": change.at,
            }
        )
    ids = insert_ids(
        "alert_deliveries", list(rows[0]), [tuple(r.values()) for r in rows]
    )
    # One being sent now gets its entry when the attempt is recorded (finish).
    untried = [
        row.id for row in superseded if not row.attempts and row.claimed_until < now
    ]
    untried += [i for i, row in zip(ids, rows) if row["status"] == SUPERSEDED]
    if untried:
        _entries_of_their_own(untried, now)


def _entries_of_their_own(delivery_ids, now):
    """The deliveries list's entry for each superseded delivery never tried."""
    entry = sa.select(
        DELIVERIES.c.id,
        DELIVERIES.c.rule_id,
        DELIVERIES.c.event_id,
        sa.literal(0),
        sa.literal(now, sa.BigInteger),
        sa.null(),
        sa.literal("superseded by a newer event before any attempt"),
        sa.null(),
        sa.literal(WEBHOOK),
        sa.true(),
    ).where(DELIVERIES.c.id.in_(delivery_ids))
    columns = ["delivery_id", "rule_id", "event_id", "attempt", "at", "status_code"]
    columns += ["error", "next_attempt_at", "channel", "superseded"]
    db.session.execute(sa.insert(ATTEMPTS).from_select(columns, entry))


def _cooldowns(rules):
    """{rule id: when its cooldown ends} for rules with one that has started."""
    cooling = {
        rule.id: rule.cooldown_seconds for rule in rules if rule.cooldown_seconds
    }
    if not cooling:
        return {}
    last = db.session.execute(
        sa.select(DELIVERIES.c.rule_id, sa.func.max(DELIVERIES.c.delivered_at))
        .where(
            DELIVERIES.c.rule_id.in_(sorted(cooling)),
            DELIVERIES.c.channel == WEBHOOK,
            DELIVERIES.c.status == DELIVERED,
        )
        .group_by(DELIVERIES.c.rule_id)
    )
    return {
        rule_id: at + cooling[rule_id] * MICROS
        for rule_id, at in last
        if at is not None
    }


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
            ).where(RULES.c.id.in_({row.rule_id for row in claimed}))
        )
    )
    db.session.commit()
    return [
        Claimed(*row, token, *hooks.get(row.rule_id, (None, None, 0)))
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
    status, next_at = _after(attempt, outcome.delivered, now)
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
                "channel": WEBHOOK,
                "superseded": updated.status == SUPERSEDED,
            },
        )
        if outcome.delivered and claimed.cooldown_seconds:
            _cool_down(claimed.rule_id, now + claimed.cooldown_seconds * MICROS)
    db.session.commit()
    return updated is not None


def _cool_down(rule_id, until):
    """The rule's waiting delivery goes out no earlier than until."""
    due = DELIVERIES.c.next_attempt_at
    db.session.execute(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.rule_id == rule_id,
            DELIVERIES.c.channel == WEBHOOK,
            DELIVERIES.c.status == PENDING,
            due < until,
        )
        .values(next_attempt_at=until)
    )


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
