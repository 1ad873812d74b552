"""The contract over real HTTP: uWSGI from myapp.ini on a loopback port."""

from testing.accounts import PASSWORD


def test_health_and_root_over_http(live_server):
    health = live_server.request("GET", "/api/v1/health")
    assert health.status == 200 and health.json["status"] == "ok"
    root = live_server.request("GET", "/")
    assert root.json["docs"] == "/docs"


def test_swagger_ui_page_lists_the_api_over_http(live_server):
    docs = live_server.request("GET", "/docs")
    assert docs.status == 200 and b"swagger-ui" in docs.body
    spec = live_server.request("GET", "/api/v1/swagger.json")
    assert "/users/me" in spec.json["paths"]


def test_register_login_me_logout_over_http(live_server):
    user = {"username": "httpuser", "email": "h@example.com", "password": PASSWORD}
    created = live_server.request("POST", "/api/v1/auth/register", user)
    assert created.status == 201
    assert created.getheader("Location") == f"/api/v1/users/{created.json['id']}"
    tokens = live_server.request(
        "POST", "/api/v1/auth/login", {"username": "httpuser", "password": PASSWORD}
    ).json
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert live_server.request("GET", "/api/v1/users/me", headers=auth).status == 200
    # Both workers must see the revocation: it lives in the database.
    assert (
        live_server.request("POST", "/api/v1/auth/logout", headers=auth).status == 204
    )
    for _ in range(4):
        again = live_server.request("GET", "/api/v1/users/me", headers=auth)
        assert again.status == 401
        assert again.getheader("WWW-Authenticate").startswith("Bearer")


def test_error_statuses_over_http(live_server):
    missing = live_server.request("GET", "/api/v1/nope")
    assert missing.status == 404
    assert missing.getheader("Content-Type") == "application/problem+json"
    wrong = live_server.request("DELETE", "/api/v1/auth/login")
    assert wrong.status == 405 and "POST" in wrong.getheader("Allow")
    text = live_server.request(
        "POST",
        "/api/v1/auth/login",
        raw=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert text.status == 415
    broken = live_server.request(
        "POST",
        "/api/v1/auth/login",
        raw=b"{",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status == 400 and broken.json["status"] == 400


def test_oversized_body_answers_413_over_http(live_server):
    raw = b'{"username": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = live_server.request(
        "POST",
        "/api/v1/auth/register",
        raw=raw,
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
