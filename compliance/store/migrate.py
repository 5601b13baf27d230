"""Schema migrations (Alembic), run automatically when the store opens.

A database written by an older release is upgraded in place; one written by a newer
release is refused with a message, never half-read. Databases created before migrations
existed (tables present, no alembic_version) are stamped as the first revision first.

Alembic is imported only when the schema is not at head: every command opens the store,
and importing Alembic costs ~0.2 s, a tenth of a warm `compliance scan`. `HEAD_REVISION`
names the newest migration; a test keeps it equal to what Alembic reads from
`migrations/versions`, so a new migration without it fails the suite, never a database.

A new SQLite database (an empty file: every CI job's first scan) is not migrated step by
step either: `schema_sqlite.sql`, the schema the migrations produce, taken as a snapshot,
is executed in one transaction (Alembic's import and five migrations cost ~0.25 s).
`python -m compliance.store.migrate` regenerates the snapshot after a new migration;
tests/test_store_snapshot.py fails while it differs from what the migrations produce.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SNAPSHOT = Path(__file__).resolve().parent / "schema_sqlite.sql"
FIRST_REVISION = "0001"
HEAD_REVISION = "0005"


class SchemaTooNew(Exception):
    pass


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration as Alembic reads the scripts (see `HEAD_REVISION`)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _at_head(connection: Connection) -> bool:
    """The common case, answered without Alembic: one row in alembic_version, the head."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return [tuple(row) for row in rows] == [(HEAD_REVISION,)]


def upgrade(engine: Engine, snapshot: bool = True) -> None:
    """Bring the schema to head; refuse a database from a newer release. `snapshot`: a new
    SQLite database gets the schema snapshot (False: the migrations, to take one)."""
    with engine.connect() as connection:
        if _at_head(connection):
            return
        empty = engine.dialect.name == "sqlite" and not inspect(connection).get_table_names()
    if empty and snapshot:
        _create_from_snapshot(engine)
        return
    from alembic import command
    from alembic.script import ScriptDirectory

    with engine.begin() as connection:
        config = _config(connection)
        script = ScriptDirectory.from_config(config)
        current = current_revision(connection)
        if current is None and inspect(connection).has_table("scan"):
            command.stamp(config, FIRST_REVISION)
            current = FIRST_REVISION
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise SchemaTooNew(current)
        if current != script.get_current_head():
            command.upgrade(config, "head")


def _create_from_snapshot(engine: Engine) -> None:
    """The head schema in one transaction, from schema_sqlite.sql (the caller holds the
    migration lock; a script that fails leaves the file empty, as it was)."""
    script = SNAPSHOT.read_text(encoding="utf-8")
    raw = engine.raw_connection()
    try:
        raw.driver_connection.executescript(f"BEGIN IMMEDIATE;\n{script}\nCOMMIT;")  # type: ignore[union-attr]
    except BaseException:
        raw.driver_connection.rollback()  # type: ignore[union-attr]
        raise
    finally:
        raw.close()


def schema_sql(connection: Connection) -> str:
    """A SQLite database's schema as a script that recreates it, its revision included."""
    rows = connection.execute(
        text(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
    ).all()
    revisions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    statements = [f"{row[0]};" for row in rows]
    for (revision,) in revisions:
        if not str(revision).isalnum():  # Alembic's own ids: 0001 … never a quote
            raise ValueError(f"unexpected schema revision {revision!r}")
        # a script for executescript, which takes no parameters; the id is checked above
        statements.append(f"INSERT INTO alembic_version VALUES ('{revision}');")  # noqa: S608
    return "\n".join(statements) + "\n"


def migrated_schema() -> str:
    """What the migrations produce on a new SQLite database, as schema_sql() spells it."""
    import tempfile

    from sqlalchemy import create_engine

    with tempfile.TemporaryDirectory(prefix="compliance-schema-") as tmp:
        engine = create_engine(f"sqlite:///{tmp}/schema.sqlite")
        try:
            upgrade(engine, snapshot=False)
            with engine.connect() as connection:
                return schema_sql(connection)
        finally:
            engine.dispose()


if __name__ == "__main__":
    SNAPSHOT.write_text(
        "-- The SQLite schema at the newest migration, executed to create a new database.\n"
        "-- Generated by `python -m compliance.store.migrate`: do not edit by hand.\n"
        + migrated_schema(),
        encoding="utf-8",
    )
    print(f"wrote {SNAPSHOT}")
