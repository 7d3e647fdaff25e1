"""`inventory_fingerprint` is the key of the cached inventory index (Pipeline.index, and the
CLI's index file). Two overlapping writers on PostgreSQL: one flushes its change first and
commits last. A key made of `updated_at` (set when a writer flushes, not when it commits) missed
that change; the inventory's revision, raised as each writer commits, does not. (SQLite has one
writer at a time, so there is no overlap to test there: tests/inventory/test_revision.py covers
each kind of write on both databases.)"""

from __future__ import annotations

from pathlib import Path

from opsconductor.config import load_settings
from opsconductor.inventory import repository
from opsconductor.inventory.models import Asset
from opsconductor.store.database import Database


def server(name: str, environment: str) -> Asset:
    return Asset.model_validate(
        {
            "name": name,
            "hostname": f"{name}.example",
            "os_type": "linux",
            "device_type": "server",
            "environment": environment,
        }
    )


async def test_a_change_committed_after_a_later_one_changes_the_fingerprint(
    pg_database_url: str, tmp_path: Path
) -> None:
    db = await Database.connect(load_settings(home=tmp_path, database_url=pg_database_url))
    try:
        async with db.session() as session:
            await repository.upsert_assets(
                session, [server("x", "staging"), server("y", "staging")]
            )
        first = db.session()  # flushes its change of x first, commits last
        early = await first.__aenter__()
        await repository.upsert_assets(early, [server("x", "production")])
        await early.flush()
        async with db.session() as later:
            await repository.upsert_assets(later, [server("y", "production")])
        async with db.reader() as session:
            key_before = await repository.inventory_fingerprint(session)
            rows_before = await repository.asset_index_rows(session)
        await first.__aexit__(None, None, None)
        async with db.reader() as session:
            key_after = await repository.inventory_fingerprint(session)
            rows_after = await repository.asset_index_rows(session)
        assert rows_after != rows_before, "the setup did not change the inventory"
        assert key_after != key_before
    finally:
        await db.close()
