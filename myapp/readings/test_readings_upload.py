"""POST /readings/ and /readings/batch: storing, validation and safe retries."""

from datetime import datetime, timezone

import pytest

from testing.readings import BATCH, READINGS, new_client_id, reading


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_posting_a_reading_answers_201_with_location_and_the_reading(alice):
    body = reading(recorded_at="2024-05-01T12:30:00.123456+02:00", data={"c": 1})
    response = alice.post(READINGS, json=body)
    assert response.status_code == 201
    created = response.json
    assert set(created) == {
        "id",
        "sensor",
        "recorded_at",
        "data",
        "client_id",
        "device_id",
        "created_at",
    }
    assert created["recorded_at"] == "2024-05-01T10:30:00.123456Z"
    assert created["data"] == {"c": 1} and created["client_id"] is None
    assert created["device_id"] is None  # a user's token, not a device key
    assert response.headers["Location"] == f"{READINGS}{created['id']}"
    assert alice.get(response.headers["Location"]).json == created


def test_a_reading_without_recorded_at_gets_the_server_time(alice):
    before = datetime.now(timezone.utc)
    created = alice.post(READINGS, json=reading()).json
    after = datetime.now(timezone.utc)
    assert before <= parse(created["recorded_at"]) <= after
    assert created["recorded_at"] == created["created_at"]


def test_null_recorded_at_and_client_id_mean_left_out(alice):
    response = alice.post(READINGS, json=reading(recorded_at=None, client_id=None))
    assert response.status_code == 201 and response.json["client_id"] is None


def test_fractions_beyond_microseconds_are_cut_and_offsets_become_utc(alice):
    body = reading(recorded_at="2024-01-01T00:00:00.1234569-05:30")
    created = alice.post(READINGS, json=body).json
    assert created["recorded_at"] == "2024-01-01T05:30:00.123456Z"


def test_a_repeated_client_id_answers_200_with_the_reading_first_stored(
    alice, count_rows
):
    client_id = new_client_id()
    first = alice.post(READINGS, json=reading(data={"v": 1}, client_id=client_id))
    again = alice.post(READINGS, json=reading(data={"v": 2}, client_id=client_id))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == first.json and again.json["data"] == {"v": 1}
    assert count_rows() == 1


def test_client_ids_are_compared_without_case(alice, count_rows):
    client_id = new_client_id()
    first = alice.post(READINGS, json=reading(client_id=client_id.upper()))
    again = alice.post(READINGS, json=reading(client_id=client_id))
    assert first.json["client_id"] == client_id
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert count_rows() == 1


def test_the_same_client_id_of_two_users_stores_two_readings(alice, bob, count_rows):
    client_id = new_client_id()
    assert alice.post(READINGS, json=reading(client_id=client_id)).status_code == 201
    assert bob.post(READINGS, json=reading(client_id=client_id)).status_code == 201
    assert count_rows(client_id=client_id) == 2


def test_a_batch_answers_201_with_ids_in_input_order(alice):
    items = [reading(data={"i": i}) for i in range(5)]
    response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 201
    assert response.json["created"] == 5
    ids = response.json["ids"]
    assert [alice.get(f"{READINGS}{i}").json["data"]["i"] for i in ids] == list(
        range(5)
    )


def test_a_batch_maps_repeated_client_ids_to_the_id_first_stored(alice, count_rows):
    old, new = new_client_id(), new_client_id()
    old_id = alice.post(READINGS, json=reading(client_id=old)).json["id"]
    items = [
        reading(data={"n": 0}),
        reading(data={"n": 1}, client_id=new),
        reading(data={"n": 2}, client_id=old),
        reading(data={"n": 3}, client_id=new.upper()),
        reading(data={"n": 4}),
    ]
    response = alice.post(BATCH, json={"readings": items})
    ids = response.json["ids"]
    assert response.status_code == 201 and response.json["created"] == 3
    assert ids[2] == old_id and ids[3] == ids[1]
    assert len(set(ids)) == 4
    assert alice.get(f"{READINGS}{ids[1]}").json["data"] == {"n": 1}
    assert count_rows() == 4


def test_retrying_a_whole_batch_stores_nothing_new(alice, count_rows):
    items = [reading(data={"i": i}, client_id=new_client_id()) for i in range(50)]
    first = alice.post(BATCH, json={"readings": items}).json
    again = alice.post(BATCH, json={"readings": items})
    assert again.status_code == 201
    assert again.json == {"ids": first["ids"], "created": 0}
    assert count_rows() == 50


