"""The store's numbers behind the metrics: counted by the database at the time of asking, so
that every replica reports the same truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.approvals import ApprovalStatus
from opsconductor.execution.states import ExecutionState
from opsconductor.store.tables import ApprovalRow, ExecutionRow, StepRunRow


@dataclass(frozen=True)
class StepDurations:
    """Finished step runs of one tool: how many, their summed seconds, and per bucket bound
    how many took at most that long (cumulative, as Prometheus counts them)."""

    tool: str
    count: int
    total_seconds: float
    at_most: list[int]


async def executions_by_state(session: AsyncSession) -> dict[str, int]:
    """How many executions are in each state; every state is named, with 0 if none is."""
    rows = await session.execute(
        select(ExecutionRow.state, func.count()).group_by(ExecutionRow.state)
    )
    counts: dict[str, int] = {state.value: 0 for state in ExecutionState}
    counts.update({state: int(n) for state, n in rows})
    return counts


async def pending_approvals(session: AsyncSession) -> int:
    """How many approval requests wait for a decision."""
    pending = await session.scalar(
        select(func.count())
        .select_from(ApprovalRow)
        .where(ApprovalRow.status == ApprovalStatus.PENDING.value)
    )
    return int(pending or 0)


def _duration_seconds(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # datetimes are text there; julianday reads them to the millisecond
        days = func.julianday(StepRunRow.completed_at) - func.julianday(StepRunRow.started_at)
        return days * 86400.0
    return extract("epoch", StepRunRow.completed_at - StepRunRow.started_at)


async def step_durations(session: AsyncSession, bounds: Sequence[float]) -> list[StepDurations]:
    """Finished step runs per tool (by tool name), bucketed by the database at `bounds`."""
    duration = _duration_seconds(session.get_bind().dialect.name)
    buckets = [func.sum(case((duration <= bound, 1), else_=0)) for bound in bounds]
    query = (
        select(StepRunRow.tool, func.count(), func.sum(duration), *buckets)
        .where(StepRunRow.started_at.is_not(None), StepRunRow.completed_at.is_not(None))
        .group_by(StepRunRow.tool)
        .order_by(StepRunRow.tool)
    )
    return [
        StepDurations(tool, int(count), float(total or 0.0), [int(n or 0) for n in cumulative])
        for tool, count, total, *cumulative in await session.execute(query)
    ]
