"""Which device uploaded a reading: device_id in every answer, and its filter."""

import pytest

from myapp.readings.signals import readings_stored
from testing.devices import DeviceKey, create_device, device_url
from testing.readings import (
    BATCH,
    EXPORT,
    READINGS,
    csv_records,
    listed,
    listening,
    ndjson_readings,
    reading,
)


@pytest.fixture
def uploads(alice, bob):
    """alice's reading ids by uploader (her token, devices one and two), and the
    ids of those devices and of a device of bob's (which uploaded one of his)."""
    devices = {
        name: create_device(account, name)
        for name, account in (("one", alice), ("two", alice), ("bob", bob))
    }
    keys = {name: DeviceKey(alice.client, d["key"]) for name, d in devices.items()}
    made = {"user": [], "one": [], "two": []}
    for n in range(7):
        body = reading(sensor=f"s{n % 2}", recorded_at=f"2024-01-01T00:0{n}:00Z")
        name = ["user", "one", "two"][n % 3]
        uploader = alice.client if name == "user" else keys[name].client
        headers = alice.headers if name == "user" else keys[name].headers
        made[name].append(
            uploader.post(READINGS, json=body, headers=headers).json["id"]
        )
    keys["bob"].post(READINGS, reading())
    return {"ids": made, **{name: d["id"] for name, d in devices.items()}}


def ids_of(items):
    return sorted(item["id"] for item in items)


def test_every_reading_says_which_device_uploaded_it(alice, uploads):
    by_device = {}
    for item in listed(alice):
        by_device.setdefault(item["device_id"], []).append(item["id"])
    assert by_device.keys() == {None, uploads["one"], uploads["two"]}
    assert sorted(by_device[None]) == uploads["ids"]["user"]
    assert sorted(by_device[uploads["one"]]) == uploads["ids"]["one"]
    assert sorted(by_device[uploads["two"]]) == uploads["ids"]["two"]


def test_the_list_filters_one_devices_uploads_or_the_tokens(alice, uploads):
    for name in ("one", "two"):
        items = listed(alice, f"&device_id={uploads[name]}")
        assert ids_of(items) == uploads["ids"][name]
        assert {item["device_id"] for item in items} == {uploads[name]}
    assert ids_of(listed(alice, "&device_id=none")) == uploads["ids"]["user"]
    combined = listed(alice, f"&device_id={uploads['one']}&sensor=s1&order=asc")
    s1 = {item["id"] for item in listed(alice, "&sensor=s1")}
    assert ids_of(combined) == sorted(set(uploads["ids"]["one"]) & s1)


def test_a_device_that_is_not_yours_gives_no_items_not_an_error(alice, uploads):
    for device_id in (uploads["bob"], 2_000_000_000, 0, 9_999_999_999_999_999_999):
        response = alice.get(f"{READINGS}?device_id={device_id}")
        assert response.status_code == 200, device_id
        assert response.json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "None", "", "1" * 20, "١"])
def test_a_device_id_that_is_neither_an_id_nor_none_is_a_400(alice, value):
    for url in (READINGS, EXPORT):
        response = alice.get(f"{url}?device_id={value}")
        assert response.status_code == 400
        assert response.json["errors"][0]["query"] == "device_id"


def test_a_deleted_devices_readings_become_the_tokens_kind(alice, uploads):
    alice.delete(device_url(uploads["one"]))
    assert listed(alice, f"&device_id={uploads['one']}") == []
    orphaned = uploads["ids"]["user"] + uploads["ids"]["one"]
    assert ids_of(listed(alice, "&device_id=none")) == sorted(orphaned)


def test_exports_carry_device_id_last_in_csv_and_as_a_field_in_ndjson(alice, uploads):
    one = uploads["one"]
    ndjson = ndjson_readings(alice.get(f"{EXPORT}?device_id={one}"))
    assert ids_of(ndjson) == uploads["ids"]["one"]
    assert ndjson == listed(alice, f"&device_id={one}")
    rows = csv_records(alice.get(f"{EXPORT}?format=csv&order=asc"))
    assert rows[0][-1] == "device_id"
    expected = [
        "" if item["device_id"] is None else str(item["device_id"])
        for item in listed(alice, "&order=asc")
    ]
    assert [row[-1] for row in rows[1:]] == expected
    none = csv_records(alice.get(f"{EXPORT}?format=csv&device_id=none"))
    assert sorted(int(row[0]) for row in none[1:]) == uploads["ids"]["user"]


def test_a_device_upload_is_heard_with_its_device(alice):
    device = create_device(alice, "box")
    key = DeviceKey(alice.client, device["key"])
    with listening(readings_stored) as heard:
        key.post(BATCH, {"readings": [reading(), reading()]})
        alice.post(READINGS, json=reading())
    assert [[r.device_id for r in sent["readings"]] for sent in heard] == [
        [device["id"], device["id"]],
        [None],
    ]


@pytest.mark.parametrize("device_id", [3, "none"])
def test_a_device_filtered_page_seeks_its_index_in_order(
    in_app, database_url, device_id
):
    """No sort and no scan of the user's other readings (SQLite's plan)."""
    import sqlalchemy as sa

    from myapp.db import db
    from myapp.readings import queries, rows

    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's plan depends on table statistics; see bench/")

    def plan():
        query = queries._page_query(
            user_id=1,
            after=(0, 0),
            limit=101,
            columns=rows.reading_columns(),
            device_id=device_id,
        )
        sql = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        return db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")).all()

    (detail,) = [row[-1] for row in in_app(plan)]
    assert detail.startswith(
        "SEARCH readings USING INDEX ix_readings_device_id_user_id_recorded_at"
        " (device_id=? AND user_id=?"
    ), detail
