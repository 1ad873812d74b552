"""What a stream hears, published to the replay store after each commit.

Readings: the readings_stored receiver runs inside the upload's transaction, so
it only notes the event (myapp.committed); other features note theirs (alerts:
each event with its rule) the same way. committed sends what was noted once the
transaction commits, and nothing for one rolled back.
"""

import json
import logging

from flask import current_app

from myapp import committed
from myapp.micros import format_micros
from myapp.readings.signals import readings_stored

ITEMS_MAX = 100
log = logging.getLogger(__name__)


def init_app(app):
    readings_stored.connect(_note_readings)
    committed.user_news_committed.connect(_publish)


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
    committed.note(user_id, "readings", readings_event(readings))


def _publish(sender=None, *, news, **_):
    store = current_app.extensions["live"].store
    # An upload's readings come before what they caused, whichever receiver
    # noted first (sorted() keeps the order of the rest).
    news = sorted(news, key=lambda item: item[1] != "readings")
    texts = [
        (user_id, name, json.dumps(body, separators=(",", ":"), ensure_ascii=False))
        for user_id, name, body in news
    ]
    try:
        store.publish_many(texts)
    except Exception:  # the data is committed; a stream misses it, says reset
        log.exception("live: publishing %d events failed", len(texts))
