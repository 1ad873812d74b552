"""The replay store: each user's recent events, shared by every worker and host.

With REDIS_URL, a list per user in Redis (bounded by age, count and bytes in
one Lua script) and a pub/sub channel that wakes the streams; without it, the
same in this process only (one process, development). Event ids are a per-user
counter, so "what did I miss after id n" is a range, and a gap means a reset.
"""

import collections
import threading
import time
from typing import NamedTuple

import redis


class Event(NamedTuple):
    id: int
    at_ms: int
    name: str
    data: str  # JSON text


class Limits(NamedTuple):
    seconds: int
    events: int
    bytes: int


def _now_ms():
    return int(time.time() * 1000)


def redis_keys(user_id):
    """A user's event list, id counter, byte count and wake-up channel in Redis."""
    base = f"myapp:live:{user_id}"
    return f"{base}:events", f"{base}:seq", f"{base}:bytes", f"{base}:wake"


def parse_entry(item):
    """An Event from one entry of a user's Redis list."""
    event_id, at_ms, name, data = item.decode().split("\n", 3)
    return Event(int(event_id), int(at_ms), name, data)


def missed(entries, seq, last_id, limits):
    """Events after last_id, or None when some of them are gone (a reset)."""
    oldest = _now_ms() - limits.seconds * 1000
    entries = [event for event in entries if event.at_ms >= oldest]
    if last_id > seq:
        return None  # an id this store never gave (or forgot with its counter)
    wanted = [event for event in entries if event.id > last_id]
    if last_id < seq and (not wanted or wanted[0].id != last_id + 1):
        return None
    return wanted


_PUBLISH = """
local id = redis.call('INCR', KEYS[2])
local entry = id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2]
redis.call('RPUSH', KEYS[1], entry)
local bytes = redis.call('INCRBY', KEYS[3], #entry)
local count = redis.call('LLEN', KEYS[1])
local oldest = tonumber(ARGV[3]) - tonumber(ARGV[6])
while count > 1 do
  local head = redis.call('LINDEX', KEYS[1], 0)
  local first = string.find(head, '\\n', 1, true)
  local second = string.find(head, '\\n', first + 1, true)
  local at = tonumber(string.sub(head, first + 1, second - 1))
  if count > tonumber(ARGV[4]) or bytes > tonumber(ARGV[5]) or at < oldest then
    redis.call('LPOP', KEYS[1])
    bytes = redis.call('DECRBY', KEYS[3], #head)
    count = count - 1
  else
    break
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('PEXPIRE', KEYS[2], 86400000)
redis.call('PUBLISH', ARGV[7], id)
return id
"""


class RedisStore:
    """Events in Redis: every worker and host publishes and replays the same."""

    def __init__(self, url, limits):
        self.redis = redis.Redis.from_url(url)
        self.limits = limits
        self._publish = self.redis.register_script(_PUBLISH)

    def publish(self, user_id, name, data):
        events, seq, size, wake = redis_keys(user_id)
        return int(
            self._publish(keys=[events, seq, size], args=self._args(name, data, wake))
        )

    def _args(self, name, data, wake):
        """ARGV of the publish script: event, time, bounds, channel to wake."""
        kept = self.limits
        milliseconds = kept.seconds * 1000
        return [name, data, _now_ms(), kept.events, kept.bytes, milliseconds, wake]

    def publish_many(self, news):
        """publish() each (user_id, name, data), in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for user_id, name, data in news:
                events, seq, size, wake = redis_keys(user_id)
                args = self._args(name, data, wake)
                self._publish(keys=[events, seq, size], args=args, client=pipe)
            pipe.execute()

    def last_id(self, user_id):
        return int(self.redis.get(redis_keys(user_id)[1]) or 0)

    def since(self, user_id, last_id):
        events, seq, _, _ = redis_keys(user_id)
        with self.redis.pipeline(transaction=True) as pipe:
            raw, current = pipe.lrange(events, 0, -1).get(seq).execute()
        entries = [parse_entry(item) for item in raw]
        return missed(entries, int(current or 0), last_id, self.limits)

    def listen(self, user_id):
        return _RedisListener(self.redis, redis_keys(user_id)[3])


class _RedisListener:
    """A subscription to a user's wake-up channel, for one stream."""

    def __init__(self, client, channel):
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)

    def wait(self, timeout):
        """Whether something was published within timeout seconds."""
        deadline = time.monotonic() + timeout
        woke = False
        while True:
            left = deadline - time.monotonic()
            message = self.pubsub.get_message(timeout=max(left, 0) if not woke else 0)
            if message is None:
                if woke or left <= 0:
                    return woke
                continue
            woke = True

    def close(self):
        self.pubsub.close()


class MemoryStore:
    """The same in this process only: for a single process without Redis."""

    def __init__(self, limits):
        self.limits = limits
        self._changed = threading.Condition()
        self._events = {}
        self._bytes = {}  # per user: the kept events' data, summed as they come and go
        self._seq = {}

    def publish(self, user_id, name, data):
        with self._changed:
            event_id = self._seq.get(user_id, 0) + 1
            self._seq[user_id] = event_id
            kept = self._events.setdefault(user_id, collections.deque())
            kept.append(Event(event_id, _now_ms(), name, data))
            size = self._bytes.get(user_id, 0) + len(data)
            oldest = _now_ms() - self.limits.seconds * 1000
            while len(kept) > 1 and (
                len(kept) > self.limits.events
                or size > self.limits.bytes
                or kept[0].at_ms < oldest
            ):
                size -= len(kept.popleft().data)
            self._bytes[user_id] = size
            self._changed.notify_all()
            return event_id

    def publish_many(self, news):
        for user_id, name, data in news:
            self.publish(user_id, name, data)

    def last_id(self, user_id):
        with self._changed:
            return self._seq.get(user_id, 0)

    def since(self, user_id, last_id):
        with self._changed:
            entries = list(self._events.get(user_id, []))
            seq = self._seq.get(user_id, 0)
        return missed(entries, seq, last_id, self.limits)

    def listen(self, user_id):
        return _MemoryListener(self, user_id)


class _MemoryListener:
    def __init__(self, store, user_id):
        self.store, self.user_id = store, user_id
        self.seen = store.last_id(user_id)

    def wait(self, timeout):
        with self.store._changed:
            woke = self.store._changed.wait_for(
                lambda: self.store._seq.get(self.user_id, 0) > self.seen, timeout
            )
            self.seen = self.store._seq.get(self.user_id, 0)
            return woke

    def close(self):
        """Nothing to release."""
