"""The relay: every stream behind nginx in one asyncio loop, no uWSGI thread held.

nginx sends GET /api/v1/stream here (deploy/nginx/myapp.conf). For each
stream the relay asks the app whether to open it: the endpoint itself, called
in this process on a pool thread with the RELAY environ key, so a refusal is
the app's own problem+json (401, 403, 429, 503) and a grant is a lease of the
user's stream limit with the token's claims. Then a coroutine streams what the
app's after-commit publish wrote to Redis (hub.py): the same ids, replay,
reset, heartbeats and ends as a stream held by a uWSGI thread (stream.py).
"""

import asyncio
import json
import logging
import time
from http import HTTPStatus

from myapp.live.endpoints import GRANT, RELAY
from myapp.live.stream import RESET, sse

log = logging.getLogger(__name__)
PATH = "/api/v1/stream"
HEAD_MAX = 32 * 1024
# Hop-by-hop or recomputed: never copied from the app's answer.
NOT_COPIED = {"content-length", "connection", "content-type", GRANT.lower()}
SSE_HEADERS = [
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-cache, no-store"),
    ("X-Accel-Buffering", "no"),
]


def _head(status, headers):
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _parse(head):
    """(method, target, [(name, value)]) of a request head nginx sent."""
    request, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request.split(" ", 2)
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip(), value.strip()))
    return method, target, headers


class Relay:
    """The streams of one process, and what they share: the app and the hub."""

    def __init__(self, app, hub, sessions):
        self.app, self.hub, self.sessions = app, hub, sessions
        config = app.config
        # Leases are renewed apart (hub.renewing) and a departed client is seen
        # at once (nginx closes), so a comment is only for idle proxies.
        self.heartbeat = config["LIVE_RELAY_COMMENT_SECONDS"]
        self.retry_ms = config["LIVE_RETRY_MS"]

    async def handle(self, reader, writer):
        """One connection from nginx: one request, answered or streamed, closed."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if len(head) > HEAD_MAX:
                raise ValueError("head too large")
            method, target, headers = _parse(head)
            status, answer_headers, body = await self._ask_app(method, target, headers)
            granted = dict((n.lower(), v) for n, v in answer_headers).get(GRANT.lower())
            if status != 200 or not granted:
                writer.write(_head(status, answer_headers) + body)
                await writer.drain()
                return
            kept = [(n, v) for n, v in answer_headers if n.lower() not in NOT_COPIED]
            await self._stream(reader, writer, json.loads(body), kept)
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.TimeoutError,
        ):
            pass  # nginx or the client went away
        except Exception:
            log.exception("live relay: a stream failed")
        finally:
            writer.close()

    async def _ask_app(self, method, target, headers):
        if target.split("?", 1)[0] != PATH:
            body = {"type": "about:blank", "title": "Not Found", "status": 404}
            problem = [("Content-Type", "application/problem+json")]
            return 404, problem, json.dumps(body).encode()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._call_app, method, target, headers)

    def _call_app(self, method, target, headers):
        """The endpoint's answer, in-process: status, headers, body."""
        host = dict((n.lower(), v) for n, v in headers).get("host", "localhost")
        sent = [(n, v) for n, v in headers if n.lower() not in ("host", "connection")]
        with self.app.test_client() as client:
            answer = client.open(
                target,
                method=method,
                headers=sent,
                base_url=f"http://{host}",
                environ_overrides={RELAY: True},
            )
            return answer.status_code, list(answer.headers), answer.get_data()

    async def _stream(self, reader, writer, grant, headers):
        user_id, lease, claims = grant["user_id"], grant["lease"], grant["claims"]
        wake = gone = ended = None
        try:
            self.hub.hold(user_id, lease)
            wake = await self.hub.listen(user_id)  # before reading: nothing slips
            cursor, text = await self._replay(user_id, grant["last_id"])
            opening = f"retry: {self.retry_ms}\n: open\n\n{text}"
            writer.write(_head(200, SSE_HEADERS + headers) + opening.encode())
            await writer.drain()
            gone = asyncio.ensure_future(reader.read(1))  # EOF once nginx closes
            ended = self.sessions.watch(claims)
            await self._follow(writer, wake, gone, ended, user_id, claims, cursor)
        finally:
            if gone is not None:
                gone.cancel()
            if ended is not None:
                self.sessions.unwatch(claims, ended)
            if wake is not None:
                await self.hub.unlisten(user_id, wake)
            await self.hub.give_back(user_id, lease)

    async def _follow(self, writer, wake, gone, ended, user_id, claims, cursor):
        """Events and heartbeats until the token expires, the session ends or
        the client leaves."""
        while not gone.done() and not ended.is_set():
            left = claims["exp"] - time.time()
            if left <= 0:
                return
            woken = asyncio.ensure_future(wake.wait())
            await asyncio.wait(
                {woken, gone},
                timeout=min(self.heartbeat, left),
                return_when=asyncio.FIRST_COMPLETED,
            )
            woken.cancel()
            text = ""
            if wake.is_set():
                wake.clear()  # a publish during the read below wakes us again
                cursor, text = await self._after(user_id, cursor)
            writer.write((text or ": keep-alive\n\n").encode())
            await writer.drain()

    async def _replay(self, user_id, last_id):
        if last_id is None:
            return await self.hub.last_id(user_id), ""
        return await self._after(user_id, last_id)

    async def _after(self, user_id, cursor):
        """(the new cursor, the text of every event after cursor, or a reset)."""
        events = await self.hub.since(user_id, cursor)
        if events is None:
            return await self.hub.last_id(user_id), RESET
        if not events:
            return cursor, ""
        return events[-1].id, "".join(sse(event) for event in events)
