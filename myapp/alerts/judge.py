"""Rule state changes: judged in the upload's transaction, recorded with it.

on_readings_stored (connected to readings_stored) judges every stored reading
of a rule's sensor, in the upload's order; check_silence (the worker, every
ALERTS_SILENCE_CHECK_SECONDS) fires silence rules whose clock ran out. A state
change is an event row, plus an outbox row when the rule has a webhook, in the
same transaction as what caused it.
"""

import json
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app

from myapp import committed
from myapp.alerts import conditions, crossings, outbox
from myapp.alerts.models import FIRING, OK, RESOLVED, THRESHOLD, AlertEvent
from myapp.alerts.rows import (
    RULES,
    Change,
    any_rule_on,
    rules,
    rules_for_update,
)
from myapp.db import db
from myapp.alerts.metrics import ALERT_EVENTS
from myapp.metrics import count_after_commit
from myapp.rawsql import insert_ids, paramstyle, run_many

EVENTS = AlertEvent.__table__


def on_readings_stored(sender, *, user_id, readings, **extra):
    """Judge the upload's new readings against the user's rules on their sensors."""
    sensors = sorted({reading.sensor for reading in readings})
    if not any_rule_on(user_id=user_id, sensors=sensors):
        return
    watching = rules_for_update(RULES.c.user_id == user_id, RULES.c.sensor.in_(sensors))
    if not watching:
        return
    by_sensor = defaultdict(list)
    for reading in readings:
        by_sensor[reading.sensor].append(reading)
    numbers = {}  # (sensor, field): its readings with a number there, and the number
    updates = []
    for rule in watching:
        seen = by_sensor[rule.sensor]
        if rule.kind != THRESHOLD:
            updates.append(_judge_silence(rule, seen))
            continue
        key = (rule.sensor, rule.condition["field"])
        if key not in numbers:
            numbers[key] = _numbers(seen, key[1])
        changes = _judge_threshold(rule, numbers[key])
        if changes:
            updates.append((rule, changes, {}))
    record_all(updates)


def bounded(changes, count=None):
    """At most two events for one upload's state changes of one rule.

    The first change; and the last when the upload ends in the state the rule
    had before it (so events still alternate). The last recorded event carries
    how many changes the upload caused: F, R, F is one FIRING with changes 3.
    changes may be just the first and last of count changes.
    """
    count = len(changes) if count is None else count
    if count <= 1:
        return changes
    if count % 2:  # ends in the other state: the first change stands for all
        return [changes[0]._replace(changes=count)]
    return [changes[0], changes[-1]._replace(changes=count)]


def _numbers(readings, field):
    pairs = []
    for reading in readings:
        value = reading.data.get(field)
        kind = type(value)
        if kind is int or kind is float:  # not bool, a subclass of int
            pairs.append((reading, value))
    values = [value for _, value in pairs]
    lowest, highest = min(values, default=0), max(values, default=0)
    return crossings.Upload(crossings.Numbers(pairs, values, lowest, highest))


def _judge_threshold(rule, upload):
    """The events the numbers cause (at most two: see bounded)."""
    limits = conditions.limits(rule.condition)
    fire_above, fire_below, ok_top, ok_bottom = limits
    numbers = upload.numbers
    firing = rule.state == FIRING
    # Most uploads change nothing, which their range alone can tell.
    if not numbers.pairs or (
        not firing and numbers.highest <= fire_above and numbers.lowest >= fire_below
    ):
        return []
    if firing and (numbers.highest < ok_bottom or numbers.lowest > ok_top):
        return []
    count, first, last = crossings.changes(
        upload, firing, limits, conditions.memoryless_bound(rule.condition)
    )
    if not count:
        return []
    changes = [_change(numbers.pairs[first], not firing)]
    if count > 1:
        changes.append(_change(numbers.pairs[last], firing == (count % 2 == 0)))
    return bounded(changes, count)


def _change(pair, firing):
    reading, value = pair
    return Change(FIRING if firing else RESOLVED, reading.created_at, reading.id, value)


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
    return rule, bounded(changes), {"due_at": due_at}


