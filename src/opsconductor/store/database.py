"""The async engine and sessions, on SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from opsconductor.config import Settings
from opsconductor.errors import ConfigurationError
from opsconductor.store import migrate

logger = logging.getLogger(__name__)


class Database:
    """One engine and its session factory; open with :meth:`connect`, close with :meth:`close`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @classmethod
    async def connect(cls, settings: Settings) -> Database:
        """Open the configured database, creating the embedded one and migrating as configured."""
        url = settings.effective_database_url
        engine = create_engine(url, home=settings.home)
        database = cls(engine)
        if settings.auto_migrate:
            await migrate.upgrade(engine)
        else:
            await migrate.require_current(engine)
        return database

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()


def create_engine(url: str, *, home: Path | None = None) -> AsyncEngine:
    """An engine for `url`; for SQLite the file's folder is created private to the user."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(f"database URL is not valid: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql":
        return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise ConfigurationError(f"unsupported database {parsed.get_backend_name()!r}")


def _sqlite_engine(url: str, database: str | None) -> AsyncEngine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers go on while the worker writes; foreign keys are off by default.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine
