"""The in-process rate-limit storage: limits' own, minus a thread every 10 ms."""

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from myapp.limiter import InlineExpiryMemoryStorage


def test_the_default_storage_is_the_inline_one(app):
    from myapp.limiter import limiter

    with app.app_context():
        assert isinstance(limiter.storage, InlineExpiryMemoryStorage)


def test_hits_count_and_limit_without_starting_threads(monkeypatch):
    storage = storage_from_string("memory-inline://")
    limiter = FixedWindowRateLimiter(storage)
    limit = parse("3 per minute")
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(
        threading.Thread, "start", lambda self: started.append(real_start(self))
    )
    allowed = []
    for _ in range(5):
        allowed.append(limiter.hit(limit, "device", "1"))
        time.sleep(0.015)  # past limits' 10 ms timer: memory:// starts another
    assert allowed == [True, True, True, False, False]
    assert limiter.hit(limit, "device", "2")
    assert started == []


def test_counters_past_their_window_are_swept_inline(monkeypatch):
    storage = InlineExpiryMemoryStorage()
    storage.incr("stale", expiry=0.01)
    monkeypatch.setattr(storage, "_next_sweep", 0)
    time.sleep(0.02)
    storage.incr("fresh", expiry=60)
    assert "stale" not in storage.storage and storage.get("fresh") == 1
