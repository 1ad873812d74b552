"""Column types every feature shares: ids, JSON documents and two kinds of time.

Two time types stay, each for its tables (moving either set is a data migration
that buys nothing): UTCDateTime for rows a person writes now and then (users,
sessions, goals), readable as timestamps in SQL; EpochMicros for the tables that
grow with every upload (readings, devices' use, alerts), where integers index,
compare and bucket exactly on both databases.
"""

from datetime import timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from myapp.micros import from_micros, to_micros

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BIG_ID_MAX = 2**63 - 1  # the largest id of a BigId key (SQLite's INTEGER too)
JSONDocument = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    For rows written by people, not devices: see the module's docstring.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        # SQLite stores text; naive UTC keeps lexical order equal to time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class EpochMicros(sa.types.TypeDecorator):
    """Aware datetimes stored as integer microseconds since 1970-01-01 UTC.

    One integer type on both databases: keyset comparisons and UTC bucket
    arithmetic in SQL are exact, portable and index-friendly (see above).
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or isinstance(value, int):
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an EpochMicros column")
        return to_micros(value)

    def process_result_value(self, value, dialect):
        return None if value is None else from_micros(value)
