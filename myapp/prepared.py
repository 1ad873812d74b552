"""Hot-path SQL on DBAPI cursors, compiled once per dialect.

For the few statements nearly every request runs (the bearer token's session
check, one row by id) and for bulk inserts, SQLAlchemy's per-execution and
per-row bookkeeping costs more than the database work. Writes run on the
session's connection, inside its transaction; hot-path reads run on one pooled
connection per request (checked out on first use, returned at app-context
teardown), which skips the ORM session's set-up and tear-down. Driver errors
still become SQLAlchemy exceptions, so 503s and 409s stay in the one problem
handler. Parameters go to the driver as given: use plain ints, floats, strings.
"""

from flask import g
from sqlalchemy.exc import DBAPIError

from myapp.db import db

_READER = "_prepared_dbapi_connection"


def init_app(app):
    app.teardown_appcontext(release_reader)


def release_reader(exception=None):
    """Return this request's read connection to the pool (it rolls back)."""
    connection = g.pop(_READER, None)
    if connection is not None:
        connection.close()


def _reader():
    connection = g.get(_READER)
    if connection is None:
        connection = db.engine.raw_connection()
        setattr(g, _READER, connection)
    return connection


def run(sql, args):
    """Execute driver-level SQL in the session's transaction; all rows, or None."""
    connection = db.session.connection()
    return _execute(
        connection.dialect,
        connection.connection.dbapi_connection,
        sql,
        args,
        connection.invalidate,
    )


def read(sql, args):
    """Execute a driver-level SELECT on this request's read connection."""
    connection = _reader()

    def invalidate(error):
        g.pop(_READER, None)
        connection.invalidate(error)

    return _execute(
        db.engine.dialect, connection.dbapi_connection, sql, args, invalidate
    )


def _execute(dialect, dbapi_connection, sql, args, invalidate):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, args)
        return cursor.fetchall() if cursor.description else None
    except dialect.loaded_dbapi.Error as error:
        gone = dialect.is_disconnect(error, dbapi_connection, cursor)
        if gone:
            invalidate(error)
        raise DBAPIError.instance(
            sql,
            args,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=dialect,
        ) from error
    finally:
        cursor.close()


def paramstyle():
    """The session's database and its driver's placeholder: ('sqlite', '?')."""
    dialect = db.engine.dialect
    return dialect.name, "?" if dialect.paramstyle == "qmark" else "%s"


class Prepared:
    """One read-only SELECT of at most one row of interest, by named parameters."""

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect = {}

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        names = compiled.positiontup  # None for named paramstyles
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.selected_columns
        ]
        prepared = (compiled.string, names, processors)
        self._by_dialect[dialect.name] = prepared
        return prepared

    def first(self, **params):
        """The first row as a tuple (result types applied), or None."""
        dialect = db.session.get_bind().dialect
        sql, names, processors = self._by_dialect.get(dialect.name) or self._compile(
            dialect
        )
        args = tuple(params[name] for name in names) if names is not None else params
        rows = run(sql, args)
        if not rows:
            return None
        return tuple(
            process(value) if process else value
            for process, value in zip(processors, rows[0])
        )
