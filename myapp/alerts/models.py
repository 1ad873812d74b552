"""Alert rules, the events of their state changes, and the webhook outbox.

Times are plain integer microseconds since 1970-01-01 UTC, as readings store
them: the judge compares them with readings' created_at, and the worker does
lease and retry arithmetic on them, the same way on both databases.
"""

import sqlalchemy as sa

from myapp.columns import BigId, JSONDocument
from myapp.db import db

THRESHOLD, SILENCE = "threshold", "silence"
OK, FIRING = "ok", "firing"  # a rule's state
RESOLVED = "resolved"  # an event is FIRING or RESOLVED
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"
SUPERSEDED = "superseded"  # a newer event of the rule was recorded before a 2xx
WEBHOOK, EMAIL = "webhook", "email"  # a delivery's channel
Micros = sa.BigInteger  # microseconds since 1970-01-01 UTC


class AlertRule(db.Model):
    __tablename__ = "alert_rules"

    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    name = sa.Column(sa.String(100), nullable=False)
    sensor = sa.Column(sa.String(64), nullable=False)
    kind = sa.Column(sa.String(16), nullable=False)  # condition["type"], for queries
    condition = sa.Column(JSONDocument, nullable=False)
    webhook_url = sa.Column(sa.String(2048), nullable=True)
    # Standard Webhooks secret (whsec_ + base64): needed in the clear to sign.
    webhook_secret = sa.Column(sa.String(64), nullable=True)
    # Notify the owner's email too (only where the operator configured SMTP).
    email = sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    # After a notification is sent on a channel, the next waits this long.
    cooldown_seconds = sa.Column(sa.Integer, nullable=False, server_default="0")
    state = sa.Column(sa.String(8), nullable=False)
    state_since = sa.Column(Micros, nullable=False)
    # Silence rules in state ok: when the rule fires unless a reading comes first.
    due_at = sa.Column(Micros, nullable=True)
    # How many of its events are stored: past ALERTS_EVENTS_KEPT_PER_RULE, prune.
    event_count = sa.Column(sa.Integer, nullable=False)
    created_at = sa.Column(Micros, nullable=False)
    updated_at = sa.Column(Micros, nullable=False)

    __table_args__ = (
        # The judge's one query per upload: the rules of these sensors of this user.
        sa.Index("ix_alert_rules_user_id_sensor", "user_id", "sensor", "id"),
        # The worker's silence check: rules due by now.
        sa.Index("ix_alert_rules_due_at", "due_at"),
        {"sqlite_autoincrement": True},
    )


class AlertEvent(db.Model):
    """A state change of a rule; reading_id outlives the reading (no foreign key)."""

    __tablename__ = "alert_events"

    id = sa.Column(BigId, primary_key=True)
    rule_id = sa.Column(
        sa.Integer, sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False
    )
    user_id = sa.Column(
        sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    state = sa.Column(sa.String(8), nullable=False)
    at = sa.Column(Micros, nullable=False)
    reading_id = sa.Column(sa.BigInteger, nullable=True)
    value = sa.Column(JSONDocument, nullable=True)
    # State changes the upload caused, on its last recorded event (else 1).
    changes = sa.Column(sa.Integer, nullable=False, server_default="1")

    __table_args__ = (
        sa.Index("ix_alert_events_rule_id_id", "rule_id", "id"),
        sa.Index("ix_alert_events_user_id_id", "user_id", "id"),
        {"sqlite_autoincrement": True},
    )


class AlertDelivery(db.Model):
    """The outbox: one webhook message per event, committed with the event.

    body is the signed JSON text, the same on every attempt. A pending delivery
    has next_attempt_at; a worker owns it while claimed_until is in the future.
    """

    __tablename__ = "alert_deliveries"

    id = sa.Column(BigId, primary_key=True)
    rule_id = sa.Column(
        sa.Integer, sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False
    )
    event_id = sa.Column(sa.BigInteger, nullable=False)
    # The rule's owner: the worker shares its sending between users by it.
    user_id = sa.Column(sa.Integer, nullable=False, server_default="0")
    channel = sa.Column(sa.String(8), nullable=False, server_default=WEBHOOK)
    body = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(10), nullable=False)
    attempts = sa.Column(sa.Integer, nullable=False)
    next_attempt_at = sa.Column(Micros, nullable=True)
    claimed_until = sa.Column(Micros, nullable=False)
    claim = sa.Column(sa.String(32), nullable=True)
    created_at = sa.Column(Micros, nullable=False)
    delivered_at = sa.Column(Micros, nullable=True)  # its 2xx: cooldowns count from it

    __table_args__ = (
        # A rule's oldest pending delivery goes first (event order per rule).
        sa.Index("ix_alert_deliveries_rule_id_status", "rule_id", "status", "id"),
        # Due deliveries; finished ones have NULL.
        sa.Index("ix_alert_deliveries_next_attempt_at", "next_attempt_at"),
        # Round-robin between users: the next user with a due delivery.
        sa.Index(
            "ix_alert_deliveries_user_id_next_attempt_at", "user_id", "next_attempt_at"
        ),
        {"sqlite_autoincrement": True},
    )


class AlertDeliveryAttempt(db.Model):
    """One try at sending a delivery, as GET /alerts/<id>/deliveries lists it."""

    __tablename__ = "alert_delivery_attempts"

    id = sa.Column(BigId, primary_key=True)
    delivery_id = sa.Column(
        BigId,
        sa.ForeignKey("alert_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    rule_id = sa.Column(
        sa.Integer, sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False
    )
    event_id = sa.Column(sa.BigInteger, nullable=False)
    attempt = sa.Column(sa.Integer, nullable=False)
    at = sa.Column(Micros, nullable=False)
    status_code = sa.Column(sa.Integer, nullable=True)
    error = sa.Column(sa.String(200), nullable=True)
    next_attempt_at = sa.Column(Micros, nullable=True)
    channel = sa.Column(sa.String(8), nullable=False, server_default=WEBHOOK)
    # Its delivery was superseded by a newer event: no attempt follows.
    superseded = sa.Column(sa.Boolean, nullable=False, server_default=sa.false())

    __table_args__ = (
        sa.Index("ix_alert_delivery_attempts_rule_id_id", "rule_id", "id"),
        {"sqlite_autoincrement": True},
    )
