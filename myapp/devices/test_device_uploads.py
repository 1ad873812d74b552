"""Uploading with a device key: as its owner, to its sensors, limited, last use."""

import pytest
import sqlalchemy as sa

from myapp.db import db
from myapp.readings import service as readings_service
from testing.devices import (
    DeviceKey,
    create_device,
    device_url,
    time_passes_for_keys,
)
from testing.readings import BATCH, READINGS, new_client_id, reading


def test_a_device_key_uploads_one_reading_as_its_owner(alice, box):
    response = box.post(READINGS, reading(sensor="garden/soil"))
    assert response.status_code == 201
    stored = response.json
    assert stored["device_id"] == box.device_id
    assert response.headers["Location"] == f"{READINGS}{stored['id']}"
    assert alice.get(response.headers["Location"]).json == stored


def test_a_device_key_uploads_a_batch_all_or_nothing(alice, box, count_rows):
    items = [reading(sensor=f"s{n}", data={"n": n}) for n in range(3)]
    response = box.post(BATCH, {"readings": items})
    assert response.status_code == 201 and response.json["created"] == 3
    listed = alice.get(READINGS + "?order=asc").json["items"]
    assert [r["id"] for r in listed] == response.json["ids"]
    assert {r["device_id"] for r in listed} == {box.device_id}
    bad = box.post(BATCH, {"readings": items + [{"sensor": "s"}]})
    assert bad.status_code == 400 and count_rows() == 3


def test_a_repeated_client_id_answers_the_first_reading_to_the_device(box, alice):
    body = reading(client_id=new_client_id())
    first = box.post(READINGS, body)
    again = box.post(READINGS, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    # The user's token retrying the same client_id gets the device's reading.
    assert alice.post(READINGS, json=body).json == first.json


def test_last_used_at_is_set_at_once_then_written_at_most_once_a_minute(
    alice, box, in_app
):
    url = device_url(box.device_id)
    assert alice.get(url).json["last_used_at"] is None
    box.post(READINGS, reading())
    first = alice.get(url).json["last_used_at"]
    assert first is not None
    box.post(BATCH, {"readings": [reading()]})
    assert alice.get(url).json["last_used_at"] == first

    def a_minute_ago():
        db.session.execute(
            sa.text("UPDATE devices SET last_used_at = last_used_at - 61000000")
        )
        db.session.commit()

    in_app(a_minute_ago)
    earlier = alice.get(url).json["last_used_at"]
    box.post(READINGS, reading())
    assert alice.get(url).json["last_used_at"] > first > earlier


def test_a_denied_upload_does_not_count_as_a_use(alice, kitchen):
    kitchen.post(READINGS, reading(sensor="garden"))
    kitchen.post(READINGS, {"sensor": "kitchen/temp"})
    assert alice.get(device_url(kitchen.device_id)).json["last_used_at"] is None


# --- scope ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sensor, allowed",
    [
        ("kitchen/temp", True),
        ("kitchen/door/open", True),
        ("kitchen/", True),
        ("door", True),
        ("kitchen", False),
        ("kitchenette/temp", False),
        ("door/open", False),
        ("Door", False),
        ("garden", False),
    ],
)
def test_a_device_writes_exactly_the_sensors_its_patterns_name(
    kitchen, count_rows, sensor, allowed
):
    response = kitchen.post(READINGS, reading(sensor=sensor))
    if allowed:
        assert response.status_code == 201
    else:
        assert response.status_code == 403
        assert response.content_type == "application/problem+json"
        assert response.json["errors"] == [
            {"pointer": "/sensor", "message": "is a sensor this device may not write"}
        ]
    assert count_rows() == (1 if allowed else 0)


@pytest.mark.parametrize(
    "pattern, sensor, allowed",
    [
        ("a*b", "a*b", True),
        ("a*b", "axb", False),
        ("*", "*", True),
        ("*", "anything", False),
        ("kitchen*", "kitchen/temp", False),
        ("/*", "/x", True),
        ("a/*/*", "a/*/x", True),
        ("a/*/*", "a/b/x", False),
    ],
)
def test_a_star_is_a_wildcard_only_after_a_final_slash(alice, pattern, sensor, allowed):
    device = create_device(alice, "box", sensors=[pattern])
    response = DeviceKey(alice.client, device["key"]).post(
        READINGS, reading(sensor=sensor)
    )
    assert response.status_code == (201 if allowed else 403)


def test_a_batch_with_items_out_of_scope_names_each_and_stores_nothing(
    kitchen, count_rows
):
    items = [
        reading(sensor="kitchen/temp"),
        reading(sensor="garden"),
        reading(sensor="door"),
        reading(sensor="kitchen"),
    ]
    response = kitchen.post(BATCH, {"readings": items})
    assert response.status_code == 403
    assert [e["pointer"] for e in response.json["errors"]] == [
        "/readings/1/sensor",
        "/readings/3/sensor",
    ]
    assert count_rows() == 0


def test_validation_comes_before_scope(kitchen, count_rows):
    items = [reading(sensor="garden"), {"sensor": "kitchen/temp"}]
    response = kitchen.post(BATCH, {"readings": items})
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json["errors"]] == ["/readings/1/data"]
    assert count_rows() == 0