def test_a_batch_of_1000_is_stored(alice, count_rows):
    items = [reading(data={"i": i}) for i in range(1000)]
    response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 201 and len(response.json["ids"]) == 1000
    assert response.json["ids"] == sorted(response.json["ids"])
    assert count_rows() == 1000


@pytest.mark.parametrize("size", [0, 1001])
def test_a_batch_of_0_or_over_1000_readings_answers_400(alice, size, count_rows):
    response = alice.post(BATCH, json={"readings": [reading()] * size})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/readings"
    assert count_rows() == 0


def test_one_invalid_item_rejects_the_whole_batch_and_names_it(alice, count_rows):
    items = [reading() for _ in range(10)]
    items[7] = reading(data=[1, 2])
    items[3] = reading(sensor="")
    response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 400
    pointers = [error["pointer"] for error in response.json["errors"]]
    assert pointers == ["/readings/3/sensor", "/readings/7/data"]
    assert count_rows() == 0


def test_a_batch_failing_a_code_rule_stores_nothing(alice, count_rows):
    items = [reading(client_id=new_client_id()) for _ in range(10)]
    items[9] = reading(data={"big": 2**64})
    response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 400
    assert response.json["errors"] == [
        {
            "pointer": "/readings/9/data/big",
            "message": "is an integer outside the signed 64-bit range",
        }
    ]
    assert count_rows() == 0


def test_a_batch_with_an_unknown_top_level_field_answers_400(alice):
    response = alice.post(BATCH, json={"readings": [reading()], "extra": 1})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/extra"


LONGEST_SENSOR = "s" * 64


def deep(levels):
    """data nested `levels` deep, data itself being level 1."""
    value = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def sized(total):
    """data whose compact JSON is exactly total bytes."""
    return {"x": "a" * (total - len('{"x":""}'))}


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"data": {}}, "/sensor"),
        (reading(sensor=""), "/sensor"),
        (reading(sensor=LONGEST_SENSOR + "s"), "/sensor"),
        (reading(sensor=7), "/sensor"),
        (reading(sensor="a\u0000b"), "/sensor"),
        ({"sensor": "s"}, "/data"),
        (reading(data=None) | {"data": None}, "/data"),
        (reading(data=[1]), "/data"),
        (reading(data="text"), "/data"),
        (reading(data=deep(17)), "/data" + "/a" * 16),
        (reading(data=sized(16 * 1024 + 1)), "/data"),
        (reading(data={"k\u0000": 1}), "/data/k\u0000"),
        (reading(data={"k": "v\u0000"}), "/data/k"),
        (reading(data={"list": [1, {"deep": "\u0000"}]}), "/data/list/1/deep"),
        (reading(data={"n": 2**63}), "/data/n"),
        (reading(data={"n": -(2**63) - 1}), "/data/n"),
        (reading(data={"a/b~c": [10**30]}), "/data/a~1b~0c/0"),
        (reading(recorded_at="2024-01-01T00:00:00"), "/recorded_at"),
        (reading(recorded_at="2024-01-01"), "/recorded_at"),
        (reading(recorded_at="yesterday"), "/recorded_at"),
        (reading(recorded_at="2024-02-30T00:00:00Z"), "/recorded_at"),
        (reading(recorded_at="2024-01-01T24:00:00Z"), "/recorded_at"),
        (reading(recorded_at="0000-12-31T23:00:00Z"), "/recorded_at"),
        (reading(recorded_at="0001-01-01T00:30:00+01:00"), "/recorded_at"),
        (reading(recorded_at="9999-12-31T23:30:00-01:00"), "/recorded_at"),
        (reading(recorded_at="2024-01-01T00:00:00Z\n"), "/recorded_at"),
        (reading(recorded_at=1700000000), "/recorded_at"),
        (reading(client_id="not-a-uuid"), "/client_id"),
        (reading(client_id=new_client_id() + "\n"), "/client_id"),
        (reading(client_id=12), "/client_id"),
        (reading(id=5), "/id"),
        (reading(user_id=2), "/user_id"),
        (reading(created_at="2024-01-01T00:00:00Z"), "/created_at"),
    ],
)
def test_an_invalid_reading_answers_400_naming_the_field(
    alice, body, pointer, count_rows
):
    single = alice.post(READINGS, json=body)
    assert single.status_code == 400
    assert single.content_type == "application/problem+json"
    assert [error["pointer"] for error in single.json["errors"]] == [pointer]
    batch = alice.post(BATCH, json={"readings": [reading(), body]})
    assert batch.status_code == 400
    assert [e["pointer"] for e in batch.json["errors"]] == ["/readings/1" + pointer]
    assert count_rows() == 0


