"""Verified addresses: the message at registration and on a change, its link
followed as a person would, single use, 48 hours; the user's email_verified."""

import time

import pytest

from myapp import create_app
from myapp.config import IncompleteConfigError
from testing.accounts import PASSWORD, bearer
from testing.mail import token_of
from testing.servers import env_for_tests, free_port, start_uwsgi

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
VERIFY = "/api/v1/auth/verify-email"
ME = "/api/v1/users/me"
AGAIN = "/api/v1/users/me/verify-email"


@pytest.fixture
def mail_app(app_with, mail_config):
    return app_with(**mail_config)


def register(client, username, email=None):
    body = {"username": username, "email": email or f"{username}@example.com"}
    created = client.post(REGISTER, json=dict(body, password=PASSWORD))
    assert created.status_code == 201, created.json
    tokens = client.post(LOGIN, json={"username": username, "password": PASSWORD})
    return created.json, bearer(tokens.json["access_token"])


def the_link(mail_server, address, count=1):
    """The verification link of the count-th message to address."""
    message = mail_server.wait_for(count, to=address)[count - 1]
    (link,) = [url for url in message.links() if "verify-email" in url]
    return link


def test_registration_sends_a_link_that_verifies_the_address_once(
    mail_app, mail_server
):
    client = mail_app.test_client()
    user, headers = register(client, "dora", "Dora@Example.com")
    assert user["email_verified"] is False
    (message,) = mail_server.wait_for(1, to="dora@example.com")
    assert message.message["Subject"] == "[myapp] Confirm your email address"
    assert message.message["From"] == "myapp <alerts@myapp.example>"
    link = the_link(mail_server, "dora@example.com")
    assert link.startswith("https://myapp.example/app/#/verify-email?token=")
    # As the person's browser does: the page, then the page posts the token.
    assert client.get("/app/").status_code == 200
    token = token_of(link)
    assert client.post(VERIFY, json={"token": token}).status_code == 204
    assert client.get(ME, headers=headers).json["email_verified"] is True
    again = client.post(VERIFY, json={"token": token})
    assert again.status_code == 400
    assert again.json["errors"][0]["pointer"] == "/token"


def test_a_tampered_or_foreign_token_is_a_400_at_token(mail_app, mail_server):
    client = mail_app.test_client()
    register(client, "dora")
    token = token_of(the_link(mail_server, "dora@example.com"))
    for bad in (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "x", "a.b.c"):
        answer = client.post(VERIFY, json={"token": bad})
        assert answer.status_code == 400, bad
        assert answer.json["errors"] == [
            {
                "pointer": "/token",
                "message": "is not a valid link, or it was already used",
            }
        ]


def test_a_link_older_than_48_hours_is_a_400_that_says_it_expired(
    mail_app, mail_server
):
    """The link is dated by the clock it was made with: made 48 h and 1 s ago."""
    from myapp.users import verification
    from myapp.users.models import User

    client = mail_app.test_client()
    user, headers = register(client, "dora")
    with mail_app.app_context():
        from myapp.db import db

        nonce = db.session.get(User, user["id"]).email_verify_nonce
        made = time.time() - 48 * 3600 - 1
        old = verification.make_token(user_id=user["id"], nonce=nonce, issued_at=made)
        fresh = verification.make_token(
            user_id=user["id"], nonce=nonce, issued_at=made + 2
        )
        db.session.remove()
    expired = client.post(VERIFY, json={"token": old})
    assert expired.status_code == 400
    assert "expired" in expired.json["errors"][0]["message"]
    assert client.get(ME, headers=headers).json["email_verified"] is False
    assert client.post(VERIFY, json={"token": fresh}).status_code == 204


