"""Export formats: each keyset batch of rows becomes one chunk of the file.

Rows have service.ReadingRow's fields, unpacked in that order; data is the
stored JSON text, written as is.
"""

import csv
import io
import json
from datetime import datetime, timezone

from flask import Response, current_app

from myapp.db import db
from myapp.readings import service
from myapp.readings.schemas import format_micros

CSV_HEADER = ["id", "sensor", "recorded_at", "client_id", "data"]
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def ndjson_chunks(batches):
    """One reading object a line; data is spliced in as the stored JSON text."""
    for rows in batches:
        yield "".join(
            f'{{"id":{reading_id},"sensor":{_dumps(sensor)},'
            f'"recorded_at":"{format_micros(recorded_at)}","data":{data},'
            f'"client_id":{_dumps(client_id)},'
            f'"created_at":"{format_micros(created_at)}"}}\n'
            for reading_id, sensor, recorded_at, data, client_id, created_at in rows
        )


def csv_chunks(batches):
    """A header, then id,sensor,recorded_at,client_id,data with data as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            (reading_id, sensor, format_micros(recorded_at), client_id or "", data)
            for reading_id, sensor, recorded_at, data, client_id, _ in rows
        )
        yield buffer.getvalue()


CHUNKS = {"ndjson": ndjson_chunks, "csv": csv_chunks}


def download(*, user_id, kind, **filters):
    """A streamed file (kind: ndjson or csv) of the user's matching readings."""
    batches = service.iter_reading_batches(
        engine=db.engine,
        user_id=user_id,
        batch_size=current_app.config["READINGS_EXPORT_BATCH"],
        **filters,
    )
    # The stream needs no request context: release the auth query's session now.
    db.session.close()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        CHUNKS[kind](batches),
        mimetype=MEDIA_TYPES[kind],
        headers={
            "Content-Disposition": f'attachment; filename="readings-{stamp}.{kind}"',
            "Cache-Control": "no-store",
        },
    )
