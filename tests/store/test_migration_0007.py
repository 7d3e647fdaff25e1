"""Migration 0007 on a store that already holds assets: they stay, with no location and no
declared services, and can have facts at once; on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from opsconductor.config import Settings
from opsconductor.inventory import repository
from opsconductor.inventory.facts import facts_for, store_facts
from opsconductor.inventory.models import AssetFilter
from opsconductor.store import migrate
from opsconductor.store.database import Database, create_engine
from opsconductor.store.tables import UTCDateTime

WHEN = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
# The assets table as revision 0006 left it, the columns an import fills.
ASSETS_0006 = sa.table(
    "assets",
    sa.column("name", sa.String),
    sa.column("os_type", sa.String),
    sa.column("device_type", sa.String),
    sa.column("environment", sa.String),
    sa.column("tags", sa.JSON),
    sa.column("owner", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


async def test_upgrade_from_0006_keeps_the_assets(settings: Settings) -> None:
    engine = create_engine(settings.effective_database_url, home=settings.home)
    try:
        await migrate.upgrade(engine, "0006")
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(ASSETS_0006),
                [
                    {
                        "name": f"old-{n}",
                        "os_type": "linux",
                        "device_type": "server",
                        "environment": "production",
                        "tags": ["web"],
                        "owner": "Web Team",
                        "created_at": WHEN,
                        "updated_at": WHEN,
                    }
                    for n in range(3)
                ],
            )
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.SCHEMA_HEAD
    finally:
        await engine.dispose()

    db = await Database.connect(settings)
    try:
        async with db.session() as session:
            old = await repository.list_assets(session)
            await store_facts(session, "old-0", {"cpu_count": 4}, WHEN)
            facts = await facts_for(session, ["old-0"])
            at_dr = await repository.list_assets(session, AssetFilter(location="dr"))
            running = await repository.list_assets(session, AssetFilter(service="nginx"))
    finally:
        await db.close()
    assert [a.name for a in old] == ["old-0", "old-1", "old-2"]
    assert all(a.location is None and a.services == [] for a in old)
    assert all(a.tags == ["web"] and a.owner == "Web Team" for a in old)
    assert facts["old-0"].values == {"cpu_count": 4}
    assert at_dr == [] and running == []


async def test_downgrade_to_0006_and_up_again(settings: Settings) -> None:
    engine = create_engine(settings.effective_database_url, home=settings.home)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade, "0006")
        assert await migrate.current_revision(engine) == "0006"
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.SCHEMA_HEAD
    finally:
        await engine.dispose()


def _downgrade(connection: sa.Connection, revision: str) -> None:
    from alembic import command

    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
