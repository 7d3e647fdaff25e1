"""Read an execution back as the ExecutionResultV1 contract."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.approvals import ApprovalStatus
from opsconductor.execution.states import StepState
from opsconductor.schemas.execution import ExecutionResultV1, StepResultV1
from opsconductor.store.tables import ApprovalRow, ExecutionRow, StepRunRow


async def build_result(session: AsyncSession, execution: ExecutionRow) -> ExecutionResultV1:
    steps = list(
        await session.scalars(
            select(StepRunRow)
            .where(StepRunRow.execution_id == execution.id)
            .order_by(StepRunRow.id)
        )
    )
    approvals = list(
        await session.scalars(
            select(ApprovalRow)
            .where(ApprovalRow.execution_id == execution.id)
            .where(ApprovalRow.status == ApprovalStatus.APPROVED.value)
            .order_by(ApprovalRow.decided_at)
        )
    )
    duration = None
    if execution.started_at and execution.completed_at:
        duration = (execution.completed_at - execution.started_at).total_seconds()
    return ExecutionResultV1(
        execution_id=execution.id,
        plan_id=execution.plan_id,
        status=execution.state,
        requested_by=execution.requested_by,
        started_at=execution.started_at,
        completed_at=execution.completed_at,
        total_duration_seconds=duration,
        worker=execution.claimed_by,
        step_results=[_step_result(row) for row in steps],
        success_count=sum(1 for s in steps if s.state == StepState.SUCCEEDED),
        failure_count=sum(
            1
            for s in steps
            if s.state in {StepState.FAILED, StepState.TIMED_OUT, StepState.INTERRUPTED}
        ),
        output=execution.output,
        error_message=execution.error_message,
        approved_by=[a.decided_by for a in approvals if a.decided_by],
        approval_timestamp=approvals[-1].decided_at if approvals else None,
    )


def _step_result(row: StepRunRow) -> StepResultV1:
    duration = None
    if row.started_at and row.completed_at:
        duration = (row.completed_at - row.started_at).total_seconds()
    data = unwrap_data(row.data)
    return StepResultV1(
        step_id=row.step_id,
        target=row.target,
        tool=row.tool,
        status=row.state,
        started_at=row.started_at,
        completed_at=row.completed_at,
        duration_seconds=duration,
        exit_code=row.exit_code,
        output=row.output,
        error=row.error,
        error_kind=row.error_kind,
        data=data,
    )


def unwrap_data(stored: dict[str, Any] | None) -> Any:
    """A step's data as the parser gave it: a list or a scalar is stored as {"value": …}."""
    if isinstance(stored, dict) and set(stored) == {"value"}:
        return stored["value"]
    return stored
