"""Registration, login, refresh rotation, logout and the rules around them."""

import pytest

from testing.accounts import PASSWORD, USER_FIELDS, bearer

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


def register(client, username="carol", email=None, password=PASSWORD):
    body = {"username": username, "email": email or f"{username}@example.com"}
    body["password"] = password
    return client.post(REGISTER, json=body)


def login(client, username, password=PASSWORD):
    return client.post(LOGIN, json={"username": username, "password": password})


def test_register_answers_201_with_user_and_location(client):
    response = register(client, "carol", "Carol@Example.COM")
    assert response.status_code == 201
    body = response.json
    assert set(body) == USER_FIELDS
    assert body["email"] == "carol@example.com"
    assert body["is_admin"] is False
    assert body["created_at"].endswith("Z")
    assert response.headers["Location"] == f"/api/v1/users/{body['id']}"


@pytest.mark.parametrize(
    "username, email",
    [("CAROL", "other@example.com"), ("other", "CAROL@example.com")],
)
def test_register_taken_username_or_email_in_any_case_answers_409(
    client, username, email
):
    assert register(client, "carol").status_code == 201
    response = register(client, username, email)
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"username": "ab", "email": "a@b.co", "password": PASSWORD}, "/username"),
        (
            {"username": "bad name", "email": "a@b.co", "password": PASSWORD},
            "/username",
        ),
        ({"username": "x" * 33, "email": "a@b.co", "password": PASSWORD}, "/username"),
        (
            {"username": "carol", "email": "not-an-email", "password": PASSWORD},
            "/email",
        ),
        # Control characters are not part of an address (the spec says so too).
        (
            {"username": "carol", "email": "\x08@example.com", "password": PASSWORD},
            "/email",
        ),
        ({"username": "carol", "email": "a@b.co", "password": "short"}, "/password"),
        ({"username": "carol", "email": "a@b.co", "password": "p" * 129}, "/password"),
        ({"username": "carol", "email": "a@b.co"}, "/password"),
        (
            {"username": "carol1234", "email": "a@b.co", "password": "CAROL1234"},
            "/password",
        ),
        (
            {
                "username": "carol",
                "email": "a@b.co",
                "password": PASSWORD,
                "is_admin": True,
            },
            "/is_admin",
        ),
    ],
)
def test_register_invalid_field_answers_400_pointing_at_it(client, body, pointer):
    response = client.post(REGISTER, json=body)
    assert response.status_code == 400
    assert pointer in [error["pointer"] for error in response.json["errors"]]


def test_register_cannot_make_an_admin_by_mass_assignment(client, in_app):
    body = {"username": "carol", "email": "c@example.com", "password": PASSWORD}
    client.post(REGISTER, json=dict(body, is_admin=True, id=2147480000))
    assert client.post(REGISTER, json=body).status_code == 201
    tokens = login(client, "carol").json
    me = client.get(ME, headers=bearer(tokens["access_token"])).json
    assert me["is_admin"] is False and me["id"] != 2147480000


def test_password_is_stored_as_argon2id_hash_never_plain(client, in_app):
    from myapp.users.models import User

    register(client, "carol")
    stored = in_app(lambda: User.query.filter_by(username="carol").one().password_hash)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_login_returns_bearer_token_pair(client, alice):
    response = login(client, "alice")
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"] and body["refresh_token"]
    assert client.get(ME, headers=bearer(body["access_token"])).status_code == 200


def test_login_accepts_email_in_any_case_and_username_in_any_case(client, alice):
    assert login(client, "ALICE@example.com").status_code == 200
    assert login(client, "Alice").status_code == 200


def test_login_unknown_user_and_wrong_password_answer_the_same_401(client, alice):
    unknown = login(client, "nobody")
    wrong = login(client, "alice", "wrong password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")


def test_login_missing_password_answers_400(client):
    response = client.post(LOGIN, json={"username": "alice"})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/password"


def test_refresh_returns_new_pair_and_revokes_the_used_refresh_token(client, alice):
    first = client.post(REFRESH, headers=bearer(alice.refresh_token))
    assert first.status_code == 200
    assert first.json["refresh_token"] != alice.refresh_token
    assert client.get(ME, headers=bearer(first.json["access_token"])).status_code == 200
    again = client.post(REFRESH, headers=bearer(first.json["refresh_token"]))
    assert again.status_code == 200


def test_reusing_a_refresh_token_revokes_the_whole_login_session(client, alice):
    rotated = client.post(REFRESH, headers=bearer(alice.refresh_token)).json
    reuse = client.post(REFRESH, headers=bearer(alice.refresh_token))
    assert reuse.status_code == 401
    # Every token of that login, old and new, is now dead.
    assert client.get(ME, headers=bearer(rotated["access_token"])).status_code == 401
    assert client.get(ME, headers=alice.headers).status_code == 401
    refreshed = client.post(REFRESH, headers=bearer(rotated["refresh_token"]))
    assert refreshed.status_code == 401


def test_reuse_detection_leaves_other_login_sessions_alive(client, alice):
    other = login(client, "alice").json
    client.post(REFRESH, headers=bearer(alice.refresh_token))
    client.post(REFRESH, headers=bearer(alice.refresh_token))
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200


def test_access_token_cannot_be_used_to_refresh(client, alice):
    assert client.post(REFRESH, headers=alice.headers).status_code == 401


def test_logout_answers_204_and_kills_access_and_refresh_of_that_session(client, alice):
    other = login(client, "alice").json
    assert client.post(LOGOUT, headers=alice.headers).status_code == 204
    assert client.get(ME, headers=alice.headers).status_code == 401
    assert client.post(REFRESH, headers=bearer(alice.refresh_token)).status_code == 401
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200


def test_logout_with_a_refresh_token_answers_401(client, alice):
    assert client.post(LOGOUT, headers=bearer(alice.refresh_token)).status_code == 401


def test_login_is_rate_limited_per_username_with_retry_after(app_with, alice):
    client = app_with(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = [login(client, "alice", "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = login(client, "alice")
    assert blocked.status_code == 429
    assert blocked.content_type == "application/problem+json"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # Another username from the same address still has its own budget... until
    # the per-address limit, which counts every attempt, is reached too.
    assert login(client, "bob").status_code == 429


def test_login_rate_limit_per_username_holds_across_addresses(app_with, alice):
    client = app_with(LOGIN_RATE_LIMIT="2 per minute").test_client()
    for octet in range(1, 4):
        response = client.post(
            LOGIN,
            json={"username": "alice", "password": "wrong"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{octet}"},
        )
    assert response.status_code == 429


def test_login_still_works_and_is_limited_when_redis_is_unreachable(app_with):
    broken = app_with(
        REDIS_URL="redis://127.0.0.1:1/0", LOGIN_RATE_LIMIT="2 per minute"
    )
    client = broken.test_client()
    statuses = [login(client, "nobody", "wrong").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_an_app_wide_default_limit_set_by_the_operator_is_enforced(app_with):
    client = app_with(RATELIMIT_DEFAULT="2 per minute").test_client()
    statuses = [client.get("/api/v1/health").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
