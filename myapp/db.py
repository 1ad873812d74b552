"""Shared database extensions, created unbound; the factory binds them."""

import os
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from myapp.columns import UTCDateTime

# Stable constraint names so Alembic migrations are reproducible on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The largest id of an Integer key (users, goals): 32-bit on every database, so a
# larger number names nothing (and PostgreSQL would reject it as a key).
ID_MAX = 2**31 - 1

db = SQLAlchemy(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate(compare_type=True, render_as_batch=True)


# SQLite's durability after a power loss: FULL syncs the WAL on every commit, so a
# reading answered 201 survives; NORMAL may lose the last commits (tests only).
SQLITE_SYNCHRONOUS_LEVELS = ("FULL", "EXTRA", "NORMAL")


def init_app(app):
    db.init_app(app)
    migrate.init_app(app, db, directory=migrations_directory(), render_item=render_item)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        level = app.config["SQLITE_SYNCHRONOUS"].upper()
        if level not in SQLITE_SYNCHRONOUS_LEVELS:
            raise RuntimeError(
                f"SQLITE_SYNCHRONOUS must be one of {SQLITE_SYNCHRONOUS_LEVELS}"
            )
        sa.event.listen(engine, "connect", sqlite_pragmas(level))
    if engine.dialect.name == "postgresql":
        sa.event.listen(engine, "handle_error", drop_connections_to_a_standby)


def migrations_directory():
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def utcnow():
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def lock_rows(statement):
    """Run a SELECT of rows this transaction is about to change, serializing writers.

    PostgreSQL locks the rows (NO KEY UPDATE: inserts that only reference them
    go on); SQLite takes its single write lock now (BEGIN IMMEDIATE), before the
    checks that follow read anything, instead of at the first write.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return db.session.execute(statement)
    return db.session.execute(statement.with_for_update(key_share=True))


# read_only_sql_transaction: a write reached a node in recovery (a demoted
# primary still answering on a pooled connection).
NOT_THE_PRIMARY = {"25006"}


def not_the_primary(error):
    """Whether a driver error says this server no longer takes writes."""
    return getattr(error, "sqlstate", None) in NOT_THE_PRIMARY


def drop_connections_to_a_standby(context):
    """A write refused as read-only means the primary moved: treat it as a
    disconnect, so the pool is emptied, the request answers 503 and the next
    connection of the multi-host URL (target_session_attrs=read-write) goes to
    the new primary. (myapp/rawsql.py asks not_the_primary itself.)"""
    if not_the_primary(context.original_exception):
        context.is_disconnect = True


def sqlite_pragmas(synchronous):
    """A connect hook: foreign keys, WAL for concurrent workers, the sync level."""

    def configure(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Only a new, empty file takes it: pages a prune frees can then go back
        # to the file system (readings.prune); older files keep reusing them.
        cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return configure


def render_item(type_, obj, autogen_context):
    """Autogenerate renders UTCDateTime as its impl; migrations import nothing."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
