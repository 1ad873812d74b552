"""Readings as a client sends and reads them: URLs, payload builders, what
the tests of several packages read back (exports, pages, signals, races)."""

import contextlib
import csv
import io
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

READINGS = "/api/v1/readings/"
BATCH = "/api/v1/readings/batch"
STATS = "/api/v1/readings/stats"
EXPORT = "/api/v1/readings/export"


def reading(sensor="kitchen/temp", data=None, **fields):
    """A reading body as a client would post it."""
    body = {"sensor": sensor, "data": {"celsius": 21.5} if data is None else data}
    body.update(fields)
    return body


def new_client_id():
    return str(uuid.uuid4())


def race(calls):
    """Run the calls at the same moment from separate threads; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def csv_records(response):
    """The header and reading records of a complete CSV export (count checked)."""
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.headers["X-Total-Count"] == str(len(rows) - 1)
    return rows


def ndjson_readings(response):
    """The readings of a complete NDJSON export (X-Total-Count checked)."""
    lines = response.get_data(as_text=True).splitlines()
    readings = [json.loads(line) for line in lines]
    assert response.headers["X-Total-Count"] == str(len(readings))
    return readings


def listed(account, query=""):
    """The same readings as the paged list gives them, in its order."""
    items, cursor = [], None
    while True:
        url = f"{READINGS}?limit=1000{query}" + (f"&cursor={cursor}" if cursor else "")
        page = account.get(url).json
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@contextlib.contextmanager
def listening(signal, receiver=None):
    """Every send of signal while the block runs, as a list of its kwargs."""
    heard = []

    def receive(sender, **kwargs):
        heard.append(kwargs)
        if receiver:
            receiver(**kwargs)

    signal.connect(receive)
    try:
        yield heard
    finally:
        signal.disconnect(receive)
