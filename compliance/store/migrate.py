"""Schema migrations (Alembic), run automatically when the store opens.

A database written by an older release is upgraded in place; one written by a newer
release is refused with a message, never half-read. Databases created before migrations
existed (tables present, no alembic_version) are stamped as the first revision first.

Alembic is imported only when the schema is not at head: every command opens the store,
and importing Alembic costs ~0.2 s, a tenth of a warm `compliance scan`. `HEAD_REVISION`
names the newest migration; a test keeps it equal to what Alembic reads from
`migrations/versions`, so a new migration without it fails the suite, never a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
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


def upgrade(engine: Engine) -> None:
    """Bring the schema to head; refuse a database from a newer release."""
    with engine.connect() as connection:
        if _at_head(connection):
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
