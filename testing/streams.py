"""Server-Sent Events read over a real connection, as a script or browser would."""

import http.client
import json
import queue
import threading
from typing import NamedTuple


class Event(NamedTuple):
    id: str | None
    name: str
    data: object


class EventStream:
    """GET /api/v1/stream on its own connection; events arrive on a queue.

    A reader thread parses the stream: comments count as heartbeats, each
    event becomes an Event, and the end of the stream (or a cut connection)
    is an END item.
    """

    END = object()

    def __init__(self, server, token, last_event_id=None, timeout=30):
        address = getattr(server, "address", "127.0.0.1")  # a test host's own
        self.conn = http.client.HTTPConnection(address, server.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/api/v1/stream", headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.items = queue.Queue()
        self.heartbeats = 0
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.response.read()
            self.json = json.loads(self.body) if self.body else None

    def _read(self):
        fields = {}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith(":"):
                    self.heartbeats += 1
                elif line:
                    name, _, value = line.partition(":")
                    fields[name] = value[1:] if value.startswith(" ") else value
                elif "event" in fields or "data" in fields:
                    data = json.loads(fields.get("data") or "null")
                    self.items.put(Event(fields.get("id"), fields.get("event"), data))
                    fields = {}
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # AttributeError: close() took the connection from under readline()
            pass
        self.items.put(self.END)

    def next_event(self, timeout=15):
        """The next event; AssertionError if the stream ends or none comes."""
        assert self.status == 200, (self.status, self.body)
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None
        assert item is not self.END, "the stream ended"
        return item

    def ends(self, timeout=30):
        """Whether the stream ends (events before the end are skipped)."""
        while True:
            try:
                if self.items.get(timeout=timeout) is self.END:
                    return True
            except queue.Empty:
                return False

    def close(self):
        self.conn.close()
