"""A new SQLite store is created from compliance/store/schema_sqlite.sql, not by running
every migration: the snapshot must be exactly what the migrations produce, or a database
created today would differ from one upgraded from an older release."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from compliance.store import Store
from compliance.store.migrate import HEAD_REVISION, SNAPSHOT, migrated_schema, schema_sql


def _body(script: str) -> str:
    return "\n".join(line for line in script.splitlines() if not line.startswith("--")) + "\n"


def test_snapshot_equals_what_the_migrations_produce() -> None:
    assert _body(SNAPSHOT.read_text(encoding="utf-8")) == migrated_schema(), (
        "compliance/store/schema_sqlite.sql is stale: run `python -m compliance.store.migrate`"
    )


def test_new_store_from_the_snapshot_has_the_migrated_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    Store.open(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert schema_sql(connection) == migrated_schema()
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert revision == HEAD_REVISION


def test_snapshot_names_the_head_revision() -> None:
    assert f"INSERT INTO alembic_version VALUES ('{HEAD_REVISION}');" in SNAPSHOT.read_text()
