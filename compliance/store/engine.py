"""Opening the store: a file path or SQLAlchemy URL in, a ready engine out.

SQLite is tuned for a CI job and a cron job writing the same file at once: WAL so readers
never block the writer, a busy timeout so a second writer waits instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlmodel import Session, SQLModel, create_engine, select

from compliance.store.models import SCHEMA_VERSION, SchemaMeta

DEFAULT_DB = "compliance.db"
BUSY_TIMEOUT_MS = 30_000


class StoreError(Exception):
    """The database cannot be opened or used; the message says which one and what to do."""


def database_url(db: str | None) -> str:
    """`--db` value, else $COMPLIANCE_DB, else compliance.db here; paths become sqlite URLs."""
    value = db or os.environ.get("COMPLIANCE_DB") or DEFAULT_DB
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


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_engine(db: str | None) -> Engine:
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
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {describe(url)}: {exc}") from exc
    _prepare_schema(engine, url)
    return engine


def _prepare_schema(engine: Engine, url: str) -> None:
    try:
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            row = session.exec(select(SchemaMeta).where(SchemaMeta.key == "schema_version")).first()
            if row is None:
                session.add(SchemaMeta(key="schema_version", value=str(SCHEMA_VERSION)))
                session.commit()
            elif int(row.value) > SCHEMA_VERSION:
                raise StoreError(
                    f"database {describe(url)} was written by a newer compliance release "
                    f"(schema {row.value}, this one knows {SCHEMA_VERSION}); upgrade compliance"
                )
    except (OperationalError, DatabaseError) as exc:
        reason = str(exc.orig) if getattr(exc, "orig", None) else str(exc)
        raise StoreError(
            f"cannot open database {describe(url)}: {reason}; check the path or URL, or pass "
            "another --db"
        ) from exc
