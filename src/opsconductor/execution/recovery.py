"""After a worker stops (killed, stalled, cut off from the database): taking over its expired
lease, and the operator's decision on a change that was in flight.

A read-only step that was running is run again. A mutating one may or may not have changed its
host, so it becomes ``interrupted`` and the execution waits for a person: retry (run it again),
skip (give it up and run what does not depend on it) or abort. Nothing is re-run blindly."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import InvalidTransition, NotPermitted, SelfApprovalForbidden
from opsconductor.execution.events import store_event
from opsconductor.execution.queries import get_execution
from opsconductor.execution.states import ExecutionState, StepState, check_step_transition
from opsconductor.execution.transitions import transition
from opsconductor.identity.models import Permission, Principal, Role
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ExecutionRow, StepRunRow, utcnow


class Resolution(StrEnum):
    RETRY = "retry"  # run the interrupted steps again
    SKIP = "skip"  # give them up; steps that depend on them are skipped too
    ABORT = "abort"  # end the execution here


async def take_over(session: AsyncSession, execution_id: str, worker: str) -> ExecutionState | None:
    """If `execution_id` is running under an expired lease, take it from its owner (whose later
    writes are then refused) and settle what was in flight; the new state, or None when there
    was nothing to take."""
    execution = await get_execution(session, execution_id, for_update=True)
    expires = execution.lease_expires_at
    if execution.state != ExecutionState.RUNNING or expires is None or expires > utcnow():
        return None
    owner = execution.claimed_by or "its worker"
    execution.lease_epoch += 1  # the fencing token: the old owner can write nothing more
    execution.claimed_by = worker
    read_only = {s.id: s.read_only for s in PlanV1.model_validate(execution.plan).steps}
    in_flight = await _steps(session, execution_id, StepState.RUNNING)
    changes = [s for s in in_flight if not read_only.get(s.step_id, False)]
    cancelling = execution.cancel_requested_at is not None
    why = f"{owner} stopped renewing its lease"
    for step in in_flight:
        if step in changes:
            to = StepState.INTERRUPTED
            note = f"{why} while this change ran: it may or may not have been made"
        else:
            to = StepState.CANCELLED if cancelling else StepState.PENDING
            note = f"{why}; read-only, so " + ("cancelled" if cancelling else "it runs again")
        await settle_step(session, execution_id, step, to, actor=worker, reason=note)
    if cancelling:
        await cancel_unfinished(session, execution_id, actor=worker, reason="cancel requested")
        to_state, reason = ExecutionState.CANCELLED, f"cancel requested; {why}"
    elif changes:
        where = ", ".join(f"{s.step_id} on {s.target}" for s in changes)
        to_state, reason = ExecutionState.INTERRUPTED, f"{why} during {where}: resolve it"
        execution.error_message = f"interrupted: {where} may or may not have run"
    else:
        to_state, reason = ExecutionState.QUEUED, f"{why}; nothing was changing, so it runs on"
    await transition(session, execution, to=to_state, actor=worker, reason=reason)
    return to_state


async def resolve(
    session: AsyncSession,
    execution_id: str,
    decision: Resolution,
    *,
    actor: str,
    role: Role | None,
) -> ExecutionRow:
    """The operator's decision on an interrupted execution; retry and skip queue it again."""
    execution = await get_execution(session, execution_id, for_update=True)
    check_can_resolve(execution, actor, role)
    if execution.state != ExecutionState.INTERRUPTED:
        raise InvalidTransition(
            f"execution {execution_id} is {execution.state}, not interrupted: nothing to resolve"
        )
    interrupted = await _steps(session, execution_id, StepState.INTERRUPTED)
    reason = f"{decision.value} decided by {actor} after an interruption"
    await record_event(
        session,
        actor=actor,
        entity_type="execution",
        entity_id=execution_id,
        action="resolved",
        reason=reason,
        details={"decision": decision.value, "steps": [s.step_id for s in interrupted]},
    )
    if decision is Resolution.ABORT:
        await cancel_unfinished(session, execution_id, actor=actor, reason=reason)
        await transition(
            session, execution, to=ExecutionState.CANCELLED, actor=actor, reason=reason
        )
        return execution
    to = StepState.PENDING if decision is Resolution.RETRY else StepState.SKIPPED
    for step in interrupted:
        await settle_step(session, execution_id, step, to, actor=actor, reason=reason)
    execution.error_message = None
    await transition(session, execution, to=ExecutionState.QUEUED, actor=actor, reason=reason)
    return execution


def check_can_resolve(execution: ExecutionRow, actor: str, role: Role | None) -> None:
    """Retry re-runs a change, so it needs what approving it needed: an approver, or for a
    level-1 plan its requester; never the requester of a level 2 or 3 plan."""
    own = actor == execution.requested_by
    if execution.approval_level >= 2 and own:
        raise SelfApprovalForbidden(
            f"level {execution.approval_level}: someone other than the requester ({actor}) "
            "must decide how an interrupted change goes on"
        )
    if role is None:
        return  # a trusted local actor, checked by name above
    principal = Principal(actor, role)
    if principal.can(Permission.APPROVE):
        return
    if execution.approval_level <= 1 and own and principal.can(Permission.CONFIRM_OWN):
        return
    raise NotPermitted(f"resolving needs the approver role; {actor} is {role}")


async def cancel_unfinished(
    session: AsyncSession, execution_id: str, *, actor: str, reason: str
) -> None:
    """Settle the steps of an execution that ends here: the pending ones will never run, and
    an interrupted one is given up (its note keeps that it may or may not have run)."""
    for step in await _steps(session, execution_id, StepState.PENDING):
        await settle_step(
            session, execution_id, step, StepState.CANCELLED, actor=actor, reason=reason
        )
    for step in await _steps(session, execution_id, StepState.INTERRUPTED):
        note = f"{reason}; it had been interrupted and may or may not have run"
        await settle_step(
            session, execution_id, step, StepState.CANCELLED, actor=actor, reason=note
        )


async def settle_step(
    session: AsyncSession,
    execution_id: str,
    step: StepRunRow,
    to: StepState,
    *,
    actor: str,
    reason: str,
) -> None:
    """Move one step row on behalf of recovery, audited and announced like the engine's."""
    previous = step.state
    check_step_transition(previous, to.value)
    step.state = to.value
    step.error = None if to is StepState.PENDING else reason
    if to is StepState.PENDING:
        step.started_at = step.completed_at = None
        step.error_kind = None
    else:
        step.completed_at = step.completed_at or utcnow()
    await record_event(
        session,
        actor=actor,
        entity_type="step",
        entity_id=f"{execution_id}:{step.step_id}",
        action="transition",
        from_state=previous,
        to_state=to.value,
        reason=reason,
        details={"target": step.target},
    )
    data = {"step_id": step.step_id, "target": step.target, "state": to.value, "summary": reason}
    store_event(session, execution_id, "step_complete", data)


async def _steps(session: AsyncSession, execution_id: str, state: StepState) -> list[StepRunRow]:
    rows = await session.scalars(
        select(StepRunRow)
        .where(StepRunRow.execution_id == execution_id)
        .where(StepRunRow.state == state.value)
        .order_by(StepRunRow.id)
    )
    return list(rows)
