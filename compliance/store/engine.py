"""Opening the store: a file path or SQLAlchemy URL in, a ready engine out.

SQLite is tuned for a CI job and a cron job writing the same file at once: WAL so readers
never block the writer, a busy timeout so a second writer waits instead of failing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import create_engine

from compliance.errors import UserError
from compliance.paths import state_directory
from compliance.store.migrate import SchemaTooNew, upgrade

DEFAULT_DB_NAME = "compliance.db"
SQLITE_SIBLINGS = {"-wal": "WAL", "-shm": "shared-memory", "-journal": "journal", ".lock": "lock"}
"""Files SQLite (and our migration lock) keep beside a database file: they are the database
too (a planted `-wal` is replayed into it on open)."""
BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK_KEY = 0x636F6D70  # "comp": one advisory lock for schema changes


class StoreError(UserError):
    """The database cannot be opened or used; the message says which one and what to do."""


def default_db() -> Path:
    """Where the database lives when neither --db nor $COMPLIANCE_DB names one: the user's
    state folder, never the working directory (in CI that is the checkout, and a database
    committed there would be the gate's memory, written by the merge request)."""
    return state_directory() / DEFAULT_DB_NAME


def database_value(db: str | None) -> str:
    """`--db` value, else $COMPLIANCE_DB, else the default database file."""
    return db or os.environ.get("COMPLIANCE_DB") or str(default_db())


def sqlite_file(db: str | None) -> Path | None:
    """The SQLite database file `db` names, as given (links not followed); None for an
    in-memory database or another engine."""
    value = database_value(db)
    if "://" not in value:
        return Path(value).expanduser()
    from sqlalchemy.engine import make_url

    try:
        url = make_url(value)
    except ArgumentError:
        return None  # opening it reports the problem
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def database_url(db: str | None) -> str:
    """`--db` value, else $COMPLIANCE_DB, else the default file; paths become sqlite URLs."""
    value = database_value(db)
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().resolve())


def describe(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


WRITE = "compliance_write"
"""Execution option marking a write transaction: on SQLite it starts with BEGIN IMMEDIATE."""


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, emit BEGIN, so writers can take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # a module constant, not input; PRAGMA takes no parameters
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # nosemgrep: python-sql-string-built
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    """Writers take the write lock at BEGIN: a deferred transaction that reads and then writes
    fails at once with 'database is locked' (SQLITE_BUSY_SNAPSHOT) when another process
    committed in between, whatever the busy timeout. IMMEDIATE waits its turn instead."""
    immediate = connection.get_execution_options().get(WRITE)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_engine(db: str | None) -> Engine:
    if not db and not os.environ.get("COMPLIANCE_DB"):
        _create_state_folder(default_db().parent)
    url = database_url(db)
    try:
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:" and not Path(path).parent.is_dir():
                raise StoreError(
                    f"database folder {Path(path).parent} does not exist; create it or pass "
                    "another --db"
                )
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _tune_sqlite)
            event.listen(engine, "begin", _begin_sqlite)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {describe(url)}: {exc}") from exc
    _prepare_schema(engine, url)
    return engine


def _create_state_folder(folder: Path) -> None:
    """The default database's folder is ours to create (private: it holds findings)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the default database folder {folder}: {exc.strerror or exc}; "
            "set XDG_STATE_HOME or pass --db"
        ) from exc


def _prepare_schema(engine: Engine, url: str) -> None:
    """Create or upgrade the schema, one process at a time (first runs may race in CI)."""
    try:
        with _migration_lock(engine, url):
            upgrade(engine)
    except SchemaTooNew as exc:
        raise StoreError(
            f"database {describe(url)} was written by a newer compliance release (schema "
            f"revision {exc}); upgrade compliance, or pass another --db"
        ) from None
    except (OperationalError, DatabaseError) as exc:
        reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        raise StoreError(
            f"cannot open database {describe(url)}: {reason.strip()}; check the path or URL, "
            "or pass another --db"
        ) from exc


@contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        path = url.split(":///", 1)[-1]
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    else:
        yield
