"""`flask devices create`: provisioning scripts get a key on stdout, once."""

import re

from testing.devices import DEVICES, DeviceKey
from testing.readings import READINGS, reading


def create(app, *args):
    return app.test_cli_runner().invoke(args=["devices", "create", *args])


def test_create_prints_only_the_key_on_stdout_and_it_uploads(app, alice):
    result = create(
        app, "--username", "alice", "--name", "gateway", "--sensor", "kitchen/*"
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert re.fullmatch(r"mdk_[A-Za-z0-9_-]{43}", key)
    (device,) = alice.get(DEVICES).json["items"]
    assert (device["name"], device["sensors"]) == ("gateway", ["kitchen/*"])
    assert device["key_prefix"] == key[:12]
    uploader = DeviceKey(alice.client, key)
    assert uploader.post(READINGS, reading(sensor="kitchen/temp")).status_code == 201
    assert uploader.post(READINGS, reading(sensor="garden")).status_code == 403


def test_create_without_sensors_may_write_any_and_accepts_an_email(app, alice):
    result = create(app, "--username", "alice@example.com", "--name", "phone")
    assert result.exit_code == 0, result.output
    assert alice.get(DEVICES).json["items"][0]["sensors"] is None


def test_create_refuses_an_unknown_user_and_bad_input(app, alice):
    unknown = create(app, "--username", "nobody", "--name", "x")
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    bad = create(app, "--username", "alice", "--name", "", "--sensor", "a\x00b")
    assert bad.exit_code != 0
    assert "name" in bad.output and "sensors/0" in bad.output
    undecodable = create(app, "--username", "alice", "--name", "caf\udce9")
    assert undecodable.exit_code != 0 and "UTF-8" in undecodable.output
    assert unknown.stdout == bad.stdout == undecodable.stdout == ""
    assert alice.get(DEVICES).json["items"] == []


def test_create_past_the_limit_fails_with_the_reason(app_with, alice):
    limited = app_with(DEVICES_MAX_PER_USER=1)
    assert create(limited, "--username", "alice", "--name", "one").exit_code == 0
    again = create(limited, "--username", "alice", "--name", "two")
    assert again.exit_code != 0 and "limit of 1 devices" in again.output