def test_a_client_id_of_a_reading_out_of_scope_is_a_403_and_stores_nothing(
    alice, kitchen, count_rows
):
    """The answer to a repeated client_id would show the other sensor's reading."""
    secret = new_client_id()
    alice.post(READINGS, json=reading(sensor="bedroom", client_id=secret))
    single = kitchen.post(READINGS, reading(sensor="kitchen/temp", client_id=secret))
    assert single.status_code == 403
    assert [e["pointer"] for e in single.json["errors"]] == ["/client_id"]
    items = [
        reading(sensor="kitchen/temp", client_id=new_client_id()),
        reading(sensor="kitchen/temp"),
        reading(sensor="kitchen/temp", client_id=secret),
    ]
    batch = kitchen.post(BATCH, {"readings": items})
    assert batch.status_code == 403
    assert [e["pointer"] for e in batch.json["errors"]] == ["/readings/2/client_id"]
    assert count_rows() == 1
    assert "bedroom" not in single.get_data(as_text=True) + batch.get_data(as_text=True)


def test_a_client_id_of_a_reading_in_scope_answers_it(alice, kitchen):
    mine = new_client_id()
    first = alice.post(READINGS, json=reading(sensor="kitchen/temp", client_id=mine))
    again = kitchen.post(READINGS, reading(sensor="kitchen/temp", client_id=mine))
    assert again.status_code == 200 and again.json == first.json


def test_a_new_scope_applies_from_the_next_request(alice, kitchen):
    assert kitchen.post(READINGS, reading(sensor="garden")).status_code == 403
    alice.patch(device_url(kitchen.device_id), json={"sensors": ["garden"]})
    assert kitchen.post(READINGS, reading(sensor="garden")).status_code == 201
    assert kitchen.post(READINGS, reading(sensor="door")).status_code == 403
    alice.patch(device_url(kitchen.device_id), json={"sensors": None})
    assert kitchen.post(READINGS, reading(sensor="door")).status_code == 201


# --- rate limit ----------------------------------------------------------------


def limited_app(app_with, limit="2 per minute"):
    return app_with(DEVICE_RATE_LIMIT=limit).test_client()


def test_each_device_is_limited_with_all_its_keys_and_both_uploads(
    app_with, alice, in_app
):
    client = limited_app(app_with, "3 per minute")
    device = create_device(alice, "box")
    first = DeviceKey(client, device["key"])
    rotated = alice.post(
        device_url(device["id"], "/rotate"), json={"grace_seconds": 600}
    ).json
    second = DeviceKey(client, rotated["key"])
    batch = {"readings": [reading() for _ in range(10)]}  # a batch counts as one
    statuses = [
        first.post(READINGS, reading()).status_code,
        second.post(BATCH, batch).status_code,
        first.post(BATCH, batch).status_code,
    ]
    assert statuses == [201, 201, 201]
    limited = second.post(READINGS, reading())
    assert limited.status_code == 429
    assert limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1
    assert first.post(BATCH, batch).status_code == 429


def test_the_device_limit_counts_neither_user_tokens_nor_other_devices(app_with, alice):
    client = limited_app(app_with, "1 per minute")
    one = DeviceKey(client, create_device(alice, "one")["key"])
    two = DeviceKey(client, create_device(alice, "two")["key"])
    assert one.post(READINGS, reading()).status_code == 201
    assert one.post(READINGS, reading()).status_code == 429
    assert two.post(READINGS, reading()).status_code == 201
    for _ in range(3):
        response = client.post(READINGS, json=reading(), headers=alice.headers)
        assert response.status_code == 201
        assert "X-RateLimit-Limit" not in response.headers


def test_a_limited_upload_stores_nothing(app_with, alice, count_rows):
    client = limited_app(app_with, "1 per minute")
    key = DeviceKey(client, create_device(alice, "one")["key"])
    key.post(READINGS, reading())
    assert key.post(BATCH, {"readings": [reading()]}).status_code == 429
    assert count_rows() == 1


# --- the key itself --------------------------------------------------------------


def test_a_device_key_is_checked_on_every_request_in_every_app(app_with, alice):
    """Revocation needs no cache to expire: another app (worker) sees it at once."""
    device = create_device(alice, "box")
    other_worker = DeviceKey(app_with().test_client(), device["key"])
    assert other_worker.post(READINGS, reading()).status_code == 201
    alice.delete(device_url(device["id"]))
    assert other_worker.post(READINGS, reading()).status_code == 401


def test_a_key_expires_on_time_without_any_request_in_between(alice, in_app):
    device = create_device(alice, "box")
    alice.post(device_url(device["id"], "/rotate"), json={"grace_seconds": 60})
    in_app(time_passes_for_keys, device["id"], 60)
    response = DeviceKey(alice.client, device["key"]).post(READINGS, reading())
    assert response.status_code == 401


@pytest.mark.parametrize("path", [READINGS, BATCH])
def test_a_device_deleted_between_its_key_check_and_the_insert_gets_401(
    app, box, count_rows, monkeypatch, path
):
    """Found as a hostile user: the foreign key failed, and the answer was a 409.

    Another connection deletes the device (and commits) after the key was
    found live, just before the upload's INSERT of readings.
    """
    insert = readings_service._insert

    def delete_first(*args):
        with db.engine.connect() as other:
            other.execute(
                sa.text("DELETE FROM devices WHERE id = :id"), {"id": box.device_id}
            )
            other.commit()
        return insert(*args)

    monkeypatch.setattr(readings_service, "_insert", delete_first)
    item = reading(sensor="garden/soil")
    response = box.post(path, item if path == READINGS else {"readings": [item]})
    assert response.status_code == 401, response.json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count_rows() == 0
