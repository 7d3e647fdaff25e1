"""Several workers, each with its own connection pool, race for the same queued executions:
each execution runs exactly once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.queue.inprocess import Worker
from opsconductor.store.tables import AuditEventRow, StepRunRow


async def test_racing_workers_run_each_execution_once(settings: Settings) -> None:
    conductors = [await OpsConductor.open(settings) for _ in range(3)]
    try:
        first = conductors[0]
        await seed(first, FLEET)
        queued = []
        for _ in range(3):
            answer = await first.pipeline.ask(
                "run a full health check on ops-console", requester="alice", wait=False
            )
            assert answer.execution_state == "queued"
            queued.append(answer.execution_id)
        workers = [Worker(c.executions, name=f"worker-{n}") for n, c in enumerate(conductors)]
        ran = await asyncio.gather(*(w.run_queued() for w in workers))
        async with first.db.session() as session:
            steps = await session.scalar(select(func.count()).select_from(StepRunRow))
            claims = list(
                await session.scalars(
                    select(AuditEventRow.actor).where(AuditEventRow.reason.startswith("claimed by"))
                )
            )
        results = [await first.executions.result(e or "") for e in queued]
    finally:
        for conductor in conductors:
            await conductor.close()
    assert sum(ran) == 3
    assert all(r.status == "succeeded" for r in results)
    assert steps == 3 * 4  # four checks per health check, none run twice
    assert len(claims) == 3


async def test_an_approved_execution_nobody_started_is_queued_and_run(settings: Settings) -> None:
    """The process that approved it died before claiming it: past the claim deadline (the
    lease time) a worker's sweep queues it, and it runs once."""
    conductor = await OpsConductor.open(settings.model_copy(update={"lease_s": 0.2}))
    try:
        await seed(conductor, FLEET)
        asked = await conductor.pipeline.ask("check disk space on ops-console", requester="alice")
        assert asked.plan is not None and asked.plan.approval_level == 1
        # The decision alone, as if the approving process stopped right after it.
        approved = await conductor.executions.approve(asked.approval_ids[0], "alice")
        assert approved.state == "approved"
        worker = Worker(conductor.executions, name="sweeper")
        await worker.sweep()  # the deadline has not passed: nothing to do yet
        assert (await conductor.executions.result(approved.id)).status == "approved"
        await asyncio.sleep(0.3)
        await worker.sweep()
        assert (await conductor.executions.result(approved.id)).status == "queued"
        assert await worker.run_queued() == 1
        result = await conductor.executions.result(approved.id)
    finally:
        await conductor.close()
    assert result.status == "succeeded" and len(result.step_results) == 1
