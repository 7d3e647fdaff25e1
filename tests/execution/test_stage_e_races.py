"""Races on stage E's decisions, in-process: two conductors (each its own pool) over one store
decide on one execution at the same moment; exactly one decision wins and nothing is settled
twice. A dead worker mid-change is simulated by writing the store as it would have left it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update
from tests.conftest import FLEET, seed

from opsconductor.app import OpsConductor
from opsconductor.config import Settings
from opsconductor.errors import ApprovalError
from opsconductor.execution.recovery import Resolution
from opsconductor.queue.inprocess import Worker
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.tables import (
    ApprovalRow,
    AuditEventRow,
    ExecutionRow,
    StepRunRow,
    utcnow,
)


async def _pair(settings: Settings) -> tuple[OpsConductor, OpsConductor]:
    first = await OpsConductor.open(settings)
    second = await OpsConductor.open(settings)
    await seed(first, FLEET)
    return first, second


async def _approved(conductor: OpsConductor, text: str) -> str:
    asked = await conductor.pipeline.ask(text, requester="alice")
    assert asked.plan is not None and asked.approval_ids, asked
    for approval_id in asked.approval_ids:
        await conductor.executions.approve(approval_id, "bob")
    assert asked.execution_id is not None
    return asked.execution_id


async def _dead_mid_change(conductor: OpsConductor) -> str:
    """An approved restart whose worker died while the change ran: running, lease expired, its
    step row running. Nothing is ever run on the host."""
    execution_id = await _approved(conductor, "restart nginx on ops-console")
    async with conductor.db.session() as session:
        row = await session.get(ExecutionRow, execution_id)
        assert row is not None and row.state == "approved"
        step = PlanV1.model_validate(row.plan).steps[0]
        assert not step.read_only
        row.state = "running"
        row.claimed_by = "dead-worker"
        row.lease_epoch += 1
        row.lease_expires_at = utcnow() - timedelta(seconds=5)
        row.started_at = utcnow()
        session.add(
            StepRunRow(
                execution_id=execution_id,
                step_id=step.id,
                tool=step.tool,
                target="ops-console",
                state="running",
                started_at=utcnow(),
                output="",
            )
        )
    return execution_id


async def _interrupted(first: OpsConductor) -> str:
    execution_id = await _dead_mid_change(first)
    assert await first.executions.take_over_expired("taker") == 1
    assert (await first.executions.result(execution_id)).status == "interrupted"
    return execution_id


async def _audit(conductor: OpsConductor, entity_id: str, action: str) -> list[AuditEventRow]:
    async with conductor.db.reader() as session:
        rows = await session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.entity_id.startswith(entity_id))
            .where(AuditEventRow.action == action)
            .order_by(AuditEventRow.id)
        )
        return list(rows)


async def _outcomes(*calls: object) -> list[object]:
    return list(await asyncio.gather(*calls, return_exceptions=True))  # type: ignore[arg-type]


async def _race_resolve(settings: Settings, a: Resolution, b: Resolution) -> None:
    first, second = await _pair(settings)
    try:
        execution_id = await _interrupted(first)
        outcomes = await _outcomes(
            first.executions.resolve(execution_id, a, "bob"),
            second.executions.resolve(execution_id, b, "carol"),
        )
        resolved = await _audit(first, execution_id, "resolved")
        refused = await _audit(first, execution_id, "resolve_refused")
        transitions = await _audit(first, execution_id, "transition")
        final = await first.executions.result(execution_id)
    finally:
        await first.close()
        await second.close()
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    wins = [o for o in outcomes if isinstance(o, ExecutionRow)]
    assert len(wins) == 1 and len(errors) == 1, outcomes
    assert type(errors[0]).__name__ == "InvalidTransition", errors
    assert len(resolved) == 1
    # The loser's refusal is in the audit trail like every other refused decision.
    assert len(refused) == 1, "the losing resolve left no resolve_refused audit row"
    to_queued = [t for t in transitions if t.to_state == "queued" and t.entity_id == execution_id]
    to_cancelled = [
        t for t in transitions if t.to_state == "cancelled" and t.entity_id == execution_id
    ]
    assert len(to_queued) + len(to_cancelled) == 1, [(t.entity_id, t.to_state) for t in transitions]
    assert final.status in {"queued", "cancelled"}


async def test_retry_racing_abort_one_wins(settings: Settings) -> None:
    await _race_resolve(settings, Resolution.RETRY, Resolution.ABORT)


async def test_retry_racing_retry_one_wins(settings: Settings) -> None:
    await _race_resolve(settings, Resolution.RETRY, Resolution.RETRY)


async def test_resolve_racing_cancel(settings: Settings) -> None:
    first, second = await _pair(settings)
    try:
        execution_id = await _interrupted(first)
        outcomes = await _outcomes(
            first.executions.resolve(execution_id, Resolution.RETRY, "bob"),
            second.executions.cancel(execution_id, "carol", "never mind"),
        )
        final = await first.executions.result(execution_id)
        resolved = await _audit(first, execution_id, "resolved")
        async with first.db.reader() as session:
            steps = list(
                await session.scalars(
                    select(StepRunRow.state).where(StepRunRow.execution_id == execution_id)
                )
            )
    finally:
        await first.close()
        await second.close()
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) <= 1, outcomes
    if isinstance(outcomes[0], BaseException):  # cancel won: the resolve is refused
        assert type(outcomes[0]).__name__ == "InvalidTransition", outcomes
        assert final.status == "cancelled" and resolved == []
    else:  # the retry won; the cancel then cancels the queued execution
        assert len(resolved) == 1
        assert final.status == "cancelled", final.status
    # A cancelled execution leaves no step waiting to run or to be decided.
    assert all(s not in {"pending", "interrupted", "running"} for s in steps), steps


async def test_racing_take_overs_settle_the_steps_once(settings: Settings) -> None:
    first, second = await _pair(settings)
    try:
        execution_id = await _dead_mid_change(first)
        taken = await asyncio.gather(
            first.executions.take_over_expired("taker-1"),
            second.executions.take_over_expired("taker-2"),
        )
        final = await first.executions.result(execution_id)
        step_moves = await _audit(first, f"{execution_id}:", "transition")
        to_interrupted = [
            t
            for t in await _audit(first, execution_id, "transition")
            if t.to_state == "interrupted" and t.entity_id == execution_id
        ]
        async with first.db.reader() as session:
            epoch = await session.scalar(
                select(ExecutionRow.lease_epoch).where(ExecutionRow.id == execution_id)
            )
    finally:
        await first.close()
        await second.close()
    assert sorted(taken) == [0, 1]
    assert final.status == "interrupted"
    assert len(step_moves) == 1 and step_moves[0].to_state == "interrupted"
    assert len(to_interrupted) == 1
    assert epoch == 2  # bumped once by the dead worker's claim, once by the one take-over


async def test_sweep_racing_an_inline_claim_runs_once(settings: Settings) -> None:
    settings = settings.model_copy(update={"lease_s": 0.2})
    first, second = await _pair(settings)
    try:
        asked = await first.pipeline.ask("check disk space on ops-console", requester="alice")
        assert asked.approval_ids and asked.execution_id
        execution_id = asked.execution_id
        await first.executions.approve(asked.approval_ids[0], "alice")
        await asyncio.sleep(0.3)  # past the claim deadline: both may act
        await _outcomes(
            second.executions.queue_unclaimed("sweeper"),
            first.executions.run(execution_id, "inline"),
        )
        # Whatever the sweep queued, a worker may now run; it must not run it again.
        await Worker(second.executions, name="w").run_queued()
        final = await first.executions.result(execution_id)
        claims = [
            t
            for t in await _audit(first, execution_id, "transition")
            if t.to_state == "running" and t.entity_id == execution_id
        ]
        async with first.db.reader() as session:
            steps = await session.scalar(
                select(func.count())
                .select_from(StepRunRow)
                .where(StepRunRow.execution_id == execution_id)
            )
    finally:
        await first.close()
        await second.close()
    assert final.status == "succeeded", final.status
    assert len(claims) == 1 and steps == 1


async def test_expiry_racing_approve_one_wins(settings: Settings) -> None:
    first, second = await _pair(settings)
    try:
        asked = await first.pipeline.ask("restart nginx on ops-console", requester="alice")
        assert asked.approval_ids and asked.execution_id
        execution_id = asked.execution_id
        async with first.db.session() as session:
            await session.execute(
                update(ApprovalRow)
                .where(ApprovalRow.execution_id == execution_id)
                .values(expires_at=utcnow() + timedelta(milliseconds=30))
            )
        await asyncio.sleep(0.03)
        outcomes = await _outcomes(
            first.executions.approve(asked.approval_ids[0], "bob"),
            second.executions.expire_due(),
        )
        async with first.db.reader() as session:
            statuses = list(
                await session.scalars(
                    select(ApprovalRow.status).where(ApprovalRow.execution_id == execution_id)
                )
            )
        final = await first.executions.result(execution_id)
    finally:
        await first.close()
        await second.close()
    approve_outcome = outcomes[0]
    if isinstance(approve_outcome, BaseException):
        assert isinstance(approve_outcome, ApprovalError), approve_outcome
        assert final.status == "expired" and statuses == ["expired"] * len(statuses)
    else:
        assert final.status in {"approved", "pending_approval"}
        assert "expired" not in statuses, statuses
