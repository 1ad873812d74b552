"""UPLOAD_RATE_LIMIT: uploads per user with the user's own token, when set."""

from testing.devices import DeviceKey, create_device
from testing.readings import BATCH, READINGS, reading


def posting(client, account):
    def post(url, body):
        return client.post(url, json=body, headers=account.headers)

    return post


def test_a_set_limit_counts_each_users_token_uploads_a_batch_once(
    app_with, alice, bob, count_rows
):
    client = app_with(UPLOAD_RATE_LIMIT="2 per minute").test_client()
    post = posting(client, alice)
    batch = {"readings": [reading() for _ in range(5)]}
    assert post(READINGS, reading()).status_code == 201
    assert post(BATCH, batch).status_code == 201
    limited = post(BATCH, batch)
    assert limited.status_code == 429
    assert limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1
    assert count_rows() == 6  # the limited batch stored nothing
    # Another user, and alice's device (limited per device), are not counted.
    assert posting(client, bob)(READINGS, reading()).status_code == 201
    key = DeviceKey(client, create_device(alice, "box")["key"])
    assert key.post(READINGS, reading()).status_code == 201


def test_unset_no_upload_is_limited_or_told_of_a_limit(app_with, alice):
    client = app_with(UPLOAD_RATE_LIMIT=None).test_client()
    post = posting(client, alice)
    for _ in range(12):
        response = post(READINGS, reading())
        assert response.status_code == 201
        assert "X-RateLimit-Limit" not in response.headers
