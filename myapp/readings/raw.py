"""Numbers read from the raw readings in SQL: for 1m and 5m statistics, and
fields past the rolled-up ones."""

import sqlalchemy as sa

from myapp.db import db
from myapp.jsonsql import sqlite_is_number
from myapp.readings.rows import READINGS

SCALE = 2.0**-64


def postgresql(query, field):
    """query's rows with value: data's top-level field, where it is a JSON number."""
    key = sa.bindparam("field", field, type_=sa.Text)
    is_number = sa.func.jsonb_typeof(READINGS.c.data.op("->")(key)) == "number"
    # numeric, not float8: a sum of large values must not overflow into an error.
    value = sa.case((is_number, sa.cast(READINGS.c.data.op("->>")(key), sa.Numeric)))
    return query.add_columns(value.label("value")).where(is_number).subquery()


def sqlite(query, field):
    """query's rows with value: data's top-level field, where it is a JSON number.

    json_extract parses the document once per row (LIMIT -1 keeps SQLite from
    flattening the subquery and parsing again per use); only an extracted 0 or
    1 needs json_type, to tell a number from JSON true or false.
    """
    path = sa.bindparam("path", '$."' + field + '"', type_=sa.Text)
    inner = (
        query.add_columns(
            sa.func.json_extract(READINGS.c.data, path).label("value"), READINGS.c.data
        )
        .limit(-1)
        .subquery()
    )
    is_number = sqlite_is_number(inner.c.value, inner.c.data, path)
    columns = [c for c in inner.c if c.key != "data"]
    return sa.select(*columns).where(is_number).subquery()


def numeric_values(query, field):
    """query (a SELECT of readings) with a value column, numbers of field only."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql(query, field)
    return sqlite(query, field)


def aggregates(values):
    """count, sum, min, max and a scaled sum of values.c.value, as SQL columns.

    SQLite sums doubles: values near 1e308 overflow, so the sum of the values
    scaled down (exactly, by 2**-64) comes too; PostgreSQL sums numeric.
    """
    value = values.c.value
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    scaled = sa.null() if postgresql else sa.func.sum(value * SCALE)
    return [
        sa.func.count(value),
        sa.func.sum(value),
        scaled,
        sa.func.min(value),
        sa.func.max(value),
    ]
