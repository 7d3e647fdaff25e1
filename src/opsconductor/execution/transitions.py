"""Every change of an execution's state goes through :func:`transition` (or :func:`claim`, its
compare-and-set form): checked against the table, written, and appended to the audit trail in
the same transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.execution.events import store_event
from opsconductor.execution.states import TERMINAL_STATES, ExecutionState, check_transition
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ExecutionRow, utcnow


async def transition(
    session: AsyncSession,
    execution: ExecutionRow,
    *,
    to: ExecutionState,
    actor: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Move `execution` to `to`; raises InvalidTransition when the table forbids it.

    The caller holds the row (read in its write transaction, ``FOR UPDATE`` on PostgreSQL), so
    the state checked is the state written over. Leaving RUNNING ends the lease."""
    current = execution.state
    check_transition(current, to)
    execution.state = to.value
    if to is ExecutionState.RUNNING and execution.started_at is None:
        execution.started_at = utcnow()
    if to is not ExecutionState.RUNNING:
        execution.lease_expires_at = None  # a lease (or claim deadline) ends with its state
    if to in TERMINAL_STATES:
        execution.completed_at = utcnow()
    await _record(session, execution, current, to, actor, reason, details)


async def claim(
    session: AsyncSession,
    execution_id: str,
    *,
    worker: str,
    from_states: set[ExecutionState],
    lease_s: float,
) -> ExecutionRow | None:
    """Compare-and-set to RUNNING under a new lease: the row for exactly one of any number of
    concurrent claimers, None for the others. The row's `lease_epoch` is the claimer's fencing
    token."""
    for state in from_states:
        check_transition(state, ExecutionState.RUNNING)
    now = utcnow()
    result = await session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.id == execution_id)
        .where(ExecutionRow.state.in_([s.value for s in from_states]))
        .values(
            state=ExecutionState.RUNNING.value,
            claimed_by=worker,
            lease_epoch=ExecutionRow.lease_epoch + 1,
            lease_expires_at=now + timedelta(seconds=lease_s),
        )
        .returning(ExecutionRow.lease_epoch)
        .execution_options(synchronize_session=False)
    )
    if result.scalar_one_or_none() is None:
        return None
    execution = await session.get(ExecutionRow, execution_id, populate_existing=True)
    assert execution is not None
    if execution.started_at is None:
        execution.started_at = now
    # The state it was claimed from is not read back: approved or queued, either way ready.
    await _record(session, execution, None, ExecutionState.RUNNING, worker, f"claimed by {worker}")
    return execution


async def claim_made_here(
    session: AsyncSession, execution: ExecutionRow, *, worker: str, lease_s: float
) -> None:
    """Claim an approved execution this very transaction made: no other transaction can see it
    before the commit, so there is nothing to compare and set; audited as any claim."""
    check_transition(execution.state, ExecutionState.RUNNING)
    now = utcnow()
    execution.state = ExecutionState.RUNNING.value
    execution.claimed_by = worker
    execution.lease_epoch = (execution.lease_epoch or 0) + 1
    execution.lease_expires_at = now + timedelta(seconds=lease_s)
    execution.started_at = now
    await _record(session, execution, None, ExecutionState.RUNNING, worker, f"claimed by {worker}")


async def _record(
    session: AsyncSession,
    execution: ExecutionRow,
    current: str | None,
    to: ExecutionState,
    actor: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
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
    data: dict[str, Any] = {"state": to.value, "reason": reason}
    if current is not None:
        data["from"] = current
    if to in TERMINAL_STATES:
        data |= {"output": execution.output, "error": execution.error_message}
    kind = "complete" if to in TERMINAL_STATES else "progress"
    store_event(session, execution.id, kind, data)
