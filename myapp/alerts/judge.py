"""Rule state changes: judged in the upload's transaction, recorded with it.

on_readings_stored (connected to readings_stored) judges every stored reading
of a rule's sensor, in the upload's order; check_silence (the worker, every
ALERTS_SILENCE_CHECK_SECONDS) fires silence rules whose clock ran out. A state
change is an event row, plus an outbox row when the rule has a webhook, in the
same transaction as what caused it.
"""

from collections import defaultdict

import sqlalchemy as sa
from flask import current_app

from myapp.alerts import conditions, outbox
from myapp.alerts.models import FIRING, OK, RESOLVED, THRESHOLD, AlertEvent
from myapp.alerts.rows import RULES, Change, rules, rules_for_update
from myapp.db import db

EVENTS = AlertEvent.__table__
E = EVENTS.c


def on_readings_stored(sender, *, user_id, readings, **extra):
    """Judge the upload's new readings against the user's rules on their sensors."""
    sensors = {reading.sensor for reading in readings}
    watching = rules_for_update(RULES.c.user_id == user_id, RULES.c.sensor.in_(sensors))
    if not watching:
        return
    by_sensor = defaultdict(list)
    for reading in readings:
        by_sensor[reading.sensor].append(reading)
    numbers = {}  # (sensor, field): its readings with a number there, and the number
    for rule in watching:
        seen = by_sensor[rule.sensor]
        if rule.kind != THRESHOLD:
            _judge_silence(rule, seen)
            continue
        key = (rule.sensor, rule.condition["field"])
        if key not in numbers:
            numbers[key] = _numbers(seen, key[1])
        _judge_threshold(rule, numbers[key])


def _numbers(readings, field):
    """[(reading, data[field])] for the readings where that is a number."""
    found = []
    for reading in readings:
        value = reading.data.get(field)
        kind = type(value)
        if kind is int or kind is float:  # not bool, a subclass of int
            found.append((reading, value))
    return found


def _judge_threshold(rule, numbers):
    """Record each state change the numbers cause, in order (the hot loop)."""
    fire_above, fire_below, ok_top, ok_bottom = conditions.limits(rule.condition)
    firing = rule.state == FIRING
    changes = []
    for reading, value in numbers:
        if firing:
            if ok_bottom <= value <= ok_top:
                firing = False
                changes.append(Change(RESOLVED, reading.created_at, reading.id, value))
        elif value > fire_above or value < fire_below:
            firing = True
            changes.append(Change(FIRING, reading.created_at, reading.id, value))
    if changes:
        record(rule, changes)


def _judge_silence(rule, readings):
    """A reading restarts the clock; it resolves a firing rule, or one already due."""
    first = readings[0]
    now = readings[-1].created_at
    changes = []
    if rule.state == OK and rule.due_at is not None and rule.due_at <= now:
        changes.append(Change(FIRING, rule.due_at, None, None))
    if changes or rule.state == FIRING:
        changes.append(Change(RESOLVED, first.created_at, first.id, None))
    due_at = max(rule.due_at or 0, now + conditions.silence_micros(rule.condition))
    record(rule, changes, due_at=due_at)


def check_silence(*, now, limit=100):
    """Fire silence rules due by now (at most limit); how many fired."""
    due = (RULES.c.due_at <= now, RULES.c.state == OK)
    if not rules(*due, order=False):
        return 0
    fired = rules_for_update(
        *due, RULES.c.id.in_(_due_ids(due, limit)), skip_locked=True
    )
    for rule in fired:
        record(rule, [Change(FIRING, rule.due_at, None, None)], due_at=None)
    db.session.commit()
    return len(fired)


def _due_ids(due, limit):
    return sa.select(RULES.c.id).where(*due).order_by(RULES.c.id).limit(limit)


def record(rule, changes, **values):
    """Write changes (in order) as rule's events and deliveries, and its new state.

    values are other columns of the rule to set in the same UPDATE (due_at).
    """
    if changes:
        last = changes[-1]
        values.update(state=OK if last.state == RESOLVED else FIRING)
        values.update(state_since=last.at)
        _insert_events(rule, changes)
    if values:
        db.session.execute(sa.update(RULES).where(RULES.c.id == rule.id), values)


def _insert_events(rule, changes):
    rows = [
        {
            "rule_id": rule.id,
            "user_id": rule.user_id,
            "state": change.state,
            "at": change.at,
            "reading_id": change.reading_id,
            "value": change.value,
        }
        for change in changes
    ]
    returned = db.session.execute(
        sa.insert(EVENTS).returning(E.id, sort_by_parameter_order=True), rows
    )
    ids = list(returned.scalars())
    if rule.webhook_url:
        outbox.enqueue(rule, list(zip(ids, changes)))
    _prune(rule.id)


def _prune(rule_id):
    """Keep the newest ALERTS_EVENTS_KEPT_PER_RULE events of the rule."""
    kept = current_app.config["ALERTS_EVENTS_KEPT_PER_RULE"]
    newest_dropped = db.session.execute(
        sa.select(E.id)
        .where(E.rule_id == rule_id)
        .order_by(E.id.desc())
        .limit(1)
        .offset(kept)
    ).scalar()
    if newest_dropped is not None:
        db.session.execute(
            sa.delete(EVENTS).where(E.rule_id == rule_id, E.id <= newest_dropped)
        )
        outbox.prune(rule_id=rule_id, through_event_id=newest_dropped)
