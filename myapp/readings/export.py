"""Export formats: each keyset batch of rows becomes one chunk of the file.

Rows have rows.ReadingRow's fields, unpacked in that order; data is the
stored JSON text, written as is. X-Total-Count says up front how many readings
the file holds (those matching when it started), so a client can tell a whole
file from one cut off mid-way: a worker or the database lost after the 200 went
out shows in no HTTP framing behind nginx or uWSGI's router.
"""

import csv
import io
from datetime import datetime, timezone

from flask import Response, current_app

from myapp import watchdog
from myapp.db import db
from myapp.micros import format_micros
from myapp.readings import queries
from myapp.readings.schemas import reading_json

# Spreadsheets run a cell starting with these as a formula (CSV injection);
# OWASP's advice: such a cell gets a leading apostrophe (docs/decisions.md).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = ["id", "sensor", "recorded_at", "client_id", "data", "device_id"]
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}


def ndjson_chunks(batches):
    """One reading object a line; data is spliced in as the stored JSON text."""
    for rows in batches:
        yield "".join(f"{reading_json(row)}\n" for row in rows)


def csv_chunks(batches):
    """A header, then id,sensor,recorded_at,client_id,data,device_id; data as JSON
    text, a missing client_id or device_id empty, a sensor that a spreadsheet
    would take for a formula neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            (
                reading_id,
                neutralised(sensor),
                format_micros(recorded_at),
                client_id or "",
                data,
                "" if device_id is None else device_id,
            )
            for reading_id, sensor, recorded_at, data, client_id, device_id, _ in rows
        )
        yield buffer.getvalue()


def neutralised(text):
    """text, with a leading ' if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


CHUNKS = {"ndjson": ndjson_chunks, "csv": csv_chunks}


def download(*, user_id, kind, **filters):
    """A streamed file (kind: ndjson or csv) of the user's matching readings."""
    count, last_id = queries.export_extent(user_id=user_id, **filters)
    batches = queries.iter_reading_batches(
        engine=db.engine,
        user_id=user_id,
        batch_size=current_app.config["READINGS_EXPORT_BATCH"],
        last_id=last_id,
        **filters,
    )
    # The stream needs no request context: release the auth query's session now.
    db.session.close()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        watchdog.rearming(CHUNKS[kind](batches), current_app.config["HARAKIRI"]),
        mimetype=MEDIA_TYPES[kind],
        headers={
            "Content-Disposition": f'attachment; filename="readings-{stamp}.{kind}"',
            "Cache-Control": "no-store",
            "X-Total-Count": str(count),
        },
    )
