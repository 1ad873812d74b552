"""HTTP to a live server in which every response body is checked for leaks."""

from testing.accounts import PASSWORD

# What must never appear in any response body.
FORBIDDEN_IN_BODIES = (
    "Traceback (most recent call last)",
    'File "/',
    "password_hash",
    "$argon2",
    PASSWORD,
)


def assert_clean(response):
    """No traceback, no password material, whatever the status."""
    text = response.body.decode("utf-8", "replace")
    for needle in FORBIDDEN_IN_BODIES:
        assert needle not in text, f"{needle!r} in a {response.status} body: {text}"
    return response


class Http:
    """Requests to one live server (testing.servers.Uwsgi), optionally as a user."""

    def __init__(self, server, token=None):
        self.server = server
        self.token = token

    def request(self, method, path, body=None, headers=None, raw=None, token=None):
        headers = dict(headers or {})
        token = token if token is not None else self.token
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.server.request(method, path, body, headers=headers, raw=raw)
        return assert_clean(response)

    def as_user(self, token):
        return Http(self.server, token)
