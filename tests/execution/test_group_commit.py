"""A run's separate writes commit in groups (`Transactions`): writes that queue while one
commits share the next transaction, and each writer goes on only once its own write is in the
store. Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.app import OpsConductor
from opsconductor.execution.transactions import Transactions
from opsconductor.store.audit import record_event
from opsconductor.store.database import Database
from opsconductor.store.tables import AuditEventRow

WRITERS = 40


def counting_commits(db: Database) -> list[int]:
    """Commits of write transactions (readers commit too, and are not counted)."""
    commits = [0]

    @event.listens_for(db.engine.sync_engine, "commit")
    def commit(connection: Connection) -> None:
        if not connection.get_execution_options().get("opsconductor_read_only"):
            commits[0] += 1

    return commits


async def written(db: Database, entity_id: str) -> int:
    async with db.reader() as session:
        found = await session.scalar(
            select(func.count()).where(AuditEventRow.entity_id == entity_id)
        )
    return int(found or 0)


def note(entity_id: str) -> Any:
    async def work(session: AsyncSession) -> str:
        await record_event(
            session, actor="test", entity_type="test", entity_id=entity_id, action="wrote"
        )
        return entity_id

    return work


async def test_writes_that_queue_together_commit_together_and_each_writer_sees_its_own(
    conductor: OpsConductor,
) -> None:
    db = conductor.db
    tx = Transactions(db, conductor.events)
    commits = counting_commits(db)
    seen_after_write: dict[str, int] = {}

    async def writer(number: int) -> str:
        name = f"writer-{number}"
        returned = await tx.write(note(name))
        seen_after_write[name] = await written(db, name)
        return returned

    returned = await asyncio.gather(*(writer(n) for n in range(WRITERS)))

    assert returned == [f"writer-{n}" for n in range(WRITERS)]
    assert seen_after_write == {f"writer-{n}": 1 for n in range(WRITERS)}
    # Forty writers queued together: a few transactions, not forty.
    assert commits[0] <= WRITERS // 4


async def test_a_failing_write_fails_its_batch_only_and_a_cancelled_one_is_dropped(
    conductor: OpsConductor,
) -> None:
    db = conductor.db
    tx = Transactions(db, conductor.events)

    async def fails(session: AsyncSession) -> None:
        await note("in-the-failed-batch")(session)
        raise ValueError("this write is refused")

    first = asyncio.ensure_future(tx.write(note("first")))
    await asyncio.sleep(0)  # the first batch is on its way; the next three queue behind it
    failing = asyncio.ensure_future(tx.write(fails))
    beside = asyncio.ensure_future(tx.write(note("beside-the-failure")))
    dropped = asyncio.ensure_future(tx.write(note("cancelled-before-its-batch")))
    dropped.cancel()

    assert await first == "first"
    with pytest.raises(ValueError, match="refused"):
        await failing
    with pytest.raises(ValueError, match="refused"):
        await beside  # it shared the refused transaction
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert await tx.write(note("after")) == "after"  # the next batch is not affected

    for entity_id, expected in {
        "first": 1,
        "in-the-failed-batch": 0,
        "beside-the-failure": 0,
        "cancelled-before-its-batch": 0,
        "after": 1,
    }.items():
        assert await written(db, entity_id) == expected, entity_id