def test_an_email_change_sends_a_new_link_and_unverifies_until_it_is_followed(
    mail_app, mail_server
):
    client = mail_app.test_client()
    user, headers = register(client, "dora")
    first = token_of(the_link(mail_server, "dora@example.com"))
    assert client.post(VERIFY, json={"token": first}).status_code == 204
    changed = client.patch(
        ME,
        json={"email": "dora@elsewhere.example", "current_password": PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.json["email_verified"] is False
    second = token_of(the_link(mail_server, "dora@elsewhere.example"))
    # The old address's link does not verify the new one.
    assert client.post(VERIFY, json={"token": first}).status_code == 400
    assert client.post(VERIFY, json={"token": second}).status_code == 204
    assert client.get(ME, headers=headers).json["email_verified"] is True


def test_a_time_zone_change_alone_keeps_the_address_verified(mail_app, mail_server):
    client = mail_app.test_client()
    _, headers = register(client, "dora")
    token = token_of(the_link(mail_server, "dora@example.com"))
    client.post(VERIFY, json={"token": token})
    patched = client.patch(ME, json={"time_zone": "Europe/Berlin"}, headers=headers)
    assert patched.json["email_verified"] is True
    assert len(mail_server.received) == 1


def test_asking_again_sends_a_link_every_one_of_which_works_until_one_is_used(
    mail_app, mail_server
):
    client = mail_app.test_client()
    _, headers = register(client, "dora")
    assert client.post(AGAIN, headers=headers).status_code == 202
    first = token_of(the_link(mail_server, "dora@example.com", 1))
    second = token_of(the_link(mail_server, "dora@example.com", 2))
    assert client.post(VERIFY, json={"token": second}).status_code == 204
    assert client.post(VERIFY, json={"token": first}).status_code == 400
    done = client.post(AGAIN, headers=headers)
    assert done.status_code == 409
    assert done.json["detail"] == "Your email address is already verified."


def test_asking_again_is_rate_limited_per_user(app_with, mail_config, mail_server):
    client = app_with(**mail_config, VERIFY_EMAIL_RATE_LIMIT="2 per hour").test_client()
    _, headers = register(client, "dora")
    answers = [client.post(AGAIN, headers=headers).status_code for _ in range(3)]
    assert answers == [202, 202, 429]
    assert len(mail_server.wait_for(3)) == 3  # registration's and two more


def test_without_email_configured_nothing_is_sent_and_nothing_is_verified(
    client, mail_server
):
    user, headers = register(client, "dora")
    assert user["email_verified"] is False
    assert client.post(AGAIN, headers=headers).status_code == 409
    assert mail_server.received == []


@pytest.mark.parametrize("missing", ["MAIL_FROM", "PUBLIC_URL"])
def test_the_app_refuses_to_start_with_smtp_but_without_sender_or_public_url(
    database_url, mail_config, missing
):
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url}
    config.update(mail_config, **{missing: None})
    with pytest.raises(IncompleteConfigError, match=missing):
        create_app(config)


def test_the_app_refuses_an_smtp_url_of_another_scheme(database_url, mail_config):
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url}
    config.update(mail_config, SMTP_URL="http://127.0.0.1:25")
    with pytest.raises(IncompleteConfigError, match="smtp://"):
        create_app(config)


def test_the_link_followed_over_http_as_a_person_would(app, database_url, mail_server):
    """Registration over HTTP to uWSGI; the message's link opened, its page
    served, the token posted from it: the address is verified."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = env_for_tests(
        database_url,
        MYAPP_SMTP_URL=mail_server.url(),
        MYAPP_MAIL_FROM="alerts@myapp.example",
        MYAPP_PUBLIC_URL=public,
    )
    server = start_uwsgi(env, port=port, processes=1, name="uwsgi-verify")
    try:
        body = {"username": "erin", "email": "erin@example.com", "password": PASSWORD}
        created = server.request("POST", REGISTER, body)
        assert created.status == 201
        assert created.json["email_verified"] is False
        link = the_link(mail_server, "erin@example.com")
        assert link.startswith(f"{public}/app/#/verify-email?token=")
        page = server.request("GET", link[len(public) :].partition("#")[0])
        assert page.status == 200 and b"<script" in page.body
        verified = server.request("POST", VERIFY, {"token": token_of(link)})
        assert verified.status == 204
        tokens = server.request(
            "POST", LOGIN, {"username": "erin", "password": PASSWORD}
        ).json
        me = server.request("GET", ME, headers=bearer(tokens["access_token"]))
        assert me.json["email_verified"] is True
    finally:
        server.stop()


def test_a_verified_address_reads_false_where_email_is_no_longer_configured(
    mail_app, mail_server, client
):
    _, headers = register(mail_app.test_client(), "dora")
    token = token_of(the_link(mail_server, "dora@example.com"))
    assert mail_app.test_client().post(VERIFY, json={"token": token}).status_code == 204
    assert client.get(ME, headers=headers).json["email_verified"] is False
