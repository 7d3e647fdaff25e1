"""Alembic, driven from code so that `opsconductor db upgrade` and auto-migration share one path."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from opsconductor.errors import ConfigurationError


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "opsconductor.store:migrations")
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` (no-op when it is there already)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def require_current(engine: AsyncEngine) -> None:
    current = await current_revision(engine)
    if current != head_revision():
        raise ConfigurationError(
            f"database schema is at {current or 'nothing'}, needs {head_revision()}: "
            "run `opsconductor db upgrade`"
        )


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    if revision == "head" and _current(connection) == head_revision():
        return
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
