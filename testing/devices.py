"""Devices as a client holds them: URLs, creating one, and its key as a header."""

from testing.accounts import bearer

DEVICES = "/api/v1/devices/"


def device_url(device_id, tail=""):
    return f"{DEVICES}{device_id}{tail}"


def create_device(account, name="box", **fields):
    """A new device of account (asserts 201): its JSON, key included."""
    response = account.post(DEVICES, json={"name": name, **fields})
    assert response.status_code == 201, response.json
    return response.json


class DeviceKey:
    """A device key on the Flask test client, posting like a device does."""

    def __init__(self, client, key, device_id=None):
        self.client = client
        self.key = key
        self.device_id = device_id

    @property
    def headers(self):
        return bearer(self.key)

    def open(self, url, method="GET", json=None, **kw):
        return self.client.open(url, method=method, json=json, headers=self.headers)

    def post(self, url, json=None):
        return self.open(url, "POST", json)


def device_key(account, name="box", **fields):
    """A new device of account and its key, ready to upload."""
    device = create_device(account, name, **fields)
    return DeviceKey(account.client, device["key"], device["id"])


def time_passes_for_keys(device_id, seconds):
    """(In an app context.) A controllable clock for key expiry: as if `seconds`
    passed, each expiring key of the device expires that much earlier; the
    expiries as they were, in microseconds."""
    import sqlalchemy as sa

    from myapp.db import db

    where = " WHERE device_id = :device AND expires_at IS NOT NULL"
    found = db.session.execute(
        sa.text("SELECT expires_at FROM device_keys" + where), {"device": device_id}
    )
    before = [int(value) for value in found.scalars()]
    db.session.execute(
        sa.text("UPDATE device_keys SET expires_at = expires_at - :by" + where),
        {"device": device_id, "by": int(seconds * 1_000_000)},
    )
    db.session.commit()
    return before
