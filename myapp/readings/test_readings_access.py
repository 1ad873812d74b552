"""Who may touch which reading: every token failure is a 401, others' are a 404."""

import pytest

from testing.readings import BATCH, EXPORT, READINGS, STATS, reading
from testing.tokens import BAD_TOKEN_KINDS, bad_headers

PROTECTED = [
    ("POST", READINGS, reading()),
    ("POST", BATCH, {"readings": [reading()]}),
    ("GET", READINGS, None),
    ("GET", READINGS + "{reading}", None),
    ("DELETE", READINGS + "{reading}", None),
    ("GET", STATS + "?sensor=kitchen/temp&field=celsius", None),
    ("GET", EXPORT, None),
]


@pytest.fixture
def alices_reading(alice):
    return alice.post(READINGS, json=reading()).json


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
@pytest.mark.parametrize(
    "method, path, body", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED]
)
def test_a_bad_token_answers_401_and_changes_nothing(
    app,
    client,
    alice,
    expired_token,
    alices_reading,
    count_rows,
    method,
    path,
    body,
    kind,
):
    headers = bad_headers(kind, alice, expired_token, client, app)
    url = path.format(reading=alices_reading["id"])
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count_rows() == 1


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_another_users_reading_answers_404_like_a_missing_one(
    alice, bob, alices_reading, method
):
    theirs = bob.client.open(
        f"{READINGS}{alices_reading['id']}", method=method, headers=bob.headers
    )
    missing = bob.client.open(f"{READINGS}999999", method=method, headers=bob.headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_data() == missing.get_data()
    assert alice.get(f"{READINGS}{alices_reading['id']}").status_code == 200


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_admin_has_no_access_to_a_users_readings(
    admin, alice, alices_reading, method
):
    url = f"{READINGS}{alices_reading['id']}"
    response = admin.client.open(url, method=method, headers=admin.headers)
    assert response.status_code == 404
    assert alice.get(url).status_code == 200


def test_lists_show_only_your_own_readings(alice, bob, admin, alices_reading):
    bobs = bob.post(READINGS, json=reading()).json
    assert [i["id"] for i in alice.get(READINGS).json["items"]] == [
        alices_reading["id"]
    ]
    assert [i["id"] for i in bob.get(READINGS).json["items"]] == [bobs["id"]]
    assert admin.get(READINGS).json["items"] == []


def test_a_client_id_used_by_another_user_never_reveals_their_reading(alice, bob):
    body = reading(data={"secret": 1}, client_id="0e3c2a3e-8c44-4c39-9f3a-3b1f7a2e0c11")
    alice.post(READINGS, json=body)
    response = bob.post(
        READINGS, json=reading(data={"mine": 1}) | {"client_id": body["client_id"]}
    )
    assert response.status_code == 201 and response.json["data"] == {"mine": 1}
