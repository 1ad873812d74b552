"""Hot-path SQL run on the session's DBAPI cursor, compiled once per dialect.

For the few statements nearly every request runs (the bearer token's session
check, one row by id) and for bulk inserts, SQLAlchemy's per-execution and
per-row bookkeeping costs more than the database work. The session's
connection and transaction are still the ones used, and driver errors still
become SQLAlchemy exceptions, so 503s and 409s stay in the one problem handler.
Parameters go to the driver as given: use plain ints, floats and strings.
"""

import contextlib

from sqlalchemy.exc import DBAPIError

from myapp.db import db, not_the_primary


@contextlib.contextmanager
def _cursor(sql, args, connection=None):
    """A DBAPI cursor of the session's connection; driver errors as SQLAlchemy's."""
    connection = connection or db.session.connection()
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        yield cursor
    except dialect.loaded_dbapi.Error as error:
        gone = dialect.is_disconnect(
            error, dbapi_connection, cursor
        ) or not_the_primary(error)
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


def run(sql, args, connection=None):
    """Execute driver-level SQL on the session's connection; all rows, or None."""
    with _cursor(sql, args, connection) as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall() if cursor.description else None


def run_many(sql, rows):
    """executemany of driver-level SQL on the session's connection (no rows back)."""
    with _cursor(sql, rows) as cursor:
        cursor.executemany(sql, rows)


def insert_ids(table, columns, rows, casts=None):
    """Multi-row INSERTs of rows (tuples in columns' order); their ids, in order.

    An autoincrement key grows in VALUES order within one statement (readings'
    insert relies on it too), so each statement's sorted ids match its rows.
    casts: {column: SQL type} for PostgreSQL (JSONB from text). At most 999
    parameters a statement, the limit of older SQLite builds.
    """
    dialect, mark = paramstyle()
    casts = (casts or {}) if dialect == "postgresql" else {}
    row_sql = (
        "("
        + ", ".join(
            f"CAST({mark} AS {casts[c]})" if c in casts else mark for c in columns
        )
        + ")"
    )
    per_statement = max(1, 999 // len(columns))
    ids = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        returned = run(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join([row_sql] * len(chunk))
            + " RETURNING id",
            [value for row in chunk for value in row],
        )
        ids += sorted(row[0] for row in returned)
    return ids


def paramstyle():
    """The session's database and its driver's placeholder: ('sqlite', '?')."""
    dialect = db.session.get_bind().dialect
    return dialect.name, "?" if dialect.paramstyle == "qmark" else "%s"


def marks(mark, count):
    """count placeholders for an IN list or a VALUES row: '?, ?, ?'."""
    return ", ".join([mark] * count)


class CompiledSelect:
    """A SELECT compiled once per dialect and run on the session's DBAPI cursor.

    Rows come back as row_type, a NamedTuple whose fields are the selected
    columns in order (checked here). Parameters are the statement's bindparam
    names; values written into the statement (literals) keep theirs.
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
        fixed = {k: v for k, v in compiled.params.items() if v is not None}
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.selected_columns
        ]
        # None for named paramstyles (PostgreSQL), which take the values as a dict.
        names = compiled.positiontup
        plan = (compiled.string, names, fixed, processors, any(processors))
        self._by_dialect[dialect.name] = plan
        return plan

    def _run(self, params):
        connection = db.session.connection()
        dialect = connection.dialect
        plan = self._by_dialect.get(dialect.name) or self._compile(dialect)
        sql, names, fixed, processors, processed = plan
        if fixed:
            params = {**fixed, **params}
        args = tuple(params[name] for name in names) if names is not None else params
        return run(sql, args, connection), processors, processed

    def _row(self, values, processors):
        return self.row_type._make(
            process(value) if process else value
            for process, value in zip(processors, values)
        )

    def first(self, **params):
        """The first row (result types applied) as a row_type, or None."""
        rows, processors, _ = self._run(params)
        return self._row(rows[0], processors) if rows else None

    def tuples(self, **params):
        """Every row as a plain tuple in row_type's field order (types applied).

        For thousands of rows, which callers unpack by name: a NamedTuple each
        costs more than reading it, as the garbage collector tracks every one.
        """
        rows, processors, processed = self._run(params)
        if not processed:
            return rows
        return [
            tuple(process(v) if process else v for process, v in zip(processors, row))
            for row in rows
        ]
