"""Writers of one process on the embedded SQLite store take turns in the order they came
(`Database._writer_turn`), and a transaction written at commit waits for its turn only to
commit. Real SQLite; PostgreSQL has row locks and needs no turns (the last test runs on both)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from opsconductor.config import Settings, load_settings
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import AuditEventRow

WRITERS = 30


async def committed_order(db: Database) -> list[str]:
    async with db.reader() as session:
        rows = await session.scalars(
            select(AuditEventRow.entity_id)
            .where(AuditEventRow.entity_type == "test")
            .order_by(AuditEventRow.id)
        )
        return list(rows)


async def test_writers_of_one_process_commit_in_the_order_they_came(tmp_path: Path) -> None:
    db = await Database.connect(load_settings(home=tmp_path))
    try:
        waiting: list[asyncio.Task[None]] = []

        async def writer(number: int) -> None:
            async with db.session() as session:
                await record_event(
                    session, actor="t", entity_type="test", entity_id=str(number), action="wrote"
                )
                await asyncio.sleep(0.002)  # long enough for the others to pile up

        for number in range(WRITERS):
            waiting.append(asyncio.create_task(writer(number)))
            await asyncio.sleep(0)  # each has asked for its turn before the next is made
        await asyncio.gather(*waiting)

        assert await committed_order(db) == [str(n) for n in range(WRITERS)]
    finally:
        await db.close()


async def test_a_transaction_written_at_commit_lets_others_write_until_it_commits(
    settings: Settings,
) -> None:
    db = await Database.connect(settings)
    try:
        async with db.session_written_at_commit() as noted:
            await record_event(noted, actor="t", entity_type="test", entity_id="b", action="x")
            async with db.session() as other:  # would wait for ever were the turn held
                await record_event(other, actor="t", entity_type="test", entity_id="a", action="x")
            assert await committed_order(db) == ["a"]  # b is not written yet
        assert await committed_order(db) == ["a", "b"]

        try:
            async with db.session_written_at_commit() as undone:
                await record_event(undone, actor="t", entity_type="test", entity_id="c", action="x")
                raise RuntimeError("the run crashed")
        except RuntimeError:
            pass
        assert await committed_order(db) == ["a", "b"]  # nothing of it was written
    finally:
        await db.close()
