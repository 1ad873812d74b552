"""Hot-path SQL run on the session's DBAPI cursor, compiled once per dialect.

For the few statements nearly every request runs (the bearer token's session
check, one row by id) and for bulk inserts, SQLAlchemy's per-execution and
per-row bookkeeping costs more than the database work. The session's
connection and transaction are still the ones used, and driver errors still
become SQLAlchemy exceptions, so 503s and 409s stay in the one problem handler.
Parameters go to the driver as given: use plain ints, floats and strings.
"""

from sqlalchemy.exc import DBAPIError

from myapp.db import db


def run(sql, args, connection=None):
    """Execute driver-level SQL on the session's connection; all rows, or None."""
    connection = connection or db.session.connection()
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, args)
        return cursor.fetchall() if cursor.description else None
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


def paramstyle():
    """The session's database and its driver's placeholder: ('sqlite', '?')."""
    dialect = db.session.get_bind().dialect
    return dialect.name, "?" if dialect.paramstyle == "qmark" else "%s"


class RowLookup:
    """One SELECT of at most one row by named parameters, answered as row_type.

    row_type is a NamedTuple whose fields are the selected columns, in order.
    """

    def __init__(self, statement, row_type):
        selected = tuple(column.key for column in statement.selected_columns)
        if selected != row_type._fields:
            raise TypeError(f"{row_type.__name__} {row_type._fields} != {selected}")
        self.statement = statement
        self.row_type = row_type
        self._by_dialect = {}

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        names = compiled.positiontup  # None for named paramstyles
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.selected_columns
        ]
        plan = (compiled.string, names, processors)
        self._by_dialect[dialect.name] = plan
        return plan

    def first(self, **params):
        """The first row (result types applied) as a row_type, or None."""
        connection = db.session.connection()
        dialect = connection.dialect
        sql, names, processors = self._by_dialect.get(dialect.name) or self._compile(
            dialect
        )
        args = tuple(params[name] for name in names) if names is not None else params
        rows = run(sql, args, connection)
        if not rows:
            return None
        return self.row_type._make(
            process(value) if process else value
            for process, value in zip(processors, rows[0])
        )
