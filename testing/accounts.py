"""Users as a client holds them: through the Flask test client, or over HTTP."""

import uuid

PASSWORD = "correct horse battery"
# What a user object holds (never password material).
USER_FIELDS = {"id", "username", "email", "email_verified", "is_admin", "time_zone"}
USER_FIELDS |= {"created_at"}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


class Account:
    """A registered user with live tokens, on the Flask test client."""

    def __init__(self, client, user, tokens):
        self.client = client
        self.user = user
        self.id = user["id"]
        self.username = user["username"]
        self.password = PASSWORD
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]

    @property
    def headers(self):
        return bearer(self.access_token)

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self.headers, **kw)

    def patch(self, url, json=None, **kw):
        return self.client.patch(url, json=json, headers=self.headers, **kw)

    def delete(self, url, json=None, **kw):
        return self.client.delete(url, json=json, headers=self.headers, **kw)


def new_username(prefix="user_"):
    return prefix + uuid.uuid4().hex[:8]


def create_admin(in_app, username=None):
    """An admin exists only through the CLI or the service, never over HTTP."""
    from myapp.users import service

    username = username or new_username("admin_")
    user_id = in_app(
        lambda: service.register(
            username=username,
            email=f"{username}@example.com",
            password=PASSWORD,
            is_admin=True,
        ).id
    )
    return username, user_id


class HttpAccount:
    """A user logged in over HTTP (an Http client that carries its token)."""

    def __init__(self, http, username, user_id, tokens):
        self.username = username
        self.id = user_id
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        self.http = http.as_user(self.access_token)

    def request(self, method, path, body=None, **kw):
        return self.http.request(method, path, body, **kw)


def login(http, username, password=PASSWORD):
    """The token pair of a login over HTTP (asserts 200)."""
    response = http.request(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}
    )
    assert response.status == 200, response.body
    return response.json


def register_over_http(http, username=None):
    """Register and log in a fresh user through the API."""
    username = username or new_username("e2e_")
    body = {"username": username, "email": f"{username}@example.com"}
    created = http.request(
        "POST", "/api/v1/auth/register", dict(body, password=PASSWORD)
    )
    assert created.status == 201, created.body
    return HttpAccount(http, username, created.json["id"], login(http, username))
