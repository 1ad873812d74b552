"""Flask-Limiter, shared; storage is in-process unless REDIS_URL is set.

Every limit is a decorator on the view it guards, and a decorated view checks
its own limits when called. Flask-Limiter also runs a before_request check on
every request, which only serves app-wide or default limits; this app declares
none, so that hook is taken out: it cost every request time to find nothing
to check (bench/readings/profile_post.py shows where a request's time goes).

Features declare their limits with this limiter beside the views they guard,
each keyed on what it counts and reading a config key that holds a limit string.
A client network is an IPv4 address or an IPv6 /64 (one host holds a whole
/64 and can rotate through it freely).
"""

import ipaddress
import time

from flask import current_app, request
from flask_limiter import Limiter
from limits.storage import MemoryStorage

# Config keys that would declare limits the before_request hook must enforce.
APP_WIDE_LIMIT_KEYS = (
    "RATELIMIT_DEFAULT",
    "RATELIMIT_APPLICATION",
    "RATELIMIT_META",
    "RATELIMIT_IN_MEMORY_FALLBACK",
)


class InlineExpiryMemoryStorage(MemoryStorage):
    """limits' in-process storage, its stale counters dropped inline, no thread.

    MemoryStorage starts a threading.Timer on any hit 10 ms after the last one
    fired, and start() waits for the new thread to take the GIL: up to 5 ms
    (the switch interval) of a worker's time, every 10 ms under load. Device
    uploads, limited on every request, lost throughput to it (the device round
    of bench/run.sh readings). A counter past its window is dropped when read anyway
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


limiter = Limiter(key_func=client_network, default_limits=[])


def init_app(app):
    limiter.init_app(app)
    if limiter.enabled and not any(app.config.get(k) for k in APP_WIDE_LIMIT_KEYS):
        # ValueError here means Flask-Limiter changed its hook: fail at start-up.
        app.before_request_funcs[None].remove(limiter._check_request_limit)
