"""The relay's side of the replay store: one pub/sub connection, async reads.

It reads the very keys and ids the app's RedisStore writes (store.py), so a
stream held by the relay replays, resets and wakes exactly as one held by a
uWSGI thread; and it renews and gives back the user's stream leases that the
app's endpoint handed out (slots.py).
"""

import asyncio
import logging
import time

import redis
import redis.asyncio

from myapp.live.store import missed, parse_entry, redis_keys

log = logging.getLogger(__name__)
# The reader needs one subscription before its first read; this one never hears.
IDLE_CHANNEL = "myapp:live:relay"
CONNECTIONS = 32


class Hub:
    """Wake-ups of every stream in this process, from one Redis subscription."""

    def __init__(self, url, limits):
        # Thousands of streams renew their leases at once: they queue for a
        # connection (no timeout) instead of failing past the pool's size.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=CONNECTIONS, timeout=None
        )
        self.redis = redis.asyncio.Redis(connection_pool=pool)
        self.limits = limits
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._wakes = {}  # channel name -> set of asyncio.Event
        self._subscribed = {}  # channel name -> the SUBSCRIBE in flight or done
        self._held = set()  # (user_id, lease) of every open stream here

    async def start(self):
        await self._pubsub.subscribe(IDLE_CHANNEL)

    async def listen(self, user_id):
        """An Event set whenever user_id's channel hears a publish."""
        channel = redis_keys(user_id)[3]
        wake = asyncio.Event()
        self._wakes.setdefault(channel, set()).add(wake)
        if channel not in self._subscribed:
            self._subscribed[channel] = asyncio.ensure_future(
                self._pubsub.subscribe(channel)
            )
        subscribing = self._subscribed[channel]
        try:
            # Every stream waits for the SUBSCRIBE: an event after it is heard.
            await asyncio.shield(subscribing)
        except Exception:
            waiting = self._wakes.get(channel, set())
            waiting.discard(wake)
            if self._subscribed.get(channel) is subscribing:
                del self._subscribed[channel]  # the next stream subscribes again
            raise
        return wake

    async def unlisten(self, user_id, wake):
        channel = redis_keys(user_id)[3]
        waiting = self._wakes.get(channel, set())
        waiting.discard(wake)
        if not waiting and channel in self._subscribed:
            del self._wakes[channel], self._subscribed[channel]
            try:
                await self._pubsub.unsubscribe(channel)
            except redis.RedisError:
                log.warning("live relay: unsubscribing %s failed", channel)

    async def run(self):
        """Set the Events of each channel that hears a publish, until cancelled."""
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except redis.RedisError:
                log.exception("live relay: the Redis subscription failed")
                await asyncio.sleep(1)
                self._wake_all()  # what was published meanwhile is in the lists
                continue
            if message and message["type"] == "message":
                for wake in self._wakes.get(message["channel"].decode(), ()):
                    wake.set()

    def _wake_all(self):
        for waiting in self._wakes.values():
            for wake in waiting:
                wake.set()

    async def last_id(self, user_id):
        return int(await self.redis.get(redis_keys(user_id)[1]) or 0)

    async def since(self, user_id, last_id):
        """Events after last_id, or None for a reset (as RedisStore.since)."""
        events, seq, _, _ = redis_keys(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            raw, current = await pipe.lrange(events, 0, -1).get(seq).execute()
        entries = [parse_entry(item) for item in raw]
        return missed(entries, int(current or 0), last_id, self.limits)

    @property
    def open_streams(self):
        return len(self._held)

    def hold(self, user_id, lease):
        """Renew this lease of the user's stream limit until give_back()."""
        self._held.add((user_id, lease))

    async def give_back(self, user_id, lease):
        self._held.discard((user_id, lease))
        await self.redis.zrem(f"myapp:live:{user_id}:streams", lease)

    async def renewing(self, every, seconds):
        """Every `every` seconds, every held lease lasts `seconds` more, in one
        round trip (as RedisUserSlots.renew does per stream), until cancelled."""
        while True:
            await asyncio.sleep(every)
            expiry = int((time.time() + seconds) * 1000)
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for user_id, lease in list(self._held):
                        key = f"myapp:live:{user_id}:streams"
                        pipe.zadd(key, {lease: expiry}).pexpireat(key, expiry)
                    await pipe.execute()
            except redis.RedisError:
                log.exception("live relay: renewing %d leases failed", len(self._held))

    async def close(self):
        await self._pubsub.aclose()
        await self.redis.aclose()