@pytest.mark.parametrize(
    "raw",
    [
        '{"sensor": "s", "data": {"x": 1e400}}',
        '{"sensor": "s", "data": {"x": -1e400}}',
        '{"sensor": "s", "data": {"x": "\\ud800"}}',
        '{"sensor": "\\udfff", "data": {}}',
        '{"sensor": "s", "data": {"\\ud800": 1}}',
        '{"sensor": "s", "data": {"x": "\\u0000"}}',
    ],
)
def test_numbers_and_text_the_databases_cannot_store_answer_400(alice, raw, count_rows):
    response = alice.client.post(
        READINGS, data=raw, headers=alice.headers | {"Content-Type": "application/json"}
    )
    # Lone surrogates are refused by the JSON parser itself, the rest by pointer.
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert count_rows() == 0


@pytest.mark.parametrize(
    "data",
    [
        deep(16),
        sized(16 * 1024),
        {"max": 2**63 - 1, "min": -(2**63), "f": 0.1, "g": -2.5e-300},
        {"tiny": 5e-324, "neg": -0.0, "t": True, "n": None, "s": "\\u0000 is text"},
        {"unicode": "größe °C ✓ 😀", "ключ": "значение"},
        {"brackets": "{[" * 20, "nested": [[[1]]]},
        {"digits": "1234567890123456789012345", "float": 0.5},
    ],
    ids=[
        "16 deep",
        "16 KiB",
        "int64 edges",
        "scalars",
        "unicode",
        "brackets",
        "digits",
    ],
)
def test_data_at_the_limits_is_stored_and_read_back_unchanged(alice, data):
    response = alice.post(READINGS, json=reading(data=data))
    assert response.status_code == 201, response.json
    assert alice.get(response.headers["Location"]).json["data"] == data


@pytest.mark.parametrize("number", [1.7976931348623157e308, 1.2345678901234568e20])
def test_large_floats_read_back_as_the_same_number(alice, number):
    # PostgreSQL's JSONB keeps the exact decimal, which may read back as an integer.
    response = alice.post(READINGS, json=reading(data={"f": number}))
    assert response.status_code == 201
    assert float(alice.get(response.headers["Location"]).json["data"]["f"]) == number


@pytest.mark.parametrize(
    "recorded_at, stored",
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("0001-01-01T05:00:00+04:00", "0001-01-01T01:00:00.000000Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
        ("1969-07-20T20:17:40.5z", "1969-07-20T20:17:40.500000Z"),
        ("2024-02-29 12:00:00-00:00", "2024-02-29T12:00:00.000000Z"),
    ],
)
def test_timestamps_across_the_whole_range_round_trip(alice, recorded_at, stored):
    response = alice.post(READINGS, json=reading(recorded_at=recorded_at))
    assert response.status_code == 201, response.json
    assert response.json["recorded_at"] == stored
    assert alice.get(response.headers["Location"]).json["recorded_at"] == stored


def test_a_longest_sensor_name_is_accepted(alice):
    assert alice.post(READINGS, json=reading(sensor=LONGEST_SENSOR)).status_code == 201


def test_a_body_that_is_not_json_answers_415(alice):
    response = alice.client.post(
        READINGS,
        data="sensor=s",
        headers=alice.headers | {"Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_unparseable_json_answers_400(alice):
    response = alice.client.post(
        BATCH, data="{", headers=alice.headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_a_body_over_one_mebibyte_answers_413(alice, count_rows):
    items = [reading(data=sized(15000)) for _ in range(80)]
    response = alice.post(BATCH, json={"readings": items})
    assert response.status_code == 413
    assert count_rows() == 0


def test_deleting_the_user_deletes_their_readings(alice, count_rows):
    alice.post(BATCH, json={"readings": [reading() for _ in range(3)]})
    response = alice.delete(
        "/api/v1/users/me", json={"current_password": alice.password}
    )
    assert response.status_code == 204
    assert count_rows() == 0
