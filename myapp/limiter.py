"""Flask-Limiter, shared; storage is in-process unless REDIS_URL is set.

Every limit is a decorator on the view it guards, and a decorated view checks
its own limits when called. Flask-Limiter also runs a before_request check on
every request, which only serves app-wide or default limits; this app declares
none, so that hook is taken out: it cost 70-95 us on every request
(bench/README.md) to find nothing to check.

The limits and what they count (each a config key holding a limit string):
- LOGIN_RATE_LIMIT: login attempts per client network and per account, however
  the account is named (username in any case, or email);
- REGISTER_RATE_LIMIT: registrations per client network (each one an Argon2 hash);
- PASSWORD_CHECK_RATE_LIMIT: wrong current_password answers (403) per user on
  PATCH and DELETE /users/me, so a stolen access token cannot guess it;
- DEVICE_RATE_LIMIT: uploads per device, all its keys and both upload
  operations together (a batch counts as one); user tokens are not counted.
A client network is an IPv4 address or an IPv6 /64 (one host holds a whole
/64 and can rotate through it freely).
"""

import ipaddress
import time

from flask import current_app, request
from flask_limiter import Limiter
from limits.storage import MemoryStorage
from sqlalchemy.exc import DBAPIError

# Config keys that would declare limits the before_request hook must enforce.
APP_WIDE_LIMIT_KEYS = (
    "RATELIMIT_DEFAULT",
    "RATELIMIT_APPLICATION",
    "RATELIMIT_META",
    "RATELIMIT_IN_MEMORY_FALLBACK",
)
# Longer names are never accounts (the login schema's limit): no lookup for them.
LOGIN_NAME_MAX = 254


class InlineExpiryMemoryStorage(MemoryStorage):
    """limits' in-process storage, its stale counters dropped inline, no thread.

    MemoryStorage starts a threading.Timer on any hit 10 ms after the last one
    fired, and start() waits for the new thread to take the GIL: up to 5 ms
    (the switch interval) of a worker's time, every 10 ms under load. Device
    uploads, limited on every request, lost a quarter of their throughput to it
    (bench/README.md). A counter past its window is dropped when read anyway
    (MemoryStorage.get); the sweep of unread ones runs here, at most every
    SWEEP_SECONDS, in the request that comes after.
    """

    STORAGE_SCHEME = ["memory-inline"]
    SWEEP_SECONDS = 10.0

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self):
        """Sweep inline when due, instead of a thread 10 ms from now."""
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


def client_network():
    """The client's IPv4 address or IPv6 /64 (ProxyFix makes it the real one)."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def configured(key):
    """A limit string read from the app's config when the limit is checked."""
    return lambda: current_app.config[key]


def login_account_key():
    """One bucket per account, whether it is named by username or by email."""
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    if not isinstance(name, str) or not 0 < len(name) <= LOGIN_NAME_MAX:
        return "login-name:"
    if not name.isprintable():  # the schema refuses it; never send it to SQL
        return "login-name:" + name.lower()
    from myapp.db import db
    from myapp.users.service import find_user_id_by_login

    try:
        user_id = find_user_id_by_login(login=name)
    except DBAPIError:
        # Flask-Limiter retries a failing key function without end; the view's
        # own query then meets the outage and answers 503.
        db.session.rollback()
        user_id = None
    return f"login-account:{user_id}" if user_id else "login-name:" + name.lower()


def current_user_key():
    """The authenticated user (use below @authenticated)."""
    # Imported here: auth -> errors -> limiter would be a cycle at import time.
    from myapp.auth import current_caller

    return f"user:{current_caller().user_id}"


def current_device_key():
    """The calling device, whichever of its keys it used (use below @authenticated)."""
    from myapp.auth import current_caller

    return f"device:{current_caller().device_id}"


def _not_a_device():
    from myapp.auth import current_caller

    return current_caller().device_id is None


def _wrong_password(response):
    return response.status_code == 403


limiter = Limiter(key_func=client_network, default_limits=[])

login_per_account = limiter.limit(
    configured("LOGIN_RATE_LIMIT"), key_func=login_account_key
)
login_per_network = limiter.limit(configured("LOGIN_RATE_LIMIT"))
register_per_network = limiter.limit(configured("REGISTER_RATE_LIMIT"))
# One bucket per user for PATCH and DELETE /users/me; only wrong passwords count.
wrong_password_per_user = limiter.shared_limit(
    configured("PASSWORD_CHECK_RATE_LIMIT"),
    scope="current-password",
    key_func=current_user_key,
    deduct_when=_wrong_password,
)
# One bucket per device for POST /readings/ and POST /readings/batch.
per_device = limiter.shared_limit(
    configured("DEVICE_RATE_LIMIT"),
    scope="device-uploads",
    key_func=current_device_key,
    exempt_when=_not_a_device,
)


def init_app(app):
    limiter.init_app(app)
    if limiter.enabled and not any(app.config.get(k) for k in APP_WIDE_LIMIT_KEYS):
        # ValueError here means Flask-Limiter changed its hook: fail at start-up.
        app.before_request_funcs[None].remove(limiter._check_request_limit)
