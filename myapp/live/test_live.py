"""The replay store's bounds, and events only for uploads that commit."""

import json
import uuid

import pytest
import redis

from myapp.live.store import Limits, MemoryStore, RedisStore
from myapp.readings.signals import readings_stored

LIMITS = Limits(seconds=600, events=1000, bytes=1024 * 1024)


@pytest.fixture(params=["redis", "memory"])
def store(request):
    if request.param == "memory":
        return MemoryStore(LIMITS)
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushall()
    return RedisStore(url, LIMITS)


def user():
    return uuid.uuid4().int % 1_000_000


def test_replay_gives_what_came_after_an_id_in_order(store):
    someone = user()
    ids = [store.publish(someone, "readings", json.dumps({"n": n})) for n in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    assert [json.loads(e.data)["n"] for e in store.since(someone, 2)] == [2, 3, 4]
    assert store.since(someone, 5) == []


def test_an_unknown_id_or_one_past_the_bound_is_a_reset(store):
    someone = user()
    for n in range(1005):
        store.publish(someone, "readings", "{}")
    assert store.since(someone, 2000) is None
    assert store.since(someone, 4) is None
    assert len(store.since(someone, 5)) == 1000


def test_a_user_keeps_at_most_a_mebibyte_but_always_the_newest(store):
    someone = user()
    big = json.dumps({"x": "y" * 600_000})
    for _ in range(3):
        store.publish(someone, "readings", big)
    assert len(store.since(someone, 2)) == 1
    assert store.since(someone, 1) is None


def test_users_never_see_each_others_events(store):
    alice, bob = user(), user()
    store.publish(alice, "readings", "{}")
    assert store.since(bob, 0) == []
    assert store.last_id(bob) == 0


def test_a_rolled_back_upload_publishes_nothing(app, alice):
    def fail(sender=None, **_):
        raise RuntimeError("a receiver after live's fails the upload")

    store = app.extensions["live"].store
    before = store.last_id(alice.id)  # the app's store outlives a test's rows
    readings_stored.connect(fail)
    try:
        failed = alice.post("/api/v1/readings/", json={"sensor": "s", "data": {}})
    finally:
        readings_stored.disconnect(fail)
    assert failed.status_code == 500
    assert store.last_id(alice.id) == before

    stored = alice.post("/api/v1/readings/", json={"sensor": "s", "data": {"n": 2}})
    assert stored.status_code == 201
    (event,) = store.since(alice.id, before)
    items = json.loads(event.data)["items"]
    assert [item["id"] for item in items] == [stored.json["id"]]


def test_an_upload_that_fires_a_rule_publishes_the_alert_with_its_rule(app, alice):
    rule = {
        "name": "Too warm",
        "sensor": "kitchen/temp",
        "condition": {"type": "threshold", "field": "celsius", "above": 30},
    }
    created = alice.post("/api/v1/alerts/", json=rule)
    assert created.status_code == 201, created.json
    store = app.extensions["live"].store
    before = store.last_id(alice.id)  # the app's store outlives a test's rows
    warm = {"sensor": "kitchen/temp", "data": {"celsius": 35}}
    stored = alice.post("/api/v1/readings/", json=warm)
    assert stored.status_code == 201

    events = store.since(alice.id, before)
    assert [event.name for event in events] == ["readings", "alert"]
    alert = json.loads(events[1].data)
    assert alert["event"]["state"] == "firing"
    assert alert["event"]["reading_id"] == stored.json["id"]
    assert alert["rule"]["id"] == created.json["id"]
    assert alert["rule"]["state"] == "firing"
    assert "webhook_secret" not in alert["rule"]
