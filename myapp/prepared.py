"""Hot-path queries compiled once per dialect and run on the session's DBAPI cursor.

For the few statements nearly every request runs (the bearer token's session
check, one row by id), SQLAlchemy's per-execution bookkeeping costs more than
the query itself. The SQL is still SQLAlchemy's, rendered for the database in
use; errors still become SQLAlchemy exceptions (so 503s and 409s stay in the one
problem handler); the session's connection and transaction are the ones used.
Parameters go to the driver as given: use plain ints and strings.
"""

from sqlalchemy.exc import DBAPIError

from myapp.db import db


class Prepared:
    """One SELECT returning at most one row of interest, by named parameters."""

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
        connection = db.session.connection()
        dialect = connection.dialect
        sql, names, processors = self._by_dialect.get(dialect.name) or self._compile(
            dialect
        )
        args = tuple(params[name] for name in names) if names is not None else params
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql, args)
            row = cursor.fetchone()
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(error, dbapi_connection, cursor)
            if gone:
                connection.invalidate(error)
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
        if row is None:
            return None
        return tuple(
            process(value) if process else value
            for process, value in zip(processors, row)
        )
