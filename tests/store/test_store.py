"""The store on both databases: migrations, the audit chain, and claiming by compare-and-set."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.execution.states import ExecutionState
from opsconductor.execution.transitions import claim
from opsconductor.store import migrate
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import Base


async def test_migrations_create_exactly_the_declared_schema(settings: Settings) -> None:
    db = await Database.connect(settings)
    try:
        await migrate.upgrade(db.engine)  # a second upgrade is a no-op
        assert await migrate.current_revision(db.engine) == migrate.head_revision()
        assert migrate.head_revision() == migrate.SCHEMA_HEAD
        async with db.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
    finally:
        await db.close()


async def test_only_one_of_many_claimers_wins(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    asked = await conductor.pipeline.ask("How many assets do we have?", requester="a", dry_run=True)
    assert asked.plan is not None and asked.decision is not None
    row, _ = await conductor.executions.create(
        text="x", decision=asked.decision, plan=asked.plan, requester="a"
    )

    async def try_claim(worker: str) -> bool:
        async with conductor.db.session() as session:
            claimed = await claim(
                session, row.id, worker=worker, from_states={ExecutionState.APPROVED}, lease_s=30
            )
            return claimed is not None

    results = await asyncio.gather(*(try_claim(f"w{n}") for n in range(8)))
    assert sum(results) == 1


async def test_the_embedded_database_file_is_private(sqlite_settings: Settings) -> None:
    db = await Database.connect(sqlite_settings)
    try:
        async with db.session() as session:
            await record_event(session, actor="t", entity_type="x", entity_id="1", action="a")
    finally:
        await db.close()
    for path in sqlite_settings.home.glob("opsconductor.db*"):
        assert path.stat().st_mode & 0o777 == 0o600, path
