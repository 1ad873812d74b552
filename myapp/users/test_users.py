"""/users: your account, admin listing, and deleting accounts."""

import pytest
from testing.accounts import PASSWORD, USER_FIELDS, bearer

ME = "/api/v1/users/me"
USERS = "/api/v1/users/"


def test_me_returns_your_account_without_password_material(alice):
    response = alice.get(ME)
    assert response.status_code == 200
    assert response.json["username"] == "alice"
    assert set(response.json) == USER_FIELDS


def test_patch_me_without_current_password_answers_400(alice):
    response = alice.patch(ME, json={"email": "new@example.com"})
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/current_password"


def test_patch_me_with_wrong_current_password_answers_403(alice):
    response = alice.patch(ME, json={"email": "n@example.com", "current_password": "x"})
    assert response.status_code == 403
    assert alice.get(ME).json["email"] == "alice@example.com"


def test_patch_me_changes_email_lower_case(alice):
    response = alice.patch(
        ME, json={"email": "New@Example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json["email"] == "new@example.com"


def test_patch_me_to_an_email_taken_in_any_case_answers_409(alice, bob):
    response = alice.patch(
        ME, json={"email": "BOB@example.com", "current_password": PASSWORD}
    )
    assert response.status_code == 409


def test_patch_me_cannot_set_admin_or_id(alice):
    response = alice.patch(
        ME, json={"is_admin": True, "id": 7, "current_password": PASSWORD}
    )
    assert response.status_code == 400
    assert alice.get(ME).json["is_admin"] is False


def test_password_change_revokes_every_other_session_but_keeps_this_one(client, alice):
    other = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    ).json
    new_password = "a brand new password"
    response = alice.patch(
        ME, json={"password": new_password, "current_password": PASSWORD}
    )
    assert response.status_code == 200
    assert alice.get(ME).status_code == 200
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 401
    old = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert old.status_code == 401
    new = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": new_password}
    )
    assert new.status_code == 200


def test_password_equal_to_username_is_rejected_on_change(make_account):
    account = make_account("longusername")
    response = account.patch(
        ME, json={"password": "LongUserName", "current_password": PASSWORD}
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["pointer"] == "/password"


def test_delete_me_with_wrong_password_answers_403_and_keeps_account(alice):
    assert alice.delete(ME, json={"current_password": "nope"}).status_code == 403
    assert alice.get(ME).status_code == 200


def test_delete_me_without_body_answers_415_or_400(alice):
    assert alice.delete(ME).status_code == 415
    assert alice.delete(ME, json={}).status_code == 400


def test_delete_me_removes_account_and_its_tokens(client, alice):
    assert alice.delete(ME, json={"current_password": PASSWORD}).status_code == 204
    assert alice.get(ME).status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert login.status_code == 401


def test_user_list_is_admin_only(alice, admin):
    assert alice.get(USERS).status_code == 403
    response = admin.get(USERS)
    assert response.status_code == 200
    assert {u["username"] for u in response.json["items"]} == {"alice", "root_admin"}
    assert response.json["next_cursor"] is None


def test_user_list_pages_with_a_cursor_exactly_once(make_account, admin):
    for n in range(5):
        make_account(f"paged{n}")
    seen, cursor = [], None
    while True:
        url = USERS + "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = admin.get(url).json
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 6 and seen == sorted(set(seen))


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("cursor=forged", "cursor"),
        ("cursor=", "cursor"),
    ],
)
def test_user_list_bad_query_answers_400_naming_the_parameter(admin, query, name):
    response = admin.get(USERS + "?" + query)
    assert response.status_code == 400
    assert response.json["errors"][0]["query"] == name


def test_user_list_limit_1000_is_allowed(admin):
    assert admin.get(USERS + "?limit=1000").status_code == 200


def test_get_user_by_id_for_self_and_admin_but_404_for_others(alice, bob, admin):
    url = f"/api/v1/users/{alice.id}"
    assert alice.get(url).status_code == 200
    assert admin.get(url).json["username"] == "alice"
    hidden = bob.get(url)
    missing = bob.get("/api/v1/users/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json


def test_admin_deletes_a_user_and_their_sessions(alice, admin):
    assert admin.delete(f"/api/v1/users/{alice.id}").status_code == 204
    assert alice.get(ME).status_code == 401
    assert admin.delete(f"/api/v1/users/{alice.id}").status_code == 404


def test_non_admin_cannot_delete_users(alice, bob):
    assert alice.delete(f"/api/v1/users/{bob.id}").status_code == 403
    assert bob.get(ME).status_code == 200


def test_demoted_admin_loses_admin_access_immediately(admin, in_app):
    from myapp.db import db
    from myapp.users.models import User

    def demote():
        db.session.get(User, admin.id).is_admin = False
        db.session.commit()

    in_app(demote)
    assert admin.get(USERS).status_code == 403


def test_create_admin_cli_makes_an_admin_from_options(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--username",
            "ops",
            "--email",
            "ops@example.com",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    tokens = client.post(
        "/api/v1/auth/login", json={"username": "ops", "password": PASSWORD}
    ).json
    assert client.get(ME, headers=bearer(tokens["access_token"])).json["is_admin"]


def test_create_admin_cli_prompts_for_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create-admin", "--username", "ops2", "--email", "o@e.com"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin ops2" in result.output


def test_create_admin_cli_rejects_invalid_input_and_duplicates(app, alice):
    runner = app.test_cli_runner()
    bad = runner.invoke(
        args=["users", "create-admin", "--username", "x", "--email", "o@e.com"],
        input="short\nshort\n",
    )
    assert bad.exit_code != 0
    assert "username" in bad.output and "password" in bad.output
    taken = runner.invoke(
        args=["users", "create-admin", "--username", "alice", "--email", "a@e.com"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert taken.exit_code != 0 and "already registered" in taken.output


def test_prune_sessions_cli_deletes_only_expired_sessions(app, alice, in_app):
    from datetime import timedelta

    from myapp.db import db, utcnow
    from myapp.users.models import AuthSession

    def expire_one():
        row = AuthSession(
            id="e" * 32,
            user_id=alice.id,
            refresh_jti="x",
            expires_at=utcnow() - timedelta(seconds=1),
        )
        db.session.add(row)
        db.session.commit()

    in_app(expire_one)
    result = app.test_cli_runner().invoke(args=["users", "prune-sessions"])
    assert "Pruned 1 expired" in result.output
    assert in_app(lambda: AuthSession.query.count()) == 1
    assert alice.get(ME).status_code == 200


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_user_ids_beyond_32_bits_answer_404_not_500(admin, method):
    response = admin.client.open(
        "/api/v1/users/4840702566201825427456", method=method, headers=admin.headers
    )
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
