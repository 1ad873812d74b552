"""Who may open a stream: a per-user limit shared by every worker, a per-process cap.

A user's open streams are leases in Redis (a sorted set scored by expiry) or in
this process; each stream renews its lease with every heartbeat, so a stream
whose worker died frees its slot once the lease runs out. Under uWSGI alone a
stream holds a thread: at most STREAMS_PER_PROCESS (default threads - 1) per
process, so one thread always serves the other requests.
"""

import threading
import time
import uuid

try:
    import uwsgi
except ImportError:  # not running under uWSGI
    uwsgi = None

# Streams per process outside uWSGI (flask run, tests): threads are not counted.
UNCOUNTED_THREADS_STREAMS = 8

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


def streams_per_process(config):
    configured = config.get("STREAMS_PER_PROCESS")
    if configured is not None:
        return int(configured)
    if uwsgi is None:
        return UNCOUNTED_THREADS_STREAMS
    threads = uwsgi.opt.get("threads", b"1")
    if isinstance(threads, list):  # set twice in the ini: the last one holds
        threads = threads[-1]
    return max(int(threads) - 1, 0)


class ProcessSlots:
    """The streams this process may hold at once."""

    def __init__(self, count):
        self._free = threading.BoundedSemaphore(count) if count > 0 else None

    def take(self):
        return self._free is not None and self._free.acquire(blocking=False)

    def give_back(self):
        self._free.release()


class RedisUserSlots:
    """Leases of a user's streams, shared by every worker and host."""

    def __init__(self, client, limit, lease_seconds):
        self.redis, self.limit, self.lease = client, limit, lease_seconds
        self._acquire = client.register_script(_ACQUIRE)

    def take(self, user_id):
        """A lease id, or None when the user holds the limit already."""
        lease = uuid.uuid4().hex
        now = int(time.time() * 1000)
        args = [now, now + int(self.lease * 1000), self.limit, lease]
        taken = self._acquire(keys=[f"myapp:live:{user_id}:streams"], args=args)
        return lease if taken else None

    def renew(self, user_id, lease):
        expiry = int((time.time() + self.lease) * 1000)
        key = f"myapp:live:{user_id}:streams"
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {lease: expiry}).pexpireat(key, expiry).execute()

    def give_back(self, user_id, lease):
        self.redis.zrem(f"myapp:live:{user_id}:streams", lease)


class MemoryUserSlots:
    """The same leases in this process."""

    def __init__(self, limit, lease_seconds):
        self.limit, self.lease = limit, lease_seconds
        self._lock = threading.Lock()
        self._leases = {}

    def take(self, user_id):
        with self._lock:
            now = time.time()
            held = self._leases.setdefault(user_id, {})
            for lease, expiry in list(held.items()):
                if expiry <= now:
                    del held[lease]
            if len(held) >= self.limit:
                return None
            lease = uuid.uuid4().hex
            held[lease] = now + self.lease
            return lease

    def renew(self, user_id, lease):
        with self._lock:
            self._leases.setdefault(user_id, {})[lease] = time.time() + self.lease

    def give_back(self, user_id, lease):
        with self._lock:
            self._leases.get(user_id, {}).pop(lease, None)
