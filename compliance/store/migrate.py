"""Schema migrations (Alembic), run automatically when the store opens.

A database written by an older release is upgraded in place; one written by a newer
release is refused with a message, never half-read. Databases created before migrations
existed (tables present, no alembic_version) are stamped as the first revision first.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"


class SchemaTooNew(Exception):
    pass


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; refuse a database from a newer release."""
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
