"""Managing devices with a user's token: create, list, read, change, rotate, delete."""

import hashlib
import re
import time

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.devices import (
    DEVICES,
    DeviceKey,
    create_device,
    device_url,
    time_passes_for_keys,
)
from testing.limits import race_to_each_limit
from testing.readings import READINGS, reading

KEY = re.compile(r"mdk_[A-Za-z0-9_-]{43}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def stored_rows(in_app):
    """Every row of devices and device_keys, as plain tuples."""

    def read():
        with db.engine.connect() as conn:
            return {
                name: [
                    tuple(row) for row in conn.execute(sa.text(f"SELECT * FROM {name}"))
                ]
                for name in ("devices", "device_keys")
            }

    return in_app(read)


def test_creating_a_device_answers_201_with_its_key_shown_once(alice, in_app):
    response = alice.post(DEVICES, json={"name": "garden box"})
    assert response.status_code == 201
    device = response.json
    assert set(device) == {
        "id",
        "name",
        "sensors",
        "key_prefix",
        "created_at",
        "last_used_at",
        "key",
    }
    assert KEY.fullmatch(device["key"])
    assert device["key_prefix"] == device["key"][:12]
    assert device["sensors"] is None and device["last_used_at"] is None
    assert TIMESTAMP.fullmatch(device["created_at"])
    assert response.headers["Location"] == device_url(device["id"])
    shown = alice.get(response.headers["Location"]).json
    assert shown == {k: v for k, v in device.items() if k != "key"}
    # Only the SHA-256 of the key is stored: its text is nowhere in the database.
    rows = stored_rows(in_app)
    digest = hashlib.sha256(device["key"].encode()).hexdigest()
    assert [row[0] for row in rows["device_keys"]] == [digest]
    assert device["key"] not in repr(rows)


def test_every_device_gets_its_own_key(alice):
    keys = {create_device(alice, f"box {n}")["key"] for n in range(5)}
    assert len(keys) == 5


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({}, "/name"),
        ({"name": ""}, "/name"),
        ({"name": "n" * 101}, "/name"),
        ({"name": "tab\there"}, "/name"),
        ({"name": "bell\x07"}, "/name"),
        ({"name": "line\n"}, "/name"),
        ({"name": "box", "sensors": []}, "/sensors"),
        ({"name": "box", "sensors": ["s"] * 2}, "/sensors"),
        ({"name": "box", "sensors": [f"s{n}" for n in range(33)]}, "/sensors"),
        ({"name": "box", "sensors": [""]}, "/sensors/0"),
        ({"name": "box", "sensors": ["ok", "s" * 65]}, "/sensors/1"),
        ({"name": "box", "sensors": ["a\x00b"]}, "/sensors/0"),
        ({"name": "box", "sensors": "kitchen/*"}, "/sensors"),
        ({"name": "box", "key": "mdk_" + "a" * 43}, "/key"),
        ({"name": "box", "user_id": 1}, "/user_id"),
    ],
)
def test_a_bad_device_is_a_400_at_its_pointer_and_stores_nothing(
    alice, in_app, body, pointer
):
    response = alice.post(DEVICES, json=body)
    assert response.status_code == 400, response.json
    assert pointer in [error["pointer"] for error in response.json["errors"]]
    assert stored_rows(in_app) == {"devices": [], "device_keys": []}


def test_past_the_per_user_limit_creating_a_device_is_a_409(app_with, alice, bob):
    client = app_with(DEVICES_MAX_PER_USER=2).test_client()

    def create(account, name):
        return client.post(DEVICES, json={"name": name}, headers=account.headers)

    assert [create(alice, n).status_code for n in ("a", "b", "c")] == [201, 201, 409]
    assert create(bob, "bob's").status_code == 201
    assert len(alice.get(DEVICES).json["items"]) == 2


def test_devices_are_listed_in_id_order_in_pages_and_only_your_own(alice, bob):
    mine = [create_device(alice, f"box {n}")["id"] for n in range(5)]
    create_device(bob, "bob's")
    first = alice.get(DEVICES + "?limit=2").json
    seen = [d["id"] for d in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = alice.get(f"{DEVICES}?limit=2&cursor={cursor}").json
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
    assert seen == mine
    assert all("key" not in d for d in first["items"])


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_another_users_device_is_a_404_like_a_missing_one(alice, bob, method):
    theirs = create_device(bob, "bob's")["id"]
    body = {"name": "mine now"} if method == "PATCH" else None
    other = alice.client.open(
        device_url(theirs), method=method, json=body, headers=alice.headers
    )
    missing = alice.client.open(
        device_url(2_000_000_000), method=method, json=body, headers=alice.headers
    )
    assert other.status_code == missing.status_code == 404
    assert other.json == missing.json
    assert bob.get(device_url(theirs)).json["name"] == "bob's"


def test_another_users_device_cannot_be_rotated(alice, bob):
    theirs = create_device(bob, "bob's")
    response = alice.post(device_url(theirs["id"], "/rotate"), json={})
    assert response.status_code == 404
    uploaded = DeviceKey(bob.client, theirs["key"]).post(READINGS, reading())
    assert uploaded.status_code == 201


def test_patch_renames_and_rescopes_a_device(alice):
    device = create_device(alice, "box")
    url = device_url(device["id"])
    renamed = alice.patch(url, json={"name": "shed"})
    assert renamed.status_code == 200
    assert renamed.json["name"] == "shed" and renamed.json["sensors"] is None
    scoped = alice.patch(url, json={"sensors": ["shed/*"]}).json
    assert (scoped["name"], scoped["sensors"]) == ("shed", ["shed/*"])
    assert alice.patch(url, json={}).json == scoped
    assert alice.patch(url, json={"sensors": None}).json["sensors"] is None
    assert alice.get(url).json["sensors"] is None


@pytest.mark.parametrize(
    "member", ["id", "key", "key_prefix", "created_at", "last_used_at", "user_id"]
)
def test_patching_a_read_only_or_unknown_member_is_a_400_at_it(alice, member):
    device = create_device(alice, "box")
    response = alice.patch(device_url(device["id"]), json={member: 1, "name": "x"})
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json["errors"]] == [f"/{member}"]
    assert alice.get(device_url(device["id"])).json["name"] == "box"


