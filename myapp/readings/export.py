"""Export formats: each keyset batch of rows becomes one chunk of the download."""

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
            f'{{"id":{row[0]},"sensor":{_dumps(row[1])},'
            f'"recorded_at":"{format_micros(row[2])}","data":{row[3]},'
            f'"client_id":{_dumps(row[4])},"created_at":"{format_micros(row[5])}"}}\n'
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
            (row[0], row[1], format_micros(row[2]), row[4] or "", row[3])
            for row in rows
        )
        yield buffer.getvalue()


CHUNKS = {"ndjson": ndjson_chunks, "csv": csv_chunks}
