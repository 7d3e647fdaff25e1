"""The async engine and sessions, on SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from opsconductor.config import Settings
from opsconductor.errors import ConfigurationError, DatabaseUnavailable

# at_commit: its listener writes each transaction's noted rows and audit events as it commits.
from opsconductor.store import at_commit, audit, migrate  # noqa: F401
from opsconductor.store.audit import AuditKey
from opsconductor.store.revision import StoreSession

logger = logging.getLogger(__name__)


# On SQLite a write transaction starts with BEGIN IMMEDIATE, so it holds the database's one write
# lock from its first statement: what it reads cannot change before it writes, which is what
# makes a decision (approve, deny, cancel, claim, expire) exactly-once. Readers say so and begin
# deferred, so they never wait for a writer (WAL).
_READ_ONLY = "opsconductor_read_only"
_WRITER_WAIT_S = 30.0  # as long as SQLite's busy timeout (below)


class Database:
    """One engine and its session factories; open with :meth:`connect`, close with :meth:`close`.

    :meth:`session` is a write transaction (serialised with every other writer on SQLite; rows
    read with ``FOR UPDATE`` are locked on PostgreSQL); :meth:`reader` is a read-only one."""

    def __init__(self, engine: AsyncEngine, audit_key: AuditKey) -> None:
        self.engine = engine
        self.audit_key = audit_key
        self._writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # Every session carries the audit key: record_event chains with it, verify checks.
        info = {audit.KEY_INFO: audit_key}
        # StoreSession keeps the inventory's revision: every transaction that writes assets or
        # their facts raises it as it commits (store.revision).
        self.sessions = async_sessionmaker(
            engine, expire_on_commit=False, info=info, sync_session_class=StoreSession
        )
        self.readers = async_sessionmaker(
            engine.execution_options(**{_READ_ONLY: True}),
            expire_on_commit=False,
            info=info,
            sync_session_class=StoreSession,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @classmethod
    async def connect(cls, settings: Settings) -> Database:
        """Open the configured database, creating the embedded one and migrating as configured."""
        url = settings.effective_database_url
        audit_key = AuditKey.from_settings(settings)
        engine = create_engine(url, home=settings.home)
        database = cls(engine, audit_key)
        try:
            if settings.auto_migrate:
                await migrate.upgrade(engine)
            else:
                await migrate.require_current(engine)
            async with database.reader() as session:
                await audit.warn_if_new_key_for_old_trail(session, audit_key)
                unsealed = await audit.has_unsealed_legacy(session)
            if unsealed:
                async with database.session() as session:
                    await audit.seal_legacy(session)
        except (OSError, DBAPIError) as exc:
            await engine.dispose()
            raise DatabaseUnavailable(
                f"the database at {describe(url)} is not reachable: {_why(exc)}"
            ) from None
        if database.is_sqlite:
            _make_private(make_url(url).database)
        return database

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that commits on success and rolls back on any error."""
        async with self._writer_turn(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def session_written_at_commit(self) -> AsyncIterator[AsyncSession]:
        """A write transaction whose body runs no statement of its own: what it writes is
        noted (`store.at_commit`, `record_event`, added rows) and written as it commits, so
        only the commit waits for the writer's turn. Rolls back on any error."""
        async with self.sessions() as session:
            yield session
            async with self._writer_turn():
                await session.commit()

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        """On SQLite, this process's writers take turns in the order they came: waiting for
        the database's one write lock in SQLite's busy handler instead, each sleeps and retries,
        and the unlucky ones wait seconds. Other processes still wait in the busy handler."""
        if self._writers is None:
            yield
            return
        try:
            async with asyncio.timeout(_WRITER_WAIT_S):
                await self._writers.acquire()
        except TimeoutError:
            raise DatabaseUnavailable(
                f"the database is busy: no write for {_WRITER_WAIT_S:.0f}s"
            ) from None
        try:
            yield
        finally:
            self._writers.release()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: it never waits for writers and must not write."""
        async with self.readers() as session, session.begin():
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


def describe(url: str) -> str:
    """Where a database URL points, for messages: host and port or file, never a password."""
    try:
        parsed = make_url(url)
    except Exception:
        return "the configured URL"
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database or ":memory:")
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def _why(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )


def _make_private(database: str | None) -> None:
    """The database file holds the audit trail and sealed credentials: owner only, like the key
    file. WAL and shared-memory files made by SQLite inherit the main file's mode."""
    if not database or database == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(database + suffix)
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _sqlite_engine(url: str, database: str | None) -> AsyncEngine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not Path(database).exists():
            # Made before SQLite opens it, so it is never readable by others, not even briefly.
            os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
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
        # The driver's own implicit BEGIN comes only before the first write, after the reads a
        # decision depends on; we issue BEGIN ourselves (below).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
