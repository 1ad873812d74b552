"""Readings as the feature's code reads them: one row type, one SELECT list."""

from typing import NamedTuple

import sqlalchemy as sa

from myapp.readings.models import Reading

READINGS = Reading.__table__

# Plain integers out of the EpochMicros columns: the serializers format them.
RECORDED = sa.type_coerce(READINGS.c.recorded_at, sa.BigInteger)
CREATED = sa.type_coerce(READINGS.c.created_at, sa.BigInteger)


class ReadingRow(NamedTuple):
    """A stored reading as the service answers it; times in stored microseconds.

    Pages and export batches are SQLAlchemy Rows of the same fields, in this
    order (_columns builds their SELECT from it): serializers unpack either.
    """

    id: int
    sensor: str
    recorded_at: int
    data: object  # the JSON object; its JSON text in export batches
    client_id: str | None
    device_id: int | None
    created_at: int


def reading_columns(data=READINGS.c.data):
    """The SELECT list of a ReadingRow, field by field."""
    special = {"recorded_at": RECORDED, "data": data, "created_at": CREATED}
    return [
        special.get(name, READINGS.c[name]).label(name) for name in ReadingRow._fields
    ]
