"""What the alerts benches share: their server, its worker and HTTP calls.

Both run one uWSGI from myapp.ini in production config on a fresh SQLite file,
with loopback webhooks allowed (the receivers are on loopback), and the
alerts worker as a real `flask alerts worker` process on the same database.
"""

import os

import common
import seed

# Loopback receivers need both; everything else is production as deployed.
WEBHOOKS = {"MYAPP_WEBHOOK_ALLOW_HTTP": "true", "MYAPP_WEBHOOK_ALLOW_PRIVATE": "true"}


def call(server, method, path, token, body=None):
    """One request with token; its JSON answer (asserts 200 or 201)."""
    headers = {"Authorization": f"Bearer {token}"}
    status, answer = common.request(server, method, path, body, headers)
    assert status in (200, 201), (method, path, status, answer)
    return answer


def fresh_server(name, path, users):
    """A new database at path with users bench1.., and the app on it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    seed.build_empty(path, users=users)  # migrated() removes any old file first
    env = {"MYAPP_JWT_ACCESS_TOKEN_EXPIRES": "7200", **WEBHOOKS}
    return common.Server(name, f"sqlite:///{path}", extra_env=env)


def worker_env(path, **settings):
    """The environment of a production `flask alerts worker` on that database."""
    return {
        **os.environ,
        "MYAPP_CONFIG": "production",
        "SECRET_KEY": common.SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{path}",
        "FLASK_APP": "wsgi",
        **settings,
        **WEBHOOKS,
    }
