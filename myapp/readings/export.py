"""Export formats: each keyset batch of rows becomes one chunk of the download.

A complete export ends with a trailer giving the number of readings, so a
client can tell it from a download cut off mid-file (a killed worker or a lost
database answers 200 before the end is known). NDJSON: a last line
{"complete": true, "count": N}. CSV: a last record "#complete",N with the
remaining columns empty.
"""

import csv
import io
import json

from myapp.readings.schemas import format_micros

CSV_HEADER = ["id", "sensor", "recorded_at", "client_id", "data"]
CSV_TRAILER = "#complete"
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def ndjson_chunks(batches):
    """One reading object a line; data is spliced in as the stored JSON text."""
    count = 0
    for rows in batches:
        count += len(rows)
        yield "".join(
            f'{{"id":{row[0]},"sensor":{_dumps(row[1])},'
            f'"recorded_at":"{format_micros(row[2])}","data":{row[3]},'
            f'"client_id":{_dumps(row[4])},"created_at":"{format_micros(row[5])}"}}\n'
            for row in rows
        )
    yield f'{{"complete":true,"count":{count}}}\n'


def csv_chunks(batches):
    """A header, then id,sensor,recorded_at,client_id,data with data as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield buffer.getvalue()
    count = 0
    for rows in batches:
        count += len(rows)
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            (row[0], row[1], format_micros(row[2]), row[4] or "", row[3])
            for row in rows
        )
        yield buffer.getvalue()
    yield ",".join([CSV_TRAILER, str(count)] + [""] * (len(CSV_HEADER) - 2)) + "\r\n"


CHUNKS = {"ndjson": ndjson_chunks, "csv": csv_chunks}
