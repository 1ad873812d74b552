"""Live updates: a Server-Sent Events stream of each user's own events."""

from typing import NamedTuple

from myapp.live import events
from myapp.live.cli import cli
from myapp.live.endpoints import ns
from myapp.live.slots import (
    MemoryUserSlots,
    ProcessSlots,
    RedisUserSlots,
    streams_per_process,
)
from myapp.live.store import Limits, MemoryStore, RedisStore


class Live(NamedTuple):
    """The parts every stream of this app shares."""

    store: object
    user_slots: object
    process_slots: ProcessSlots
    lease_seconds: float
    retry_ms: int

    def releaser(self, user_id, lease):
        """A callable giving the stream's slots back, once however often called."""
        done = []

        def release():
            if not done:
                done.append(True)
                self.process_slots.give_back()
                self.user_slots.give_back(user_id, lease)

        return release


def init_app(app):
    config = app.config
    limits = Limits(
        config["LIVE_REPLAY_SECONDS"],
        config["LIVE_REPLAY_EVENTS"],
        config["LIVE_REPLAY_BYTES"],
    )
    # A lease outlives two missed heartbeats at most: a dead worker's slot frees.
    lease = config["LIVE_HEARTBEAT_SECONDS"] * 2
    per_user = config["LIVE_STREAMS_PER_USER"]
    if config.get("REDIS_URL"):
        store = RedisStore(config["REDIS_URL"], limits)
        user_slots = RedisUserSlots(store.redis, per_user, lease)
    else:
        store = MemoryStore(limits)
        user_slots = MemoryUserSlots(per_user, lease)
    app.extensions["live"] = Live(
        store,
        user_slots,
        ProcessSlots(streams_per_process(config)),
        lease,
        config["LIVE_RETRY_MS"],
    )
    events.init_app(app)


__all__ = ["ns", "cli", "init_app"]
