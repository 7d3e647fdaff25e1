"""Every change of an execution's state goes through :func:`transition`: checked against the
table, written, and appended to the audit trail in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.states import TERMINAL_STATES, ExecutionState, check_transition
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ExecutionEventRow, ExecutionRow, utcnow


async def transition(
    session: AsyncSession,
    execution: ExecutionRow,
    *,
    to: ExecutionState,
    actor: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Move `execution` to `to`; raises InvalidTransition when the table forbids it."""
    current = execution.state
    check_transition(current, to)
    execution.state = to.value
    if to is ExecutionState.RUNNING and execution.started_at is None:
        execution.started_at = utcnow()
    if to in TERMINAL_STATES:
        execution.completed_at = utcnow()
    await record_event(
        session,
        actor=actor,
        entity_type="execution",
        entity_id=execution.id,
        action="transition",
        from_state=current,
        to_state=to.value,
        reason=reason,
        details=details,
    )
    # Followers read progress from the store, so every change of state is also an event there.
    data: dict[str, Any] = {"state": to.value, "from": current, "reason": reason}
    if to in TERMINAL_STATES:
        data |= {"output": execution.output, "error": execution.error_message}
    kind = "complete" if to in TERMINAL_STATES else "progress"
    session.add(ExecutionEventRow(execution_id=execution.id, type=kind, data=data))


async def claim(
    session: AsyncSession, execution_id: str, *, worker: str, from_states: set[ExecutionState]
) -> bool:
    """Compare-and-set to RUNNING: true for exactly one of any number of concurrent claimers."""
    for state in from_states:
        check_transition(state, ExecutionState.RUNNING)
    result = await session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.id == execution_id)
        .where(ExecutionRow.state.in_([s.value for s in from_states]))
        .values(state=ExecutionState.RUNNING.value, claimed_by=worker, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