def check_silence(*, now, limit=100):
    """Fire silence rules due by now (at most limit); how many fired."""
    due = (RULES.c.due_at <= now, RULES.c.state == OK)
    if not rules(*due, order=False):
        return 0
    fired = rules_for_update(
        *due, RULES.c.id.in_(_due_ids(due, limit)), skip_locked=True
    )
    record_all(
        [
            (rule, [Change(FIRING, rule.due_at, None, None)], {"due_at": None})
            for rule in fired
        ]
    )
    db.session.commit()
    return len(fired)


def _due_ids(due, limit):
    return sa.select(RULES.c.id).where(*due).order_by(RULES.c.id).limit(limit)


def record(rule, changes, **values):
    """Write one rule's changes and other new column values (see record_all)."""
    record_all([(rule, changes, values)])


def record_all(updates):
    """Write each (rule, changes, values) of rules locked in this transaction.

    changes (in order) become the rule's events, and deliveries when it has a
    webhook; the rule's state follows the last one; values are other columns
    to set (due_at...). One INSERT for all events, one for all deliveries, one
    UPDATE per set of columns; events past ALERTS_EVENTS_KEPT_PER_RULE pruned.
    """
    kept = current_app.config["ALERTS_EVENTS_KEPT_PER_RULE"]
    events = [(rule, change) for rule, changes, _ in updates for change in changes]
    ids = _insert_events(events)
    for state in {change.state for _, change in events}:
        count = sum(change.state == state for _, change in events)
        count_after_commit(ALERT_EVENTS, count, state=state)
    recorded = [
        (rule, event_id, change) for event_id, (rule, change) in zip(ids, events)
    ]
    outbox.enqueue(recorded)
    for rule, event_id, change in recorded:  # to the user's live streams
        committed.note(
            rule.user_id, "alert", outbox.event_with_rule(rule, event_id, change)
        )
    by_columns = defaultdict(list)
    for rule, changes, values in updates:
        if changes:
            count = rule.event_count + len(changes)
            if count > kept:
                _prune(rule.id, kept)
                count = kept
            last = changes[-1]
            state = OK if last.state == RESOLVED else FIRING
            values = {**values, "state": state, "state_since": last.at}
            values["event_count"] = count
        if values:
            by_columns[tuple(sorted(values))].append({"rule_id": rule.id, **values})
    for columns, rows in by_columns.items():
        if columns == JUDGED:  # an upload's: thousands of rows on the driver's cursor
            _, mark = paramstyle()
            run_many(
                f"UPDATE alert_rules SET event_count = {mark}, state = {mark},"
                f" state_since = {mark} WHERE id = {mark}",
                [
                    (
                        row["event_count"],
                        row["state"],
                        row["state_since"],
                        row["rule_id"],
                    )
                    for row in rows
                ],
            )
            continue
        db.session.execute(
            sa.update(RULES).where(RULES.c.id == sa.bindparam("rule_id")), rows
        )


JUDGED = ("event_count", "state", "state_since")  # the columns an upload changes


EVENT_COLUMNS = ("rule_id", "user_id", "state", "at", "reading_id", "value")
EVENT_COLUMNS += ("changes",)


def _insert_events(events):
    """Insert [(rule, Change)] as event rows; their ids, in the same order.

    Multi-row INSERTs on the driver's cursor: SQLAlchemy's bookkeeping cost
    more than the writing (and sort_by_parameter_order sent SQLite one a row).
    """
    # SQLite: the number itself (JSON text of a number would be parsed by the
    # column's NUMERIC affinity, keeping 15 digits); PostgreSQL: JSONB from text.
    as_text = paramstyle()[0] == "postgresql"
    rows = [
        (rule.id, rule.user_id, change.state, change.at, change.reading_id)
        + (json.dumps(change.value) if as_text else change.value, change.changes)
        for rule, change in events
    ]
    return insert_ids("alert_events", EVENT_COLUMNS, rows, {"value": "JSONB"})


def _prune(rule_id, kept):
    """Keep the newest `kept` events of the rule (its new ones included)."""
    newest_dropped = db.session.execute(
        sa.select(EVENTS.c.id)
        .where(EVENTS.c.rule_id == rule_id)
        .order_by(EVENTS.c.id.desc())
        .limit(1)
        .offset(kept)
    ).scalar()
    if newest_dropped is not None:
        db.session.execute(
            sa.delete(EVENTS).where(
                EVENTS.c.rule_id == rule_id, EVENTS.c.id <= newest_dropped
            )
        )
        outbox.prune(rule_id=rule_id, through_event_id=newest_dropped)
