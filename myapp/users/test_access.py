"""Every token failure on every protected users/auth operation is a 401."""

import pytest

from testing.accounts import PASSWORD
from testing.tokens import BAD_TOKEN_KINDS, bad_headers

PROTECTED = [
    ("GET", "/api/v1/users/me", None),
    ("PATCH", "/api/v1/users/me", {"current_password": PASSWORD}),
    ("DELETE", "/api/v1/users/me", {"current_password": PASSWORD}),
    ("GET", "/api/v1/users/", None),
    ("GET", "/api/v1/users/{alice}", None),
    ("DELETE", "/api/v1/users/{alice}", None),
    ("POST", "/api/v1/auth/logout", None),
]


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
@pytest.mark.parametrize("method, path, body", PROTECTED)
def test_bad_token_answers_401_problem_and_changes_nothing(
    app, client, alice, expired_token, method, path, body, kind
):
    headers = bad_headers(kind, alice, expired_token, client, app)
    url = path.format(alice=alice.id)
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert alice.get("/api/v1/users/me").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer x.y.z"}],
    ids=["no token", "malformed"],
)
def test_refresh_with_bad_token_answers_401(client, headers):
    response = client.post("/api/v1/auth/refresh", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_access_token_issued_to_a_deleted_user_answers_401(client, alice, admin):
    admin.delete(f"/api/v1/users/{alice.id}")
    assert alice.get("/api/v1/users/me").status_code == 401


@pytest.mark.parametrize(
    "method, path, user_status, admin_status",
    [
        ("GET", "/api/v1/users/", 403, 200),
        ("GET", "/api/v1/users/{bob}", 404, 200),
        ("DELETE", "/api/v1/users/{bob}", 403, 204),
    ],
)
def test_other_users_and_admin_access(
    alice, bob, admin, method, path, user_status, admin_status
):
    url = path.format(bob=bob.id)
    assert alice.client.open(url, method=method, headers=alice.headers).status_code == (
        user_status
    )
    assert admin.client.open(url, method=method, headers=admin.headers).status_code == (
        admin_status
    )
