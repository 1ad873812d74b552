"""Export formats: each keyset batch of ReadingRows becomes one chunk of the file.

In export batches a ReadingRow's data is the stored JSON text, written as is.
"""

import csv
import io
import json

from myapp.readings.schemas import format_micros

CSV_HEADER = ["id", "sensor", "recorded_at", "client_id", "data"]
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def ndjson_chunks(batches):
    """One reading object a line; data is spliced in as the stored JSON text."""
    for rows in batches:
        yield "".join(
            f'{{"id":{row.id},"sensor":{_dumps(row.sensor)},'
            f'"recorded_at":"{format_micros(row.recorded_at)}","data":{row.data},'
            f'"client_id":{_dumps(row.client_id)},'
            f'"created_at":"{format_micros(row.created_at)}"}}\n'
            for row in rows
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
            (
                row.id,
                row.sensor,
                format_micros(row.recorded_at),
                row.client_id or "",
                row.data,
            )
            for row in rows
        )
        yield buffer.getvalue()


CHUNKS = {"ndjson": ndjson_chunks, "csv": csv_chunks}