def test_rotating_without_grace_ends_the_old_key_at_once(alice):
    device = create_device(alice, "box")
    old = DeviceKey(alice.client, device["key"])
    rotated = alice.post(device_url(device["id"], "/rotate"), json={})
    assert rotated.status_code == 200
    new = DeviceKey(alice.client, rotated.json["key"])
    assert rotated.json["id"] == device["id"] and new.key != old.key
    assert rotated.json["key_prefix"] == new.key[:12]
    assert alice.get(device_url(device["id"])).json["key_prefix"] == new.key[:12]
    assert old.post(READINGS, reading()).status_code == 401
    assert new.post(READINGS, reading()).status_code == 201


def test_a_rotated_key_works_through_its_grace_and_fails_after_it(alice, in_app):
    """Time moves by the test's hand (time_passes_for_keys), never by sleeping."""
    device = create_device(alice, "box")
    old = DeviceKey(alice.client, device["key"])
    url = device_url(device["id"], "/rotate")
    before = time.time()
    new = DeviceKey(
        alice.client, alice.post(url, json={"grace_seconds": 600}).json["key"]
    )
    after = time.time()
    assert old.post(READINGS, reading()).status_code == 201
    assert new.post(READINGS, reading()).status_code == 201
    (expires,) = in_app(time_passes_for_keys, device["id"], 599)
    assert (before + 600) * 1e6 <= expires <= (after + 600) * 1e6
    assert old.post(READINGS, reading()).status_code == 201  # a second to go
    in_app(time_passes_for_keys, device["id"], 1)
    assert old.post(READINGS, reading()).status_code == 401
    assert new.post(READINGS, reading()).status_code == 201


def test_rotating_again_ends_an_earlier_grace_at_once(alice, in_app):
    device = create_device(alice, "box")
    url = device_url(device["id"], "/rotate")
    first = DeviceKey(alice.client, device["key"])
    second = DeviceKey(
        alice.client, alice.post(url, json={"grace_seconds": 3600}).json["key"]
    )
    third = DeviceKey(
        alice.client, alice.post(url, json={"grace_seconds": 3600}).json["key"]
    )
    statuses = [
        key.post(READINGS, reading()).status_code for key in (first, second, third)
    ]
    assert statuses == [401, 201, 201]
    assert len(stored_rows(in_app)["device_keys"]) == 2  # at most two keys live


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"grace_seconds": -1}, "/grace_seconds"),
        ({"grace_seconds": 604801}, "/grace_seconds"),
        ({"grace_seconds": 1.5}, "/grace_seconds"),
        ({"grace_seconds": "60"}, "/grace_seconds"),
        ({"grace": 60}, "/grace"),
    ],
)
def test_a_bad_rotation_is_a_400_and_keeps_the_key(alice, body, pointer):
    device = create_device(alice, "box")
    response = alice.post(device_url(device["id"], "/rotate"), json=body)
    assert response.status_code == 400
    assert [e["pointer"] for e in response.json["errors"]] == [pointer]
    assert (
        DeviceKey(alice.client, device["key"]).post(READINGS, reading()).status_code
        == 201
    )


def test_the_longest_grace_is_a_week(alice):
    device = create_device(alice, "box")
    url = device_url(device["id"], "/rotate")
    assert alice.post(url, json={"grace_seconds": 604800}).status_code == 200
    assert (
        DeviceKey(alice.client, device["key"]).post(READINGS, reading()).status_code
        == 201
    )


def test_deleting_a_device_ends_its_keys_and_keeps_its_readings(alice, in_app):
    device = create_device(alice, "box")
    key = DeviceKey(alice.client, device["key"])
    stored = key.post(READINGS, reading()).json
    assert stored["device_id"] == device["id"]
    assert alice.delete(device_url(device["id"])).status_code == 204
    assert key.post(READINGS, reading()).status_code == 401
    assert alice.get(device_url(device["id"])).status_code == 404
    assert alice.delete(device_url(device["id"])).status_code == 404
    kept = alice.get(f"{READINGS}{stored['id']}").json
    assert kept == dict(stored, device_id=None)
    assert stored_rows(in_app) == {"devices": [], "device_keys": []}


def test_deleting_the_owner_deletes_their_devices_and_ends_the_keys(alice, in_app):
    device = create_device(alice, "box")
    gone = alice.delete("/api/v1/users/me", json={"current_password": alice.password})
    assert gone.status_code == 204
    assert (
        DeviceKey(alice.client, device["key"]).post(READINGS, reading()).status_code
        == 401
    )
    assert stored_rows(in_app) == {"devices": [], "device_keys": []}


def test_racing_creates_past_a_limit_of_one_store_exactly_one_device(app_with, alice):
    race_to_each_limit(
        app_with, "DEVICES_MAX_PER_USER", alice, DEVICES, {"name": "box"}
    )
    assert len(alice.get(DEVICES).json["items"]) == 5
