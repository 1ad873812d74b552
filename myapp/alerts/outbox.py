"""The outbox: deliveries written with their events, one per event and channel.

A delivery is pending while next_attempt_at is set; a rule has at most one
pending delivery per channel (webhook, email): a newer event supersedes it,
in the transaction that records the newer event. Cooldowns count per channel
from the rule's last delivered notification there. Workers claim and record
attempts in myapp/alerts/claims.py.
"""

import json

import sqlalchemy as sa

from myapp.alerts import schemas
from myapp.alerts.models import (
    CANCELLED,
    DELIVERED,
    EMAIL,
    FIRING,
    OK,
    PENDING,
    SUPERSEDED,
    WEBHOOK,
    AlertDelivery,
    AlertDeliveryAttempt,
)
from myapp.db import db, utcnow
from myapp.micros import to_micros
from myapp.rawsql import insert_ids

DELIVERIES = AlertDelivery.__table__
ATTEMPTS = AlertDeliveryAttempt.__table__
MICROS = 1_000_000


def event_with_rule(rule, event_id, change):
    """{"event", "rule"}: the event, and its rule as the event left it."""
    event = schemas.event_public(
        (event_id, rule.id, change.state, change.at)
        + (change.reading_id, change.value, change.changes)
    )
    after = rule._replace(
        state=FIRING if change.state == FIRING else OK, state_since=change.at
    )
    return {"event": event, "rule": schemas.rule_public(after)}


def payload(rule, event_id, change):
    """The JSON text of an event's webhook, with the rule as the event left it."""
    data = event_with_rule(rule, event_id, change)
    body = {
        "type": f"alert.{change.state}",
        "timestamp": data["event"]["at"],
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _wants_webhook(rule):
    return bool(rule.webhook_url)


def _wants_email(rule):
    return bool(rule.email)


# Each channel, and whether a rule notifies on it.
CHANNELS = ((WEBHOOK, _wants_webhook), (EMAIL, _wants_email))


def enqueue(events):
    """Deliveries for [(rule, event_id, Change)] on every channel their rule uses."""
    for channel, wanted in CHANNELS:
        chosen = [event for event in events if wanted(event[0])]
        if chosen:
            _enqueue(channel, chosen)


def _enqueue(channel, events):
    """Deliveries on channel, superseding.

    A rule never has more than one delivery waiting on a channel: its older
    pending ones, and all but its newest event here, are superseded (an entry
    of their own in the deliveries list when never tried). The newest waits
    out the rule's cooldown, counted from its last delivered notification.
    """
    now = to_micros(utcnow())
    rule_ids = sorted({rule.id for rule, _, _ in events})
    superseded = db.session.execute(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.rule_id.in_(rule_ids),
            DELIVERIES.c.channel == channel,
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
    newest = {rule.id: event_id for rule, event_id, _ in events}
    quiet_until = _cooldowns([rule for rule, _, _ in events], channel)
    rows = []
    for rule, event_id, change in events:
        waits = newest[rule.id] == event_id
        rows.append(
            {
                "rule_id": rule.id,
                "event_id": event_id,
                "user_id": rule.user_id,
                "channel": channel,
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
        _entries_of_their_own(
            untried, now, channel, "superseded by a newer event before any attempt"
        )


def _entries_of_their_own(delivery_ids, now, channel, why, superseded=True):
    """The deliveries list's entry (attempt 0) for each delivery never tried."""
    entry = sa.select(
        DELIVERIES.c.id,
        DELIVERIES.c.rule_id,
        DELIVERIES.c.event_id,
        sa.literal(0),
        sa.literal(now, sa.BigInteger),
        sa.null(),
        sa.literal(why),
        sa.null(),
        sa.literal(channel),
        sa.true() if superseded else sa.false(),
    ).where(DELIVERIES.c.id.in_(delivery_ids))
    columns = ["delivery_id", "rule_id", "event_id", "attempt", "at", "status_code"]
    columns += ["error", "next_attempt_at", "channel", "superseded"]
    db.session.execute(sa.insert(ATTEMPTS).from_select(columns, entry))


def _cooldowns(rules, channel):
    """{rule id: when its cooldown on channel ends} for rules where one started."""
    cooling = {
        rule.id: rule.cooldown_seconds for rule in rules if rule.cooldown_seconds
    }
    if not cooling:
        return {}
    last = db.session.execute(
        sa.select(DELIVERIES.c.rule_id, sa.func.max(DELIVERIES.c.delivered_at))
        .where(
            DELIVERIES.c.rule_id.in_(sorted(cooling)),
            DELIVERIES.c.channel == channel,
            DELIVERIES.c.status == DELIVERED,
        )
        .group_by(DELIVERIES.c.rule_id)
    )
    return {
        rule_id: at + cooling[rule_id] * MICROS
        for rule_id, at in last
        if at is not None
    }


def cancel(*, rule_id, channel=WEBHOOK, why=None):
    """Pending deliveries of the rule on channel will not be sent (the webhook
    was removed, email turned off); with why, each says so in the list."""
    cancelled = db.session.execute(
        sa.update(DELIVERIES)
        .where(
            DELIVERIES.c.rule_id == rule_id,
            DELIVERIES.c.channel == channel,
            DELIVERIES.c.status == PENDING,
        )
        .values(status=CANCELLED, next_attempt_at=None)
        .returning(DELIVERIES.c.id)
    ).scalars()
    cancelled = list(cancelled)
    if why and cancelled:
        db.session.execute(
            sa.update(ATTEMPTS)
            .where(
                ATTEMPTS.c.delivery_id.in_(cancelled),
                ATTEMPTS.c.next_attempt_at.is_not(None),
            )
            .values(next_attempt_at=None)
        )
        _entries_of_their_own(
            cancelled, to_micros(utcnow()), channel, why, superseded=False
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


def gauges():
    """/metrics: deliveries waiting to be sent, and how long the oldest has waited."""
    pending, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(DELIVERIES.c.created_at)).where(
            DELIVERIES.c.next_attempt_at.is_not(None)
        )
    ).one()
    age = max(0.0, (to_micros(utcnow()) - oldest) / 1e6) if oldest is not None else 0.0
    return [
        ("myapp_alert_outbox_pending", "Deliveries waiting to be sent", pending),
        (
            "myapp_alert_outbox_oldest_pending_age_seconds",
            "Seconds since the oldest waiting delivery was queued (0: none)",
            age,
        ),
    ]
