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
from opsconductor.identity.models import Permission, Principal, Role
from opsconductor.schemas.plan import PlanV1
from opsconductor.store.audit import record_event
from opsconductor.store.tables import ApprovalRow, ExecutionRow, utcnow


class ApprovalStatus(StrEnum):
    PENDING = "pending"  # waiting for a decision
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"  # nobody decided before expires_at


async def request_approvals(
    session: AsyncSession, execution: ExecutionRow, plan: PlanV1, ttl_s: int
) -> list[ApprovalRow]:
    """One approval for levels 1 and 2; one per step for level 3."""
    step_ids: list[str | None] = list(plan.approval_points) if plan.approval_level >= 3 else [None]
    expires = utcnow() + timedelta(seconds=ttl_s)
    rows = []
    for step_id in step_ids:
        row = ApprovalRow(
            id=str(uuid.uuid4()),
            execution_id=execution.id,
            plan_hash=execution.plan_hash,
            level=plan.approval_level,
            step_id=step_id,
            status=ApprovalStatus.PENDING.value,
            requested_by=execution.requested_by,
            expires_at=expires,
        )
        session.add(row)
        rows.append(row)
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
    return rows


async def load_for_update(
    session: AsyncSession, approval_id: str
) -> tuple[ApprovalRow, ExecutionRow]:
    approval = await session.get(ApprovalRow, approval_id, with_for_update=True)
    if approval is None:
        raise NotFound(f"no approval with id {approval_id!r}")
    execution = await session.get(ExecutionRow, approval.execution_id, with_for_update=True)
    assert execution is not None
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
