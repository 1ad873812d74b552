"""Readings as a client sends them: URLs and payload builders."""

import uuid

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
