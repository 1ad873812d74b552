"""Every token failure on every protected users/auth operation is a 401."""

import base64
import json
import time

import jwt
import pytest

from conftest import PASSWORD, bearer

PROTECTED = [
    ("GET", "/api/v1/users/me", None),
    ("PATCH", "/api/v1/users/me", {"current_password": PASSWORD}),
    ("DELETE", "/api/v1/users/me", {"current_password": PASSWORD}),
    ("GET", "/api/v1/users/", None),
    ("GET", "/api/v1/users/{alice}", None),
    ("DELETE", "/api/v1/users/{alice}", None),
    ("POST", "/api/v1/auth/logout", None),
]


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_headers(kind, alice, expired_token, client, app):
    """The Authorization header for one kind of bad credential."""
    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    if kind == "none":
        return {}
    if kind == "malformed":
        return bearer("not.a.jwt")
    if kind == "not bearer":
        return {"Authorization": f"Basic {alice.access_token}"}
    if kind == "empty bearer":
        return {"Authorization": "Bearer "}
    if kind == "expired":
        return bearer(expired_token)
    if kind == "bad signature":
        return bearer(jwt.encode(claims, "another-secret-key-" * 3, algorithm="HS256"))
    if kind == "alg none":
        return bearer(_b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + ".")
    if kind == "alg HS512":
        key = app.config["SECRET_KEY"]
        return bearer(jwt.encode(claims, key, algorithm="HS512"))
    if kind == "refresh as access":
        return bearer(alice.refresh_token)
    if kind == "revoked":
        tokens = client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
        ).json
        client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        return bearer(tokens["access_token"])
    if kind == "future nbf":
        key = app.config["SECRET_KEY"]
        later = dict(claims, nbf=int(time.time()) + 3600)
        return bearer(jwt.encode(later, key, algorithm="HS256"))
    if kind == "missing sid":
        key = app.config["SECRET_KEY"]
        stripped = {k: v for k, v in claims.items() if k != "sid"}
        return bearer(jwt.encode(stripped, key, algorithm="HS256"))
    raise AssertionError(kind)


KINDS = [
    "none",
    "malformed",
    "not bearer",
    "empty bearer",
    "expired",
    "bad signature",
    "alg none",
    "alg HS512",
    "refresh as access",
    "revoked",
    "future nbf",
    "missing sid",
]


@pytest.mark.parametrize("kind", KINDS)
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
