"""The bench's clients: many streams and the uploads, in one asyncio loop.

HTTP/1.0 over raw sockets to nginx, so the 2-core machine holds thousands of
streams from one process: each stream parses only the lines it needs.
"""

import asyncio
import json
import time


class Streams:
    """Open streams; arrivals[n] are the perf_counter times upload n arrived."""

    def __init__(self, port):
        self.port = port
        self.arrivals = {}
        self._tasks = []
        self._writers = []

    async def open(self, token):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            (
                "GET /api/v1/stream HTTP/1.0\r\nHost: localhost\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            writer.close()
            raise RuntimeError(f"a stream answered {status}: {head!r}")
        self._writers.append(writer)
        self._tasks.append(asyncio.ensure_future(self._read(reader)))

    async def _read(self, reader):
        while line := await reader.readline():
            if line.startswith(b'data: {"items"'):
                at = time.perf_counter()
                body = json.loads(line[6:])
                number = body["items"][0]["data"]["n"]
                self.arrivals.setdefault(number, []).append(at)

    async def close(self):
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._writers, self._tasks = [], []


async def upload(port, token, number):
    """POST one reading {"n": number}; (time sent, time its 2xx arrived)."""
    body = json.dumps({"sensor": "bench/stream", "data": {"n": number}}).encode()
    sent = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "POST /api/v1/readings/ HTTP/1.0\r\nHost: localhost\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    status_line = await reader.readline()
    answered = time.perf_counter()
    await reader.read()
    writer.close()
    assert b" 201 " in status_line, status_line
    return sent, answered
