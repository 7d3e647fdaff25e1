"""Alembic, driven from code so that `opsconductor db upgrade` and auto-migration share one path.

Opening a store that is already current costs one small query: Alembic itself (a quarter of a
second to import) is loaded only when there is something to migrate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from opsconductor.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions; a test keeps the two in step.
SCHEMA_HEAD = "0010"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "opsconductor.store:migrations")
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (no-op when it is there already)."""
    if revision == "head" and await current_revision(engine) == SCHEMA_HEAD:
        return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def require_current(engine: AsyncEngine) -> None:
    current = await current_revision(engine)
    if current != SCHEMA_HEAD:
        raise ConfigurationError(
            f"database schema is at {current or 'nothing'}, needs {SCHEMA_HEAD}: "
            "run `opsconductor db upgrade`"
        )


def _current(connection: Connection) -> str | None:
    # A savepoint keeps a missing table from aborting the caller's transaction on PostgreSQL.
    try:
        with connection.begin_nested():
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
