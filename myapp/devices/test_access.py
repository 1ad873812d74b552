"""Who may use which key where: every bad device key is one 401, a good one is
a 403 off the uploads, and only a user's token manages devices."""

import pytest
import sqlalchemy as sa

from myapp.db import db
from testing.accounts import bearer
from testing.devices import DEVICES, create_device, device_url
from testing.readings import BATCH, READINGS, reading
from testing.tokens import BAD_DEVICE_KEY_KINDS, bad_device_key

UPLOADS = [
    ("POST", READINGS, reading()),
    ("POST", BATCH, {"readings": [reading()]}),
]
DEVICE_OPERATIONS = [
    ("GET", DEVICES, None),
    ("POST", DEVICES, {"name": "another"}),
    ("GET", "{device}", None),
    ("PATCH", "{device}", {"name": "renamed"}),
    ("DELETE", "{device}", None),
    ("POST", "{device}/rotate", {}),
]


def every_row(in_app):
    def read():
        with db.engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(table)).all()
                for table in db.metadata.sorted_tables
            }

    return in_app(read)


@pytest.mark.parametrize("method, path, body", UPLOADS + DEVICE_OPERATIONS)
def test_every_bad_device_key_is_one_401_and_changes_nothing(
    client, alice, bob, in_app, method, path, body
):
    device = create_device(alice, "kept")
    url = path.format(device=device_url(device["id"]))
    keys = {kind: bad_device_key(kind, alice, bob) for kind in BAD_DEVICE_KEY_KINDS}
    before = every_row(in_app)
    answers = []
    for kind, key in keys.items():
        response = client.open(url, method=method, json=body, headers=bearer(key))
        assert response.status_code == 401, kind
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        answers.append(response.json)
    assert every_row(in_app) == before
    # Nothing tells a deleted or expired key from one that never existed.
    assert all(answer == answers[0] for answer in answers), answers


@pytest.mark.parametrize("method, path, body", DEVICE_OPERATIONS)
def test_a_device_key_cannot_manage_devices_not_even_itself(
    client, alice, in_app, method, path, body
):
    device = create_device(alice, "box")
    url = path.format(device=device_url(device["id"]))
    before = every_row(in_app)
    response = client.open(url, method=method, json=body, headers=bearer(device["key"]))
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert every_row(in_app) == before


def test_refresh_with_a_device_key_is_a_401(client, alice):
    key = create_device(alice, "box")["key"]
    response = client.post("/api/v1/auth/refresh", headers=bearer(key))
    assert response.status_code == 401


def test_operations_without_auth_ignore_a_device_key(client, alice):
    headers = bearer(create_device(alice, "box")["key"])
    assert client.get("/api/v1/health", headers=headers).status_code == 200
    login = client.post(
        "/api/v1/auth/login",
        json={"username": alice.username, "password": alice.password},
        headers=headers,
    )
    assert login.status_code == 200


def test_a_device_key_never_sees_a_reading_not_even_its_own(client, alice):
    key = create_device(alice, "box")["key"]
    stored = client.post(READINGS, json=reading(), headers=bearer(key)).json
    for url in (READINGS, f"{READINGS}{stored['id']}", READINGS + "latest"):
        assert client.get(url, headers=bearer(key)).status_code == 403


def test_an_admin_cannot_see_or_change_a_users_devices(admin, alice):
    device = create_device(alice, "box")
    assert admin.get(device_url(device["id"])).status_code == 404
    assert admin.delete(device_url(device["id"])).status_code == 404
    assert admin.get(DEVICES).json["items"] == []
    assert alice.get(device_url(device["id"])).status_code == 200
