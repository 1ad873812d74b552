"""What a stream hears: each upload's readings, published after its commit.

The readings_stored receiver runs inside the upload's transaction, so it only
notes the event on the session; the session's after_commit hook publishes what
was noted, and after_rollback forgets it: a rolled-back upload reaches no one.
"""

import json
import logging

from flask import current_app
from sqlalchemy import event

from myapp.db import db
from myapp.micros import format_micros
from myapp.readings.signals import readings_stored

ITEMS_MAX = 100
_PENDING = "live_pending"
log = logging.getLogger(__name__)


def init_app(app):
    readings_stored.connect(_note_readings)
    if not getattr(db.session, "_live_hooks", False):
        event.listen(db.session, "after_commit", _publish_noted)
        event.listen(db.session, "after_rollback", _forget_noted)
        event.listen(db.session, "after_soft_rollback", _forget_soft)
        db.session._live_hooks = True


def readings_event(readings):
    """{"items": at most 100 readings, newest first by recorded_at, id; "more"}."""
    newest = sorted(readings, key=lambda r: (r.recorded_at, r.id), reverse=True)
    items = [
        {
            "id": reading.id,
            "sensor": reading.sensor,
            "recorded_at": format_micros(reading.recorded_at),
            "data": reading.data,
            "client_id": reading.client_id,
            "device_id": reading.device_id,
            "created_at": format_micros(reading.created_at),
        }
        for reading in newest[:ITEMS_MAX]
    ]
    return {"items": items, "more": max(len(newest) - ITEMS_MAX, 0)}


def _note_readings(sender=None, *, user_id, readings, **_):
    body = json.dumps(readings_event(readings), separators=(",", ":"))
    db.session.info.setdefault(_PENDING, []).append((user_id, "readings", body))


def _publish_noted(session):
    noted = session.info.pop(_PENDING, None)
    if not noted:
        return
    store = current_app.extensions["live"].store
    for user_id, name, body in noted:
        try:
            store.publish(user_id, name, body)
        except Exception:  # the data is committed; a stream misses it, says reset
            log.exception("live: publishing a %s event failed", name)


def _forget_noted(session):
    session.info.pop(_PENDING, None)


def _forget_soft(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
