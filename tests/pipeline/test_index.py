"""The pipeline's inventory index: built once for concurrent first requests, rebuilt when (and
only when) the inventory's revision changes, read without the store's write lock, and kept in
the home between processes (`brain.index_file`) when a face asks for that."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.brain.index_file import IndexFile
from opsconductor.config import Settings
from opsconductor.inventory import repository
from opsconductor.inventory.facts import store_facts
from opsconductor.inventory.models import Asset
from opsconductor.store.audit import record_event

WHEN = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def test_concurrent_first_requests_build_the_index_once(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    indexes = await asyncio.gather(*(conductor.pipeline.index() for _ in range(20)))
    assert conductor.pipeline.index_builds == 1
    assert all(index is indexes[0] for index in indexes)
    assert set(indexes[0].assets) == {a["name"] for a in FLEET}


async def test_the_index_is_rebuilt_after_an_inventory_write_only(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    pipeline = conductor.pipeline
    first = await pipeline.index()
    async with conductor.db.session() as session:  # a write elsewhere, and a read
        await record_event(session, actor="t", entity_type="x", entity_id="1", action="a")
        await repository.count_assets(session)
    assert await pipeline.index() is first
    async with conductor.db.session() as session:
        await store_facts(session, "web-prod-01", {"services": ["nginx"]}, WHEN)
    rebuilt = await pipeline.index()
    assert pipeline.index_builds == 2
    assert rebuilt.running == {"nginx": ["web-prod-01"]}


async def test_the_index_is_read_while_a_writer_holds_the_store(
    sqlite_settings: Settings,
) -> None:
    conductor = await OpsConductor.open(sqlite_settings)
    try:
        await seed(conductor, FLEET)
        async with conductor.db.session() as session:  # SQLite's one write lock, held
            extra = Asset.model_validate({**FLEET[0], "name": "extra-01", "hostname": None})
            await repository.upsert_assets(session, [extra])
            index = await asyncio.wait_for(conductor.pipeline.index(), timeout=5)
        assert len(index) == len(FLEET)  # as the store was before the writer commits
    finally:
        await conductor.close()


@pytest.fixture
async def opened() -> AsyncIterator[list[OpsConductor]]:
    """Conductors opened on one store, each a process of its own would open; closed after."""
    conductors: list[OpsConductor] = []
    yield conductors
    for conductor in conductors:
        await conductor.close()


async def open_with_file(settings: Settings, opened: list[OpsConductor]) -> OpsConductor:
    conductor = await OpsConductor.open(settings)
    opened.append(conductor)
    conductor.pipeline.index_file = IndexFile.in_home(settings.home)
    return conductor


def index_path(settings: Settings) -> Path:
    return IndexFile.in_home(settings.home).path


async def test_a_later_process_reads_the_index_from_the_home(
    settings: Settings, opened: list[OpsConductor]
) -> None:
    writer = await open_with_file(settings, opened)
    await seed(writer, FLEET)
    built = await writer.pipeline.index()
    assert writer.pipeline.index_builds == 1
    path = index_path(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700

    later = await open_with_file(settings, opened)
    read = await later.pipeline.index()
    assert later.pipeline.index_builds == 0
    assert read.assets == built.assets
    assert read.tags == built.tags and read.environments == built.environments


async def test_the_kept_index_is_not_used_once_the_inventory_changed(
    settings: Settings, opened: list[OpsConductor]
) -> None:
    first = await open_with_file(settings, opened)
    await seed(first, FLEET)
    await first.pipeline.index()
    async with first.db.session() as session:
        changed = Asset.model_validate({**FLEET[1], "environment": "staging"})
        await repository.upsert_assets(session, [changed])
    later = await open_with_file(settings, opened)
    index = await later.pipeline.index()
    assert later.pipeline.index_builds == 1
    assert index.assets[str(FLEET[1]["name"])].environment == "staging"
    again = await open_with_file(settings, opened)  # and the file now holds the new revision
    assert (await again.pipeline.index()).assets == index.assets
    assert again.pipeline.index_builds == 0


@pytest.mark.parametrize(
    "spoil",
    [
        "truncated",
        "another store",
        "another format",
        "a value of the wrong type",
        "not a list of rows",
    ],
)
async def test_a_file_that_does_not_fit_is_ignored_and_replaced(
    sqlite_settings: Settings, opened: list[OpsConductor], spoil: str
) -> None:
    first = await open_with_file(sqlite_settings, opened)
    await seed(first, FLEET)
    await first.pipeline.index()
    path = index_path(sqlite_settings)
    good = path.read_text(encoding="utf-8")
    document = json.loads(good)
    if spoil == "truncated":
        path.write_text(good[: len(good) // 2], encoding="utf-8")
    else:
        if spoil == "another store":
            document["key"][2] = "another-store-id"
        elif spoil == "another format":
            document["key"][0] += 1
        elif spoil == "a value of the wrong type":
            document["assets"][0][6] = "ops"  # tags: a string where a list belongs
        else:
            document["assets"] = {"ops-console": document["assets"][0]}
        path.write_text(json.dumps(document), encoding="utf-8")
    later = await open_with_file(sqlite_settings, opened)
    index = await later.pipeline.index()
    assert later.pipeline.index_builds == 1
    assert index.assets["ops-console"].tags == ("ops",)
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(good)


async def test_without_a_file_nothing_is_kept(conductor: OpsConductor) -> None:
    await seed(conductor, FLEET)
    await conductor.pipeline.index()
    assert not index_path(conductor.settings).parent.exists()


async def test_a_home_where_the_file_cannot_be_written_still_answers(
    sqlite_settings: Settings, opened: list[OpsConductor]
) -> None:
    sqlite_settings.home.mkdir(parents=True, exist_ok=True)
    (sqlite_settings.home / "cache").write_text("not a folder", encoding="utf-8")
    conductor = await open_with_file(sqlite_settings, opened)
    await seed(conductor, FLEET)
    assert len(await conductor.pipeline.index()) == len(FLEET)
    assert (sqlite_settings.home / "cache").read_text(encoding="utf-8") == "not a folder"
