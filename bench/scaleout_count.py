"""What the store says about how a window's executions ran, for bench/scaleout.py: who claimed
each (`claimed_by`), how often (`lease_epoch`, raised by every claim and takeover), and whether
each planned step has its step rows, none of them twice (an inventory step writes one row with
no target, even when its plan names the assets it reads about)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from api_load_server import Backend
from opsconductor.app import OpsConductor
from opsconductor.store.tables import ExecutionRow, StepRunRow


@dataclass(frozen=True)
class RunCount:
    """How one requester's executions ran."""

    executions: int
    claimed_by: dict[str, int]  # executions by the process of their (last) claim
    claims: dict[int, int]  # executions by their lease epoch: 1 is one claim, no takeover
    step_rows: dict[int, int]  # executions by their number of step rows
    rows_as_planned: int  # executions whose rows are of exactly their planned steps
    repeated: int  # (execution, step, target) with more than one row: a step run twice


def planned_steps(plan: dict[str, Any]) -> set[str]:
    return {step["id"] for step in plan.get("steps") or []}


async def count_runs(backend: Backend, requester: str) -> RunCount:
    """Count, in the store itself, how `requester`'s executions were claimed and run."""
    conductor = await OpsConductor.open(backend.settings())
    try:
        async with conductor.db.reader() as session:
            executions = (
                await session.execute(
                    select(
                        ExecutionRow.id,
                        ExecutionRow.claimed_by,
                        ExecutionRow.lease_epoch,
                        ExecutionRow.plan,
                    ).where(ExecutionRow.requested_by == requester)
                )
            ).all()
            steps = (
                await session.execute(
                    select(StepRunRow.execution_id, StepRunRow.step_id, StepRunRow.target)
                    .join(ExecutionRow, ExecutionRow.id == StepRunRow.execution_id)
                    .where(ExecutionRow.requested_by == requester)
                )
            ).all()
            repeated = await session.scalar(
                select(func.count()).select_from(
                    select(StepRunRow.execution_id)
                    .join(ExecutionRow, ExecutionRow.id == StepRunRow.execution_id)
                    .where(ExecutionRow.requested_by == requester)
                    .group_by(StepRunRow.execution_id, StepRunRow.step_id, StepRunRow.target)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
    finally:
        await conductor.close()
    rows: dict[str, Counter[tuple[str, str | None]]] = {e.id: Counter() for e in executions}
    for execution_id, step_id, target in steps:
        rows[execution_id][(step_id, target)] += 1
    return RunCount(
        executions=len(executions),
        claimed_by=dict(Counter(e.claimed_by or "(none)" for e in executions)),
        claims=dict(Counter(int(e.lease_epoch) for e in executions)),
        step_rows=dict(Counter(sum(r.values()) for r in rows.values())),
        rows_as_planned=sum(
            {step for step, _ in rows[e.id]} == planned_steps(e.plan) for e in executions
        ),
        repeated=int(repeated or 0),
    )
