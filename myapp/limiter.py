"""Flask-Limiter, shared; storage is in-process unless REDIS_URL is set.

Every limit is a decorator on the view it guards (login), and a decorated view
checks its own limits when called. Flask-Limiter also runs a before_request
check on every request, which only serves app-wide or default limits; this app
declares none, so that hook is taken out: it cost 70-95 us on every request
(bench/README.md) to find nothing to check.
"""

from flask import request
from flask_limiter import Limiter

# Config keys that would declare limits the before_request hook must enforce.
APP_WIDE_LIMIT_KEYS = (
    "RATELIMIT_DEFAULT",
    "RATELIMIT_APPLICATION",
    "RATELIMIT_META",
    "RATELIMIT_IN_MEMORY_FALLBACK",
)


def client_address():
    """The client's address (ProxyFix makes it the real one behind nginx)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, default_limits=[])


def init_app(app):
    limiter.init_app(app)
    if limiter.enabled and not any(app.config.get(k) for k in APP_WIDE_LIMIT_KEYS):
        # ValueError here means Flask-Limiter changed its hook: fail at start-up.
        app.before_request_funcs[None].remove(limiter._check_request_limit)
