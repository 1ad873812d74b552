"""A Python client generated from /api/v1/openapi.json drives a short journey.

openapi-python-client generates the client from the live server's OpenAPI 3.1
document, exactly as a user would, and the journey runs over uWSGI with it:
register, log in, a device and its key, a batch upload with that key, stats,
a measured goal met by the upload, an alert rule, and a problem read back as a
typed Problem. A change to the document that breaks generated clients (a
renamed operationId, a schema the generator cannot type, a response that no
longer parses) fails here.
"""

import importlib
import json
import os
import subprocess
import sys

import pytest

from testing.accounts import PASSWORD, new_username

PACKAGE = "myapp_api_client"
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def generated(live_server, tmp_path):
    """The client package, generated from the live document and imported."""
    document = live_server.request("GET", "/api/v1/openapi.json")
    assert document.status == 200
    path = tmp_path / "openapi.json"
    path.write_bytes(document.body)
    result = subprocess.run(
        [
            os.path.join(BIN, "openapi-python-client"),
            "generate",
            "--path",
            str(path),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
        ],
        cwd=tmp_path,
        env={**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def operation(tag, operation_id):
    """A generated operation's module: api/<tag>/<operationId in snake case>."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")


def test_a_generated_client_registers_uploads_and_reads_back(live_server, generated):
    models = importlib.import_module(f"{PACKAGE}.models")
    base_url = live_server.url + "/api/v1"
    anonymous = generated.Client(base_url=base_url, raise_on_unexpected_status=True)

    username = new_username("client_")
    user = operation("auth", "register").sync(
        client=anonymous,
        body=models.UserRegister.from_dict(
            {
                "username": username,
                "email": f"{username}@example.com",
                "password": PASSWORD,
            }
        ),
    )
    assert isinstance(user, models.User) and user.username == username
    tokens = operation("auth", "login").sync(
        client=anonymous,
        body=models.Login.from_dict({"username": username, "password": PASSWORD}),
    )
    assert isinstance(tokens, models.Tokens)
    me = generated.AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )

    device = operation("devices", "create_device").sync(
        client=me,
        body=models.DeviceCreate.from_dict(
            {"name": "rain gauge", "sensors": ["garden/*"]}
        ),
    )
    assert isinstance(device, models.DeviceWithKey) and device.key.startswith("mdk_")
    gauge = generated.AuthenticatedClient(
        base_url=base_url, token=device.key, raise_on_unexpected_status=True
    )
    items = [
        {"sensor": "garden/rain", "recorded_at": f"2026-03-0{day}T06:00:00Z"}
        | {"data": {"mm": mm}}
        for day, mm in ((1, 4), (2, 7.5), (3, 1))
    ]
    stored = operation("readings", "create_reading_batch").sync(
        client=gauge, body=models.ReadingBatch.from_dict({"readings": items})
    )
    assert isinstance(stored, models.ReadingBatchResult)
    assert stored.created == 3 and len(stored.ids) == 3
    refused = operation("goals", "list_goals").sync(client=gauge)
    assert isinstance(refused, models.Problem) and refused.status == 403

    stats = operation("readings", "get_reading_stats").sync(
        client=me,
        sensor="garden/rain",
        field="mm",
        bucket=models.GetReadingStatsBucket("1d"),
        tz="UTC",
    )
    assert isinstance(stats, models.ReadingStats)
    sums = [(b.to_dict()["count"], b.to_dict()["sum"]) for b in stats.buckets]
    assert sums == [(1, 4), (1, 7.5), (1, 1)]

    target = {"sensor": "garden/rain", "field": "mm", "aggregate": "sum"}
    goal = operation("goals", "create_goal").sync(
        client=me,
        body=models.GoalCreate.from_dict(
            {
                "name": "a wet spring",
                "started_at": "2026-03-01T00:00:00Z",
                "target": target | {"op": ">=", "value": 12, "period": None},
            }
        ),
    )
    assert isinstance(goal, models.Goal)
    assert goal.completed is True, json.dumps(goal.to_dict())

    rule = operation("alerts", "create_alert_rule").sync(
        client=me,
        body=models.AlertRuleCreate.from_dict(
            {
                "name": "downpour",
                "sensor": "garden/rain",
                "condition": {"type": "threshold", "field": "mm", "above": 20},
            }
        ),
    )
    assert isinstance(rule, models.AlertRule) and rule.name == "downpour"

    missing = operation("goals", "get_goal").sync(client=me, goal_id=2**31 - 1)
    assert isinstance(missing, models.Problem) and missing.status == 404
