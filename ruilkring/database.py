"""Database engine set-up, and the one place where ledger writes commit.

SQLite ignores ``SELECT ... FOR UPDATE``; a ledger write there starts its transaction
with ``BEGIN IMMEDIATE`` instead, which takes the write lock before anything is read.
To choose the BEGIN per transaction, the pysqlite driver's own transaction handling is
switched off and SQLAlchemy emits BEGIN itself (the recipe from SQLAlchemy's SQLite docs).
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ruilkring.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, a busy timeout and explicit BEGINs."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, see on_begin
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def upsert(table: Table, dialect: str):
    """``INSERT ... ON CONFLICT`` for ``table`` on the dialect ``dialect`` (``postgresql`` or
    ``sqlite``, which share the syntax and SQLAlchemy's API for it)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def _retryable(error: DBAPIError) -> bool:
    """Deadlocks, serialization failures and a busy SQLite are solved by running the whole
    unit again. (A race for an idempotency key needs no retry: the transfer's insert waits
    for the other transaction and then answers as a replay.)"""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in ("40001", "40P01"):  # serialization_failure, deadlock_detected
        return True
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


def run_ledger_transaction(work: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``work`` (service calls that write ledger rows) in its own transaction and commit.

    Whatever the request read before is committed first (reads only), so the unit starts
    fresh: with the write lock on SQLite, ready for row locks on PostgreSQL. On a
    deadlock, serialization failure or busy database, the whole unit is rolled back and run
    again, a bounded number of times.
    """
    for attempt in range(1, attempts + 1):
        if db.session().in_transaction():
            db.session.commit()
        try:
            # Inside the try: on SQLite this BEGIN IMMEDIATE is where a busy database shows.
            db.session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            result = work()
            db.session.commit()
            return result
        except DBAPIError as error:
            db.session.rollback()
            if attempt == attempts or not _retryable(error):
                raise
            log.info("ledger transaction retried (attempt %d): %s", attempt, error.orig)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
        except BaseException:
            # A refused unit (DomainError) may already have flushed part of its writes, e.g.
            # the first transfers of a bulk booking: drop them and the locks now, so no later
            # commit in this request can save half a unit.
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def migration_include_name(name, type_, parent_names) -> bool:
    """Alembic's filter for comparing models with the database: leave out the full-text
    search structures that migrations make and the models do not map (SQLite's FTS5
    tables, PostgreSQL's stored search vector and its GIN index)."""
    if type_ == "table" and name.startswith("listings_search"):
        return False
    if type_ == "index" and name == "ix_listings_search":
        return False
    return not (type_ == "column" and name == "search_vector")
