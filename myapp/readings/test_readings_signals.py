"""What other features hear about stored and deleted readings, and when."""

import pytest

from myapp.micros import to_micros
from myapp.readings.signals import readings_deleted, readings_stored
from myapp.timestamps import parse_timestamp
from testing.readings import BATCH, READINGS, listening, new_client_id, reading


def test_a_batch_is_heard_once_with_its_new_readings_in_item_order(alice):
    repeated = new_client_id()
    items = [
        reading(sensor="b", data={"n": 1}, client_id=repeated),
        reading(sensor="a", data={"n": 2}, recorded_at="2020-01-01T00:00:00Z"),
        reading(sensor="b", data={"n": 3}, client_id=repeated),
    ]
    with listening(readings_stored) as heard:
        response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 201
    (sent,) = heard
    assert sent["user_id"] == alice.id
    stored = sent["readings"]
    assert [r.id for r in stored] == response.json["ids"][:2]
    assert [(r.sensor, r.data) for r in stored] == [("b", {"n": 1}), ("a", {"n": 2})]
    assert stored[1].recorded_at == 1577836800 * 1_000_000
    assert all(r.device_id is None and r.created_at > 0 for r in stored)


def test_a_repeated_client_id_stores_nothing_and_is_not_heard(alice):
    body = reading(client_id=new_client_id())
    assert alice.post(READINGS, json=body).status_code == 201
    with listening(readings_stored) as heard:
        assert alice.post(READINGS, json=body).status_code == 200
    assert heard == []


def test_a_failing_receiver_rolls_the_whole_upload_back(alice, count_rows):
    def refuse(**kwargs):
        raise RuntimeError("a receiver failed")

    with listening(readings_stored, refuse):
        response = alice.post(BATCH, json={"readings": [reading(), reading()]})
    assert response.status_code == 500
    assert count_rows() == 0


@pytest.mark.parametrize("owner_deletes", [True, False])
def test_deleting_a_reading_is_heard_with_its_sensor_and_time(
    alice, bob, owner_deletes
):
    at = "2026-03-01T12:00:00Z"
    body = reading(sensor="door", recorded_at=at)
    reading_id = alice.post(READINGS, json=body).json["id"]
    deleter = alice if owner_deletes else bob
    with listening(readings_deleted) as heard:
        status = deleter.delete(f"{READINGS}{reading_id}").status_code
    if owner_deletes:
        deleted = [("door", to_micros(parse_timestamp(at)))]
        assert status == 204
        assert heard == [{"user_id": alice.id, "sensors": {"door"}, "deleted": deleted}]
    else:
        assert status == 404 and heard == []
