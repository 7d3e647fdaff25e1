"""The inventory's revision (`store.revision`), on both databases: every kind of committed
write to the assets or their facts raises it, in the writer's transaction; reads, rolled-back
writes and writes elsewhere leave it as it was."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import FLEET

from opsconductor.config import Settings, load_settings
from opsconductor.inventory import repository
from opsconductor.inventory.facts import store_facts
from opsconductor.inventory.importers import read_assets_file
from opsconductor.inventory.models import Asset, AssetFilter
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import AssetFactRow, AssetRow

DEMO_INVENTORY = Path(__file__).parents[2] / "src" / "opsconductor" / "demo" / "inventory.yaml"
WHEN = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
Write = Callable[[AsyncSession], Awaitable[object]]


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    opened = await Database.connect(settings)
    try:
        async with opened.session() as session:
            await repository.upsert_assets(session, [Asset.model_validate(a) for a in FLEET])
            await store_facts(session, first(), {"cpu_count": 4}, WHEN)
        yield opened
    finally:
        await opened.close()


async def revision(db: Database) -> int:
    async with db.reader() as session:
        return (await repository.inventory_fingerprint(session)).number


def first() -> str:
    return str(FLEET[0]["name"])


def changed_first() -> Asset:
    return Asset.model_validate({**FLEET[0], "owner": "someone-else"})


def new_asset() -> Asset:
    return Asset.model_validate({**FLEET[0], "name": "brand-new-01", "hostname": "new.example"})


WRITES: dict[str, Write] = {
    "add": lambda s: repository.upsert_assets(s, [new_asset()]),
    "update": lambda s: repository.upsert_assets(s, [changed_first()]),
    "delete": lambda s: repository.delete_asset(s, first()),
    "facts stored": lambda s: store_facts(s, first(), {"cpu_count": 8}, WHEN),
    "facts removed": lambda s: store_facts(s, first(), {}, WHEN),
    "import": lambda s: repository.upsert_assets(s, read_assets_file(DEMO_INVENTORY)),
    # Statements that no repository function runs today, seen all the same.
    "update statement": lambda s: s.execute(update(AssetRow).values(owner="ops")),
    "delete statement": lambda s: s.execute(delete(AssetFactRow)),
}


@pytest.mark.parametrize("kind", list(WRITES))
async def test_each_kind_of_inventory_write_raises_the_revision(db: Database, kind: str) -> None:
    before = await revision(db)
    async with db.session() as session:
        await WRITES[kind](session)
    assert await revision(db) == before + 1


async def test_a_write_in_a_savepoint_raises_it_once_at_the_commit(db: Database) -> None:
    before = await revision(db)
    async with db.session() as session:
        async with session.begin_nested():
            await repository.upsert_assets(session, [new_asset()])
        await store_facts(session, first(), {"cpu_count": 2}, WHEN)
    assert await revision(db) == before + 1


async def test_reads_and_other_writes_leave_it(db: Database) -> None:
    before = await revision(db)
    async with db.reader() as session:
        await repository.list_assets(session, AssetFilter())
        await repository.asset_index_rows(session)
    async with db.session() as session:
        await repository.count_assets(session)
        await record_event(session, actor="t", entity_type="x", entity_id="1", action="a")
    async with db.session() as session:  # an import of what is there already writes nothing
        summary = await repository.upsert_assets(session, [Asset.model_validate(a) for a in FLEET])
    assert not summary.created and not summary.updated
    assert await revision(db) == before


async def test_a_rolled_back_write_leaves_it(db: Database) -> None:
    before = await revision(db)
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await repository.upsert_assets(session, [new_asset()])
            await session.flush()
            raise RuntimeError("the writer fails after its write")
    async with db.session() as session:  # and the next transaction does not inherit it
        await record_event(session, actor="t", entity_type="x", entity_id="1", action="a")
    assert await revision(db) == before


async def test_overlapping_writers_each_raise_it_once(db: Database) -> None:
    """Writers of assets and of one audit stream at once all commit, each one step of the
    revision: the bump's row lock orders them, only for the moment of their commits."""
    before = await revision(db)

    async def write(n: int) -> None:
        async with db.session() as session:
            asset = Asset.model_validate({**FLEET[0], "name": f"new-{n:02d}", "hostname": None})
            await repository.upsert_assets(session, [asset])
            await record_event(session, actor="t", entity_type="asset", entity_id="x", action="a")

    await asyncio.wait_for(asyncio.gather(*(write(n) for n in range(8))), timeout=60)
    assert await revision(db) == before + 8


# In a fresh interpreter that imports the revision's module before anything else of the store:
# the order hooks run in is the order they were registered, which follows the imports.
HOOKS_WHEN_REVISION_COMES_FIRST = """
import opsconductor.store.revision
import opsconductor.app
from opsconductor.store.revision import StoreSession
for hook in StoreSession().dispatch.before_commit:
    print(f"{hook.__module__}.{hook.__name__}")
"""


def test_the_bump_is_the_last_thing_a_commit_does() -> None:
    """After every other commit hook (the audit trail's append, and its locks): see
    store.revision. Whichever module a process imports first."""
    done = subprocess.run(
        [sys.executable, "-c", HOOKS_WHEN_REVISION_COMES_FIRST],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    hooks = done.stdout.split()
    assert len(hooks) > 1, hooks
    assert hooks[-1] == "opsconductor.store.revision._bump_at_commit"


async def test_each_store_has_an_id_of_its_own(tmp_path: Path) -> None:
    """So a kept index of one store (or of a file since made anew) is never another's."""
    found = []
    for name in ("one", "two"):
        db = await Database.connect(load_settings(home=tmp_path / name))
        try:
            async with db.reader() as session:
                found.append(await repository.inventory_fingerprint(session))
        finally:
            await db.close()
    assert [key.number for key in found] == [0, 0]
    assert found[0].store_id != found[1].store_id
