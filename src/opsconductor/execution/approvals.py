"""Approval requests and decisions: levels, four-eyes, expiry, and binding to the plan's hash."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.errors import (
    ApprovalAlreadyDecided,
    ApprovalExpired,
    NotFound,
    NotPermitted,
    PlanChanged,
    SelfApprovalForbidden,
)
from opsconductor.execution.states import ExecutionState
from opsconductor.identity.models import Permission, Principal, Role
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ApprovalRow, ExecutionRow, utcnow


class ApprovalStatus(StrEnum):
    PENDING = "pending"  # waiting for a decision
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"  # nobody decided before expires_at
    VOIDED = "voided"  # the plan changed (a target re-pointed or re-made) before it was approved
    WITHDRAWN = "withdrawn"  # its execution ended (cancelled, denied) before a decision


async def request_approvals(
    session: AsyncSession, execution: ExecutionRow, plan: PlanV1, ttl_s: int
) -> list[ApprovalRow]:
    """One approval for levels 1 and 2; for level 3, the first step's (each later step's is
    requested when that step is next to run, with the results so far in view)."""
    first: str | None = plan.approval_points[0] if plan.approval_level >= 3 else None
    return [await _request(session, execution, plan.approval_level, first, ttl_s)]


async def request_step_approval(
    session: AsyncSession, execution: ExecutionRow, plan: PlanV1, step_id: str, ttl_s: int
) -> ApprovalRow:
    """Level 3: the approval of the step that is next to run."""
    return await _request(session, execution, plan.approval_level, step_id, ttl_s)


async def _request(
    session: AsyncSession, execution: ExecutionRow, level: int, step_id: str | None, ttl_s: int
) -> ApprovalRow:
    expires = utcnow() + timedelta(seconds=ttl_s)
    row = ApprovalRow(
        id=str(uuid.uuid4()),
        execution_id=execution.id,
        plan_hash=execution.plan_hash,
        level=level,
        step_id=step_id,
        status=ApprovalStatus.PENDING.value,
        requested_by=execution.requested_by,
        expires_at=expires,
    )
    session.add(row)
    await record_event(
        session,
        actor=execution.requested_by,
        entity_type="approval",
        entity_id=row.id,
        action="requested",
        to_state=row.status,
        reason=f"level {row.level} approval" + (f" of step {step_id}" if step_id else ""),
        details={"execution_id": execution.id, "plan_hash": execution.plan_hash},
    )
    await session.flush()
    return row


async def load_for_update(
    session: AsyncSession, approval_id: str
) -> tuple[ApprovalRow, ExecutionRow]:
    """The approval and its execution, locked for the caller's write transaction.

    Every decision locks the execution first and its approvals after (cancel and the runner do
    too), so that two decisions on one execution queue up instead of deadlocking."""
    execution_id = await session.scalar(
        select(ApprovalRow.execution_id).where(ApprovalRow.id == approval_id)
    )
    if execution_id is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    execution = await session.get(
        ExecutionRow, execution_id, with_for_update=True, populate_existing=True
    )
    approval = await session.get(
        ApprovalRow, approval_id, with_for_update=True, populate_existing=True
    )
    assert execution is not None and approval is not None
    return approval, execution


def check_can_decide(
    approval: ApprovalRow, execution: ExecutionRow, actor: str, role: Role | None = None
) -> None:
    """Raise the ApprovalError that says why `actor` may not decide this approval now.

    `role` is None for a trusted local actor (the CLI on the store's own machine): four-eyes
    still holds by name. With a role, level 1 needs the requester confirming their own plan or
    an approver; levels 2 and 3 need an approver who is not the requester."""
    if role is not None:
        _check_role(approval, actor, Principal(actor, role))
    if approval.status != ApprovalStatus.PENDING:
        raise ApprovalAlreadyDecided(f"approval {approval.id} is already {approval.status}")
    if execution.state != ExecutionState.PENDING_APPROVAL:
        raise ApprovalAlreadyDecided(
            f"execution {execution.id} is {execution.state}: there is nothing to decide"
        )
    if approval.expires_at <= utcnow():
        raise ApprovalExpired(
            f"approval {approval.id} expired at {approval.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if approval.level >= 2 and actor == approval.requested_by:
        raise SelfApprovalForbidden(
            f"level {approval.level} needs someone other than the requester ({actor}) to approve"
        )
    current_hash = PlanV1.model_validate(execution.plan).content_hash()
    if current_hash != approval.plan_hash or execution.plan_hash != approval.plan_hash:
        raise PlanChanged("the plan changed after this approval was requested; ask again")


async def approved_steps(session: AsyncSession, execution_id: str) -> frozenset[str]:
    """Level 3: the steps approved so far."""
    rows = await session.scalars(
        select(ApprovalRow.step_id)
        .where(ApprovalRow.execution_id == execution_id)
        .where(ApprovalRow.status == ApprovalStatus.APPROVED.value)
    )
    return frozenset(step for step in rows if step is not None)


async def earlier_approvers(session: AsyncSession, approval: ApprovalRow) -> set[str]:
    """Who approved the other steps of this approval's execution."""
    rows = await session.scalars(
        select(ApprovalRow.decided_by)
        .where(ApprovalRow.execution_id == approval.execution_id)
        .where(ApprovalRow.status == ApprovalStatus.APPROVED.value)
        .where(ApprovalRow.id != approval.id)
    )
    return {name for name in rows if name}


async def close_pending(
    session: AsyncSession,
    execution_id: str,
    *,
    to: ApprovalStatus,
    actor: str,
    reason: str,
) -> int:
    """End every approval of an execution still waiting (its execution ended, or its plan
    changed), so that nobody is asked to decide what can no longer run."""
    closed = 0
    for approval in await pending_for(session, execution_id):
        await settle_approval(
            session,
            approval,
            to,
            actor=actor,
            reason=reason,
            details={"execution_id": execution_id},
        )
        closed += 1
    return closed


async def settle_approval(
    session: AsyncSession,
    approval: ApprovalRow,
    to: ApprovalStatus,
    *,
    actor: str,
    reason: str | None,
    details: dict[str, str],
) -> None:
    """Every change of an approval's status: decided (by whom, when) and audited."""
    previous = approval.status
    approval.status = to.value
    approval.decided_by = actor
    approval.decided_at = utcnow()
    await record_event(
        session,
        actor=actor,
        entity_type="approval",
        entity_id=approval.id,
        action=to.value,
        from_state=previous,
        to_state=to.value,
        reason=reason,
        details=details,
    )


async def pending_for(session: AsyncSession, execution_id: str) -> list[ApprovalRow]:
    rows = await session.scalars(
        select(ApprovalRow)
        .where(ApprovalRow.execution_id == execution_id)
        .where(ApprovalRow.status == ApprovalStatus.PENDING.value)
    )
    return list(rows)


def _check_role(approval: ApprovalRow, actor: str, principal: Principal) -> None:
    own = actor == approval.requested_by
    if principal.can(Permission.APPROVE):
        return
    if approval.level == 1 and own and principal.can(Permission.CONFIRM_OWN):
        return
    if approval.level == 1:
        raise NotPermitted(
            f"{actor} ({principal.role}) may confirm only their own level-1 plans; "
            "an approver may confirm others'"
        )
    raise NotPermitted(
        f"level {approval.level} needs the approver role; {actor} is {principal.role}"
    )


async def due_for_expiry(session: AsyncSession, now: datetime) -> list[ApprovalRow]:
    rows = await session.scalars(
        select(ApprovalRow)
        .where(ApprovalRow.status == ApprovalStatus.PENDING.value)
        .where(ApprovalRow.expires_at <= now)
    )
    return list(rows)
