"""Read an execution back as the ExecutionResultV1 contract."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.approvals import ApprovalStatus
from opsconductor.execution.states import StepState
from opsconductor.schemas.execution import ExecutionResultV1, StepResultV1
from opsconductor.store.tables import ApprovalRow, ExecutionRow, StepRunRow, table_of


async def build_result(session: AsyncSession, execution: ExecutionRow) -> ExecutionResultV1:
    """The result as the store holds it."""
    steps = await session.scalars(
        select(StepRunRow).where(StepRunRow.execution_id == execution.id).order_by(StepRunRow.id)
    )
    return result_of(
        execution, [columns_of(row) for row in steps], await _approvals(session, execution)
    )


async def result_of_run(
    session: AsyncSession, execution: ExecutionRow, steps: list[dict[str, Any]]
) -> ExecutionResultV1:
    """The result of a run from the rows it wrote (`DbRecorder.rows`, and its execution row as
    its end was written), not read back; approvals are read only when it had any to have."""
    approvals = await _approvals(session, execution) if execution.approval_level > 0 else []
    return result_of(execution, steps, approvals)


def result_of(
    execution: ExecutionRow, steps: list[dict[str, Any]], approvals: list[ApprovalRow]
) -> ExecutionResultV1:
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
        success_count=sum(1 for s in steps if s["state"] == StepState.SUCCEEDED),
        failure_count=sum(1 for s in steps if s["state"] in _FAILED),
        output=execution.output,
        error_message=execution.error_message,
        approved_by=[a.decided_by for a in approvals if a.decided_by],
        approval_timestamp=approvals[-1].decided_at if approvals else None,
    )


_FAILED = {StepState.FAILED, StepState.TIMED_OUT, StepState.INTERRUPTED}


async def _approvals(session: AsyncSession, execution: ExecutionRow) -> list[ApprovalRow]:
    approvals = await session.scalars(
        select(ApprovalRow)
        .where(ApprovalRow.execution_id == execution.id)
        .where(ApprovalRow.status == ApprovalStatus.APPROVED.value)
        .order_by(ApprovalRow.decided_at)
    )
    return list(approvals)


def columns_of(row: StepRunRow) -> dict[str, Any]:
    """A step row as the plain values of its columns."""
    return {column.key: getattr(row, column.key) for column in table_of(StepRunRow).columns}


def _step_result(row: dict[str, Any]) -> StepResultV1:
    duration = None
    if row["started_at"] and row["completed_at"]:
        duration = (row["completed_at"] - row["started_at"]).total_seconds()
    return StepResultV1(
        step_id=row["step_id"],
        target=row["target"],
        tool=row["tool"],
        status=row["state"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        duration_seconds=duration,
        exit_code=row["exit_code"],
        output=row["output"],
        error=row["error"],
        error_kind=row["error_kind"],
        data=unwrap_data(row["data"]),
    )


def unwrap_data(stored: dict[str, Any] | None) -> Any:
    """A step's data as the parser gave it: a list or a scalar is stored as {"value": …}."""
    if isinstance(stored, dict) and set(stored) == {"value"}:
        return stored["value"]
    return stored
