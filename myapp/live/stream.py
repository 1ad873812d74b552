"""One open stream: replay, then events as they come, heartbeats, and its end.

The generator holds no database session while it waits: every
SESSION_CHECK_SECONDS it asks, in a fresh app context, whether the login
session is still live, and it ends at the access token's expiry. Every
HEARTBEAT_SECONDS without an event it writes a comment, which keeps proxies
from timing out, renews the user's stream lease, and lets uWSGI notice a
client that left (the write fails and the generator is closed).
"""

import time

from myapp import auth
from myapp.errors import InvalidToken


def sse(event):
    return f"id: {event.id}\nevent: {event.name}\ndata: {event.data}\n\n"


RESET = "event: reset\ndata: {}\n\n"


class Stream:
    """What one stream needs: its user, token claims and the shared parts."""

    def __init__(self, app, live, *, user_id, claims, lease, last_id):
        self.app, self.live = app, live
        self.user_id, self.claims = user_id, claims
        self.lease, self.last_id = lease, last_id
        config = app.config
        self.heartbeat = config["LIVE_HEARTBEAT_SECONDS"]
        self.check_every = config["LIVE_SESSION_CHECK_SECONDS"]

    def open(self):
        """Listen, then read what to replay: an event between the two is not lost."""
        store = self.live.store
        self.listener = store.listen(self.user_id)
        self.cursor, self.replay = self._replay(store)
        return self

    def close(self):
        self.listener.close()

    def events(self):
        """The text of the stream, chunk by chunk, until its token or session ends."""
        store = self.live.store
        yield f"retry: {self.live.retry_ms}\n: open\n\n" + self.replay
        cursor = self.cursor
        next_check = time.time() + self.check_every
        while True:
            left = self.claims["exp"] - time.time()
            if left <= 0:
                return
            if self.listener.wait(min(self.heartbeat, left)):
                cursor, text = self._after(store, cursor)
                yield text or ": keep-alive\n\n"
            else:
                yield ": keep-alive\n\n"
            self.live.user_slots.renew(self.user_id, self.lease)
            if time.time() >= next_check:
                if not self._session_live():
                    return
                next_check = time.time() + self.check_every

    def _replay(self, store):
        if self.last_id is None:
            return store.last_id(self.user_id), ""
        return self._after(store, self.last_id)

    def _after(self, store, cursor):
        """(the new cursor, the text of every event after cursor, or a reset)."""
        missed = store.since(self.user_id, cursor)
        if missed is None:
            return store.last_id(self.user_id), RESET
        if not missed:
            return cursor, ""
        return missed[-1].id, "".join(sse(event) for event in missed)

    def _session_live(self):
        return session_live(self.app, self.claims)


def session_live(app, claims):
    """Whether the login session of these access-token claims is still live."""
    with app.app_context():
        try:
            auth.load_session(claims)
        except InvalidToken:
            return False
    return True
