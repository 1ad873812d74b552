"""The login sessions of the relay's streams, checked together.

Every LIVE_SESSION_CHECK_SECONDS one pool thread asks the app, once per
distinct login session (many streams, one tab each, share one), whether it is
still live, and the streams of an ended session are told to end: within that
interval of a logout, without a database query per stream.
"""

import asyncio
import logging

from myapp.live.stream import session_live

log = logging.getLogger(__name__)


class Sessions:
    def __init__(self, app, every):
        self.app, self.every = app, every
        self._watched = {}  # (user, session id) -> (claims, set of asyncio.Event)

    def watch(self, claims):
        """An Event set once the login session of these claims has ended."""
        ended = asyncio.Event()
        key = (claims["sub"], claims["sid"])
        self._watched.setdefault(key, (claims, set()))[1].add(ended)
        return ended

    def unwatch(self, claims, ended):
        key = (claims["sub"], claims["sid"])
        streams = self._watched.get(key, (None, set()))[1]
        streams.discard(ended)
        if not streams:
            self._watched.pop(key, None)

    async def run(self):
        """Check every watched session each interval, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.every)
            watched = {key: claims for key, (claims, _) in self._watched.items()}
            try:
                gone = await loop.run_in_executor(None, self._ended, watched)
            except Exception:  # the database is away: check again next time
                log.exception("live relay: checking %d sessions failed", len(watched))
                continue
            for key in gone:
                for ended in self._watched.get(key, (None, ()))[1]:
                    ended.set()

    def _ended(self, watched):
        return [
            key for key, claims in watched.items() if not session_live(self.app, claims)
        ]
